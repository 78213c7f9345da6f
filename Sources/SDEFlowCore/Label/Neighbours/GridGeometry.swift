import Foundation

/// A uniform grid of cubic cells over the bounding box of the normalised data. Every rank
/// holds the same geometry and the same per-cell counts (the replicated neighbour grid); the
/// cell is the unit in which queries are partitioned and data is sharded.
public struct GridGeometry: Codable, Sendable, Equatable {
    /// Lower corner (D values), cell edge in normalised units, cells per dimension.
    public let lower: [Double]
    public let cellSize: Double
    public let shape: [Int]
    public var dims: Int { shape.count }
    public var cellCount: Int { shape.reduce(1, *) }

    public init(lower: [Double], cellSize: Double, shape: [Int]) {
        self.lower = lower; self.cellSize = cellSize; self.shape = shape
    }

    /// Cells sized to the search radius: about K/2 points expected in a 3^D block of cells if
    /// the N points filled the bounding box [lower, upper] evenly (the K-th neighbour then lies
    /// about two cells out, so the searched block hugs its ball), and at most `maxCells` cells.
    public init(lower: [Double], upper: [Double], count: Int, neighbors: Int, maxCells: Int = 1 << 22) {
        let extents = zip(lower, upper).map { max($1 - $0, 0) }
        let live = extents.filter { $0 > 1e-12 }
        var h = 1.0
        if !live.isEmpty {
            let volume = live.reduce(1, *), dEff = Double(live.count)
            let density = Double(max(count, 1)) / volume
            h = pow(Double(neighbors) / (2 * density * pow(3, dEff)), 1 / dEff)
            h = max(h, pow(volume / Double(maxCells), 1 / dEff))
            // Not larger than the widest extent, so the grid is never a single cell by accident.
            h = min(h, live.max()!)
        }
        self.lower = lower
        self.cellSize = h
        self.shape = extents.map { max(1, Int(($0 / h).rounded(.up))) }
    }

    /// Cell coordinate along dimension i of normalised value v (clamped into the grid). Clamped
    /// as a Double before the conversion, so a huge, infinite or NaN value (NaN: cell 0) cannot trap.
    @inlinable
    public func coordinate(_ v: Double, _ i: Int) -> Int {
        let t = ((v - lower[i]) / cellSize).rounded(.down)
        guard t > 0 else { return 0 }
        return t < Double(shape[i] - 1) ? Int(t) : shape[i] - 1
    }

    /// Linear cell index of a normalised point: dimension 0 fastest, the last μ dimension slowest.
    @inlinable
    public func cell(of p: UnsafePointer<Double>) -> Int {
        var index = 0
        for i in stride(from: dims - 1, through: 0, by: -1) { index = index * shape[i] + coordinate(p[i], i) }
        return index
    }

    public func coordinates(ofCell cell: Int) -> [Int] {
        var c = cell
        return shape.map { n in defer { c /= n }; return c % n }
    }

    /// Calls `body` with the linear index of every cell within Chebyshev distance `radius`
    /// of `center` (cell coordinates), clipped to the grid.
    public func forEachCell(around center: [Int], radius: Int, _ body: (Int) -> Void) {
        let lo = (0..<dims).map { max(center[$0] - radius, 0) }
        let hi = (0..<dims).map { min(center[$0] + radius, shape[$0] - 1) }
        var c = lo
        while true {
            var index = 0
            for i in stride(from: dims - 1, through: 0, by: -1) { index = index * shape[i] + c[i] }
            body(index)
            var i = 0
            while i < dims {
                if c[i] < hi[i] { c[i] += 1; break }
                c[i] = lo[i]; i += 1
            }
            if i == dims { return }
        }
    }

    /// How far (in cells, Chebyshev) a rank must hold data around a query cell so the exact K
    /// nearest neighbours of any query in it are present. With m the smallest ring radius whose
    /// block already holds K points (from the replicated counts), every K-th neighbour lies within
    /// the block's far corner, (m + 1)·h·√D away, so ⌈(m + 1)√D⌉ rings suffice.
    public func haloRadius(aroundCell cell: Int, counts: [Int64], neighbors: Int) -> Int {
        let center = coordinates(ofCell: cell)
        let maxRadius = shape.max()!
        var m = 0
        while m < maxRadius {
            var total: Int64 = 0
            forEachCell(around: center, radius: m) { total += counts[$0] }
            if total >= Int64(neighbors) { break }
            m += 1
        }
        return min(Int((Double(m + 1) * Double(dims).squareRoot()).rounded(.up)), maxRadius)
    }
}
