import Foundation

/// The drift and diffusion a flow map implies on a line of states:
/// `â(x, μ) = E[Δx]/Δt` and `b̂(x, μ) = std(Δx)/√Δt` per component, from one-step samples at each x.
/// These are what `inspect` reports on any model, including models of data with no exact law.
/// Both are finite-Δt estimates: for a drift that varies with x they differ from a(x, μ) and
/// b(x, μ) by O(Δt) even for a perfect model (the exact one-step law shows how much).
public struct FlowDiagnostics: Sendable {
    public var d: Int
    public var mu: [Double]
    public var dt: Double
    public var samples: Int
    /// P states on the segment, P × d each.
    public var x: [[Double]]
    public var drift: [[Double]]
    public var diffusion: [[Double]]
    /// Standard errors of the estimates (sampling noise only).
    public var driftError: [[Double]]
    public var diffusionError: [[Double]]

    /// Parses `--x-range`: one `A:B` (component 0 runs from A to B, the others stay 0) or one
    /// `A:B` per component, comma-separated (the states run along the straight segment from
    /// (A₁, A₂, …) to (B₁, B₂, …); `c:c` holds a component at c).
    public static func parseRanges(_ text: String, d: Int) throws -> [(Double, Double)] {
        let example = d == 1 ? "-3:3" : "-3:3 (component 0 varies, others 0) or " + (["-3:3"] + [String](repeating: "0:0", count: d - 1)).joined(separator: ",")
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == d else {
            throw SDEFlowError.usage("--x-range '\(text)' has \(parts.count) ranges; the model's state has d = \(d): give one A:B or \(d), e.g. \(example)")
        }
        var ranges: [(Double, Double)] = try parts.map { part in
            let ends = part.split(separator: ":", omittingEmptySubsequences: false)
            guard ends.count == 2, let a = Double(ends[0].trimmingCharacters(in: .whitespaces)),
                  let b = Double(ends[1].trimmingCharacters(in: .whitespaces)),
                  a.magnitude <= Limits.maxMagnitude, b.magnitude <= Limits.maxMagnitude else {
                throw SDEFlowError.usage("--x-range: '\(part)' is not of the form A:B with numbers A and B within ±1e100, e.g. \(example)")
            }
            return (a, b)
        }
        while ranges.count < d { ranges.append((0, 0)) }
        guard ranges.contains(where: { $0.0 != $0.1 }) else {
            throw SDEFlowError.usage("--x-range '\(text)' is a single point: at least one component needs A < B or A > B")
        }
        return ranges
    }

    /// `points` equally spaced states on the segment from the lower to the upper ends.
    public static func grid(_ ranges: [(Double, Double)], points: Int) -> [[Double]] {
        (0..<points).map { k in
            let t = points == 1 ? 0 : Double(k) / Double(points - 1)
            return ranges.map { $0.0 + t * ($0.1 - $0.0) }
        }
    }

    /// The component plotted on the horizontal axis: the first that varies.
    public static func axis(_ ranges: [(Double, Double)]) -> Int { ranges.firstIndex { $0.0 != $0.1 } ?? 0 }

    /// One sampling job per state: `samples` one-step samples from it at μ.
    public static func jobs(grid: [[Double]], mu: [Double], samples: Int) -> [SamplingJob] {
        grid.enumerated().map { SamplingJob(key: $0.offset, start: StartLaw(mean: $0.element), mu: mu, steps: 1, count: samples, keepPath: false) }
    }

    /// Estimates from `results[k]` (samples × d next states from grid[k]).
    public init(grid: [[Double]], mu: [Double], dt: Double, results: [[Double]]) {
        let d = grid.first?.count ?? 1
        self.d = d; self.mu = mu; self.dt = dt; self.x = grid
        samples = (results.first?.count ?? 0) / d
        drift = []; diffusion = []; driftError = []; diffusionError = []
        for (x0, next) in zip(grid, results) {
            let n = Double(next.count / d)
            var a = [Double](), b = [Double](), ae = [Double](), be = [Double]()
            for i in 0..<d {
                let dx = stride(from: i, to: next.count, by: d).map { next[$0] - x0[i] }
                let mean = dx.reduce(0, +) / n
                let sd = (dx.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / max(n - 1, 1)).squareRoot()
                a.append(mean / dt); b.append(sd / dt.squareRoot())
                ae.append(sd / n.squareRoot() / dt); be.append(sd / dt.squareRoot() / (2 * (n - 1)).squareRoot())
            }
            drift.append(a); diffusion.append(b); driftError.append(ae); diffusionError.append(be)
        }
    }

