import Foundation

/// A small, dependency-free 2-D chart rendered as inline SVG: axes with ticks, lines, points,
/// bands, histogram bars, vertical markers and a legend. The plot area is a nested `<svg>`,
/// which clips whatever falls outside the axis ranges.
public struct SVGPlot {
    public var width = 440.0, height = 290.0
    let left = 62.0, right = 14.0, top = 30.0, bottom = 44.0
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xRange: ClosedRange<Double>
    public var yRange: ClosedRange<Double>
    var body: [String] = []
    /// Plot-area positions of drawn data, to put the legend in the emptiest corner.
    var occupied: [(Double, Double)] = []
    var legend: [(label: String, swatch: String)] = []

    public init(title: String, xLabel: String, yLabel: String, x: ClosedRange<Double>, y: ClosedRange<Double>) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
        xRange = Self.nonEmpty(x); yRange = Self.nonEmpty(y)
    }

    /// The smallest range holding every finite value, widened by `pad` of its span on both ends.
    public static func range(_ values: [Double], pad: Double = 0.05, including extra: [Double] = []) -> ClosedRange<Double> {
        let v = (values + extra).filter(\.isFinite)
        guard let lo = v.min(), let hi = v.max() else { return 0...1 }
        let span = hi - lo > 0 ? hi - lo : max(abs(hi), 1) * 0.1
        return (lo - pad * span)...(hi + pad * span)
    }

    static func nonEmpty(_ r: ClosedRange<Double>) -> ClosedRange<Double> {
        r.upperBound > r.lowerBound ? r : (r.lowerBound - 0.5)...(r.upperBound + 0.5)
    }

    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }
    /// Plot-area coordinates of a data point.
    func px(_ x: Double) -> Double { (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * plotWidth }
    func py(_ y: Double) -> Double { (1 - (y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound)) * plotHeight }

    static func n(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(format: "%.2f", r)
    }

    /// Polyline through (xs, ys); non-finite points break the line.
    public mutating func line(_ xs: [Double], _ ys: [Double], color: String, width w: Double = 1.6, dash: String? = nil,
                              opacity: Double = 1, label: String? = nil) {
        var runs: [[String]] = [[]]
        var previous: (Double, Double)? = nil
        for (x, y) in zip(xs, ys) {
            if x.isFinite && y.isFinite, let p = previous {
                for k in 1...8 { let t = Double(k) / 8; occupied.append((p.0 + t * (px(x) - p.0), p.1 + t * (py(y) - p.1))) }
            }
            previous = x.isFinite && y.isFinite ? (px(x), py(y)) : nil
            if x.isFinite && y.isFinite {
                runs[runs.count - 1].append("\(Self.n(px(x))),\(Self.n(py(min(max(y, yRange.lowerBound - 1e6), yRange.upperBound + 1e6))))")
            } else if !runs[runs.count - 1].isEmpty { runs.append([]) }
        }
        let style = "fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(w)\"" + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")
            + (opacity < 1 ? " stroke-opacity=\"\(opacity)\"" : "")
        for r in runs where r.count > 1 { body.append("<polyline \(style) points=\"\(r.joined(separator: " "))\"/>") }
        if let label { legend.append((label, "<line x1=\"0\" y1=\"5\" x2=\"18\" y2=\"5\" \(style)/>")) }
    }

    /// Circles at (xs, ys): filled, or hollow (white fill).
    public mutating func points(_ xs: [Double], _ ys: [Double], color: String, filled: Bool = true, radius: Double = 3,
                                label: String? = nil) {
        let style = "fill=\"\(filled ? color : "white")\" stroke=\"\(color)\" stroke-width=\"1.3\""
        for (x, y) in zip(xs, ys) where x.isFinite && y.isFinite {
            occupied.append((px(x), py(y)))
            body.append("<circle cx=\"\(Self.n(px(x)))\" cy=\"\(Self.n(py(y)))\" r=\"\(radius)\" \(style)/>")
        }
        if let label { legend.append((label, "<circle cx=\"9\" cy=\"5\" r=\"\(radius)\" \(style)/>")) }
    }

    /// Filled region between `lower` and `upper` over xs.
    public mutating func band(_ xs: [Double], lower: [Double], upper: [Double], color: String, opacity: Double = 0.25,
                              label: String? = nil) {
        let top = zip(xs, upper).map { "\(Self.n(px($0))),\(Self.n(py($1)))" }
        let bottom = zip(xs, lower).reversed().map { "\(Self.n(px($0))),\(Self.n(py($1)))" }
        let style = "fill=\"\(color)\" fill-opacity=\"\(opacity)\" stroke=\"none\""
        body.append("<polygon \(style) points=\"\((top + bottom).joined(separator: " "))\"/>")
        if let label { legend.append((label, "<rect x=\"0\" y=\"0\" width=\"18\" height=\"10\" \(style)/>")) }
    }

    /// Histogram bars: bin i spans edges[i]..<edges[i+1] with height heights[i].
    public mutating func bars(edges: [Double], heights: [Double], color: String, opacity: Double = 0.45, label: String? = nil) {
        let style = "fill=\"\(color)\" fill-opacity=\"\(opacity)\" stroke=\"\(color)\" stroke-width=\"0.5\""
        for (i, h) in heights.enumerated() where h > 0 {
            let x0 = px(edges[i]), x1 = px(edges[i + 1]), y = py(h), y0 = py(max(0, yRange.lowerBound))
            body.append("<rect x=\"\(Self.n(x0))\" y=\"\(Self.n(y))\" width=\"\(Self.n(x1 - x0))\" height=\"\(Self.n(max(0, y0 - y)))\" \(style)/>")
        }
        if let label { legend.append((label, "<rect x=\"0\" y=\"0\" width=\"18\" height=\"10\" \(style)/>")) }
    }

    /// Short ticks at the bottom of the plot area (e.g. the observed μ).
    public mutating func marks(_ xs: [Double], color: String, label: String? = nil) {
        let h = plotHeight
        for x in xs where x.isFinite {
            body.append("<line x1=\"\(Self.n(px(x)))\" y1=\"\(Self.n(h))\" x2=\"\(Self.n(px(x)))\" y2=\"\(Self.n(h - 8))\" stroke=\"\(color)\" stroke-width=\"1.5\"/>")
        }
        if let label { legend.append((label, "<line x1=\"9\" y1=\"0\" x2=\"9\" y2=\"10\" stroke=\"\(color)\" stroke-width=\"1.5\"/>")) }
    }

    /// Horizontal reference line at y.
    public mutating func hline(_ y: Double, color: String, dash: String? = "4 3", label: String? = nil) {
        line([xRange.lowerBound, xRange.upperBound], [y, y], color: color, width: 1, dash: dash, label: label)
    }

    /// About `count` round tick values covering `r`.
    public static func ticks(_ r: ClosedRange<Double>, count: Int = 5) -> [Double] {
        let span = r.upperBound - r.lowerBound
        guard span > 0, span.isFinite else { return [r.lowerBound] }
        let raw = span / Double(count), mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var out: [Double] = []
        var t = (r.lowerBound / step).rounded(.up) * step
        while t <= r.upperBound + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return out
    }

    /// The chart as an `<svg>` element; `standalone` adds the namespace a separate .svg file needs.
    public func svg(standalone: Bool = false, x: Double? = nil, y: Double? = nil) -> String {
        let ns = standalone ? " xmlns=\"http://www.w3.org/2000/svg\"" : ""
        let pos = (x.map { " x=\"\(Self.n($0))\"" } ?? "") + (y.map { " y=\"\(Self.n($0))\"" } ?? "")
        var s = "<svg\(ns)\(pos) width=\"\(Self.n(width))\" height=\"\(Self.n(height))\" viewBox=\"0 0 \(Self.n(width)) \(Self.n(height))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">\n"
        s += "<rect x=\"0\" y=\"0\" width=\"\(Self.n(width))\" height=\"\(Self.n(height))\" fill=\"white\"/>\n"
        s += "<text x=\"\(Self.n(width / 2))\" y=\"17\" text-anchor=\"middle\" font-size=\"12.5\" font-weight=\"bold\">\(escapeXML(title))</text>\n"
        // Grid and tick labels.
        for t in Self.ticks(xRange) {
            let X = left + px(t)
            s += "<line x1=\"\(Self.n(X))\" y1=\"\(Self.n(top))\" x2=\"\(Self.n(X))\" y2=\"\(Self.n(top + plotHeight))\" stroke=\"#e4e4e4\"/>"
            s += "<text x=\"\(Self.n(X))\" y=\"\(Self.n(top + plotHeight + 14))\" text-anchor=\"middle\">\(escapeXML(fmt(t, 3)))</text>\n"
        }
        for t in Self.ticks(yRange) {
            let Y = top + py(t)
            s += "<line x1=\"\(Self.n(left))\" y1=\"\(Self.n(Y))\" x2=\"\(Self.n(left + plotWidth))\" y2=\"\(Self.n(Y))\" stroke=\"#e4e4e4\"/>"
            s += "<text x=\"\(Self.n(left - 5))\" y=\"\(Self.n(Y + 4))\" text-anchor=\"end\">\(escapeXML(fmt(t, 3)))</text>\n"
        }
        s += "<svg x=\"\(Self.n(left))\" y=\"\(Self.n(top))\" width=\"\(Self.n(plotWidth))\" height=\"\(Self.n(plotHeight))\">\n"
        s += body.joined(separator: "\n") + "\n</svg>\n"
        s += "<rect x=\"\(Self.n(left))\" y=\"\(Self.n(top))\" width=\"\(Self.n(plotWidth))\" height=\"\(Self.n(plotHeight))\" fill=\"none\" stroke=\"#555\"/>\n"
        s += "<text x=\"\(Self.n(left + plotWidth / 2))\" y=\"\(Self.n(height - 8))\" text-anchor=\"middle\">\(escapeXML(xLabel))</text>\n"
        s += "<text transform=\"translate(14 \(Self.n(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapeXML(yLabel))</text>\n"
        // Legend, in the corner of the plot area with the least data under it.
        let boxW = 156.0, boxH = 8 + 14 * Double(legend.count)
        let corners = [(plotWidth - boxW, 0.0), (0.0, 0.0), (plotWidth - boxW, plotHeight - boxH - 10), (0.0, plotHeight - boxH - 10)]
        let covered = corners.map { c in occupied.filter { $0.0 >= c.0 && $0.0 <= c.0 + boxW && $0.1 >= c.1 && $0.1 <= c.1 + boxH }.count }
        let corner = corners[covered.firstIndex(of: covered.min()!)!]
        for (i, entry) in legend.enumerated() {
            let lx = left + corner.0 + 6, ly = top + corner.1 + 6 + Double(i) * 14
            s += "<g transform=\"translate(\(Self.n(lx)) \(Self.n(ly)))\"><rect x=\"-3\" y=\"-3\" width=\"150\" height=\"14\" fill=\"white\" fill-opacity=\"0.8\"/>"
                + entry.swatch + "<text x=\"24\" y=\"9\" font-size=\"10\">\(escapeXML(entry.label))</text></g>\n"
        }
        return s + "</svg>"
    }

    /// Several charts in one standalone .svg file, `columns` per row.
    public static func document(_ plots: [SVGPlot], columns: Int) -> String {
        guard let first = plots.first else { return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"/>" }
        let w = first.width, h = first.height, rows = (plots.count + columns - 1) / columns
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(w * Double(min(columns, plots.count))))\" height=\"\(n(h * Double(rows)))\">\n"
        for (i, p) in plots.enumerated() {
            s += p.svg(x: w * Double(i % columns), y: h * Double(i / columns)) + "\n"
        }
        return s + "</svg>\n"
    }
}

/// Text safe inside XML/HTML elements and attribute values.
public func escapeXML(_ s: String) -> String {
    var out = ""
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}

/// A normalised histogram (density): `bins` equal bins over `range`.
public func histogram(_ values: [Double], bins: Int, range: ClosedRange<Double>) -> (edges: [Double], density: [Double]) {
    let w = (range.upperBound - range.lowerBound) / Double(bins)
    var counts = [Double](repeating: 0, count: bins)
    for v in values where v >= range.lowerBound && v <= range.upperBound {
        counts[min(bins - 1, Int((v - range.lowerBound) / w))] += 1
    }
    let n = Double(max(values.count, 1))
    return ((0...bins).map { range.lowerBound + Double($0) * w }, counts.map { $0 / (n * w) })
}
