import Foundation

/// A parameter value and whether the model saw it in training.
public struct MuPoint: Codable, Sendable, Equatable {
    public var mu: [Double]
    public var observed: Bool
    public init(mu: [Double], observed: Bool) { self.mu = mu; self.observed = observed }
    public var kind: String { observed ? "observed" : "between" }
}

/// Learned samples at one μ (and one start) against their exact law: moments and per-component W1.
public struct LawRow: Codable, Sendable {
    public var mu: [Double]
    public var observed: Bool
    /// The start state's name and x, for rows of `oneStepStates` (absent elsewhere).
    public var state: String?
    public var start: [Double]?
    public var mean: [Double]
    public var exactMean: [Double]
    public var variance: [Double]
    public var exactVariance: [Double]
    /// |mean − exact| (Euclidean norm for d > 1).
    public var meanError: Double
    /// max over components of |var − exact| / exact.
    public var varianceRelativeError: Double
    /// Per component: W1 between the empirical marginal and the exact marginal (the Gaussian in
    /// closed form, or the empirical law of the exact reference draws).
    public var w1: [Double]
    /// Per component: the mean W1 of as many exact draws against the same law (the noise floor).
    public var w1Reference: [Double]
    /// ‖C − C*‖_F / ‖C*‖_F of the sample covariance C against the exact C* (the whole matrix:
    /// it sees wrong correlations, which the per-component figures do not).
    public var covarianceRelativeError: Double
    /// What n iid exact draws would score, to first order (the noise floors of the figures
    /// above): √(tr C*/n) for the mean error; for a variance √(2/n) for a Gaussian law,
    /// √((κ − 1)/n) with the reference draws' kurtosis κ otherwise (worst component); and
    /// √(Σ_ij (C*_ii C*_jj + C*_ij²)/n) / ‖C*‖_F for the covariance (Gaussian; for a sampled
    /// law in d = 1 the variance's floor).
    public var meanErrorFloor: Double
    public var varianceErrorFloor: Double
    public var covarianceErrorFloor: Double

    /// `samples`: n × d, row-major; `floor`: the W1 floor of n draws of N(0, 1) (`Wasserstein.gaussianFloor`).
    public init(at point: MuPoint, samples: [Double], d: Int, exact: GaussianLaw, floor: Double) {
        self.init(at: point, samples: samples, d: d, exact: .gaussian(exact, w1Floor: floor))
    }

    /// `samples`: n × d, row-major, compared with `exact`; `state`: the start state of the row.
    public init(at point: MuPoint, samples: [Double], d: Int, exact comparison: ExactComparison, state: StartState? = nil,
                start: [Double]? = nil) {
        let n = samples.count / d, exact = comparison.moments
        var mean = [Double](repeating: 0, count: d), variance = mean
        for s in 0..<n { for i in 0..<d { mean[i] += samples[s * d + i] } }
        for i in 0..<d { mean[i] /= Double(n) }
        for s in 0..<n { for i in 0..<d { let t = samples[s * d + i] - mean[i]; variance[i] += t * t } }
        for i in 0..<d { variance[i] /= Double(max(n - 1, 1)) }
        let exactVar = exact.variance
        self.mu = point.mu; self.observed = point.observed; self.state = state?.name; self.start = start
        self.mean = mean; self.exactMean = exact.mean; self.variance = variance; self.exactVariance = exactVar
        meanError = zip(mean, exact.mean).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        varianceRelativeError = zip(variance, exactVar).map { abs($0 - $1) / $1 }.max() ?? 0
        let cov = Self.covariance(samples, mean: mean, d: d, n: n), c = exact.cov
        var diff = 0.0, norm = 0.0, spread = 0.0
        for i in 0..<d {
            for j in 0..<d {
                diff += (cov[i * d + j] - c[i * d + j]) * (cov[i * d + j] - c[i * d + j]); norm += c[i * d + j] * c[i * d + j]
                spread += c[i * d + i] * c[j * d + j] + c[i * d + j] * c[i * d + j]
            }
        }
        covarianceRelativeError = (diff / norm).squareRoot()
        meanErrorFloor = (exactVar.reduce(0, +) / Double(n)).squareRoot()
        covarianceErrorFloor = (spread / Double(n) / norm).squareRoot()
        let column = { (values: [Double], width: Int, i: Int) in stride(from: i, to: values.count, by: width).map { values[$0] } }
        switch comparison {
        case .gaussian(_, let floor):
            w1 = (0..<d).map { Wasserstein.toGaussian(column(samples, d, $0), mean: exact.mean[$0], std: exact.std[$0]) }
            w1Reference = exact.std.map { $0 * floor }
            varianceErrorFloor = (2 / Double(n)).squareRoot()
        case .sampled(_, let reference):
            let refs = (0..<d).map { column(reference, d, $0).sorted() }
            w1 = (0..<d).map { Wasserstein.betweenSamples(column(samples, d, $0), refs[$0]) }
            w1Reference = refs.map { Wasserstein.samplingFloor(reference: $0, n: n) }
            varianceErrorFloor = refs.map { ((Self.kurtosis($0) - 1) / Double(n)).squareRoot() }.max() ?? 0
            if d == 1 { covarianceErrorFloor = varianceErrorFloor }
        }
    }

