import Foundation

/// The metrics plus the raw samples the report plots.
public struct EvaluationResult: Sendable {
    public var spec: EvaluationSpec
    public var metrics: EvaluationMetrics
    /// One-step samples (n × d) from the point at `spec.densityMu`.
    public var densitySamples: [[Double]]
    /// Exact draws of the same laws (m × d each) when the example's law is not Gaussian (the
    /// report plots their histogram as the exact density); nil for a Gaussian law.
    public var densityReferences: [[Double]]?
    /// Fan trajectories: fanSamples × (lawSteps + 1) × d.
    public var fanPaths: [Double]

    /// Statistics from the jobs' samples (`results[j]` for `spec.jobs[j]`, in sample id order).
    /// `rows`: rows already computed by job index (`DistributedRows`, for an example with an exact
    /// sampler); the others are computed here (`DistributedRows.row`: the same function).
    public init(spec: EvaluationSpec, results: [[Double]], rows known: [Int: LawRow] = [:]) {
        self.spec = spec
        let jobs = spec.jobs, k1 = spec.oneStepMu.count, k2 = spec.lawMu.count
        precondition(results.count == jobs.count, "\(results.count) results for \(jobs.count) jobs")
        func row(_ j: Int, state: StartState? = nil) -> LawRow {
            var r = known[j] ?? DistributedRows.row(spec, job: jobs[j], point: DistributedRows.point(spec, job: j), samples: results[j])
            if let state { r.state = state.name; r.start = jobs[j].start.mean }
            return r
        }
        let oneRows = spec.oneStepMu.indices.map { row($0) }
        let lawRows = spec.lawMu.indices.map { row(k1 + $0) }
        let statesSection = Self.stateSection(spec, point: oneRows) { s, k in
            row(k1 + k2 + 1 + s * k1 + k, state: spec.quantileStates[s])
        }
        func section(_ description: String, _ start: StartLaw, _ steps: Int, _ samples: Int, _ rows: [LawRow]) -> LawSection {
            LawSection(description: description, start: start, steps: steps, samples: samples, rows: rows,
                       observed: LawSummary(rows.filter(\.observed)), between: LawSummary(rows.filter { !$0.observed }))
        }
        let one = section("one-step law from \(StartLaw(mean: spec.oneStepStart).text)", StartLaw(mean: spec.oneStepStart), 1,
                          spec.oneStepSamples, oneRows)
        let multi = section(spec.lawName, spec.lawStart, spec.lawSteps, spec.lawSamples, lawRows)
        var stationary: [StationaryRow]? = nil
        if spec.stationary {
            stationary = lawRows.map { r in
                let s = spec.stationaryLaw(r.mu).variance
                return StationaryRow(mu: r.mu, observed: r.observed, variance: r.variance, stationaryVariance: s,
                                     relativeError: zip(r.variance, s).map { abs($0 - $1) / $1 }.max()!,
                                     exactVarianceAtT: r.exactVariance, relativeErrorAtT: r.varianceRelativeError)
            }
        }
        metrics = EvaluationMetrics(example: spec.example.name, dt: spec.dt, seed: spec.seed, observedMu: spec.observedMu,
                                    oneStep: one, oneStepStates: statesSection, multiStep: multi, stationary: stationary,
                                    headline: Self.headline(spec, one, statesSection, multi, stationary))
        let densityJobs = spec.densityMu.map { p in spec.oneStepMu.firstIndex(of: p)! }
        densitySamples = densityJobs.map { results[$0] }
        densityReferences = spec.example.exactSampler == nil ? nil : densityJobs.map { j in
            ExactReference.draws(spec.example, start: jobs[j].start, mu: jobs[j].mu, time: spec.dt,
                                 count: ExactReference.count(for: jobs[j].count), seed: spec.seed, key: jobs[j].key)
        }
        fanPaths = results[k1 + k2]
    }

    /// The one-step rows of every start state: the quantile states' rows from `row(state, μ index)`,
    /// then the point's (`point`, the one-step section's rows, labelled with the state).
    static func stateSection(_ spec: EvaluationSpec, point: [LawRow], row: (Int, Int) -> LawRow) -> StateSection {
        let states = spec.states
        var all: [StateRows] = []
        for (s, state) in states.enumerated() {
            let rows: [LawRow] = state.level == nil
                ? point.map { var r = $0; r.state = state.name; r.start = spec.oneStepStart; return r }
                : spec.oneStepMu.indices.map { row(s, $0) }
            all.append(StateRows(name: state.name, level: state.level, rows: rows,
                                 observed: LawSummary(rows.filter(\.observed)), between: LawSummary(rows.filter { !$0.observed })))
        }
        let rows = all.flatMap(\.rows)
        let levels = spec.quantileStates.compactMap(\.level).map { fmt(100 * $0) }.joined(separator: ", ")
        let description = "one-step law from the \(levels) % quantiles of the data's x at each μ and from "
            + StartLaw(mean: spec.oneStepStart).text
        return StateSection(description: description, samples: spec.oneStepSamples, states: all,
                            observed: LawSummary(rows.filter(\.observed)), between: LawSummary(rows.filter { !$0.observed }))
    }
}
