import Foundation

/// Exact K-nearest-neighbour search over the pairs one rank holds (its shard), bucketed in the
/// replicated grid's cells (a cell list, as in molecular dynamics).
///
/// Points are kept in the order they were given (ascending global id), and ties in distance are
/// broken by that order, so the neighbour set of a query is the same on any number of ranks.
public struct NearestNeighbours: Sendable {
    public let geometry: GridGeometry
    /// Normalised coordinates, count × D.
    public let points: [Double]
    public let count: Int
    /// Cell list: the points of cell c are order[cellStart[c] ..< cellStart[c + 1]].
    private let cellStart: [Int32]
    private let order: [Int32]

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
        var fill = start, order = [Int32](repeating: 0, count: n)
        for j in 0..<n {
            order[Int(fill[cells[j]])] = Int32(j)
            fill[cells[j]] += 1
        }
        self.geometry = geometry; self.points = points; self.count = n
        self.cellStart = start; self.order = order
    }

    /// Reusable buffers for one search, so a label loop allocates nothing per query.
    public struct Scratch {
        var candidates: [Candidate] = []
        public init() {}
    }

    @usableFromInline struct Candidate {
        var dist2: Double
        var index: Int32
        @inline(__always) static func < (a: Candidate, b: Candidate) -> Bool {
            a.dist2 < b.dist2 || (a.dist2 == b.dist2 && a.index < b.index)
        }
    }

    /// The exact `k` nearest points to normalised query `q` (D values), as point indices in
    /// ascending order. Searches rings of cells outwards until the k-th distance found is no
    /// larger than the distance from q to any cell not yet searched.
    public func nearest(_ q: UnsafePointer<Double>, k: Int, scratch: inout Scratch) -> [Int32] {
        precondition(k <= count, "asked for \(k) neighbours among \(count) points")
        let g = geometry, dims = g.dims
        let center = (0..<dims).map { g.coordinate(q[$0], $0) }
        let maxRadius = g.shape.max()!
        scratch.candidates.removeAll(keepingCapacity: true)
        var radius = 0
        var kth = Double.infinity
        points.withUnsafeBufferPointer { pts in
            while true {
                g.forEachCell(around: center, radius: radius) { cell in
                    // Only the shell at exactly `radius`; inner cells were searched already.
                    if radius > 0 {
                        let c = g.coordinates(ofCell: cell)
                        var onShell = false
                        for i in 0..<dims where abs(c[i] - center[i]) == radius { onShell = true; break }
                        if !onShell { return }
                    }
                    for s in Int(cellStart[cell])..<Int(cellStart[cell + 1]) {
                        let j = Int(order[s])
                        let p = pts.baseAddress! + j * dims
                        var d2 = 0.0
                        for i in 0..<dims { let t = p[i] - q[i]; d2 += t * t }
                        scratch.candidates.append(Candidate(dist2: d2, index: Int32(j)))
                    }
                }
                if scratch.candidates.count >= k {
                    kth = Self.select(&scratch.candidates, k)
                    // Distance from q to the outside of the searched block (infinite where the
                    // block already reaches the grid's edge).
                    var gap = Double.infinity
                    for i in 0..<dims {
                        if center[i] - radius > 0 {
                            gap = min(gap, q[i] - (g.lower[i] + Double(center[i] - radius) * g.cellSize))
                        }
                        if center[i] + radius < g.shape[i] - 1 {
                            gap = min(gap, g.lower[i] + Double(center[i] + radius + 1) * g.cellSize - q[i])
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
        }
        var result = scratch.candidates[0..<k].map(\.index)
        result.sort()
        return result
    }

    /// Quickselect: moves the k smallest candidates to the front; returns the k-th smallest dist².
    static func select(_ a: inout [Candidate], _ k: Int) -> Double {
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
        return a[target].dist2
    }
}
