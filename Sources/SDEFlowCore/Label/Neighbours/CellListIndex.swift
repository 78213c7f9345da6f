import Foundation

/// Exact K-nearest-neighbour search over the pairs one rank holds (its shard), bucketed in the
/// replicated grid's cells (a cell list, as in molecular dynamics).
///
/// Points are kept in the order they were given (ascending global id), and ties in distance are
/// broken by that order, so the neighbour set of a query is the same on any number of ranks.
///
/// A search never sorts or quickselects its candidates. The cell counts and per-cell bounding
/// boxes bracket the k-th squared distance in [lower, upper]: cells entirely within `lower` are
/// taken whole, cells entirely beyond `upper` are skipped, and only the points of the cells in
/// between get a distance; a histogram of those finds the k-th exactly.
public final class CellListIndex: NeighbourIndex {
    public let geometry: GridGeometry
    public let count: Int
    /// Normalised coordinates sorted by cell, dimension-major (D × count: coordinate i of sorted
    /// point s is `sorted[i * count + s]`), so each row of cells along dimension 0 is one
    /// contiguous run per coordinate; `original[s]` is the given index of sorted point s.
    private let sorted: [Double]
    private let original: [Int32]
    /// Cell list: the points of cell c are sorted slots cellStart[c] ..< cellStart[c + 1].
    private let cellStart: [Int32]
    /// Bounding box of each non-empty cell's points, 2D values (lower corner, then upper) from
    /// `boxes[2D · boxOf[c]]`: only non-empty cells have one, so the memory follows the points
    /// even on a grid of many cells. Tighter than the cell itself, and it holds the points that
    /// `cell(of:)` clamps into edge cells or rounds across a face, so distance bounds from it
    /// need no margin. On data with few distinct μ (the examples) it is flat along μ.
    private let boxOf: [Int32]
    private let boxes: [Double]

    public var dims: Int { geometry.dims }
    /// The scratch of `nearest(_:count:k:into:)`.
    private var scratch = Scratch()

    /// `NeighbourIndex`: each query's neighbours as slots, in (cell, index) order.
    public func nearest(_ queries: UnsafePointer<Double>, count m: Int, k: Int, into out: UnsafeMutablePointer<Int32>) {
        for q in 0..<m {
            let found = nearest(queries + q * geometry.dims, k: k, scratch: &scratch, slots: true)
            found.withUnsafeBufferPointer { (out + q * k).update(from: $0.baseAddress!, count: k) }
        }
    }

    public init(points: [Double], geometry: GridGeometry) {
        let dims = geometry.dims, n = points.count / max(dims, 1)
        precondition(n < Int(Int32.max), "a shard is limited to 2^31 pairs")
        var cells = [Int](repeating: 0, count: n)
        var start = [Int32](repeating: 0, count: geometry.cellCount + 1)
        points.withUnsafeBufferPointer { p in
            for j in 0..<n {
                cells[j] = geometry.cell(of: p.baseAddress! + j * dims)
                start[cells[j] + 1] += 1
            }
        }
        var boxOf = [Int32](repeating: -1, count: geometry.cellCount), nonEmpty: Int32 = 0
        for c in 0..<geometry.cellCount where start[c + 1] > 0 { boxOf[c] = nonEmpty; nonEmpty += 1 }
        var boxes = [Double](repeating: 0, count: Int(nonEmpty) * 2 * dims)
        for b in 0..<Int(nonEmpty) {
            for i in 0..<dims { boxes[2 * b * dims + i] = .infinity; boxes[(2 * b + 1) * dims + i] = -.infinity }
        }
        for j in 0..<n {
            let b = Int(boxOf[cells[j]])
            for i in 0..<dims {
                boxes[2 * b * dims + i] = min(boxes[2 * b * dims + i], points[j * dims + i])
                boxes[(2 * b + 1) * dims + i] = max(boxes[(2 * b + 1) * dims + i], points[j * dims + i])
            }
        }
        for c in 0..<geometry.cellCount { start[c + 1] += start[c] }
        var fill = start
        var original = [Int32](repeating: 0, count: n), sorted = [Double](repeating: 0, count: n * dims)
        for j in 0..<n {  // ascending j within each cell: ties keep the given order
            let slot = Int(fill[cells[j]])
            original[slot] = Int32(j)
            for i in 0..<dims { sorted[i * n + slot] = points[j * dims + i] }
            fill[cells[j]] += 1
        }
        self.geometry = geometry; self.count = n
        self.sorted = sorted; self.original = original; self.cellStart = start
        self.boxOf = boxOf; self.boxes = boxes
    }

