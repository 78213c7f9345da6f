import Foundation

/// A statistic compared against its exact value; one section of `metrics.json`.
public struct LawSection: Codable, Sendable {
    public var description: String
    public var start: StartLaw
    public var steps: Int
    public var samples: Int
    public var rows: [LawRow]
    public var observed: LawSummary?
    public var between: LawSummary?
}

/// The one-step law from every start state (`StartState`: quantiles of the data's x at each μ,
/// then the example's point): rows per (state, μ), with summaries per state and over all states.
public struct StateSection: Codable, Sendable {
    public var description: String
    public var samples: Int
    public var states: [StateRows]
    /// The worst over every state, at observed μ and at the midpoints between them.
    public var observed: LawSummary?
    public var between: LawSummary?
}

/// The rows of one start state, one per one-step μ.
public struct StateRows: Codable, Sendable {
    public var name: String
    /// The quantile level; absent for the point.
    public var level: Double?
    public var rows: [LawRow]
    public var observed: LawSummary?
    public var between: LawSummary?
}

/// Example 2's stationary variance: learned variance after the multi-step rollout against
/// (1+μ²)/(2μ) (the paper's comparison) and against the exact variance at that time.
public struct StationaryRow: Codable, Sendable {
    public var mu: [Double]
    public var observed: Bool
    public var variance: [Double]
    public var stationaryVariance: [Double]
    public var relativeError: Double
    public var exactVarianceAtT: [Double]
    public var relativeErrorAtT: Double
}

/// One headline figure: a stable key (for scripts), a label and the value.
public struct HeadlineEntry: Codable, Sendable {
    public var key: String
    public var label: String
    public var value: Double
}

/// Everything `evaluate` writes to `metrics.json`.
public struct EvaluationMetrics: Codable, Sendable {
    public var example: String
    public var dt: Double
    public var seed: UInt64
    public var observedMu: [[Double]]
    /// The one-step law from the example's point (the paper's figures; also the "point" state).
    public var oneStep: LawSection
    /// The one-step law from every start state.
    public var oneStepStates: StateSection
    public var multiStep: LawSection
    public var stationary: [StationaryRow]?
    public var headline: [HeadlineEntry]
}
