/// Whether a fitted `OutputPrior` describes the labels' spread well enough to be used without being
/// asked for (`OutputPriorKind.auto`, docs/METHOD.md §6.9).
///
/// Why: the network inherits where ŝ is wrong instead of correcting it. On cir the quadratic ŝ² fits
/// the labels' spread and the prior took the worst start state from 2.3 to 1.1 %; on gbm (variance
/// ∝ x²e^(2μΔt), no quadratic) ŝ² went ≤ 0 near x = 0 and the worst state went from 1.0 to 2.3 %.
/// Two checks on the training rows tell these apart:
/// - **positive:** the quadratic ŝ² (before its clamp) stays above the clamp's floor, (rms /
///   `spreadRange`)², on every row (cir: 5.6× the floor at least; gbm: down to −0.09×);
/// - **calibrated:** in every cell of a 5 × 5 grid of quantiles of each pair of the variables (x, μ),
///   the variance of H = (label − m̂)/ŝ is within `tolerance` of 1 (cir 0.93–1.06; gbm 0.80 in the
///   cell of small x and small μ).
public struct OutputPriorCheck: Sendable {
    /// Smallest unclamped ŝ² over the rows, relative to the clamp's floor (≥ 1: never clamped low).
    public var floorRatio: Double
    /// Smallest and largest variance of H over the cells and components.
    public var cellVariance: ClosedRange<Double>
    /// Cells that took part (at least `minCellRows` rows).
    public var cells: Int

    /// H's variance may differ from 1 by this much in a cell.
    public static let tolerance = 0.15
    /// Quantile bins per variable.
    public static let bins = 5
    /// A cell counts from this many rows: the sampling error of its variance, √(2/n) for Gaussian
    /// labels, is then ≤ 5 %, a third of `tolerance`. Below 20 000 training rows some cells are left
    /// out; with none left (small label sets) the prior is not used.
    public static let minCellRows = 800

    public var accepted: Bool {
        floorRatio >= 1 && cells > 0 && cellVariance.lowerBound >= 1 - Self.tolerance && cellVariance.upperBound <= 1 + Self.tolerance
    }

    /// One line for the log.
    public var summary: String {
        "the quadratic spread's smallest value is \(fmt(floorRatio, 3))× its floor (needs ≥ 1), " + (cells == 0
            ? "and no cell of the spread check has \(Self.minCellRows) training rows (about \(Self.minCellRows * Self.bins * Self.bins) labels needed), so it cannot be checked"
            : "H's variance is \(fmt(cellVariance.lowerBound, 3))–\(fmt(cellVariance.upperBound, 3)) over \(cells) cells (needs 1 ± \(fmt(Self.tolerance)))")
    }

    /// The checks for `prior` on the training rows: `inputs` rows × `width` standardised network
    /// inputs, `h` rows × d the targets relative to the prior (H).
    public init(_ prior: OutputPrior, inputs: [Float], width: Int, h: [Float]) {
        let d = prior.outputs, rows = h.count / d, dims = prior.dims
        floorRatio = inputs.withUnsafeBufferPointer { all in
            (0..<rows).map { r in
                let raw = prior.rawVariance(UnsafeBufferPointer(rebasing: all[r * width ..< r * width + dims]))
                return (0..<d).map { raw[$0] / (prior.minSpread[$0] * prior.minSpread[$0]) }.min()!
            }.min() ?? 0
        }
        let bin = (0..<dims).map { c in Self.quantileBins((0..<rows).map { inputs[$0 * width + c] }) }
        let pairs = (0..<dims).flatMap { i in (i + 1 ..< dims).map { (i, $0) } }
        var lo = Double.infinity, hi = -Double.infinity, used = 0
        for (i, j) in pairs {
            var groups = [[Int]](repeating: [], count: Self.bins * Self.bins)
            for r in 0..<rows { groups[bin[i][r] * Self.bins + bin[j][r]].append(r) }
            for g in groups where g.count >= Self.minCellRows {
                used += 1
                for o in 0..<d {
                    let v = g.map { Double(h[$0 * d + o]) }, m = v.reduce(0, +) / Double(v.count)
                    let variance = v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)
                    lo = min(lo, variance); hi = max(hi, variance)
                }
            }
        }
        cellVariance = used > 0 ? lo...hi : 0...0
        cells = used
    }

    /// Each value's bin, 0 ..< `bins`, by the values' quantiles (a value equal to an edge goes to the
    /// bin above it).
    static func quantileBins(_ values: [Float]) -> [Int] {
        let sorted = values.sorted(), n = values.count
        let edges = (1..<bins).map { sorted[min(n - 1, $0 * n / bins)] }
        return values.map { v in edges.firstIndex { v < $0 } ?? bins - 1 }
    }
}