    /// The kurtosis E(X − m)⁴ / (E(X − m)²)² of a sample (3 for a Gaussian law).
    static func kurtosis(_ v: [Double]) -> Double {
        let n = Double(v.count), m = v.reduce(0, +) / n
        var m2 = 0.0, m4 = 0.0
        for x in v { let t = (x - m) * (x - m); m2 += t; m4 += t * t }
        return m2 > 0 ? (m4 / n) / ((m2 / n) * (m2 / n)) : 3
    }

    /// The sample covariance (d × d) of n × d samples about `mean`.
    static func covariance(_ samples: [Double], mean: [Double], d: Int, n: Int) -> [Double] {
        var cov = [Double](repeating: 0, count: d * d), t = [Double](repeating: 0, count: d)
        for s in 0..<n {
            for i in 0..<d { t[i] = samples[s * d + i] - mean[i] }
            for i in 0..<d { for j in i..<d { cov[i * d + j] += t[i] * t[j] } }
        }
        for i in 0..<d { for j in i..<d { cov[i * d + j] /= Double(max(n - 1, 1)); cov[j * d + i] = cov[i * d + j] } }
        return cov
    }

    public var maxW1: Double { w1.max() ?? 0 }
    /// max over components of W1 / its noise floor.
    public var w1OverFloor: Double { zip(w1, w1Reference).map { $1 > 0 ? $0 / $1 : 0 }.max() ?? 0 }
}

/// Worst and average errors over a set of rows.
public struct LawSummary: Codable, Sendable {
    public var count: Int
    public var maxMeanError: Double
    public var meanMeanError: Double
    public var maxVarianceRelativeError: Double
    public var meanVarianceRelativeError: Double
    public var maxW1: Double
    public var meanW1: Double
    public var maxCovarianceRelativeError: Double
    /// max over rows and components of W1 / its noise floor: near 1, the learned law cannot be
    /// told from the exact one at this sample size (comparable across states whose laws differ in scale).
    public var maxW1OverFloor: Double

    public init?(_ rows: [LawRow]) {
        guard !rows.isEmpty else { return nil }
        let n = Double(rows.count)
        count = rows.count
        maxMeanError = rows.map(\.meanError).max()!
        meanMeanError = rows.map(\.meanError).reduce(0, +) / n
        maxVarianceRelativeError = rows.map(\.varianceRelativeError).max()!
        meanVarianceRelativeError = rows.map(\.varianceRelativeError).reduce(0, +) / n
        maxW1 = rows.map(\.maxW1).max()!
        meanW1 = rows.map(\.maxW1).reduce(0, +) / n
        maxCovarianceRelativeError = rows.map(\.covarianceRelativeError).max()!
        maxW1OverFloor = rows.map(\.w1OverFloor).max()!
    }
}

/// Compact number formatting for tables and plot labels.
public func fmt(_ v: Double, _ digits: Int = 4) -> String {
    if v == 0 { return "0" }
    if !v.isFinite { return "\(v)" }
    return String(format: "%.\(digits)g", v)
}
