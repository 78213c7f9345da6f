import Foundation

/// One batch of learned rollouts: `count` samples (global ids 0..<count) from `start` at `mu`
/// over `steps` steps. Start draws and step noise are keyed by (seed, job key, sample id, step),
/// so any split of the ids over ranks gives the same samples.
public struct SamplingJob: Sendable {
    public var key: Int
    public var start: StartLaw
    public var mu: [Double]
    public var steps: Int
    public var count: Int
    /// Keep every state (count × (steps + 1) × d) or only the final one (count × d).
    public var keepPath: Bool
    /// Antithetic, moment-matched step noise (`FlowModel.rollout`, `noiseScales`): for jobs that
    /// estimate moments, which would otherwise carry the Monte Carlo error of the noise itself —
    /// std/√count in the mean (0.0014 for Example 2 at 100 000 samples, half the accuracy target)
    /// and √(2/count) in the variance (0.45 %, a quarter of it); not for plotted paths.
    public var antithetic: Bool

    public init(key: Int, start: StartLaw, mu: [Double], steps: Int, count: Int, keepPath: Bool, antithetic: Bool = true) {
        self.key = key; self.start = start; self.mu = mu; self.steps = steps; self.count = count; self.keepPath = keepPath
        self.antithetic = antithetic
    }

    public func valuesPerSample(d: Int) -> Int { (keepPath ? steps + 1 : 1) * d }
    /// Model evaluations per sample: the unit of work when jobs are shared out.
    public var cost: Int { max(steps, 1) }

    /// The samples `ids` of this job, in id order. `noiseScale`: this job's `noiseScales` for
    /// `seed`, when the caller keeps them across blocks of ids (computed here otherwise).
    public func run(model: FlowModel, ids: Range<Int>, seed: UInt64, noiseScale: [Double]? = nil) -> [Double] {
        let d = model.info.d
        var starts = [Double](repeating: 0, count: ids.count * d)
        let rng = CounterRNG(seed: seed)
        var z = [Double](repeating: 0, count: d)
        for (s, id) in ids.enumerated() {
            if !start.isPoint {
                z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .evaluationStart, id: UInt64(id), index: UInt32(key)) }
            }
            for i in 0..<d { starts[s * d + i] = start.mean[i] + start.std[i] * z[i] }
        }
        return model.rollout(starts: starts, mu: mu, steps: steps, ids: ids, seed: noiseSeed(seed),
                             stream: .evaluationNoise, keepPath: keepPath, antithetic: antithetic,
                             noiseScale: antithetic ? (noiseScale ?? noiseScales(d: d, seed: seed)) : nil)
    }

    /// The seed of this job's step noise.
    func noiseSeed(_ seed: UInt64) -> UInt64 { seed &+ UInt64(key + 1) &* 0x9E37_79B9_7F4A_7C15 }

    /// Moment matching (Glasserman, *Monte Carlo Methods in Financial Engineering*, §4.5): per
    /// step and component, 1/√(mean z²) over all `count` samples of the job, so the antithetic
    /// noise has mean 0 and mean square 1 exactly and a variance estimate measures the model,
    /// not how far this draw's Σz² fell from count. Computed from every id, on every rank: the
    /// same scales for any split of the samples. steps × d values.
    public func noiseScales(d: Int, seed: UInt64) -> [Double] {
        let rng = CounterRNG(seed: noiseSeed(seed))
        let pairs = (count + 1) / 2
        var sums = [Double](repeating: 0, count: steps * d), z = [Double](repeating: 0, count: d)
        for n in 0..<steps {
            for k in 0..<pairs {
                z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .evaluationNoise, id: UInt64(k), index: UInt32(n)) }
                // Sample 2k carries z, sample 2k + 1 (when it exists) carries −z.
                let copies = 2 * k + 1 < count ? 2.0 : 1.0
                for i in 0..<d { sums[n * d + i] += copies * z[i] * z[i] }
            }
        }
        return sums.map { $0 > 0 ? (Double(count) / $0).squareRoot() : 1 }
    }
}

