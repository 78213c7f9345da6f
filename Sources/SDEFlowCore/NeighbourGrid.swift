import Foundation

/// The normalised space (x/σ_x, μ/σ_μ) of the paper's neighbour search: σ_x is one scalar std
/// over all entries of x, σ_μ one over all entries of μ (a std below 1e-8 counts as 1).
public struct Normalisation: Codable, Sendable, Equatable {
    public var d: Int
    public var dMu: Int
    public var sigmaX: Double
    public var sigmaMu: Double
    public var dims: Int { d + dMu }

    public init(d: Int, dMu: Int, sigmaX: Double, sigmaMu: Double) {
        self.d = d; self.dMu = dMu
        self.sigmaX = sigmaX < 1e-8 ? 1 : sigmaX
        self.sigmaMu = sigmaMu < 1e-8 ? 1 : sigmaMu
    }

    /// Writes the D = d + dMu normalised coordinates of (x, μ) into `out`.
    @inlinable
    public func point(x: UnsafePointer<Double>, mu: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        for i in 0..<d { out[i] = x[i] / sigmaX }
        for i in 0..<dMu { out[d + i] = mu[i] / sigmaMu }
    }
}

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

    /// Cell coordinate along dimension i of normalised value v (clamped into the grid).
    @inlinable
    public func coordinate(_ v: Double, _ i: Int) -> Int {
        min(max(Int(((v - lower[i]) / cellSize).rounded(.down)), 0), shape[i] - 1)
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

/// How the label stage shares out work (the same rule on every rank, and in `bench`): the
/// queries, in cell-major order (cells in linear order, each cell's queries in query order),
/// are cut into `ranks` contiguous runs of equal length, so neighbouring queries share a rank
/// and the ranks' query counts differ by at most one; a cell whose queries straddle a cut is
/// shared by the ranks on both sides (with K = 80 000 a cell can hold 5 % of all queries, and
/// whole cells left ranks 12 % apart). Each rank holds the pairs of every cell within the halo
/// of the cells its queries lie in.
public struct QueryPartition: Sendable {
    /// Per cell, the cell-major position of its first query.
    public let firstQuery: [Int]
    public let queryCounts: [Int]
    public let totalQueries: Int
    public let ranks: Int
    /// Halo radius (cells) of each cell that has queries, −1 elsewhere.
    public let halo: [Int]

    /// `queryCounts` and `counts` (data pairs) per cell of `geometry`.
    public init(geometry: GridGeometry, queryCounts: [Int], counts: [Int64], neighbors: Int, ranks: Int) {
        var first = [Int](repeating: 0, count: queryCounts.count), before = 0
        for c in 0..<queryCounts.count { first[c] = before; before += queryCounts[c] }
        firstQuery = first; self.queryCounts = queryCounts; totalQueries = before; self.ranks = ranks
        self.halo = (0..<geometry.cellCount).map {
            queryCounts[$0] > 0 ? geometry.haloRadius(aroundCell: $0, counts: counts, neighbors: neighbors) : -1
        }
    }

    /// The rank of the query at cell-major position `position`.
    public func owner(position: Int) -> Int {
        totalQueries == 0 ? 0 : min(ranks - 1, position * ranks / totalQueries)
    }

    /// The rank of every query, given each query's cell in query order.
    public func owners(cells: [Int]) -> [Int] {
        var seen = [Int](repeating: 0, count: firstQuery.count)
        return cells.map { c in
            defer { seen[c] += 1 }
            return owner(position: firstQuery[c] + seen[c])
        }
    }

    /// Whether rank `rank` needs the pairs of each cell (its query cells plus their halos).
    public func neededCells(rank: Int, geometry: GridGeometry) -> [Bool] {
        var needed = [Bool](repeating: false, count: geometry.cellCount)
        for c in 0..<geometry.cellCount where halo[c] >= 0
            && owner(position: firstQuery[c]) <= rank && rank <= owner(position: firstQuery[c] + queryCounts[c] - 1) {
            geometry.forEachCell(around: geometry.coordinates(ofCell: c), radius: halo[c]) { needed[$0] = true }
        }
        return needed
    }
}