    /// Histogram resolutions: a bin of the cell histogram is a small fraction of the bracket's
    /// width, and the point histogram leaves a handful of points in the k-th distance's bin.
    static let cellBins = 128, pointBins = 512

    /// The exact `k` nearest points to normalised query `q` (D values) — ties in distance go to
    /// the smaller point index — as point indices in (cell, index) order: a canonical order that
    /// needs no sort and is the same for any shard holding the query's halo. With `slots`, as
    /// sorted slots instead (`slotOrder[slot]` is the point index): the same points in the same
    /// order, for a caller that keeps its per-point data in slot order, so that reading the
    /// neighbours' data walks a few contiguous runs instead of K random places.
    public func nearest(_ q: UnsafePointer<Double>, k: Int, scratch: inout Scratch, slots: Bool = false) -> [Int32] {
        precondition(k <= count, "asked for \(k) neighbours among \(count) points")
        if k <= 0 { return [] }
        let dims = geometry.dims
        // Query cell, and the lower and upper corners of a block of cells.
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * dims) { cells in
            let center = cells.baseAddress!, lo = center + dims, hi = lo + dims
            for i in 0..<dims { center[i] = geometry.coordinate(q[i], i) }
            let (lower, upper) = bracket(q, k: k, center: center, lo: lo, hi: hi, scratch: &scratch)
            let whole = collect(q, lower: lower, upper: upper, lo: lo, hi: hi, scratch: &scratch)
            return select(k, whole: whole, slots: slots, scratch: &scratch)
        }
    }

    /// The point index of each sorted slot (see `nearest(_:k:scratch:slots:)`).
    public var slotOrder: [Int32] { original }

    /// Bounds of the k-th smallest squared distance from the cell list alone, from the cells
    /// of the Chebyshev block around q's cell one ring larger than the first one holding k
    /// points: `upper`, the largest far² among cells of ≥ k points in all (every point is within
    /// its cell's far corner); `lower`, a value below which fewer than k points can lie (the
    /// near² of too few cells, and no farther than the cells outside the block).
    private func bracket(_ q: UnsafePointer<Double>, k: Int, center: UnsafePointer<Int>, lo: UnsafeMutablePointer<Int>,
                         hi: UnsafeMutablePointer<Int>, scratch: inout Scratch) -> (lower: Double, upper: Double) {
        let g = geometry, dims = g.dims, maxRadius = g.shape.max()!
        func block(_ radius: Int) -> Int {
            var cells = 1
            for i in 0..<dims {
                lo[i] = max(center[i] - radius, 0); hi[i] = min(center[i] + radius, g.shape[i] - 1)
                cells *= hi[i] - lo[i] + 1
            }
            return cells
        }
        var radius = 0
        cellStart.withUnsafeBufferPointer { start in
            while radius < maxRadius {
                _ = block(radius)
                var total = 0
                forEachRow(lo, hi) { row in total += Int(start[row + hi[0] + 1] - start[row + lo[0]]) }
                if total >= k { break }
                radius += 1
            }
        }
        let last = min(radius + 1, maxRadius)
        let blockCells = block(last)
        if scratch.cells.count < blockCells { scratch.cells = Array(repeating: (0, 0, 0), count: blockCells) }
        let bins = Self.cellBins
        if scratch.cellHistogram.count != bins + 1 { scratch.cellHistogram = Array(repeating: (0, 0, 0, 0), count: bins + 1) }
        var lower = 0.0, upper = 0.0
        cellStart.withUnsafeBufferPointer { start in
            scratch.cells.withUnsafeMutableBufferPointer { cells in
                var n = 0, largest = 0.0
                forEachRow(lo, hi) { row in
                    for c in (row + lo[0])...(row + hi[0]) where start[c + 1] > start[c] {
                        let (near, far) = boxDistances(c, q)
                        cells[n] = (near, far, start[c + 1] - start[c]); n += 1
                        largest = max(largest, far)
                    }
                }
                scratch.cellHistogram.withUnsafeMutableBufferPointer { hist in
                    (lower, upper) = Self.kthBounds(UnsafeBufferPointer(UnsafeMutableBufferPointer(rebasing: cells[0..<n])), largest: largest, k: k, hist: hist)
                }
            }
        }
        // Points outside the block are at least `gap` away (the block reaches the grid's edge
        // where it has no face); the 1e-9-cell margin covers rounding in `cell(of:)`.
        var gap = Double.infinity
        for i in 0..<dims {
            if lo[i] > 0 { gap = min(gap, q[i] - (g.lower[i] + Double(lo[i]) * g.cellSize)) }
            if hi[i] < g.shape[i] - 1 { gap = min(gap, g.lower[i] + Double(hi[i] + 1) * g.cellSize - q[i]) }
        }
        let safe = max(gap - 1e-9 * g.cellSize, 0)
        return (min(lower, safe * safe, upper), upper)
    }

    /// The k-th smallest squared distance lies in [lower, upper] given each cell's (near², far²,
    /// point count): point counts binned by near² and far² (bins over [0, largest]), so no sort
    /// of the cells is needed. Bins are monotone: bins ≤ b hold every near² (far²) below bin b + 1's.
    private static func kthBounds(_ cells: UnsafeBufferPointer<(near: Double, far: Double, count: Int32)>, largest: Double,
                                  k: Int, hist: UnsafeMutableBufferPointer<(nearCount: Int, nearMin: Double, farCount: Int, farMax: Double)>)
        -> (lower: Double, upper: Double)
    {
        let bins = cellBins
        hist.update(repeating: (0, .infinity, 0, 0))
        let scale = Self.scale(largest, bins)
        for (near, far, count) in cells {
            let bn = Self.bin(near, 0, scale, bins), bf = Self.bin(far, 0, scale, bins)
            hist[bn].nearCount += Int(count); hist[bn].nearMin = min(hist[bn].nearMin, near)
            hist[bf].farCount += Int(count); hist[bf].farMax = max(hist[bf].farMax, far)
        }
        var reached = 0, lower = 0.0, upper = largest
        for b in 0...bins {
            reached += hist[b].farCount
            if reached >= k { upper = hist[b].farMax; break }
        }
        reached = 0
        for b in 0...bins {
            reached += hist[b].nearCount
            if reached >= k { lower = hist[b].nearMin; break }
        }
        return (lower, upper)
    }

    /// Visits the cells whose box comes within `upper` of q: the runs of cells entirely within
    /// `lower` are taken whole, the points of the others get their squared distance (into
    /// scratch.dist2) and are counted in the histogram. Returns the number taken whole.
    private func collect(_ q: UnsafePointer<Double>, lower: Double, upper: Double, lo: UnsafeMutablePointer<Int>,
                         hi: UnsafeMutablePointer<Int>, scratch: inout Scratch) -> Int {
        let g = geometry, dims = g.dims
        // Cells a point within `upper` can be in: those within √upper of q, one more for rounding.
        let r = upper.squareRoot() * (1 + 1e-9)
        var blockCells = 1
        for i in 0..<dims {
            lo[i] = max(g.coordinate(q[i] - r, i) - 1, 0)
            hi[i] = min(g.coordinate(q[i] + r, i) + 1, g.shape[i] - 1)
            blockCells *= hi[i] - lo[i] + 1
        }
        if scratch.runs.count < blockCells { scratch.runs = Array(repeating: (0, 0, false), count: blockCells) }
        var whole = 0, scanned = 0, runCount = 0
        cellStart.withUnsafeBufferPointer { start in
            scratch.runs.withUnsafeMutableBufferPointer { runs in
                forEachRow(lo, hi) { row in
                    for c in (row + lo[0])...(row + hi[0]) where start[c + 1] > start[c] {
                        let from = start[c], to = start[c + 1]
                        let (near, far) = boxDistances(c, q)
                        if near > upper { continue }
                        let inside = far < lower  // strictly closer than the k-th: taken, no tie possible
                        if runCount > 0 && runs[runCount - 1].to == from && runs[runCount - 1].whole == inside {
                            runs[runCount - 1].to = to
                        } else {
                            runs[runCount] = (from, to, inside); runCount += 1
                        }
                        if inside { whole += Int(to - from) } else { scanned += Int(to - from) }
                    }
                }
            }
        }
        scratch.runCount = runCount
        if scratch.dist2.count < scanned {
            scratch.dist2 = Array(repeating: 0, count: scanned); scratch.binOf = Array(repeating: 0, count: scanned)
        }
        measure(q, lower: lower, upper: upper, scanned: scanned, scratch: &scratch)
        return whole
    }

    /// Squared distances of the points in the runs not taken whole (into scratch.dist2, one run
    /// after another) and their histogram over [lower, upper].
    private func measure(_ q: UnsafePointer<Double>, lower: Double, upper: Double, scanned: Int, scratch: inout Scratch) {
        let dims = geometry.dims, n = count, runCount = scratch.runCount
        let last = Self.pointBins + 1, scale = Self.scale(upper - lower, Self.pointBins)
        if scratch.histogram.count != last + 1 { scratch.histogram = Array(repeating: 0, count: last + 1) }
        sorted.withUnsafeBufferPointer { pts in
            scratch.runs.withUnsafeBufferPointer { runs in
                let runs = runs[0..<runCount]
                scratch.dist2.withUnsafeMutableBufferPointer { dist2 in
                    // Coordinate by coordinate over each run: the same sum, in the same order,
                    // as the brute-force definition, in loops the compiler vectorises.
                    var at = 0
                    for (from, to, inside) in runs where !inside {
                        let w = dist2.baseAddress! + at, len = Int(to - from)
                        for i in 0..<dims {
                            let p = pts.baseAddress! + i * n + Int(from), qi = q[i]
                            if i == 0 { for j in 0..<len { let t = p[j] - qi; w[j] = t * t } }
                            else { for j in 0..<len { let t = p[j] - qi; w[j] += t * t } }
                        }
                        at += len
                    }
                    scratch.histogram.withUnsafeMutableBufferPointer { hist in
                        scratch.binOf.withUnsafeMutableBufferPointer { binOf in
                            hist.update(repeating: 0)
                            for j in 0..<scanned { binOf[j] = UInt16(truncatingIfNeeded: Self.bin(dist2[j], lower, scale, last)) }
                            for j in 0..<scanned { hist[Int(binOf[j])] &+= 1 }
                        }
                    }
                }
            }
        }
    }

    /// `bins` per `width` of squared distance, or 0 (one bin for everything) if the width is 0
    /// or too small to divide by.
    private static func scale(_ width: Double, _ bins: Int) -> Double {
        let s = Double(bins) / width
        return s.isFinite ? s : 0
    }

    /// The bin of squared distance d2 among bins 0 ... `last` from `origin` on: (d2 − origin) ·
    /// scale rounded, values outside going to the end bins. Monotone in d2, so a lower bin holds
    /// only strictly smaller distances. Adding 1.5 · 2^52 rounds a value in [0, 2^31) to the
    /// integer in the low bits of its representation: no conversion check, so loops vectorise.
    @inline(__always)
    private static func bin(_ d2: Double, _ origin: Double, _ scale: Double, _ last: Int) -> Int {
        let x = min(max((d2 - origin) * scale, 0), Double(last)) + 6_755_399_441_055_744
        return Int(truncatingIfNeeded: x.bitPattern & 0xFFFF_FFFF)
    }

    /// The k nearest points in slot order, `whole` of them in the whole runs: from the histogram
    /// the bin of the (k − whole)-th nearest scanned point, whose few points are sorted by
    /// (distance², index) to find the last one taken; then the whole runs, and every scanned
    /// point up to that one in (distance², index) order.
    private func select(_ k: Int, whole: Int, slots: Bool, scratch: inout Scratch) -> [Int32] {
        let need = k - whole
        var below = 0, bin: UInt16 = 0
        while below + Int(scratch.histogram[Int(bin)]) < need { below += Int(scratch.histogram[Int(bin)]); bin += 1 }
        scratch.boundary.removeAll(keepingCapacity: true)
        return original.withUnsafeBufferPointer { original in
            scratch.runs.withUnsafeBufferPointer { runs in
                let runs = runs[0..<scratch.runCount]
                return scratch.dist2.withUnsafeBufferPointer { dist2 in
                    var at = 0
                    scratch.binOf.withUnsafeBufferPointer { binOf in
                        for (from, to, inside) in runs where !inside {
                            for s in Int(from)..<Int(to) {
                                if binOf[at] == bin { scratch.boundary.append((dist2[at], original[s])) }
                                at &+= 1
                            }
                        }
                    }
                    scratch.boundary.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
                    let (kth, tieLimit) = scratch.boundary[need - below - 1]
                    // Whether some point at exactly the k-th distance is left out (by its index).
                    let splitTie = need - below < scratch.boundary.count && scratch.boundary[need - below].0 == kth
                    // One slot spare: every scanned point is written, then kept or overwritten.
                    return [Int32](unsafeUninitializedCapacity: k + 1) { out, taken in
                        var m = 0
                        at = 0
                        for (from, to, inside) in runs {
                            if inside {
                                precondition(m + Int(to - from) <= k, "the k-th distance was bracketed wrongly")
                                if slots {
                                    for s in from..<to { out[m + Int(s - from)] = s }
                                } else {
                                    (out.baseAddress! + m).update(from: original.baseAddress! + Int(from), count: Int(to - from))
                                }
                                m += Int(to - from)
                            } else if splitTie {
                                for s in Int(from)..<Int(to) {
                                    let d = dist2[at]
                                    if d < kth || (d == kth && original[s] <= tieLimit) { out[min(m, k)] = slots ? Int32(s) : original[s]; m += 1 }
                                    at += 1
                                }
                            } else {
                                for s in Int(from)..<Int(to) {
                                    out[min(m, k)] = slots ? Int32(s) : original[s]  // (min: memory-safe even if m overshot)
                                    m &+= dist2[at] <= kth ? 1 : 0
                                    at &+= 1
                                }
                            }
                        }
                        precondition(m == k, "the k-th distance was bracketed wrongly")
                        taken = k
                    }
                }
            }
        }
    }

    /// Squared distances from q to the nearest and farthest points of non-empty cell c's
    /// bounding box, computed so they are ≤ and ≥ the squared distance `collect` computes for
    /// any point in it.
    @inline(__always)
    private func boxDistances(_ c: Int, _ q: UnsafePointer<Double>) -> (near: Double, far: Double) {
        let dims = geometry.dims
        return boxes.withUnsafeBufferPointer { boxes in
            let box = boxes.baseAddress! + 2 * Int(boxOf[c]) * dims
            var near = 0.0, far = 0.0
            for i in 0..<dims {
                let below = box[i] - q[i], above = box[dims + i] - q[i]
                let tn = max(below, -above, 0), tf = max(-below, above)
                near += tn * tn; far += tf * tf
            }
            return (near, far)
        }
    }

    /// Calls `body(row)` for every row of cells along dimension 0 in the block lo ... hi (cell
    /// coordinates), in ascending cell order; `row` is the linear index of the row's cell 0.
    @inline(__always)
    private func forEachRow(_ lo: UnsafePointer<Int>, _ hi: UnsafePointer<Int>, _ body: (Int) -> Void) {
        let g = geometry, dims = g.dims
        withUnsafeTemporaryAllocation(of: Int.self, capacity: dims) { odometer in
            let odometer = odometer.baseAddress!
            for i in 0..<dims { odometer[i] = lo[i] }
            while true {
                var row = 0
                for i in stride(from: dims - 1, through: 1, by: -1) { row = row * g.shape[i] + odometer[i] }
                body(row * g.shape[0])
                var i = 1
                while i < dims {
                    if odometer[i] < hi[i] { odometer[i] += 1; break }
                    odometer[i] = lo[i]
                    i += 1
                }
                if i >= dims { return }
            }
        }
    }
}

