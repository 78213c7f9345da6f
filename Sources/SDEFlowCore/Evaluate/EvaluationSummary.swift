import Foundation

// The headline figures and the plain-text table of an evaluation.
extension EvaluationResult {
    /// The headline figures (stable keys, `metrics.json`'s `headline`): the point's one-step
    /// figures (the paper's), the worst over every start state, the multi-step and stationary ones.
    static func headline(_ spec: EvaluationSpec, _ one: LawSection, _ states: StateSection, _ multi: LawSection,
                         _ st: [StationaryRow]?) -> [HeadlineEntry] {
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
            one.rows.map(\.varianceErrorFloor).max() ?? 0)
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
        h += stateHeadline(spec, states)
        add("multiStep.meanErrorNoiseFloor", "\(multi.steps) steps: |mean error| of \(spec.lawSamples) iid exact draws (max over μ)",
            multi.rows.map(\.meanErrorFloor).max() ?? 0)
        add("multiStep.varianceRelativeErrorNoiseFloor", "\(multi.steps) steps: variance rel. error of \(spec.lawSamples) iid exact draws",
            multi.rows.map(\.varianceErrorFloor).max() ?? 0)
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
        out += stateTable
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
            "  " + e.label.padding(toLength: 80, withPad: " ", startingAt: 0) + " " + Self.formatted(e)
        }.joined(separator: "\n") + "\n"
    }

    /// The one-step errors from every start state, grouped by μ (the point's rows are the table above).
    var stateTable: String {
        let sec = metrics.oneStepStates, d = spec.example.d
        var out = "\n\(sec.description), \(sec.samples) samples per state and μ\n"
        out += "        μ  kind      state   \(d == 1 ? "        x" : "x".padding(toLength: 20, withPad: " ", startingAt: 0))"
            + "  mean error (floor)    var rel err (floor)        W1    W1 floor  W1/floor\n"
        let quantiles = sec.states.filter { $0.level != nil }
        for k in spec.oneStepMu.indices {
            for state in quantiles {
                let r = state.rows[k], x = r.start ?? []
                let xText = d == 1 ? String(format: "%9.4f", x.first ?? .nan)
                    : ("(" + x.prefix(2).map { String(format: "%.3f", $0) }.joined(separator: ", ") + (d > 2 ? ", …)" : ")"))
                        .padding(toLength: 20, withPad: " ", startingAt: 0)
                out += String(format: "%9.4f  %@  %@  %@  %9.5f (%7.5f)  %7.3f%% (%5.2f%%)  %9.5f  %9.5f  %7.2f\n", r.mu[0],
                              r.observed ? "observed" : "between ", state.name.padding(toLength: 6, withPad: " ", startingAt: 0), xText,
                              r.meanError, r.meanErrorFloor, 100 * r.varianceRelativeError, 100 * r.varianceErrorFloor,
                              r.maxW1, r.w1Reference.max() ?? 0, r.w1OverFloor)
            }
        }
        return out
    }

    /// A headline value as printed: relative errors in %, ratios to a floor with ×, others plain.
    static func formatted(_ e: HeadlineEntry) -> String {
        if e.key.hasSuffix("RelativeError") || e.key.hasSuffix("RelativeErrorNoiseFloor") { return String(format: "%.3f%%", 100 * e.value) }
        if e.key.hasSuffix("OverFloor") { return String(format: "%.2f×", e.value) }
        return String(format: "%.5f", e.value)
    }

    /// The worst one-step figures over every start state (and where each is), with the largest
    /// noise floors among the rows.
    static func stateHeadline(_ spec: EvaluationSpec, _ sec: StateSection) -> [HeadlineEntry] {
        var h: [HeadlineEntry] = []
        let count = sec.states.count
        for (name, pick) in [("observed", true), ("between", false)] {
            let rows = sec.states.flatMap(\.rows).filter { $0.observed == pick }
            guard !rows.isEmpty else { continue }
            let muCount = rows.count / max(count, 1)
            for (key, what, value) in [("maxMeanError", "max |mean error|", { (r: LawRow) in r.meanError }),
                                       ("maxVarianceRelativeError", "max variance rel. error", { (r: LawRow) in r.varianceRelativeError }),
                                       ("maxW1", "max W1", { (r: LawRow) in r.maxW1 }),
                                       ("maxW1OverFloor", "max W1 / noise floor", { (r: LawRow) in r.w1OverFloor })] {
                let worst = rows.max { value($0) < value($1) }!
                h.append(HeadlineEntry(key: "oneStepStates.\(name).\(key)",
                                       label: "one step, \(count) states × \(muCount) \(name) μ: \(what) (\(worst.state ?? "?"), μ = \(fmt(worst.mu[0])))",
                                       value: value(worst)))
            }
        }
        let all = sec.states.flatMap(\.rows)
        h.append(HeadlineEntry(key: "oneStepStates.meanErrorNoiseFloor",
                               label: "one step, all states: |mean error| of \(sec.samples) iid exact draws (max over rows)",
                               value: all.map(\.meanErrorFloor).max() ?? 0))
        h.append(HeadlineEntry(key: "oneStepStates.varianceRelativeErrorNoiseFloor",
                               label: "one step, all states: variance rel. error of \(sec.samples) iid exact draws (max)",
                               value: all.map(\.varianceErrorFloor).max() ?? 0))
        return h
    }
}
