import Foundation

/// What `evaluate` measures for one example (docs/METHOD.md §4), with the paper's settings as defaults.
public struct EvaluationSpec: Sendable {
    public var example: SDEExample
    public var dt: Double
    public var seed: UInt64
    /// The μ the model was trained on (sorted), and the training range.
    public var observedMu: [[Double]]
    public var muRange: ClosedRange<Double>
    /// One-step law from a point, at the observed μ and the midpoints between them.
    public var oneStepStart: [Double]
    public var oneStepSamples: Int
    public var oneStepMu: [MuPoint]
    /// The one-step law also from these states (quantiles of the data's x at each μ,
    /// `DataQuantiles`), `oneStepSamples` samples per state and μ; `states` adds the point.
    public var quantileStates: [StartState]
    /// The paper's μ for the one-step headline, when it names some (Example 3: 0.5, 1, 2).
    public var paperMu: [[Double]]
    /// Multi-step law: `lawSteps` steps from `lawStart`.
    public var lawName: String
    public var lawStart: StartLaw
    public var lawSteps: Int
    public var lawSamples: Int
    public var lawMu: [MuPoint]
    /// Compare the multi-step variance with the stationary one as well (Example 2).
    public var stationary: Bool
    /// Report: one-step densities at these μ; a fan of trajectories at `fanMu`.
    public var densityMu: [MuPoint]
    public var fanMu: MuPoint
    public var fanSamples: Int

    /// The paper's evaluation of `example` for a model trained on `observedMu` with step `dt`;
    /// `samples` (one-step, per μ) and `pathSamples` (multi-step, per μ) override its sizes.
    public init(example: SDEExample, dt: Double, observedMu: [[Double]]?, muRange: [Double]?,
                samples: Int? = nil, pathSamples: Int? = nil, seed: UInt64 = 1) {
        self.example = example; self.dt = dt; self.seed = seed
        let observed = ((observedMu?.isEmpty ?? true) ? example.observedMu : observedMu!).sorted { $0.lexicographicallyPrecedes($1) }
        self.observedMu = observed
        if let r = muRange, r.count == 2, r[0] <= r[1] { self.muRange = r[0]...r[1] } else { self.muRange = example.muRange }
        let grid = Self.gridAndMidpoints(observed)
        let mids = grid.filter { !$0.observed }
        oneStepMu = grid
        let plan = example.evaluation
        oneStepStart = plan.oneStepStart; oneStepSamples = plan.oneStepSamples
        lawStart = plan.lawStart; lawSteps = plan.lawSteps; lawSamples = plan.lawSamples
        stationary = plan.stationary; paperMu = plan.paperMu
        if plan.lawAtPaperMuAndMidpoints {
            let picks = plan.paperMu.map { m in MuPoint(mu: m, observed: observed.contains { Self.same($0, m) }) }
                + (mids.isEmpty ? [] : [mids[0], mids[mids.count / 2], mids[mids.count - 1]])
            lawMu = picks.sorted { $0.mu.lexicographicallyPrecedes($1.mu) }
        } else {
            lawMu = Self.every(plan.lawMuStride, of: grid)
        }
        let quantiles = DataQuantiles.states(of: example, at: grid.map(\.mu), levels: plan.startQuantiles)
        quantileStates = plan.startQuantiles.enumerated().map { j, level in
            StartState(name: StartState.name(level: level), level: level, x: quantiles.map { $0[j] })
        }
        let time = fmt(Double(lawSteps) * dt)
        lawName = stationary ? "law after \(lawSteps) steps (T = \(time)) from \(lawStart.text), near-stationary"
            : "law at T = \(time) (\(lawSteps) steps) from \(lawStart.text)"
        if let s = samples { oneStepSamples = s }
        if let s = pathSamples { lawSamples = s }
        fanSamples = min(lawSamples, 2000)
        densityMu = [grid.first!, mids.isEmpty ? grid[grid.count / 2] : mids[mids.count / 2], grid.last!]
        fanMu = mids.isEmpty ? grid[grid.count / 2] : mids[mids.count / 2]
    }

    /// Every `stride`-th point of `grid` and its last point.
    static func every(_ stride: Int, of grid: [MuPoint]) -> [MuPoint] {
        var picks = Swift.stride(from: 0, to: grid.count, by: stride).map { grid[$0] }
        if (grid.count - 1) % stride != 0, let last = grid.last { picks.append(last) }
        return picks
    }

    /// The quantile states and then the example's point (the same x at every μ).
    public var states: [StartState] {
        quantileStates + [StartState(name: "point", level: nil, x: oneStepMu.map { _ in oneStepStart })]
    }

    /// The sampling job key of quantile state `s` at one-step μ `k` (after the point's 0..<K, the
    /// multi-step law's 10 000 + k and the fan's 20 000): it seeds the job's noise.
    func stateJobKey(_ s: Int, _ k: Int) -> Int { 1_000_000 + oneStepMu.count * s + k }

    static func same(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($0)) }
    }

    /// The observed grid and the midpoints between neighbouring values (for 1-D μ; for dμ > 1
    /// only the observed values).
    public static func gridAndMidpoints(_ observed: [[Double]]) -> [MuPoint] {
        var out: [MuPoint] = []
        for (i, m) in observed.enumerated() {
            out.append(MuPoint(mu: m, observed: true))
            if m.count == 1, i + 1 < observed.count {
                out.append(MuPoint(mu: zip(m, observed[i + 1]).map { ($0 + $1) / 2 }, observed: false))
            }
        }
        return out
    }

    /// The sampling work, in a fixed order: one-step jobs from the point, multi-step jobs, the
    /// fan, then one-step jobs from each quantile state (state-major, μ in `oneStepMu` order).
    public var jobs: [SamplingJob] {
        let point = StartLaw(mean: oneStepStart)
        var out = oneStepMu.enumerated().map {
            SamplingJob(key: $0.offset, start: point, mu: $0.element.mu, steps: 1, count: oneStepSamples, keepPath: false)
        }
        out += lawMu.enumerated().map {
            SamplingJob(key: 10_000 + $0.offset, start: lawStart, mu: $0.element.mu, steps: lawSteps, count: lawSamples, keepPath: false)
        }
        out.append(SamplingJob(key: 20_000, start: lawStart, mu: fanMu.mu, steps: lawSteps, count: fanSamples, keepPath: true,
                               antithetic: false))
        for (s, state) in quantileStates.enumerated() {
            out += oneStepMu.enumerated().map { k, p in
                SamplingJob(key: stateJobKey(s, k), start: StartLaw(mean: state.x[k]), mu: p.mu, steps: 1,
                            count: oneStepSamples, keepPath: false)
            }
        }
        return out
    }

    /// Exact one-step law (its moments) from `x` (default: `oneStepStart`) and exact multi-step
    /// law at μ.
    public func exactOneStep(_ mu: [Double], from x: [Double]? = nil) -> GaussianLaw {
        GaussianLaw.exact(example, start: StartLaw(mean: x ?? oneStepStart), mu: mu, time: dt)!
    }
    public func exactLaw(_ mu: [Double], steps: Int? = nil) -> GaussianLaw {
        GaussianLaw.exact(example, start: lawStart, mu: mu, time: Double(steps ?? lawSteps) * dt)!
    }
    /// The stationary law (the exact law after a very long time).
    public func stationaryLaw(_ mu: [Double]) -> GaussianLaw {
        GaussianLaw.exact(example, start: StartLaw(mean: [Double](repeating: 0, count: example.d)), mu: mu, time: 1e4)!
    }
}
