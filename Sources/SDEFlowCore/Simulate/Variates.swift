import Foundation

/// Gamma and Poisson variates on the counter RNG (`RandomDraws`): what an exact sampler of a
/// non-Gaussian law needs (the CIR process's scaled non-central χ², `CIR.sample`). Each draw
/// takes its randomness from one keyed sequence, so it is a pure function of (seed, stream,
/// global id, step) like every other draw of the tool.
public enum Variates {
    /// A Gamma(shape, 1) variate (mean = variance = shape), shape > 0.
    ///
    /// Marsaglia & Tsang (2000), "A simple method for generating gamma variables": for shape ≥ 1,
    /// with d = shape − 1/3 and c = 1/√(9d), propose v = (1 + c z)³ from a standard normal z and
    /// accept d·v when u < 1 − 0.0331 z⁴ (the squeeze) or log u < z²/2 + d (1 − v + log v);
    /// acceptance is ≥ 0.95 for every shape ≥ 1. For shape < 1 their boost: Gamma(shape + 1) ·
    /// U^{1/shape} (may underflow to 0 for a tiny shape; never negative).
    public static func gamma(shape: Double, _ draws: inout RandomDraws) -> Double {
        precondition(shape > 0 && shape.isFinite, "Gamma shape must be a finite number > 0 (got \(shape))")
        if shape < 1 {
            let g = gamma(shape: shape + 1, &draws)
            return g * Foundation.pow(draws.uniform(), 1 / shape)
        }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            let z = draws.normal()
            let t = 1 + c * z
            if t <= 0 { continue }
            let v = t * t * t, u = draws.uniform(), z2 = z * z
            if u < 1 - 0.0331 * z2 * z2 { return d * v }
            if Foundation.log(u) < 0.5 * z2 + d * (1 - v + Foundation.log(v)) { return d * v }
        }
    }

    /// The mean from which `poisson` switches from inversion to transformed rejection.
    public static let poissonRejectionFrom = 10.0

    /// A Poisson(mean) variate, mean ≥ 0 (finite).
    ///
    /// Below `poissonRejectionFrom`: inversion by sequential search (one uniform; e^{−mean} ≥
    /// 4.5e-5 keeps the running sums accurate). From it on: PTRS, Hörmann (1993), "The
    /// transformed rejection method for generating Poisson random variables" (two uniforms per
    /// attempt, acceptance ≈ 0.9 at mean 10 and rising), as NumPy implements it.
    public static func poisson(mean: Double, _ draws: inout RandomDraws) -> Int {
        precondition(mean >= 0 && mean.isFinite, "Poisson mean must be a finite number ≥ 0 (got \(mean))")
        if mean == 0 { return 0 }
        if mean < poissonRejectionFrom { return poissonByInversion(mean, &draws) }
        let s = mean.squareRoot(), logMean = Foundation.log(mean)
        let b = 0.931 + 2.53 * s, a = -0.059 + 0.02483 * b
        let invAlpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2)
        while true {
            let u = draws.uniform() - 0.5, v = draws.uniform()
            let us = 0.5 - abs(u)
            let k = Foundation.floor((2 * a / us + b) * u + mean + 0.43)
            if us >= 0.07 && v <= vr { return Int(k) }
            if k < 0 || (us < 0.013 && v > us) { continue }
            let lhs = Foundation.log(v) + Foundation.log(invAlpha) - Foundation.log(a / (us * us) + b)
            if lhs <= -mean + k * logMean - logFactorial(Int(k)) { return Int(k) }
        }
    }

    /// Smallest k with P(N ≤ k) ≥ u. The search stops where the terms underflow (u within
    /// rounding of 1), which bounds it at a few hundred steps.
    static func poissonByInversion(_ mean: Double, _ draws: inout RandomDraws) -> Int {
        let u = draws.uniform()
        var k = 0, p = Foundation.exp(-mean), f = p
        while u > f && p > 0 {
            k += 1
            p *= mean / Double(k)
            f += p
        }
        return k
    }

    /// log k! for k ≥ 0: a table below 64, beyond it Stirling's series to 1/k⁵ (truncation error
    /// below 1/(1680 k⁷) < 1e-15): thread-safe, where lgamma writes the global signgam.
    public static func logFactorial(_ k: Int) -> Double {
        precondition(k >= 0, "log k! needs k ≥ 0 (got \(k))")
        if k < logFactorialTable.count { return logFactorialTable[k] }
        let x = Double(k), r = 1 / x, r2 = r * r
        return x * Foundation.log(x) - x + 0.5 * Foundation.log(2 * Double.pi * x)
            + r * (1.0 / 12 - r2 * (1.0 / 360 - r2 / 1260))
    }

    static let logFactorialTable: [Double] = {
        var t = [0.0]
        for k in 1..<64 { t.append(t[k - 1] + Foundation.log(Double(k))) }
        return t
    }()
}
