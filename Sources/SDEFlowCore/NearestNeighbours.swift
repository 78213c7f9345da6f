import Foundation

/// Exact K-nearest-neighbour search over the pairs one rank holds (its shard), bucketed in the
/// replicated grid's cells (a cell list, as in molecular dynamics).
///
/// Points are kept in the order they were given (ascending global id), and ties in distance are
/// broken by that order, so the neighbour set of a query is the same on any number of ranks.
///
/// A search never sorts or quickselects its candidates: the cell counts and per-cell bounding
/// boxes give an upper bound of the k-th squared distance, only points within that bound are
/// kept, and a histogram of their squared distances finds the k-th exactly.
public struct NearestNeighbours: Sendable {
    public let geometry: GridGeometry
    public let count: Int
    /// Normalised coordinates sorted by cell, dimension-major (D × count: coordinate i of sorted
    /// point s is `sorted[i * count + s]`), so each row of cells along dimension 0 is one
    /// contiguous run per coordinate; `original[s]` is the given index of sorted point s.
    private let sorted: [Double]
    private let original: [Int32]
    /// Cell list: the points of cell c are sorted slots cellStart[c] ..< cellStart[c + 1].
    private let cellStart: [Int32]
    /// Bounding box of each cell's points, 2D values per cell (lower corner, then upper; +∞ and
    /// −∞ for an empty cell). Tighter than the cell itself, and it holds the points that
    /// `cell(of:)` clamps into edge cells or rounds across a face, so distance bounds from it
    /// need no margin. On data with few distinct μ (the examples) it is flat along μ.
    private let boxes: [Double]

