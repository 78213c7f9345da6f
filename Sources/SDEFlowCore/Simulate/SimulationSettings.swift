import Foundation

/// How trajectories are simulated for one example (docs/METHOD.md §4).
public struct SimulationSettings: Codable, Sendable, Equatable {
    public var pathsPerMu: Int
    /// Observation interval Δt and horizon T (T/Δt pairs per path).
    public var dt: Double
    public var horizon: Double
    /// Euler–Maruyama sub-step; nil means exact transitions.
    public var fineStep: Double?
    public var stepsPerPath: Int { Int((horizon / dt).rounded()) }
}
