import Foundation

/// A parameter value and whether the model saw it in training.
public struct MuPoint: Codable, Sendable, Equatable {
    public var mu: [Double]
    public var observed: Bool
    public init(mu: [Double], observed: Bool) { self.mu = mu; self.observed = observed }
    public var kind: String { observed ? "observed" : "between" }
}

/// Learned samples at one μ against their exact Gaussian law: moments and per-component W1.
public struct LawRow: Codable, Sendable {
    public var mu: [Double]
    public var observed: Bool
    public var mean: [Double]
    public var exactMean: [Double]
    public var variance: [Double]
    public var exactVariance: [Double]
    /// |mean − exact| (Euclidean norm for d > 1).
    public var meanError: Double
    /// max over components of |var − exact| / exact.
    public var varianceRelativeError: Double
    /// Per component: W1 between the empirical marginal and the exact Gaussian marginal.
    public var w1: [Double]
    /// Per component: the mean W1 of as many exact draws against the same law (the noise floor).
    public var w1Reference: [Double]
    /// ‖C − C*‖_F / ‖C*‖_F of the sample covariance C against the exact C* (the whole matrix:
    /// it sees wrong correlations, which the per-component figures do not).
    public var covarianceRelativeError: Double
    /// What n iid exact draws would score, to first order (the noise floors of the figures
    /// above): √(tr C*/n) for the mean error, √(2/n) for a variance, and
    /// √(Σ_ij (C*_ii C*_jj + C*_ij²)/n) / ‖C*‖_F for the covariance.
    public var meanErrorFloor: Double
    public var varianceErrorFloor: Double
    public var covarianceErrorFloor: Double

    /// `samples`: n × d, row-major; `floor`: `Wasserstein.noiseFloor(n:)` for this n.
    public init(at point: MuPoint, samples: [Double], d: Int, exact: GaussianLaw, floor: Double) {
        let n = samples.count / d
        var mean = [Double](repeating: 0, count: d), variance = mean
        for s in 0..<n { for i in 0..<d { mean[i] += samples[s * d + i] } }
        for i in 0..<d { mean[i] /= Double(n) }
        for s in 0..<n { for i in 0..<d { let t = samples[s * d + i] - mean[i]; variance[i] += t * t } }
        for i in 0..<d { variance[i] /= Double(max(n - 1, 1)) }
        let exactVar = exact.variance, exactStd = exact.std
        self.mu = point.mu; self.observed = point.observed; self.mean = mean; self.exactMean = exact.mean
        self.variance = variance; self.exactVariance = exactVar
        meanError = zip(mean, exact.mean).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        varianceRelativeError = zip(variance, exactVar).map { abs($0 - $1) / $1 }.max() ?? 0
        w1 = (0..<d).map { i in
            Wasserstein.toGaussian((0..<n).map { samples[$0 * d + i] }, mean: exact.mean[i], std: exactStd[i])
        }
        w1Reference = exactStd.map { $0 * floor }
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
        varianceErrorFloor = (2 / Double(n)).squareRoot()
        covarianceErrorFloor = (spread / Double(n) / norm).squareRoot()
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
    }
}

/// Compact number formatting for tables and plot labels.
public func fmt(_ v: Double, _ digits: Int = 4) -> String {
    if v == 0 { return "0" }
    if !v.isFinite { return "\(v)" }
    return String(format: "%.\(digits)g", v)
}
