import Foundation

/// A Gaussian law in R^d: mean (d) and covariance (d × d, row-major); for an example whose exact
/// law is not Gaussian, that law's mean and covariance.
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
    /// example but `cir`). The mean map's Jacobian J is read off the transition by unit
    /// differences (exact for an affine map); the law is N(M(m), J S Jᵀ + Q(t)). From a point
    /// (std 0) it is the exact transition's mean and covariance for any example: for `cir` the
    /// moments of its non-Gaussian law (which `evaluate` then compares through its sampler).
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
