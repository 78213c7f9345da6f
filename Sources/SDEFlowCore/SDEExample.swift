import Foundation

/// The settings the paper used for labels (METHOD.md §2, §4); every CLI default comes from here.
public struct LabelSettings: Codable, Sendable, Equatable {
    /// Number of queries (x_n, μ, z), one label each.
    public var labels: Int
    /// K, the exact nearest neighbours in the normalised (x/σ_x, μ/σ_μ) space.
    public var neighbors: Int
    /// N_τ, steps of the probability-flow ODE.
    public var odeSteps: Int
    /// Kernel bandwidths in the units of x and μ.
    public var nuX: Double
    public var nuMu: Double
    /// c: labels are samples of c (y − x).
    public var scale: Double
    /// Whether neighbours' displacements are moved to the query first (`LocalLinear.swift`).
    /// Label sets written before this setting existed were made with `.paper`.
    public var estimator: LabelEstimator
    /// How the ODE is integrated (`ODESolver.swift`); older label sets used `.euler`.
    public var solver: ODESolver
    /// Exponential solver only: stop at noise σ = odeStop × the neighbours' displacement spread
    /// and finish with the posterior mean plus κ times the remaining noise, instead of running
    /// onto the data. In d > 1 the flow's last stretch sends nearby z to different, scattered
    /// data points, and which ones changes from query to query: label noise that the network
    /// averages away as lost variance. Stopping above the data spacing keeps the z → label map
    /// smooth; κ keeps the variance of a locally Gaussian law exact. 0: run onto the data.
    /// The examples' defaults use 0.2 with 60 steps (+0.2 % label variance against 1000 steps).
    public var odeStop: Double

    public init(labels: Int, neighbors: Int, odeSteps: Int, nuX: Double, nuMu: Double, scale: Double = 3,
                estimator: LabelEstimator = .localLinear, solver: ODESolver = .exponential, odeStop: Double = 0) {
        self.labels = labels; self.neighbors = neighbors; self.odeSteps = odeSteps
        self.nuX = nuX; self.nuMu = nuMu; self.scale = scale; self.estimator = estimator; self.solver = solver
        self.odeStop = odeStop
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        labels = try c.decode(Int.self, forKey: .labels); neighbors = try c.decode(Int.self, forKey: .neighbors)
        odeSteps = try c.decode(Int.self, forKey: .odeSteps)
        nuX = try c.decode(Double.self, forKey: .nuX); nuMu = try c.decode(Double.self, forKey: .nuMu)
        scale = try c.decode(Double.self, forKey: .scale)
        estimator = try c.decodeIfPresent(LabelEstimator.self, forKey: .estimator) ?? .paper
        solver = try c.decodeIfPresent(ODESolver.self, forKey: .solver) ?? .euler
        odeStop = try c.decodeIfPresent(Double.self, forKey: .odeStop) ?? 0
    }
}

/// How trajectories are simulated for one example (METHOD.md §4).
public struct SimulationSettings: Codable, Sendable, Equatable {
    public var pathsPerMu: Int
    /// Observation interval Δt and horizon T (T/Δt pairs per path).
    public var dt: Double
    public var horizon: Double
    /// Euler–Maruyama sub-step; nil means exact transitions.
    public var fineStep: Double?
    public var stepsPerPath: Int { Int((horizon / dt).rounded()) }
}

/// One parameter-dependent SDE `dX = a(X, μ) dt + b(X, μ) dW` with diagonal b, its paper
/// settings and, where known, its exact one-step law. Adding an example means adding one
/// static value in an extension like the ones in `Examples.swift`.
public struct SDEExample: Sendable {
    public let name: String
    public let summary: String
    public let d: Int
    public let dMu: Int
    /// The observed parameter values μ^(1..K) (each dMu long) and the training range.
    public let observedMu: [[Double]]
    public let muRange: ClosedRange<Double>
    public let simulation: SimulationSettings
    /// The label settings this tool uses by default (`Examples.swift` says why they differ).
    public let labels: LabelSettings
    /// The paper's label settings and method exactly (METHOD.md §4), for `--paper-method`.
    public let paperLabels: LabelSettings
    public let hidden: [Int]
    public let patience: Int

    /// Drift a and diagonal diffusion b at (x, μ): writes d values into each output.
    public let coefficients: @Sendable (_ x: UnsafePointer<Double>, _ mu: UnsafePointer<Double>,
        _ drift: UnsafeMutablePointer<Double>, _ diffusion: UnsafeMutablePointer<Double>) -> Void
    /// Initial state of path `path` at μ (d values), from the counter RNG.
    public let initialState: @Sendable (_ mu: [Double], _ rng: CounterRNG, _ path: UInt64) -> [Double]
    /// Exact law of X_{t+h} | X_t = x, μ: mean (d) and covariance (d × d, row-major), if known.
    public let exactTransition: (@Sendable (_ x: [Double], _ mu: [Double], _ h: Double) -> (mean: [Double], cov: [Double]))?
    /// Whether simulation should use the exact transition rather than Euler–Maruyama.
    public var usesExactSimulation: Bool { simulation.fineStep == nil && exactTransition != nil }

    public init(
        name: String, summary: String, d: Int, dMu: Int, observedMu: [[Double]],
        muRange: ClosedRange<Double>, simulation: SimulationSettings, labels: LabelSettings,
        paperLabels: LabelSettings, hidden: [Int], patience: Int,
        coefficients: @escaping @Sendable (UnsafePointer<Double>, UnsafePointer<Double>,
            UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>) -> Void,
        initialState: @escaping @Sendable ([Double], CounterRNG, UInt64) -> [Double],
        exactTransition: (@Sendable ([Double], [Double], Double) -> (mean: [Double], cov: [Double]))?
    ) {
        self.name = name; self.summary = summary; self.d = d; self.dMu = dMu
        self.observedMu = observedMu; self.muRange = muRange; self.simulation = simulation
        self.labels = labels; self.paperLabels = paperLabels; self.hidden = hidden; self.patience = patience
        self.coefficients = coefficients; self.initialState = initialState
        self.exactTransition = exactTransition
    }

    /// Every example the CLI knows, by name.
    public static let all: [SDEExample] = [.brownianMotion, .ornsteinUhlenbeck, .rotatingOU]

    public static func named(_ name: String) -> SDEExample? { all.first { $0.name == name } }

    /// `count` equally spaced values over `range` (both ends included), as 1-D parameters.
    public static func grid(_ range: ClosedRange<Double>, count: Int) -> [[Double]] {
        (0..<count).map { [range.lowerBound + (range.upperBound - range.lowerBound) * Double($0) / Double(count - 1)] }
    }
}