    public init(points: [Double], geometry: GridGeometry) {
        let dims = geometry.dims, n = points.count / max(dims, 1)
        precondition(n < Int(Int32.max), "a shard is limited to 2^31 pairs")
        var cells = [Int](repeating: 0, count: n)
        var start = [Int32](repeating: 0, count: geometry.cellCount + 1)
        var boxes = [Double](repeating: 0, count: geometry.cellCount * 2 * dims)
        for c in 0..<geometry.cellCount {
            for i in 0..<dims { boxes[(2 * c) * dims + i] = .infinity; boxes[(2 * c + 1) * dims + i] = -.infinity }
        }
        points.withUnsafeBufferPointer { p in
            for j in 0..<n {
                let c = geometry.cell(of: p.baseAddress! + j * dims)
                cells[j] = c
                start[c + 1] += 1
                for i in 0..<dims {
                    boxes[2 * c * dims + i] = min(boxes[2 * c * dims + i], p[j * dims + i])
                    boxes[(2 * c + 1) * dims + i] = max(boxes[(2 * c + 1) * dims + i], p[j * dims + i])
                }
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
        self.sorted = sorted; self.original = original; self.cellStart = start; self.boxes = boxes
    }

    /// Reusable buffers for one search, so a label loop allocates nothing but its result.
    public struct Scratch {
        /// Query cell and block bounds (D cell coordinates each).
        var center: [Int] = [], lo: [Int] = [], hi: [Int] = []
        /// (squared distance to the far corner, point count) of the cells around the query.
        var far: [(Double, Int32)] = []
        /// Runs of sorted slots to scan: [from, to).
        var runs: [(Int32, Int32)] = []
        /// Squared distances of the scanned points, in slot order (the runs one after another).
        var dist2: [Double] = []
        /// Counts of the squared distances in `bins` equal bins over [0, bound], plus one for
        /// exactly the bound and one for the points beyond it.
        var histogram: [Int32] = []
        /// (squared distance, index) of the points in the bin of the k-th distance.
        var boundary: [(Double, Int32)] = []
        public init() {}
    }

    static let bins = 1024

    /// The exact `k` nearest points to normalised query `q` (D values) — ties in distance go to
    /// the smaller point index — as point indices in (cell, index) order: a canonical order that
    /// needs no sort and is the same for any shard holding the query's halo.
    public func nearest(_ q: UnsafePointer<Double>, k: Int, scratch: inout Scratch) -> [Int32] {
        precondition(k <= count, "asked for \(k) neighbours among \(count) points")
        if k <= 0 { return [] }
        let bound = upperBound(q, k: k, scratch: &scratch)
        collect(q, bound: bound, scratch: &scratch)
        return select(k, bound: bound, scratch: &scratch)
    }

    /// An upper bound of the k-th smallest squared distance from the cell list alone: the
    /// smallest f such that the cells whose far corner lies within √f of q hold ≥ k points.
    /// Cells come from the Chebyshev rings around q's cell out to one ring beyond the first
    /// block holding k points (a closer-cornered cell can sit in that next ring).
    private func upperBound(_ q: UnsafePointer<Double>, k: Int, scratch: inout Scratch) -> Double {
        let g = geometry, dims = g.dims
        if scratch.center.count != dims {
            scratch.center = Array(repeating: 0, count: dims); scratch.lo = scratch.center
            scratch.hi = scratch.center
        }
        for i in 0..<dims { scratch.center[i] = g.coordinate(q[i], i) }
        scratch.far.removeAll(keepingCapacity: true)
        let maxRadius = g.shape.max()!
        var total = 0, radius = 0, last = maxRadius
        while true {
            for i in 0..<dims {
                scratch.lo[i] = max(scratch.center[i] - radius, 0); scratch.hi[i] = min(scratch.center[i] + radius, g.shape[i] - 1)
            }
            forEachRow(scratch.lo, scratch.hi) { row, odometer in
                var onShell = radius == 0
                for i in 1..<max(dims, 1) where abs(odometer[i] - scratch.center[i]) == radius { onShell = true }
                let first = scratch.center[0] - radius, lastCell = scratch.center[0] + radius
                for c in scratch.lo[0]...scratch.hi[0] where onShell || c == first || c == lastCell {
                    let n = cellStart[row + c + 1] - cellStart[row + c]
                    if n > 0 { scratch.far.append((boxDistance2(row + c, q, far: true), n)); total += Int(n) }
                }
            }
            if total >= k && last == maxRadius { last = radius + 1 }
            if radius >= last { break }
            radius += 1
        }
        scratch.far.sort { $0.0 < $1.0 }
        var reached = 0
        for (f, n) in scratch.far {
            reached += Int(n)
            if reached >= k { return f }
        }
        preconditionFailure("the grid holds fewer than k points")
    }

    /// The squared distances of the points in every cell whose box comes within `bound` of q
    /// (into scratch.dist2, in slot order, run after run) and their histogram.
    private func collect(_ q: UnsafePointer<Double>, bound: Double, scratch: inout Scratch) {
        let g = geometry, dims = g.dims, n = count
        // Cells a kept point can be in: those within √bound of q, one more for rounding.
        let r = bound.squareRoot() * (1 + 1e-9)
        for i in 0..<dims {
            scratch.lo[i] = max(g.coordinate(q[i] - r, i) - 1, 0)
            scratch.hi[i] = min(g.coordinate(q[i] + r, i) + 1, g.shape[i] - 1)
        }
        scratch.runs.removeAll(keepingCapacity: true)
        var scanned = 0
        forEachRow(scratch.lo, scratch.hi) { row, _ in
            for c in (row + scratch.lo[0])...(row + scratch.hi[0]) {
                let from = cellStart[c], to = cellStart[c + 1]
                if from == to || boxDistance2(c, q, far: false) > bound { continue }
                if let end = scratch.runs.last?.1, end == from { scratch.runs[scratch.runs.count - 1].1 = to }
                else { scratch.runs.append((from, to)) }
                scanned += Int(to - from)
            }
        }
        if scratch.dist2.count < scanned { scratch.dist2 = Array(repeating: 0, count: scanned) }
        if scratch.histogram.count != Self.bins + 2 { scratch.histogram = Array(repeating: 0, count: Self.bins + 2) }
        let scale = Self.scale(bound), runs = scratch.runs
        sorted.withUnsafeBufferPointer { pts in
            scratch.dist2.withUnsafeMutableBufferPointer { dist2 in
                // Coordinate by coordinate over each run: the same sum, in the same order, as
                // the brute-force definition, in loops the compiler vectorises.
                var at = 0
                for (from, to) in runs {
                    let w = dist2.baseAddress! + at, len = Int(to - from)
                    for i in 0..<dims {
                        let p = pts.baseAddress! + i * n + Int(from), qi = q[i]
                        if i == 0 { for j in 0..<len { let t = p[j] - qi; w[j] = t * t } }
                        else { for j in 0..<len { let t = p[j] - qi; w[j] += t * t } }
                    }
                    at += len
                }
            }
        }
        scratch.dist2.withUnsafeBufferPointer { dist2 in
            scratch.histogram.withUnsafeMutableBufferPointer { hist in
                hist.update(repeating: 0)
                for j in 0..<scanned { hist[Self.bin(dist2[j], scale)] &+= 1 }
            }
        }
    }

    /// Bins per unit of squared distance: `bins` over [0, bound] (everything in bin 0 if the
    /// bound is 0 or too small to divide by).
    private static func scale(_ bound: Double) -> Double {
        let s = Double(bins) / bound
        return s.isFinite ? s : 0
    }

    /// The histogram bin of squared distance d2: monotone in d2, so a lower bin holds only
    /// strictly smaller distances. Points beyond the bound land in bins `bins` and `bins` + 1.
    @inline(__always)
    private static func bin(_ d2: Double, _ scale: Double) -> Int { Int(min(d2 * scale, Double(bins + 1))) }

    /// The k nearest of the scanned points, in (slot) order: from the histogram the bin holding
    /// the k-th, whose few points are sorted by (distance², index) to find the last one taken;
    /// then every point up to it in that order.
    private func select(_ k: Int, bound: Double, scratch: inout Scratch) -> [Int32] {
        var below = 0, bin = 0
        while below + Int(scratch.histogram[bin]) < k { below += Int(scratch.histogram[bin]); bin += 1 }
        let scale = Self.scale(bound), runs = scratch.runs
        scratch.boundary.removeAll(keepingCapacity: true)
        return original.withUnsafeBufferPointer { original in
            scratch.dist2.withUnsafeBufferPointer { dist2 in
                // The points of `bin`, by the histogram's own binning.
                var at = 0
                for (from, to) in runs {
                    for s in Int(from)..<Int(to) {
                        if Self.bin(dist2[at], scale) == bin { scratch.boundary.append((dist2[at], original[s])) }
                        at &+= 1
                    }
                }
                scratch.boundary.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
                let last = k - below - 1, (kth, tieLimit) = scratch.boundary[last]
                // Whether some point at exactly the k-th distance is left out (by its index).
                let splitTie = last + 1 < scratch.boundary.count && scratch.boundary[last + 1].0 == kth
                // k + 1 slots: every point is written, then kept or overwritten.
                return Array(unsafeUninitializedCapacity: k + 1) { out, taken in
                    var m = 0, at = 0
                    for (from, to) in runs {
                        if splitTie {
                            for s in Int(from)..<Int(to) {
                                let d = dist2[at]
                                if d < kth || (d == kth && original[s] <= tieLimit) { out[m] = original[s]; m += 1 }
                                at += 1
                            }
                        } else {
                            for s in Int(from)..<Int(to) {
                                out[m] = original[s]
                                m &+= dist2[at] <= kth ? 1 : 0
                                at &+= 1
                            }
                        }
                    }
                    assert(m == k)
                    taken = k
                }
            }
        }
    }

    /// Squared distance from q to the near (or far) corner of cell c's bounding box, computed
    /// so it is ≤ (≥) the squared distance `collect` computes for any point in the box.
    @inline(__always)
    private func boxDistance2(_ c: Int, _ q: UnsafePointer<Double>, far: Bool) -> Double {
        let dims = geometry.dims
        var s = 0.0
        for i in 0..<dims {
            let below = boxes[2 * c * dims + i] - q[i], above = boxes[(2 * c + 1) * dims + i] - q[i]
            let t = far ? max(-below, above) : max(below, -above, 0)
            s += t * t
        }
        return s
    }

    /// Calls `body(row, odometer)` for every row of cells along dimension 0 in the block
    /// lo ... hi (cell coordinates), in ascending cell order: `row` is the linear index of the
    /// row's cell 0 and `odometer` its coordinates (dimension 0 unused).
    private func forEachRow(_ lo: [Int], _ hi: [Int], _ body: (Int, UnsafeMutablePointer<Int>) -> Void) {
        let g = geometry, dims = g.dims
        withUnsafeTemporaryAllocation(of: Int.self, capacity: dims) { odometer in
            let odometer = odometer.baseAddress!
            for i in 0..<dims { odometer[i] = lo[i] }
            while true {
                var row = 0
                for i in stride(from: dims - 1, through: 1, by: -1) { row = row * g.shape[i] + odometer[i] }
                body(row * g.shape[0], odometer)
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