    /// The same quantities from a known law: `coefficients` gives a(x, μ) and b(x, μ); `exactStep`
    /// gives the exact one-step law's E[Δx]/Δt and std(Δx)/√Δt (what a perfect model would show).
    public init(example: SDEExample, grid: [[Double]], mu: [Double], dt: Double, exactStep: Bool) {
        let d = example.d
        self.d = d; self.mu = mu; self.dt = dt; self.x = grid; samples = 0
        drift = []; diffusion = []
        for x0 in grid {
            if exactStep, let law = example.exactTransition {
                let (m, cov) = law(x0, mu, dt)
                drift.append((0..<d).map { (m[$0] - x0[$0]) / dt })
                diffusion.append((0..<d).map { (max(cov[$0 * d + $0], 0) / dt).squareRoot() })
            } else {
                var a = [Double](repeating: 0, count: d), b = a
                x0.withUnsafeBufferPointer { xp in mu.withUnsafeBufferPointer { mp in
                    example.coefficients(xp.baseAddress!, mp.baseAddress!, &a, &b)
                } }
                drift.append(a); diffusion.append(b.map(abs))
            }
        }
        driftError = drift.map { $0.map { _ in 0 } }; diffusionError = driftError
    }

    /// P × 3d values, row-major: x (d), drift (d), diffusion (d) — the layout of `inspect`'s .npy.
    public var array: [Double] { (0..<x.count).flatMap { x[$0] + drift[$0] + diffusion[$0] } }

    /// Plain-text table, one row per state.
    public func table(truth: FlowDiagnostics?) -> String {
        var out = "x".padding(toLength: 12 * d, withPad: " ", startingAt: 0)
        for name in ["drift", "diffusion"] {
            for i in 0..<d { out += (d == 1 ? name : "\(name)[\(i)]").padding(toLength: 13, withPad: " ", startingAt: 0)
                + (truth != nil ? "truth".padding(toLength: 10, withPad: " ", startingAt: 0) : "") }
        }
        out += "\n"
        for k in 0..<x.count {
            out += x[k].map { String(format: "%11.4f ", $0) }.joined()
            for (mine, theirs) in [(drift, truth?.drift), (diffusion, truth?.diffusion)] {
                for i in 0..<d { out += String(format: "%12.4f ", mine[k][i] + 0) + (theirs.map { String(format: "%9.4f ", $0[k][i] + 0) } ?? "") }
            }
            out += "\n"
        }
        return out
    }

    /// One standalone SVG: drift and diffusion of each component against the varying component,
    /// learned (points, ±2 standard errors band) over the truth (solid: a and b; dashed: the exact
    /// one-step law's finite-Δt values).
    public func svg(axis: Int, title: String, truth: FlowDiagnostics?, exactStep: FlowDiagnostics?) -> String {
        let xs = x.map { $0[axis] }
        let varying = (0..<d).filter { i in x.contains { $0[i] != x[0][i] } }
        let xLabel = d == 1 ? "x" : "x[\(axis)]" + (varying.count > 1 ? " (along the segment)" : "")
        var plots: [SVGPlot] = []
        for i in 0..<d {
            for (name, est, err, tr, ex) in [("drift", drift, driftError, truth?.drift, exactStep?.drift),
                                              ("diffusion", diffusion, diffusionError, truth?.diffusion, exactStep?.diffusion)] {
                let v = est.map { $0[i] }, e = err.map { $0[i] }
                let lower = zip(v, e).map { $0 - 2 * $1 }, upper = zip(v, e).map { $0 + 2 * $1 }
                let all = lower + upper + (tr?.map { $0[i] } ?? []) + (ex?.map { $0[i] } ?? [])
                let comp = d == 1 ? "" : "[\(i)]"
                var p = SVGPlot(title: "\(title): \(name)\(comp) at μ = \(mu.map { fmt($0) }.joined(separator: ", "))",
                                xLabel: xLabel, yLabel: name == "drift" ? "â\(comp) = E[Δx]/Δt" : "b̂\(comp) = std(Δx)/√Δt",
                                x: SVGPlot.range(xs, pad: 0.02), y: SVGPlot.range(all, pad: 0.1))
                p.width = 520
                p.band(xs, lower: lower, upper: upper, color: "#d62728", opacity: 0.15, label: "learned ± 2 s.e.")
                p.line(xs, v, color: "#d62728", width: 1.2)
                p.points(xs, v, color: "#d62728", radius: 2.2, label: "learned (\(samples) samples/point)")
                if let tr { p.line(xs, tr.map { $0[i] }, color: "#1f77b4", width: 2, label: name == "drift" ? "exact a(x, μ)" : "exact b(x, μ)") }
                if let ex { p.line(xs, ex.map { $0[i] }, color: "#1f77b4", width: 1.3, dash: "5 3", label: "exact one-step law (Δt)") }
                plots.append(p)
            }
        }
        return SVGPlot.document(plots, columns: 2)
    }
}