/// What `evaluate` measures for one example (METHOD.md §4), with the paper's settings as defaults.
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
        let d = example.d
        oneStepMu = grid
        paperMu = []
        stationary = false
        let lawMuDefault: [MuPoint]
        switch example.name {
        case "bm":
            oneStepStart = [2]; oneStepSamples = 10_000
            lawStart = StartLaw(mean: [0], std: [0.5]); lawSteps = 10; lawSamples = 10_000
            lawMuDefault = grid
        case "ou":
            oneStepStart = [1]; oneStepSamples = 20_000
            lawStart = StartLaw(mean: [0]); lawSteps = 50; lawSamples = 50_000
            lawMuDefault = grid; stationary = true
        case "ou2d":
            oneStepStart = [1.5, 0.5]; oneStepSamples = 20_000
            lawStart = StartLaw(mean: [2, 0]); lawSteps = 20; lawSamples = 10_000
            paperMu = [[0.5], [1], [2]]
            let picks = [[0.5], [1], [2]].map { m in MuPoint(mu: m, observed: observed.contains { Self.same($0, m) }) }
                + (mids.isEmpty ? [] : [mids[0], mids[mids.count / 2], mids[mids.count - 1]])
            lawMuDefault = picks.sorted { $0.mu.lexicographicallyPrecedes($1.mu) }
        default:
            oneStepStart = [Double](repeating: 0, count: d); oneStepSamples = 10_000
            lawStart = StartLaw(mean: [Double](repeating: 0, count: d)); lawSteps = 10; lawSamples = 10_000
            lawMuDefault = grid
        }
        lawMu = lawMuDefault
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
    public var oneStep: LawSection
    public var multiStep: LawSection
    public var stationary: [StationaryRow]?
    public var headline: [HeadlineEntry]
}

/// The metrics plus the raw samples the report plots.
public struct EvaluationResult: Sendable {
    public var spec: EvaluationSpec
    public var metrics: EvaluationMetrics
    /// One-step samples (n × d) at `spec.densityMu`.
    public var densitySamples: [[Double]]
    /// Fan trajectories: fanSamples × (lawSteps + 1) × d.
    public var fanPaths: [Double]

    /// Statistics from the jobs' samples (`results[j]` for `spec.jobs[j]`, in sample id order).
    public init(spec: EvaluationSpec, results: [[Double]]) {
        self.spec = spec
        let d = spec.example.d, k1 = spec.oneStepMu.count, k2 = spec.lawMu.count
        precondition(results.count == k1 + k2 + 1)
        let floor1 = Wasserstein.noiseFloor(n: spec.oneStepSamples, seed: spec.seed)
        let floor2 = Wasserstein.noiseFloor(n: spec.lawSamples, seed: spec.seed)
        let oneRows = spec.oneStepMu.enumerated().map { k, p in
            LawRow(at: p, samples: results[k], d: d, exact: spec.exactOneStep(p.mu), floor: floor1)
        }
        let lawRows = spec.lawMu.enumerated().map { k, p in
            LawRow(at: p, samples: results[k1 + k], d: d, exact: spec.exactLaw(p.mu), floor: floor2)
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
                                    oneStep: one, multiStep: multi, stationary: stationary,
                                    headline: Self.headline(spec, one, multi, stationary))
        densitySamples = spec.densityMu.map { p in results[spec.oneStepMu.firstIndex(of: p)!] }
        fanPaths = results[k1 + k2]
    }

