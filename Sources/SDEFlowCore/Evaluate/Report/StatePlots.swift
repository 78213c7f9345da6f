import Foundation

extension EvaluationReport {
    /// One colour per start state, low quantiles dark (viridis-like), the point in the learned red.
    static func stateColor(_ state: StateRows, _ index: Int) -> String {
        guard state.level != nil else { return learned }
        let palette = ["#440154", "#3b528b", "#21918c", "#5ec962", "#b8a100", "#7a0177", "#00429d"]
        return palette[index % palette.count]
    }

    /// The report's section on the one-step law from every start state: where the states are
    /// (component 0 against μ), each error against μ with one series per state, and each error
    /// against the state's x (component 0) over every row, with the rows' noise floors.
    static func statePlots(_ r: EvaluationResult) -> [SVGPlot] {
        let spec = r.spec, sec = r.metrics.oneStepStates, d = spec.example.d
        let comp = component(0, d)
        let mus = spec.oneStepMu.map { $0.mu[0] }
        var placed = SVGPlot(title: "start states: \(comp) against μ", xLabel: "μ", yLabel: comp, x: muAxis(spec),
                             y: SVGPlot.range(sec.states.flatMap { $0.rows.compactMap { $0.start?[0] } }, pad: 0.08))
        for (i, state) in sec.states.enumerated() {
            placed.line(mus, state.rows.map { $0.start?[0] ?? .nan }, color: stateColor(state, i), width: 1.6, label: state.name)
        }
        placed.marks(spec.observedMu.map { $0[0] }, color: observedColor)
        var plots = [placed]
        let metrics: [(String, (LawRow) -> Double, (LawRow) -> Double)] = [
            ("|mean error|", { $0.meanError }, { $0.meanErrorFloor }),
            ("variance rel. error (%)", { 100 * $0.varianceRelativeError }, { 100 * $0.varianceErrorFloor }),
            ("W1 / its noise floor", { $0.w1OverFloor }, { _ in 1 }),
        ]
        for (name, value, floor) in metrics {
            plots.append(errorAgainstMu(spec, sec, name, value, floor))
            plots.append(errorAgainstState(spec, sec, name, value, floor))
        }
        return plots
    }

    /// One error against μ, a series per state (observed μ filled, midpoints hollow); dashed: the
    /// largest noise floor of the rows.
    static func errorAgainstMu(_ spec: EvaluationSpec, _ sec: StateSection, _ name: String, _ value: (LawRow) -> Double,
                               _ floor: (LawRow) -> Double) -> SVGPlot {
        let all = sec.states.flatMap(\.rows)
        let top = all.map(floor).max() ?? 0
        var plot = SVGPlot(title: "one step from every state: \(name)", xLabel: "μ", yLabel: name, x: muAxis(spec),
                           y: fromZero(all.map(value) + [top]))
        for (i, state) in sec.states.enumerated() {
            let color = stateColor(state, i), obs = state.rows.filter(\.observed), mid = state.rows.filter { !$0.observed }
            plot.line(state.rows.map { $0.mu[0] }, state.rows.map(value), color: color, width: 1, opacity: 0.6, label: state.name)
            plot.points(obs.map { $0.mu[0] }, obs.map(value), color: color, radius: 2.2)
            plot.points(mid.map { $0.mu[0] }, mid.map(value), color: color, filled: false, radius: 2.2)
        }
        plot.hline(top, color: grey, label: "noise floor (max over rows)")
        plot.marks(spec.observedMu.map { $0[0] }, color: observedColor)
        return plot
    }

    /// One error against the start state's first component over every (state, μ) row, each with its
    /// own noise floor (grey marks).
    static func errorAgainstState(_ spec: EvaluationSpec, _ sec: StateSection, _ name: String, _ value: (LawRow) -> Double,
                                  _ floor: (LawRow) -> Double) -> SVGPlot {
        let all = sec.states.flatMap(\.rows), comp = component(0, spec.example.d)
        let xs = all.compactMap { $0.start?[0] }
        var plot = SVGPlot(title: "one step: \(name) against the start \(comp)", xLabel: "start state \(comp)", yLabel: name,
                           x: SVGPlot.range(xs, pad: 0.04), y: fromZero(all.map(value) + all.map(floor)))
        plot.points(all.map { $0.start?[0] ?? .nan }, all.map(floor), color: grey, radius: 1.5, label: "noise floor of the row")
        for (i, state) in sec.states.enumerated() {
            let obs = state.rows.filter(\.observed), mid = state.rows.filter { !$0.observed }
            plot.points(obs.map { $0.start?[0] ?? .nan }, obs.map(value), color: stateColor(state, i), radius: 2.4, label: state.name)
            plot.points(mid.map { $0.start?[0] ?? .nan }, mid.map(value), color: stateColor(state, i), filled: false, radius: 2.4)
        }
        return plot
    }

    /// The table of every (state, μ) row.
    static func stateTable(_ sec: StateSection) -> String {
        var s = "<h3>\(escapeXML(sec.description)), \(sec.samples) samples per state and μ</h3>\n<table>\n"
        s += "<tr><th>μ</th><th class=\"l\">kind</th><th class=\"l\">state</th><th>start x</th><th>|mean error|</th><th>floor</th>"
            + "<th>var rel. error</th><th>floor</th><th>W1</th><th>W1 floor</th></tr>\n"
        func list(_ v: [Double]) -> String { v.map { String(format: "%.4f", $0) }.joined(separator: ", ") }
        let count = sec.states.first?.rows.count ?? 0
        for k in 0..<count {
            for state in sec.states {
                let r = state.rows[k]
                s += "<tr class=\"\(r.observed ? "observed" : "between")\"><td>\(fmt(r.mu[0]))</td><td class=\"l\">\(r.observed ? "observed" : "between")</td>"
                    + "<td class=\"l\">\(escapeXML(state.name))</td><td>\(list(r.start ?? []))</td>"
                    + String(format: "<td>%.5f</td><td>%.5f</td><td>%.3f %%</td><td>%.2f %%</td>", r.meanError, r.meanErrorFloor,
                             100 * r.varianceRelativeError, 100 * r.varianceErrorFloor)
                    + "<td>\(list(r.w1))</td><td>\(list(r.w1Reference))</td></tr>\n"
            }
        }
        return s + "</table>\n"
    }
}
