import Foundation

/// The standard normal distribution: density, distribution function and quantile.
public enum StandardNormal {
    public static func pdf(_ x: Double) -> Double { exp(-0.5 * x * x) / (2 * Double.pi).squareRoot() }

    public static func cdf(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation (relative error 1.15e-9) refined by
    /// one Halley step on erfc, which brings it to about double precision.
    public static func quantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "quantile needs p in (0, 1)")
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let e = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low || p > 1 - low {
            let q = (-2 * log(min(p, 1 - p))).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((e[0] * q + e[1]) * q + e[2]) * q + e[3]) * q + 1)
            if p > 1 - low { x = -x }
        } else {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        }
        // Halley step: u = (Φ(x) − p)/φ(x). Φ(x) − p is taken from the nearer tail for accuracy.
        let err = x < 0 ? 0.5 * erfc(-x / 2.0.squareRoot()) - p : (1 - p) - 0.5 * erfc(x / 2.0.squareRoot())
        let u = err * (2 * Double.pi).squareRoot() * exp(0.5 * x * x)
        return x - u / (1 + 0.5 * x * u)
    }
}

/// Distances between an empirical sample and a Gaussian law.
public enum Wasserstein {
    /// The 1-D Wasserstein-1 distance ∫|F_n − Φ((·−mean)/std)| between the empirical law of
    /// `samples` and N(mean, std²), computed exactly (up to rounding) as
    /// Σ_i ∫_{(i−1)/n}^{i/n} |s_(i) − Q(u)| du over the sorted sample s_(i) and the exact quantile Q:
    /// each term is ∫_{q_{i−1}}^{q_i} |s − t| φ(t) dt in closed form (t Φ(t) + φ(t) antiderivatives).
    /// std = 0 gives the mean absolute deviation from `mean`.
    public static func toGaussian(_ samples: [Double], mean: Double, std: Double) -> Double {
        let n = samples.count
        guard n > 0 else { return .nan }
        guard std > 0 else { return samples.reduce(0) { $0 + abs($1 - mean) } / Double(n) }
        let s = samples.map { ($0 - mean) / std }.sorted()
        var total = 0.0
        var a = -Double.infinity, cdfA = 0.0, pdfA = 0.0
        for i in 0..<n {
            let last = i == n - 1
            let cdfB = last ? 1.0 : Double(i + 1) / Double(n)
            let b = last ? Double.infinity : StandardNormal.quantile(cdfB)
            let pdfB = last ? 0.0 : StandardNormal.pdf(b)
            let si = s[i]
            // G(t) = si Φ(t) + φ(t) is an antiderivative of (si − t) φ(t).
            let gA = si * cdfA + pdfA, gB = si * cdfB + pdfB
            if si >= b {
                total += gB - gA
            } else if si <= a {
                total -= gB - gA
            } else {
                let gS = si * StandardNormal.cdf(si) + StandardNormal.pdf(si)
                total += (gS - gA) - (gB - gS)
            }
            (a, cdfA, pdfA) = (b, cdfB, pdfB)
        }
        return std * total
    }

    /// The sampling-noise floor of `toGaussian` for a sample of size `n` from N(0, 1): the mean
    /// W1 of `replicates` samples of `n` exact draws (counter RNG). Multiply by the std for N(m, σ²).
    public static func noiseFloor(n: Int, seed: UInt64, replicates: Int = 16) -> Double {
        guard n > 0 else { return .nan }
        let rng = CounterRNG(seed: seed)
        var total = 0.0
        var z = [Double](repeating: 0, count: n)
        for r in 0..<replicates {
            for s in stride(from: 0, to: n, by: 2) {
                let (u, v) = rng.normals(.evaluationReference, id: UInt64(s / 2), index: UInt32(r))
                z[s] = u
                if s + 1 < n { z[s + 1] = v }
            }
            total += toGaussian(z, mean: 0, std: 1)
        }
        return total / Double(replicates)
    }
}

/// A Gaussian law in R^d: mean (d) and covariance (d × d, row-major).
public struct GaussianLaw: Codable, Sendable, Equatable {
    public var mean: [Double]
    public var cov: [Double]
    public init(mean: [Double], cov: [Double]) { self.mean = mean; self.cov = cov }
    public var d: Int { mean.count }
    public var variance: [Double] { (0..<d).map { cov[$0 * d + $0] } }
    public var std: [Double] { variance.map { max($0, 0).squareRoot() } }

    /// The exact law at time t of an example started from N(start.mean, diag(start.std²)) at μ.
    /// Valid for examples whose exact transition is Gaussian with a mean affine in x and a
    /// covariance that does not depend on x (linear SDEs with additive noise: every built-in
    /// example). The mean map's Jacobian J is read off the transition by unit differences
    /// (exact for an affine map); the law is N(M(m), J S Jᵀ + Q(t)).
    public static func exact(_ example: SDEExample, start: StartLaw, mu: [Double], time t: Double) -> GaussianLaw? {
        guard let law = example.exactTransition else { return nil }
        let d = example.d
        let base = law(start.mean, mu, t)
        var jac = [Double](repeating: 0, count: d * d)
        for j in 0..<d {
            var e = start.mean
            e[j] += 1
            let m = law(e, mu, t).mean
            for i in 0..<d { jac[i * d + j] = m[i] - base.mean[i] }
        }
        var cov = base.cov
        for i in 0..<d {
            for k in 0..<d {
                var v = 0.0
                for j in 0..<d { v += jac[i * d + j] * jac[k * d + j] * start.std[j] * start.std[j] }
                cov[i * d + k] += v
            }
        }
        return GaussianLaw(mean: base.mean, cov: cov)
    }
}

/// Where evaluation samples start: N(mean, diag(std²)); std all zero is the point `mean`.
public struct StartLaw: Codable, Sendable, Equatable {
    public var mean: [Double]
    public var std: [Double]
    public init(mean: [Double], std: [Double]? = nil) {
        self.mean = mean; self.std = std ?? [Double](repeating: 0, count: mean.count)
    }
    public var isPoint: Bool { std.allSatisfy { $0 == 0 } }
    public var text: String {
        func list(_ v: [Double]) -> String { v.count == 1 ? fmt(v[0]) : "(" + v.map { fmt($0) }.joined(separator: ", ") + ")" }
        if isPoint { return "x0 = \(list(mean))" }
        return "X0 ~ N(\(list(mean)), \(std.count == 1 ? fmt(std[0]) + "²" : "diag" + list(std.map { $0 * $0 })))"
    }
}

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
    }
}

/// Compact number formatting for tables and plot labels.
public func fmt(_ v: Double, _ digits: Int = 4) -> String {
    if v == 0 { return "0" }
    if !v.isFinite { return "\(v)" }
    return String(format: "%.\(digits)g", v)
}
