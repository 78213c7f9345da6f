import Foundation

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
            if spec.example.d > 1 {
                add("oneStep.\(name).maxCovarianceRelativeError", "one step, \(name) μ (\(s.count)): max covariance rel. error (Frobenius)",
                    s.maxCovarianceRelativeError)
            }
        }
        add("oneStep.meanErrorNoiseFloor", "one step: |mean error| of \(spec.oneStepSamples) iid exact draws (max over μ)",
            one.rows.map(\.meanErrorFloor).max() ?? 0)
        add("oneStep.varianceRelativeErrorNoiseFloor", "one step: variance rel. error of \(spec.oneStepSamples) iid exact draws",
            one.rows.first?.varianceErrorFloor ?? 0)
        if spec.example.d > 1 {
            add("oneStep.covarianceRelativeErrorNoiseFloor", "one step: covariance rel. error of \(spec.oneStepSamples) iid exact draws (max over μ)",
                one.rows.map(\.covarianceErrorFloor).max() ?? 0)
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
        add("multiStep.meanErrorNoiseFloor", "\(multi.steps) steps: |mean error| of \(spec.lawSamples) iid exact draws (max over μ)",
            multi.rows.map(\.meanErrorFloor).max() ?? 0)
        add("multiStep.varianceRelativeErrorNoiseFloor", "\(multi.steps) steps: variance rel. error of \(spec.lawSamples) iid exact draws",
            multi.rows.first?.varianceErrorFloor ?? 0)
        for (name, s) in [("observed", multi.observed), ("between", multi.between)] {
            guard let s else { continue }
            add("multiStep.\(name).maxMeanError", "\(multi.steps) steps, \(name) μ (\(s.count)): max |mean error|", s.maxMeanError)
            add("multiStep.\(name).maxVarianceRelativeError", "\(multi.steps) steps, \(name) μ (\(s.count)): max variance rel. error",
                s.maxVarianceRelativeError)
            add("multiStep.\(name).maxW1", "\(multi.steps) steps, \(name) μ (\(s.count)): max W1", s.maxW1)
            if spec.example.d > 1 {
                add("multiStep.\(name).maxCovarianceRelativeError", "\(multi.steps) steps, \(name) μ (\(s.count)): max covariance rel. error",
                    s.maxCovarianceRelativeError)
            }
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
            out += "        μ  kind       mean error (floor)    var rel err (floor)   cov rel err (floor)        W1    W1 floor\n"
            for r in sec.rows {
                out += String(format: "%9.4f  %@  %9.5f (%7.5f)  %7.3f%% (%5.2f%%)  %7.3f%% (%5.2f%%)  %9.5f  %9.5f\n", r.mu[0],
                              r.observed ? "observed" : "between ", r.meanError, r.meanErrorFloor, 100 * r.varianceRelativeError,
                              100 * r.varianceErrorFloor, 100 * r.covarianceRelativeError, 100 * r.covarianceErrorFloor,
                              r.maxW1, r.w1Reference.max() ?? 0)
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
