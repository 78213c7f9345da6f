/// What `evaluate` measures for one example: where the one-step laws start (a point and quantiles
/// of the data) and where the multi-step law starts,
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
    /// Otherwise the multi-step law at every `lawMuStride`-th point of the grid of observed μ and
    /// midpoints (both ends always): an odd stride alternates observed and in-between μ. Rollouts
    /// cost steps × samples per μ, and `lawSamples` must be large for the mean's noise floor to
    /// stay below 0.003 (bm: 150 000 at 10 steps); a few μ carry that better than all of them.
    public var lawMuStride: Int
    /// Besides `oneStepStart`, the one-step law starts from these quantiles of the data's x at
    /// each μ (`DataQuantiles`), `oneStepSamples` samples each.
    public var startQuantiles: [Double]

    /// The quantile levels of the start states unless an example chooses others.
    public static let defaultStartQuantiles = [0.05, 0.25, 0.5, 0.75, 0.95]

    public init(oneStepStart: [Double], oneStepSamples: Int, lawStart: StartLaw, lawSteps: Int, lawSamples: Int,
                stationary: Bool = false, paperMu: [[Double]] = [], lawAtPaperMuAndMidpoints: Bool = false,
                lawMuStride: Int = 1, startQuantiles: [Double] = defaultStartQuantiles) {
        precondition(lawMuStride >= 1, "lawMuStride must be at least 1")
        self.oneStepStart = oneStepStart; self.oneStepSamples = oneStepSamples
        self.lawStart = lawStart; self.lawSteps = lawSteps; self.lawSamples = lawSamples
        self.stationary = stationary; self.paperMu = paperMu; self.lawAtPaperMuAndMidpoints = lawAtPaperMuAndMidpoints
        self.lawMuStride = lawMuStride; self.startQuantiles = startQuantiles
    }
}
