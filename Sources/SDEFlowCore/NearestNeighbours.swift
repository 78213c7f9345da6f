import Foundation

/// Exact K-nearest-neighbour search over the pairs one rank holds (its shard), bucketed in the
/// replicated grid's cells (a cell list, as in molecular dynamics).
///
/// Points are kept in the order they were given (ascending global id), and ties in distance are
/// broken by that order, so the neighbour set of a query is the same on any number of ranks.
public struct NearestNeighbours: Sendable {
    public let geometry: GridGeometry
    public let count: Int
    /// Normalised coordinates (count × D) sorted by cell, so each row of cells along
    /// dimension 0 is one contiguous run; `original[s]` is the given index of sorted point s.
    private let sorted: [Double]
    private let original: [Int32]
    /// Cell list: the points of cell c are sorted slots cellStart[c] ..< cellStart[c + 1].
    private let cellStart: [Int32]

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
        for c in 0..<geometry.cellCount { start[c + 1] += start[c] }
        var fill = start
        var original = [Int32](repeating: 0, count: n), sorted = [Double](repeating: 0, count: n * dims)
        for j in 0..<n {  // ascending j within each cell: ties keep the given order
            let slot = Int(fill[cells[j]])
            original[slot] = Int32(j)
            for i in 0..<dims { sorted[slot * dims + i] = points[j * dims + i] }
            fill[cells[j]] += 1
        }
        self.geometry = geometry; self.count = n
        self.sorted = sorted; self.original = original; self.cellStart = start
    }

    /// Reusable buffers for one search, so a label loop allocates nothing per query.
    public struct Scratch {
        /// Candidates in collection order, and the runs of sorted slots they came from.
        var candidates: [Candidate] = []
        var runs: [(slot: Int32, offset: Int32, count: Int32)] = []
        var distances: [Double] = []
        var ties: [Int32] = []
        var center: [Int] = []
        var odometer: [Int] = []
        public init() {}
    }

    @usableFromInline struct Candidate {
        var dist2: Double
        var index: Int32
    }

    /// The exact `k` nearest points to normalised query `q` (D values) — ties in distance go to
    /// the smaller point index — as point indices in (cell, index) order: a canonical order that
    /// needs no sort and is the same for any shard holding the query's halo. Searches shells
    /// of cells outwards until the k-th distance found is smaller than the distance from q to
    /// any cell not yet searched.
    public func nearest(_ q: UnsafePointer<Double>, k: Int, scratch: inout Scratch) -> [Int32] {
        precondition(k <= count, "asked for \(k) neighbours among \(count) points")
        let g = geometry, dims = g.dims
        scratch.center = (0..<dims).map { g.coordinate(q[$0], $0) }
        let maxRadius = g.shape.max()!
        scratch.candidates.removeAll(keepingCapacity: true)
        scratch.runs.removeAll(keepingCapacity: true)
        var radius = 0, kth = Double.infinity
        while true {
            collectShell(q, radius: radius, scratch: &scratch)
            if scratch.candidates.count >= k {
                scratch.distances.removeAll(keepingCapacity: true)
                scratch.distances.append(contentsOf: scratch.candidates.lazy.map(\.dist2))
                kth = Self.select(&scratch.distances, k)
                // Distance from q to the outside of the searched block (infinite where the
                // block already reaches the grid's edge).
                var gap = Double.infinity
                for i in 0..<dims {
                    let c = scratch.center[i]
                    if c - radius > 0 { gap = min(gap, q[i] - (g.lower[i] + Double(c - radius) * g.cellSize)) }
                    if c + radius < g.shape[i] - 1 {
                        gap = min(gap, g.lower[i] + Double(c + radius + 1) * g.cellSize - q[i])
                    }
                }
                // Strictly closer than anything unsearched: a point at exactly the gap (on
                // the next cell's face) ties with the k-th and may have a smaller index, so
                // equality must search on. The 1e-9-cell margin covers rounding in `cell(of:)`.
                let safe = gap - 1e-9 * g.cellSize
                if gap == .infinity || (safe > 0 && kth < safe * safe) { break }
            }
            if radius >= maxRadius { break }
            radius += 1
        }
        return emit(k: k, kth: kth, scratch: &scratch)
    }

    /// The k nearest in (cell, index) order: runs in ascending slot order, within a run the
    /// candidates strictly closer than the k-th distance, plus the smallest indices among those
    /// exactly at it.
    private func emit(k: Int, kth: Double, scratch: inout Scratch) -> [Int32] {
        var closer = 0
        scratch.ties.removeAll(keepingCapacity: true)
        for c in scratch.candidates {
            if c.dist2 < kth { closer += 1 } else if c.dist2 == kth { scratch.ties.append(c.index) }
        }
        scratch.ties.sort()
        let tieLimit = scratch.ties.count > k - closer ? scratch.ties[k - closer - 1] : Int32.max
        scratch.runs.sort { $0.slot < $1.slot }
        var result = [Int32]()
        result.reserveCapacity(k)
        for run in scratch.runs {
            for c in scratch.candidates[Int(run.offset) ..< Int(run.offset + run.count)]
            where c.dist2 < kth || (c.dist2 == kth && c.index <= tieLimit) {
                result.append(c.index)
            }
        }
        return result
    }

    /// Appends the points of every cell at Chebyshev distance exactly `radius` from the query's
    /// cell. Cells are visited as rows along dimension 0: a row whose other coordinates touch
    /// the shell is taken whole (one contiguous run of sorted points), any other row only at
    /// its two ends.
    private func collectShell(_ q: UnsafePointer<Double>, radius: Int, scratch: inout Scratch) {
        let g = geometry, dims = g.dims, center = scratch.center
        let lo0 = max(center[0] - radius, 0), hi0 = min(center[0] + radius, g.shape[0] - 1)
        scratch.odometer = (0..<dims).map { max(center[$0] - radius, 0) }
        sorted.withUnsafeBufferPointer { pts in
            cellStart.withUnsafeBufferPointer { start in
                func take(_ firstCell: Int, _ lastCell: Int) {
                    let from = Int(start[firstCell]), to = Int(start[lastCell + 1])
                    if from == to { return }
                    scratch.runs.append((Int32(from), Int32(scratch.candidates.count), Int32(to - from)))
                    for s in from ..< to {
                        let p = pts.baseAddress! + s * dims
                        var d2 = 0.0
                        for i in 0..<dims { let t = p[i] - q[i]; d2 += t * t }
                        scratch.candidates.append(Candidate(dist2: d2, index: original[s]))
                    }
                }
                while true {
                    var rowBase = 0, onShell = radius == 0
                    for i in stride(from: dims - 1, through: 1, by: -1) {
                        rowBase = rowBase * g.shape[i] + scratch.odometer[i]
                        if abs(scratch.odometer[i] - center[i]) == radius { onShell = true }
                    }
                    rowBase *= g.shape[0]
                    if onShell {
                        take(rowBase + lo0, rowBase + hi0)
                    } else {
                        if center[0] - radius >= 0 { take(rowBase + center[0] - radius, rowBase + center[0] - radius) }
                        if center[0] + radius < g.shape[0] { take(rowBase + center[0] + radius, rowBase + center[0] + radius) }
                    }
                    // Next row: advance dimensions 1 ..< dims like an odometer.
                    var i = 1
                    while i < dims {
                        if scratch.odometer[i] < min(center[i] + radius, g.shape[i] - 1) { scratch.odometer[i] += 1; break }
                        scratch.odometer[i] = max(center[i] - radius, 0)
                        i += 1
                    }
                    if i >= dims { return }
                }
            }
        }
    }

    /// Quickselect: the k-th smallest value (k ≥ 1), reordering `a`.
    static func select(_ a: inout [Double], _ k: Int) -> Double {
        var lo = 0, hi = a.count - 1
        let target = k - 1
        a.withUnsafeMutableBufferPointer { a in
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                // Median of three as pivot.
                if a[mid] < a[lo] { a.swapAt(mid, lo) }
                if a[hi] < a[lo] { a.swapAt(hi, lo) }
                if a[hi] < a[mid] { a.swapAt(hi, mid) }
                let pivot = a[mid]
                var i = lo, j = hi
                while i <= j {
                    while a[i] < pivot { i += 1 }
                    while pivot < a[j] { j -= 1 }
                    if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
                }
                if target <= j { hi = j } else if target >= i { lo = i } else { break }
            }
        }
        return a[target]
    }
}
