import Foundation

/// One parameter-dependent SDE `dX = a(X, μ) dt + b(X, μ) dW` with diagonal b, its paper
/// settings and, where known, its exact one-step law (its moments, and a sampler when the law
/// is not Gaussian). Adding an example means adding one
/// static value in a file of `Examples/` and one line in `ExampleRegistry.swift`.
public struct SDEExample: Sendable {
    public let name: String
    public let summary: String
    public let d: Int
    public let dMu: Int
    /// The observed parameter values μ^(1..K) (each dMu long) and the training range.
    public var observedMu: [[Double]]
    public let muRange: ClosedRange<Double>
    public let simulation: SimulationSettings
    /// The label settings this tool uses by default (`Examples.swift` says why they differ).
    public let labels: LabelSettings
    /// The paper's label settings and method exactly (docs/METHOD.md §4), for `--paper-method`.
    public let paperLabels: LabelSettings
    /// What `evaluate` compares against the exact law, and with how many samples.
    public let evaluation: EvaluationPlan
    public let hidden: [Int]
    public let patience: Int

    /// Drift a and diagonal diffusion b at (x, μ): writes d values into each output.
    public let coefficients: @Sendable (_ x: UnsafePointer<Double>, _ mu: UnsafePointer<Double>,
        _ drift: UnsafeMutablePointer<Double>, _ diffusion: UnsafeMutablePointer<Double>) -> Void
    /// Initial state of path `path` at μ (d values), from the counter RNG.
    public var initialState: @Sendable (_ mu: [Double], _ rng: CounterRNG, _ path: UInt64) -> [Double]
    /// Exact law of X_{t+h} | X_t = x, μ: mean (d) and covariance (d × d, row-major), if known.
    public let exactTransition: (@Sendable (_ x: [Double], _ mu: [Double], _ h: Double) -> (mean: [Double], cov: [Double]))?
    /// One draw of X_{t+h} | X_t = x, μ from the exact law (d values), for an example whose
    /// exact law is not Gaussian (`cir`): its randomness comes from `draws`, a sequence keyed by
    /// global ids, so the draw is the same on any rank. nil: the law is N(mean, cov) of
    /// `exactTransition`. The Simulator and `evaluate` (reference samples, W1 and its noise
    /// floor) use it in place of the Gaussian with the same moments.
    public let exactSampler: (@Sendable (_ x: [Double], _ mu: [Double], _ h: Double, _ draws: inout RandomDraws) -> [Double])?
    /// Whether an exact law is known (to simulate from, or to evaluate against).
    public var hasExactLaw: Bool { exactTransition != nil || exactSampler != nil }
    /// Whether the example's own data design simulates with the exact law rather than Euler–Maruyama.
    public var usesExactSimulation: Bool { simulation.fineStep == nil && hasExactLaw }

    public init(
        name: String, summary: String, d: Int, dMu: Int, observedMu: [[Double]],
        muRange: ClosedRange<Double>, simulation: SimulationSettings, labels: LabelSettings,
        paperLabels: LabelSettings, evaluation: EvaluationPlan, hidden: [Int], patience: Int,
        coefficients: @escaping @Sendable (UnsafePointer<Double>, UnsafePointer<Double>,
            UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>) -> Void,
        initialState: @escaping @Sendable ([Double], CounterRNG, UInt64) -> [Double],
        exactTransition: (@Sendable ([Double], [Double], Double) -> (mean: [Double], cov: [Double]))?,
        exactSampler: (@Sendable ([Double], [Double], Double, inout RandomDraws) -> [Double])? = nil
    ) {
        self.name = name; self.summary = summary; self.d = d; self.dMu = dMu
        self.observedMu = observedMu; self.muRange = muRange; self.simulation = simulation
        self.labels = labels; self.paperLabels = paperLabels; self.evaluation = evaluation; self.hidden = hidden; self.patience = patience
        self.coefficients = coefficients; self.initialState = initialState
        self.exactTransition = exactTransition; self.exactSampler = exactSampler
    }

    /// `count` equally spaced values over `range` (both ends included), as 1-D parameters.
    public static func grid(_ range: ClosedRange<Double>, count: Int) -> [[Double]] {
        (0..<count).map { [range.lowerBound + (range.upperBound - range.lowerBound) * Double($0) / Double(count - 1)] }
    }
}
