/// What `evaluate` measures for one example: where the one-step and multi-step laws start,
/// how many samples each takes by default (the paper's), and which μ the multi-step law uses.
/// Carried by the example, so a new example brings its own plan (`EvaluationSpec` applies it).
public struct EvaluationPlan: Sendable {
    /// One-step law from this point (d values), `oneStepSamples` samples per μ.
    public var oneStepStart: [Double]
    public var oneStepSamples: Int
    /// Multi-step law: `lawSteps` steps of Δt from `lawStart`, `lawSamples` samples per μ.
    public var lawStart: StartLaw
    public var lawSteps: Int
    public var lawSamples: Int
    /// Also compare the multi-step variance with the stationary one (an OU process).
    public var stationary: Bool
    /// The μ the paper reports one-step figures at, if it names some (a headline of their own).
    public var paperMu: [[Double]]
    /// The multi-step law at `paperMu` and three midpoints instead of at every μ (costly rollouts).
    public var lawAtPaperMuAndMidpoints: Bool

    public init(oneStepStart: [Double], oneStepSamples: Int, lawStart: StartLaw, lawSteps: Int, lawSamples: Int,
                stationary: Bool = false, paperMu: [[Double]] = [], lawAtPaperMuAndMidpoints: Bool = false) {
        self.oneStepStart = oneStepStart; self.oneStepSamples = oneStepSamples
        self.lawStart = lawStart; self.lawSteps = lawSteps; self.lawSamples = lawSamples
        self.stationary = stationary; self.paperMu = paperMu; self.lawAtPaperMuAndMidpoints = lawAtPaperMuAndMidpoints
    }
}
