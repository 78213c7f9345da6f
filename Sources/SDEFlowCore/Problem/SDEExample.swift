import Foundation

/// One parameter-dependent SDE `dX = a(X, μ) dt + b(X, μ) dW` with diagonal b, its paper
/// settings and, where known, its exact one-step law. Adding an example means adding one
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
    /// Whether simulation should use the exact transition rather than Euler–Maruyama.
    public var usesExactSimulation: Bool { simulation.fineStep == nil && exactTransition != nil }

    public init(
        name: String, summary: String, d: Int, dMu: Int, observedMu: [[Double]],
        muRange: ClosedRange<Double>, simulation: SimulationSettings, labels: LabelSettings,
        paperLabels: LabelSettings, evaluation: EvaluationPlan, hidden: [Int], patience: Int,
        coefficients: @escaping @Sendable (UnsafePointer<Double>, UnsafePointer<Double>,
            UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>) -> Void,
        initialState: @escaping @Sendable ([Double], CounterRNG, UInt64) -> [Double],
        exactTransition: (@Sendable ([Double], [Double], Double) -> (mean: [Double], cov: [Double]))?
    ) {
        self.name = name; self.summary = summary; self.d = d; self.dMu = dMu
        self.observedMu = observedMu; self.muRange = muRange; self.simulation = simulation
        self.labels = labels; self.paperLabels = paperLabels; self.evaluation = evaluation; self.hidden = hidden; self.patience = patience
        self.coefficients = coefficients; self.initialState = initialState
        self.exactTransition = exactTransition
    }

    /// `count` equally spaced values over `range` (both ends included), as 1-D parameters.
    public static func grid(_ range: ClosedRange<Double>, count: Int) -> [[Double]] {
        (0..<count).map { [range.lowerBound + (range.upperBound - range.lowerBound) * Double($0) / Double(count - 1)] }
    }
}
