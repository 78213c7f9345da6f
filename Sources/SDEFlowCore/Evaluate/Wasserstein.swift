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
        let grid = QuantileGrids.shared.grid(n)
        var total = 0.0
        var a = -Double.infinity, cdfA = 0.0, pdfA = 0.0
        for i in 0..<n {
            let last = i == n - 1
            let cdfB = last ? 1.0 : Double(i + 1) / Double(n)
            let b = last ? Double.infinity : grid.quantile[i]
            let pdfB = last ? 0.0 : grid.pdf[i]
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

    /// The 1-D Wasserstein-1 distance ∫|F_a − F_b| dx between the empirical laws of two samples,
    /// exact (up to rounding): both sorted, the gap between the two step functions summed over
    /// the merged order. For a law that is not Gaussian `evaluate` compares the learned sample
    /// with a larger sample of exact draws this way (`ExactReference`).
    public static func betweenSamples(_ a: [Double], _ b: [Double]) -> Double {
        guard !a.isEmpty, !b.isEmpty else { return .nan }
        let x = a.sorted(), y = b.sorted()
        let na = Double(x.count), nb = Double(y.count)
        var i = 0, j = 0, total = 0.0
        var last = min(x[0], y[0])
        while i < x.count || j < y.count {
            let next = j == y.count || (i < x.count && x[i] <= y[j]) ? x[i] : y[j]
            total += abs(Double(i) / na - Double(j) / nb) * (next - last)
            last = next
            while i < x.count && x[i] == next { i += 1 }
            while j < y.count && y[j] == next { j += 1 }
        }
        return total
    }

    /// The noise floor of `betweenSamples(learned, reference)` for a learned sample of `n` exact
    /// draws, to first order: F_n − F_m is about N(0, F(1 − F)(1/n + 1/m)) at every x, so
    /// E W1 ≈ √(2/π) √(1/n + 1/m) ∫ √(F(1 − F)) dx, with F the empirical law of the `sorted`
    /// reference (m draws). It needs no law in closed form; for N(0, 1) and m → ∞ it is
    /// √(2/π) · 1.61474/√n = 1.28838/√n (tests compare it with that and with `noiseFloor`).
    public static func samplingFloor(reference sorted: [Double], n: Int) -> Double {
        let m = sorted.count
        guard m > 1, n > 0 else { return .nan }
        var integral = 0.0
        for k in 1..<m {
            let f = Double(k) / Double(m)
            integral += (f * (1 - f)).squareRoot() * (sorted[k] - sorted[k - 1])
        }
        return (2 / Double.pi).squareRoot() * (1 / Double(n) + 1 / Double(m)).squareRoot() * integral
    }

    /// √(2/π) ∫ √(Φ(1 − Φ)) dz: the first-order mean W1 of n draws of N(0, 1) is this / √n.
    public static let gaussianFloorConstant = 1.2883791903028579

    /// The noise floor of `toGaussian` for n draws of N(0, 1), to first order:
    /// 1.28838/√n (`samplingFloor` for the Gaussian law). Measured against Monte Carlo (400
    /// samples of n draws each) it is within 2 % at n = 300, 4 000 and 20 000, where the mean of
    /// 16 samples (`noiseFloor`) scatters by ±9 % (W1 varies by 35 % from sample to sample):
    /// `evaluate` uses this. Multiply by the std for N(m, σ²).
    public static func gaussianFloor(n: Int) -> Double {
        n > 0 ? gaussianFloorConstant / Double(n).squareRoot() : .nan
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

/// Φ⁻¹(i/n) and φ there for i = 1…n − 1: the breakpoints `Wasserstein.toGaussian` integrates
/// between. They depend on n only, and `evaluate` compares hundreds of samples of one size
/// (every start state and μ): kept for the last few n, computed once each (the quantiles were
/// 80 % of the statistics' time at 100 000 samples per row). Thread-safe; two threads missing
/// the same n both compute the same values.
final class QuantileGrids: @unchecked Sendable {
    static let shared = QuantileGrids()
    /// More sizes than one evaluation uses (one-step, multi-step, fan).
    static let capacity = 8
    private let lock = NSLock()
    private var grids: [Int: (quantile: [Double], pdf: [Double])] = [:]

    /// The grid for samples of size n (n − 1 values each; empty for n = 1).
    func grid(_ n: Int) -> (quantile: [Double], pdf: [Double]) {
        if let g = lock.withLock({ grids[n] }) { return g }
        let q = (1..<max(n, 1)).map { StandardNormal.quantile(Double($0) / Double(n)) }
        let g = (quantile: q, pdf: q.map(StandardNormal.pdf))
        lock.withLock {
            if grids.count >= Self.capacity { grids.removeAll() }
            grids[n] = g
        }
        return g
    }
}