    static func headline(_ spec: EvaluationSpec, _ one: LawSection, _ multi: LawSection, _ st: [StationaryRow]?) -> [HeadlineEntry] {
        var h: [HeadlineEntry] = []
        func add(_ key: String, _ label: String, _ value: Double) { h.append(HeadlineEntry(key: key, label: label, value: value)) }
        for (name, s) in [("observed", one.observed), ("between", one.between)] {
            guard let s else { continue }
            add("oneStep.\(name).maxMeanError", "one step, \(name) μ (\(s.count)): max |mean error|", s.maxMeanError)
            add("oneStep.\(name).maxVarianceRelativeError", "one step, \(name) μ (\(s.count)): max variance rel. error", s.maxVarianceRelativeError)
            add("oneStep.\(name).maxW1", "one step, \(name) μ (\(s.count)): max W1", s.maxW1)
        }
        add("oneStep.w1NoiseFloor", "one step: mean W1 of \(spec.oneStepSamples) exact draws (noise floor, max over μ)",
            one.rows.map { $0.w1Reference.max() ?? 0 }.max() ?? 0)
        let paper = one.rows.filter { r in spec.paperMu.contains { EvaluationSpec.same($0, r.mu) } }
        if !paper.isEmpty {
            let list = paper.map { fmt($0.mu[0]) }.joined(separator: ", ")
            add("oneStep.paperMu.maxMeanError", "one step at μ ∈ {\(list)}: max |mean error|", paper.map(\.meanError).max()!)
            add("oneStep.paperMu.maxVarianceRelativeError", "one step at μ ∈ {\(list)}: max variance rel. error",
                paper.map(\.varianceRelativeError).max()!)
        }
        for (name, s) in [("observed", multi.observed), ("between", multi.between)] {
            guard let s else { continue }
            add("multiStep.\(name).maxMeanError", "\(multi.steps) steps, \(name) μ (\(s.count)): max |mean error|", s.maxMeanError)
            add("multiStep.\(name).maxVarianceRelativeError", "\(multi.steps) steps, \(name) μ (\(s.count)): max variance rel. error",
                s.maxVarianceRelativeError)
            add("multiStep.\(name).maxW1", "\(multi.steps) steps, \(name) μ (\(s.count)): max W1", s.maxW1)
        }
        if let st {
            for (name, pick) in [("observed", true), ("between", false)] {
                let rows = st.filter { $0.observed == pick }
                guard !rows.isEmpty else { continue }
                add("stationary.\(name).maxRelativeError", "stationary variance, \(name) μ: max rel. error vs (1+μ²)/(2μ)",
                    rows.map(\.relativeError).max()!)
            }
        }
        return h
    }

    /// The plain-text table `evaluate` prints.
    public var table: String {
        let m = metrics
        var out = "\(m.example): evaluation against the exact law (Δt = \(fmt(m.dt)), seed \(m.seed))\n"
        for sec in [m.oneStep, m.multiStep] {
            out += "\n\(sec.description), \(sec.samples) samples per μ\n"
            out += "        μ  kind       mean error   var rel err         W1    W1 floor\n"
            for r in sec.rows {
                out += String(format: "%9.4f  %@  %11.5f  %11.3f%%  %9.5f  %9.5f\n", r.mu[0], r.observed ? "observed" : "between ",
                              r.meanError, 100 * r.varianceRelativeError, r.maxW1, r.w1Reference.max() ?? 0)
            }
        }
        if let st = m.stationary {
            out += "\nstationary variance: learned after \(m.multiStep.steps) steps vs (1+μ²)/(2μ) and vs the exact variance at that time\n"
            out += "        μ  kind        learned   stationary   rel err   exact(T)   rel err\n"
            for r in st {
                out += String(format: "%9.4f  %@  %9.4f  %11.4f  %7.2f%%  %9.4f  %7.2f%%\n", r.mu[0], r.observed ? "observed" : "between ",
                              r.variance[0], r.stationaryVariance[0], 100 * r.relativeError, r.exactVarianceAtT[0], 100 * r.relativeErrorAtT)
            }
        }
        out += "\nheadline\n" + headlineText
        return out
    }

    /// The headline figures, one per line.
    public var headlineText: String {
        metrics.headline.map { e in
            let isRelative = e.key.hasSuffix("RelativeError")
            return "  " + e.label.padding(toLength: 72, withPad: " ", startingAt: 0) + " "
                + (isRelative ? String(format: "%.3f%%", 100 * e.value) : String(format: "%.5f", e.value))
        }.joined(separator: "\n") + "\n"
    }
}
