import Foundation

/// How the probability-flow ODE (docs/METHOD.md §2) is integrated from τ = 1 to 0 per query: the
/// names `--ode-solver` accepts, each with its implementation (one file per solver in this
/// folder). A new solver is one file and one case here.
public enum ODESolver: String, Codable, Sendable, CaseIterable {
    case euler
    case exponential

    /// The integrator of this solver for one label run of d-dimensional labels (it keeps
    /// per-query state).
    func integrator(_ settings: LabelSettings, d: Int) -> any LabelODEIntegrator {
        switch self {
        case .euler: EulerSolver(steps: settings.odeSteps)
        case .exponential: ExponentialSolver(steps: settings.odeSteps, stop: settings.odeStop, d: d, finish: settings.finish)
        }
    }

    /// One line for `--help`.
    public var help: String {
        switch self {
        case .euler: "the paper's uniform explicit Euler"
        case .exponential: "DPM-Solver++ 2M on a grid dense at small noise; default"
        }
    }
}

/// How a solve stopped above the data (`LabelSettings.odeStop`) finishes: the posterior mean
/// plus κ times the remaining noise, κ per component or a d × d matrix (`ExponentialSolver`).
public enum ODEFinish: String, Codable, Sendable, CaseIterable {
    /// κ per component from each component's spread: exact for uncorrelated components; the
    /// paper examples' defaults (their labels unchanged by the matrix form's arrival).
    case diagonal
    /// κ from the eigen-decomposition of the neighbours' weighted covariance: exact for any
    /// locally Gaussian law; costs O(K d² + d³) per label.
    case matrix
}

/// One query's ODE solve, given the label kernel's buffers (`label_kernel.h` layouts: float32,
/// component-major displacements d × K_pad, |Δ|² and log kernel K_pad).
public protocol LabelODEIntegrator {
    /// Whether `prepare` needs the neighbours' kernel weights (the Labeler computes them only then).
    var needsWeights: Bool { get }
    /// Per-query set-up from the adjusted displacements (K × d, Double) and their weights.
    mutating func prepare(delta: [Double], weights: [Double], count: Int, d: Int)
    /// Integrates from `z` (d values, in: z ~ N(0, I), out: the label); returns the effective
    /// sample size of the weights at the last step.
    mutating func integrate(d: Int, kPad: Int, deltaT: [Float], norm2: [Float], kern: [Float],
                            z: inout [Float], scratch: inout [Float]) -> Float
}
