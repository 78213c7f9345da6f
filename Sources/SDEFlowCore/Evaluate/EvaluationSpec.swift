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
            lawMu = grid
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

    /// The sampling work, in a fixed order: one-step jobs, multi-step jobs, then the fan.
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
        return out
    }

    /// Exact one-step law from `oneStepStart` and exact multi-step law at μ.
    public func exactOneStep(_ mu: [Double]) -> GaussianLaw {
        GaussianLaw.exact(example, start: StartLaw(mean: oneStepStart), mu: mu, time: dt)!
    }
    public func exactLaw(_ mu: [Double], steps: Int? = nil) -> GaussianLaw {
        GaussianLaw.exact(example, start: lawStart, mu: mu, time: Double(steps ?? lawSteps) * dt)!
    }
    /// The stationary law (the exact law after a very long time).
    public func stationaryLaw(_ mu: [Double]) -> GaussianLaw {
        GaussianLaw.exact(example, start: StartLaw(mean: [Double](repeating: 0, count: example.d)), mu: mu, time: 1e4)!
    }
}
