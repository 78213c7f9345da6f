import Foundation

/// `report.html`: one self-contained page (inline SVG and CSS, no scripts, no external
/// resources) showing the learned model against the exact law.
public enum EvaluationReport {
    static let learned = "#d62728", exact = "#1f77b4", observedColor = "#2ca02c", grey = "#7f7f7f"

    public static func html(_ r: EvaluationResult, modelPath: String? = nil) -> String {
        let spec = r.spec, m = r.metrics, ex = spec.example
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8"/>
            <title>sdeflow-mpi evaluation: \(escapeXML(ex.name))</title>
            <style>
            body { font-family: Helvetica, Arial, sans-serif; margin: 24px; color: #222; max-width: 1400px; }
            h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ccc; }
            .row { display: flex; flex-wrap: wrap; gap: 10px; }
            table { border-collapse: collapse; font-size: 12px; margin: 8px 0; }
            td, th { border: 1px solid #ccc; padding: 2px 7px; text-align: right; }
            th { background: #f2f2f2; } td.l, th.l { text-align: left; }
            tr.between td { background: #fafafa; font-style: italic; }
            p.note { font-size: 13px; color: #444; max-width: 1000px; }
            </style>
            </head>
            <body>
            <h1>sdeflow-mpi evaluation: \(escapeXML(ex.name)) — \(escapeXML(ex.summary))</h1>
            <p class="note">Model: \(escapeXML(modelPath ?? "(in memory)")). Δt = \(fmt(spec.dt)), seed \(spec.seed),
            \(spec.observedMu.count) observed μ in [\(fmt(spec.muRange.lowerBound)), \(fmt(spec.muRange.upperBound))].
            “between” μ are midpoints of neighbouring observed values: the model never saw them.
            W1 is the 1-D Wasserstein-1 distance between the learned sample and the exact law (per component):
            the exact Gaussian, or for a law that is not Gaussian the empirical law of exact draws;
            the noise floor is the mean W1 of as many exact draws (what a perfect model would score).</p>

            """
        page += "<h2>Headline</h2>\n<table><tr><th class=\"l\">figure</th><th>value</th></tr>\n"
        for e in m.headline {
            page += "<tr><td class=\"l\">\(escapeXML(e.label))</td><td>\(escapeXML(EvaluationResult.formatted(e)))</td></tr>\n"
        }
        page += "</table>\n"

        page += section("One-step law: learned vs exact density",
                        "From \(StartLaw(mean: spec.oneStepStart).text), \(spec.oneStepSamples) samples per μ: histogram of the learned state after one step (per component) against the exact density (Gaussian, or a fine histogram of exact draws for a law that is not).",
                        densityPlots(r))
        page += section("One-step conditional mean and standard deviation against μ",
                        "Exact curves over the whole range; learned values at the observed μ (filled) and between them (hollow). Ticks at the bottom mark the observed μ.",
                        momentPlots(spec, m.oneStep, exact: { spec.exactOneStep($0) }, what: "one step"))
        page += section("One-step errors against μ", "Dashed: what as many iid exact draws would score (the noise floor).", errorPlots(spec, m.oneStep))
        page += section("One-step law from every start state",
                        "From the \(spec.quantileStates.compactMap(\.level).map { fmt(100 * $0) }.joined(separator: ", ")) % quantiles of the x the example's data hold at each μ (its data design simulated at that μ) and from the point, \(spec.oneStepSamples) samples each: where the states lie, then each error against μ (a series per state; filled: observed μ, hollow: between) and against the start state.",
                        statePlots(r))
        if spec.example.d > 1 {
            page += section("Pairwise one-step marginals", "Learned one-step samples (dots, 1500 drawn) at \(muText(spec.densityMu[spec.densityMu.count / 2])) against the exact law's 1σ and 2σ ellipses.",
                            pairwisePlots(r))
        }
        page += section("Trajectories", "\(spec.fanSamples) learned trajectories from \(spec.lawStart.text) at μ = \(fmt(spec.fanMu.mu[0])) (\(spec.fanMu.kind)); 30 are drawn. Band: exact mean ± 2 std; dashed: learned mean ± 2 std.",
                        fanPlots(r))
        page += section("Multi-step law against μ", escapeXML(m.multiStep.description) + ", \(spec.lawSamples) samples per μ.",
                        momentPlots(spec, m.multiStep, exact: { spec.exactLaw($0) }, what: "\(spec.lawSteps) steps")
                        + errorPlots(spec, m.multiStep))
        if let st = m.stationary { page += section("Stationary variance against μ", "", [stationaryPlot(spec, st)]) }
        page += "<h2>Tables</h2>\n" + table(m.oneStep) + table(m.multiStep) + stateTable(m.oneStepStates)
        return page + "</body>\n</html>\n"
    }

    static func section(_ title: String, _ note: String, _ plots: [SVGPlot]) -> String {
        section(title, note, plots.map { $0.svg() }.joined(separator: "\n"))
    }
    static func section(_ title: String, _ note: String, _ svgs: String) -> String {
        "<h2>\(escapeXML(title))</h2>\n" + (note.isEmpty ? "" : "<p class=\"note\">\(note)</p>\n") + "<div class=\"row\">\n\(svgs)\n</div>\n"
    }

    static func component(_ i: Int, _ d: Int) -> String { d == 1 ? "x" : "x\(["₁", "₂", "₃", "₄"][min(i, 3)])" }
    static func muText(_ p: MuPoint) -> String { "μ = \(fmt(p.mu[0])) (\(p.kind))" }

    static func densityPlots(_ r: EvaluationResult) -> [SVGPlot] {
        let spec = r.spec, d = spec.example.d
        var plots: [SVGPlot] = []
        for (k, (p, samples)) in zip(spec.densityMu, r.densitySamples).enumerated() {
            let law = spec.exactOneStep(p.mu)
            let row = r.metrics.oneStep.rows.first { $0.mu == p.mu }
            for i in 0..<min(d, 4) {  // the first four components: d = 50 would be 150 plots
                let mean = law.mean[i], sd = law.std[i]
                let xr = (mean - 4.5 * sd)...(mean + 4.5 * sd)
                let values = stride(from: i, to: samples.count, by: d).map { samples[$0] }
                let h = histogram(values, bins: 48, range: xr)
                let xs = (0...200).map { xr.lowerBound + (xr.upperBound - xr.lowerBound) * Double($0) / 200 }
                var exactX = xs, pdf = xs.map { StandardNormal.pdf(($0 - mean) / sd) / sd }
                var exactLabel = "exact N(\(fmt(mean, 3)), \(fmt(sd, 3))²)"
                if let refs = r.densityReferences {  // not Gaussian: a fine histogram of exact draws
                    let reference = refs[k]
                    let e = histogram(stride(from: i, to: reference.count, by: d).map { reference[$0] }, bins: 96, range: xr)
                    exactX = (0..<96).map { (e.edges[$0] + e.edges[$0 + 1]) / 2 }
                    pdf = e.density
                    exactLabel = "exact (\(reference.count / d) exact draws)"
                }
                var plot = SVGPlot(title: "one step, \(muText(p))", xLabel: component(i, d) + " after one step", yLabel: "density",
                                   x: xr, y: 0...(max(h.density.max() ?? 0, pdf.max() ?? 0) * 1.12))
                plot.bars(edges: h.edges, heights: h.density, color: learned,
                          label: "learned" + (row.map { ", W1 = " + fmt($0.w1[i], 3) } ?? ""))
                plot.line(exactX, pdf, color: exact, width: 2, label: exactLabel)
                plots.append(plot)
            }
        }
        return plots
    }

    /// The μ axis: the range with a little room for markers at its ends.
    static func muAxis(_ spec: EvaluationSpec) -> ClosedRange<Double> { SVGPlot.range([spec.muRange.lowerBound, spec.muRange.upperBound], pad: 0.03) }
    /// From just below 0 (markers at 0 stay visible) to above every value.
    static func fromZero(_ values: [Double]) -> ClosedRange<Double> {
        let top = SVGPlot.range(values.map { max($0, 0) } + [0], pad: 0.08).upperBound
        return (-0.03 * top)...top
    }

    /// A dense μ grid over the range (1-D μ).
    static func dense(_ spec: EvaluationSpec, _ n: Int = 160) -> [Double] {
        let r = spec.muRange
        return (0...n).map { r.lowerBound + (r.upperBound - r.lowerBound) * Double($0) / Double(n) }
    }

    static func momentPlots(_ spec: EvaluationSpec, _ sec: LawSection, exact law: ([Double]) -> GaussianLaw, what: String) -> [SVGPlot] {
        let d = spec.example.d, mus = dense(spec)
        let laws = mus.map { law([$0]) }
        var plots: [SVGPlot] = []
        for i in 0..<d {
            for (name, exactValues, learnedValue) in [
                ("mean", laws.map { $0.mean[i] }, { (r: LawRow) in r.mean[i] }),
                ("std", laws.map { $0.std[i] }, { (r: LawRow) in r.variance[i].squareRoot() }),
            ] {
                let obs = sec.rows.filter(\.observed), mid = sec.rows.filter { !$0.observed }
                let yr = SVGPlot.range(exactValues + sec.rows.map(learnedValue), pad: 0.08)
                var plot = SVGPlot(title: "\(what): \(name) of \(component(i, d)) against μ", xLabel: "μ", yLabel: name,
                                   x: muAxis(spec), y: yr)
                plot.line(mus, exactValues, color: exact, width: 2, label: "exact")
                plot.points(obs.map { $0.mu[0] }, obs.map(learnedValue), color: learned, label: "learned, observed μ")
                plot.points(mid.map { $0.mu[0] }, mid.map(learnedValue), color: learned, filled: false, label: "learned, between")
                plot.marks(spec.observedMu.map { $0[0] }, color: observedColor)
                plots.append(plot)
            }
        }
        return plots
    }

    static func errorPlots(_ spec: EvaluationSpec, _ sec: LawSection) -> [SVGPlot] {
        let obs = sec.rows.filter(\.observed), mid = sec.rows.filter { !$0.observed }
        var plots: [SVGPlot] = []
        let what = sec.steps == 1 ? "one step" : "\(sec.steps) steps"
        for (name, value) in [("|mean error|", { (r: LawRow) in r.meanError }),
                              ("variance rel. error (%)", { (r: LawRow) in 100 * r.varianceRelativeError }),
                              ("W1 (max over components)", { (r: LawRow) in r.maxW1 })]
            + (spec.example.d > 1 ? [("covariance rel. error, Frobenius (%)", { (r: LawRow) in 100 * r.covarianceRelativeError })] : []) {
            var plot = SVGPlot(title: "\(what): \(name)", xLabel: "μ", yLabel: name, x: muAxis(spec),
                               y: fromZero(sec.rows.map(value)))
            plot.points(obs.map { $0.mu[0] }, obs.map(value), color: learned, label: "observed μ")
            plot.points(mid.map { $0.mu[0] }, mid.map(value), color: learned, filled: false, label: "between")
            let floors: [Double] = name.hasPrefix("W1") ? sec.rows.map { $0.w1Reference.max() ?? 0 }
                : name.hasPrefix("|mean") ? sec.rows.map(\.meanErrorFloor)
                : name.hasPrefix("variance") ? sec.rows.map { 100 * $0.varianceErrorFloor }
                : sec.rows.map { 100 * $0.covarianceErrorFloor }
            plot.yRange = fromZero(sec.rows.map(value) + floors)
            plot.line(sec.rows.map { $0.mu[0] }, floors, color: grey, width: 1.2, dash: "4 3", label: "noise floor (iid exact draws)")
            plot.marks(spec.observedMu.map { $0[0] }, color: observedColor)
            plots.append(plot)
        }
        return plots
    }

    static func fanPlots(_ r: EvaluationResult) -> [SVGPlot] {
        let spec = r.spec, d = spec.example.d, steps = spec.lawSteps, n = spec.fanSamples
        let ts = (0...steps).map { Double($0) * spec.dt }
        let laws = (0...steps).map { spec.exactLaw(spec.fanMu.mu, steps: $0) }
        var plots: [SVGPlot] = []
        for i in 0..<d {
            func value(_ s: Int, _ k: Int) -> Double { r.fanPaths[(s * (steps + 1) + k) * d + i] }
            var lm = [Double](repeating: 0, count: steps + 1), ls = lm
            for k in 0...steps {
                var sum = 0.0, sq = 0.0
                for s in 0..<n { sum += value(s, k) }
                lm[k] = sum / Double(n)
                for s in 0..<n { let t = value(s, k) - lm[k]; sq += t * t }
                ls[k] = (sq / Double(max(n - 1, 1))).squareRoot()
            }
            let em = laws.map { $0.mean[i] }, es = laws.map { $0.std[i] }
            let shown = min(30, n)
            let all: [Double] = (0..<shown).flatMap { s in (0...steps).map { value(s, $0) } }
            let lower: [Double] = zip(em, es).map { $0 - 2 * $1 }
            let upper: [Double] = zip(em, es).map { $0 + 2 * $1 }
            let yr = SVGPlot.range(all + lower + upper, pad: 0.05)
            var plot = SVGPlot(title: "\(component(i, d))(t) at \(muText(spec.fanMu))", xLabel: "t", yLabel: component(i, d), x: 0...ts.last!, y: yr)
            plot.band(ts, lower: lower, upper: upper, color: exact, opacity: 0.18, label: "exact mean ± 2 std")
            for s in 0..<shown { plot.line(ts, (0...steps).map { value(s, $0) }, color: grey, width: 0.7, opacity: 0.55) }
            plot.line(ts, em, color: exact, width: 2, label: "exact mean")
            plot.line(ts, lm, color: learned, width: 1.6, dash: "5 3", label: "learned mean ± 2 std")
            plot.line(ts, zip(lm, ls).map { $0 - 2 * $1 }, color: learned, width: 1.2, dash: "5 3")
            plot.line(ts, zip(lm, ls).map { $0 + 2 * $1 }, color: learned, width: 1.2, dash: "5 3")
            plots.append(plot)
        }
        return plots
    }

    static func stationaryPlot(_ spec: EvaluationSpec, _ rows: [StationaryRow]) -> SVGPlot {
        let mus = dense(spec)
        let stat = mus.map { spec.stationaryLaw([$0]).variance[0] }, atT = mus.map { spec.exactLaw([$0]).variance[0] }
        let obs = rows.filter(\.observed), mid = rows.filter { !$0.observed }
        var plot = SVGPlot(title: "variance after \(spec.lawSteps) steps from \(spec.lawStart.text) against μ", xLabel: "μ",
                           yLabel: "variance", x: muAxis(spec), y: SVGPlot.range(stat + atT + rows.map { $0.variance[0] }, pad: 0.08))
        plot.width = 560
        plot.line(mus, stat, color: exact, width: 2, label: "stationary (1+μ²)/(2μ)")
        plot.line(mus, atT, color: exact, width: 1.2, dash: "4 3", label: "exact at T = \(fmt(Double(spec.lawSteps) * spec.dt))")
        plot.points(obs.map { $0.mu[0] }, obs.map { $0.variance[0] }, color: learned, label: "learned, observed μ")
        plot.points(mid.map { $0.mu[0] }, mid.map { $0.variance[0] }, color: learned, filled: false, label: "learned, between")
        plot.marks(spec.observedMu.map { $0[0] }, color: observedColor)
        return plot
    }

    static func table(_ sec: LawSection) -> String {
        var s = "<h3>\(escapeXML(sec.description)), \(sec.samples) samples per μ</h3>\n<table>\n"
        s += "<tr><th>μ</th><th class=\"l\">kind</th><th>mean</th><th>exact mean</th><th>variance</th><th>exact variance</th>"
            + "<th>|mean error|</th><th>var rel. error</th><th>W1</th><th>W1 floor</th></tr>\n"
        func list(_ v: [Double]) -> String { v.map { String(format: "%.5f", $0) }.joined(separator: ", ") }
        for r in sec.rows {
            s += "<tr class=\"\(r.observed ? "observed" : "between")\"><td>\(fmt(r.mu[0]))</td><td class=\"l\">\(r.observed ? "observed" : "between")</td>"
                + "<td>\(list(r.mean))</td><td>\(list(r.exactMean))</td><td>\(list(r.variance))</td><td>\(list(r.exactVariance))</td>"
                + String(format: "<td>%.5f</td><td>%.3f %%</td>", r.meanError, 100 * r.varianceRelativeError)
                + "<td>\(list(r.w1))</td><td>\(list(r.w1Reference))</td></tr>\n"
        }
        return s + "</table>\n"
    }
}
