import CKernels
import Foundation

/// **[beyond]** DPM-Solver++(2M), an exponential integrator (`sdeflow_label_ode_grid`): per step
/// the posterior mean of the displacement is held fixed (or extrapolated from the previous
/// step) and the linear rest of the ODE solved exactly, on a grid dense where the weights
/// sharpen. Tens of steps suffice where Euler needs a thousand.
///
/// With `stop` > 0 (`LabelSettings.odeStop`) the grid ends at noise σ = stop × the neighbours'
/// displacement spread and the solve finishes with the posterior mean plus κ times the
/// remaining noise, κ chosen per component so a locally Gaussian law keeps its variance.
public struct ExponentialSolver: LabelODEIntegrator {
    let steps: Int
    let stop: Double
    let finish: ODEFinish
    private var tau: [Float]
    private var kappa: [Float]
    private var moments: [Double] = []

    /// `d`: the dimension of the labels (κ holds d values, or d × d with the matrix finish).
    init(steps: Int, stop: Double, d: Int, finish: ODEFinish = .diagonal) {
        self.steps = steps; self.stop = stop; self.finish = finish
        tau = Self.tauGrid(steps: steps)
        kappa = [Float](repeating: 0.5, count: finish == .matrix ? d * d : d)
    }

    public var needsWeights: Bool { stop > 0 }

    public mutating func prepare(delta: [Double], weights: [Double], count: Int, d: Int) {
        guard stop > 0 else { return }
        if finish == .matrix { return prepareMatrix(delta: delta, weights: weights, count: count, d: d) }
        let spread = Self.weightedSpread(delta, weights, count: count, d: d)
        let sigma = stop * (spread.reduce(0) { $0 + $1 * $1 } / Double(d)).squareRoot()
        tau = Self.tauGrid(steps: steps, stop: sigma)
        for i in 0..<d { kappa[i] = Float(Self.kappa(spread: spread[i], sigma: sigma)) }
    }

    public mutating func integrate(d: Int, kPad: Int, deltaT: [Float], norm2: [Float], kern: [Float],
                            z: inout [Float], scratch: inout [Float]) -> Float {
        if finish == .matrix && stop > 0 {
            return sdeflow_label_ode_grid_matrix(Int32(d), Int32(kPad), deltaT, norm2, kern, &z, Int32(steps), tau, kappa, &scratch)
        }
        return sdeflow_label_ode_grid(Int32(d), Int32(kPad), deltaT, norm2, kern, &z, Int32(steps), tau, kappa, &scratch)
    }

    /// The matrix finish: κ = V diag(κ(λ_i)) Vᵀ from the weighted covariance S = V diag(λ) Vᵀ of
    /// the displacements (K × d), so a locally Gaussian law with correlated components keeps
    /// its whole covariance: (S + σ²κ)(S + σ²)⁻¹(S + σ²κ)ᵀ = S exactly, where the per-component
    /// κ of `prepare` is exact only for a diagonal S (at σ = the spread and ou-nd's noise
    /// correlations of 0.4 it leaves a 5 % Frobenius error in the label covariance).
    private mutating func prepareMatrix(delta: [Double], weights: [Double], count k: Int, d: Int) {
        // Weighted raw moments of (1, Δ) in one vectorised pass (`moments_kernel.h`), centred here:
        // at d = 50 and K = 8 000 a scalar loop here was 10⁷ multiply-adds per label.
        let m = 1 + d
        if moments.count != m * m { moments = [Double](repeating: 0, count: m * m) }
        delta.withUnsafeBufferPointer { y in
            sdeflow_weighted_moments(y.baseAddress!, 0, y.baseAddress!, Int64(d), weights, Int64(k), &moments)
        }
        let sw = moments[0]
        let mean = (0..<d).map { moments[1 + $0] / sw }
        var cov = [Double](repeating: 0, count: d * d)
        for a in 0..<d { for b in 0..<d { cov[a * d + b] = moments[(1 + a) * m + 1 + b] / sw - mean[a] * mean[b] } }
        let trace = (0..<d).reduce(0.0) { $0 + cov[$1 * d + $1] }
        let sigma = stop * (trace / Double(d)).squareRoot()
        tau = Self.tauGrid(steps: steps, stop: sigma)
        let (values, vectors) = SymmetricEigen.decompose(cov, n: d)
        let kappas = values.map { Self.kappa(spread: max($0, 0).squareRoot(), sigma: sigma) }
        for a in 0..<d {
            for b in 0..<d {
                var v = 0.0
                for e in 0..<d { v += vectors[a * d + e] * kappas[e] * vectors[b * d + e] }
                kappa[a * d + b] = Float(v)
            }
        }
    }

    /// Noise-to-signal range of the grid, in units of the scaled displacement c·(y − x), which
    /// c makes O(1): σ = β/α = √τ/(1 − τ) runs from `sigmaMax` to `sigmaMin`.
    public static let sigmaMax = 100.0, sigmaMin = 1e-3
    /// Spacing exponent of the grid (Karras et al. 2022, ρ = 7): most steps at small σ.
    public static let rho = 7.0

    /// The grid τ[0] = 1 > τ[1] > … > τ[steps] (steps + 1 values): after the first step from
    /// pure noise, σ spaced uniformly in σ^{1/ρ} from `sigmaMax` down to `sigmaMin` and then
    /// τ = 0 — or, with `stop` > 0, down to σ = stop, where the solve finishes instead.
    public static func tauGrid(steps: Int, stop: Double = 0) -> [Float] {
        precondition(steps >= 1)
        let last = stop > 0 ? min(stop, sigmaMax / 2) : sigmaMin
        let inner = stop > 0 ? steps : steps - 1
        var tau: [Float] = [1]
        for i in 0..<inner {
            let f = inner == 1 ? 1 : Double(i) / Double(inner - 1)
            let root = pow(sigmaMax, 1 / rho) + f * (pow(last, 1 / rho) - pow(sigmaMax, 1 / rho))
            tau.append(Float(tauOf(sigma: pow(root, rho))))
        }
        if stop <= 0 { tau.append(0) }
        return tau
    }

    /// Per component, the κ that gives a Gaussian law of spread s its variance back when the
    /// solve stops at noise σ: κ = (s√(s² + σ²) − s²)/σ² (→ ½ as σ/s → 0).
    public static func kappa(spread s: Double, sigma: Double) -> Double {
        guard sigma > 0, s > 0 else { return 0.5 }
        return (s * (s * s + sigma * sigma).squareRoot() - s * s) / (sigma * sigma)
    }

    /// τ with √τ/(1 − τ) = σ: √τ is the positive root of σu² + u − σ = 0.
    static func tauOf(sigma: Double) -> Double {
        let u = 2 * sigma / (1 + (1 + 4 * sigma * sigma).squareRoot())
        return u * u
    }

    /// Per component, the weighted standard deviation of the displacements (K × d).
    static func weightedSpread(_ delta: [Double], _ w: [Double], count k: Int, d: Int) -> [Double] {
        (0..<d).map { i in
            var sw = 0.0, s1 = 0.0, s2 = 0.0
            for j in 0..<k { sw += w[j]; s1 += w[j] * delta[j * d + i] }
            let m = s1 / sw
            for j in 0..<k { s2 += w[j] * (delta[j * d + i] - m) * (delta[j * d + i] - m) }
            return (s2 / sw).squareRoot()
        }
    }
}
