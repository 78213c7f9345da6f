import Foundation

/// How the probability-flow ODE (METHOD.md §2) is integrated from τ = 1 to 0 per query.
public enum ODESolver: String, Codable, Sendable, CaseIterable {
    /// The paper's: explicit Euler on N_τ uniform steps with shifted coefficients. Its O(h)
    /// bias inflates the label variance (about +1 % at 500 steps, +5 % at 100, measured on
    /// Gaussian atoms) — as large as the accuracy one wants from the whole method.
    case euler
    /// **[beyond]** First-order exponential integrator (DDIM) on a grid dense where the weights
    /// sharpen: per step the posterior mean of the displacement is held fixed and the linear
    /// rest of the ODE solved exactly. The labels land on the data displacements (the exact
    /// flow's end points) to within σ_min, so their law is the kernel-weighted data law
    /// without the Euler bias, and tens of steps suffice where Euler needs a thousand.
    case exponential

    /// Noise-to-signal range of the exponential grid, in units of the scaled displacement
    /// c·(y − x), which c makes O(1): σ = β/α = √τ/(1 − τ) runs from `sigmaMax` to `sigmaMin`.
    public static let sigmaMax = 100.0, sigmaMin = 1e-3
    /// Spacing exponent of the grid (Karras et al. 2022, ρ = 7): most steps at small σ.
    public static let rho = 7.0

    /// The exponential solver's grid, τ[0] = 1 > τ[1] > … > τ[steps] (steps + 1 values): after
    /// the first step from pure noise, σ spaced uniformly in σ^{1/ρ} from `sigmaMax` down to
    /// `sigmaMin` and then τ = 0 — or, with `stop` > 0, down to σ = stop, where the solver
    /// finishes with its posterior-mean step instead (`LabelSettings.odeStop`).
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
    /// solver stops at noise σ: κ = (s√(s² + σ²) − s²)/σ² (→ ½ as σ/s → 0).
    public static func kappa(spread s: Double, sigma: Double) -> Double {
        guard sigma > 0, s > 0 else { return 0.5 }
        return (s * (s * s + sigma * sigma).squareRoot() - s * s) / (sigma * sigma)
    }

    /// τ with √τ/(1 − τ) = σ: √τ is the positive root of σu² + u − σ = 0.
    static func tauOf(sigma: Double) -> Double {
        let u = 2 * sigma / (1 + (1 + 4 * sigma * sigma).squareRoot())
        return u * u
    }
}
