import Foundation

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

/// Today's shard plan: the replicated grid over the normalised space (every rank holds the same
/// geometry and per-cell counts) with the query partition above. A rank holds the pairs of its
/// query cells plus their halo, so its exact K-NN needs nothing from other ranks.
public final class GridShardPlan: ShardPlan {
    public let geometry: GridGeometry
    let counts: [Int64]
    let neighbors: Int
    let ranks: Int
    private var partition: QueryPartition?
    /// More cells than this (4 Mi are what the grid aims for) and the per-cell arrays alone
    /// would take gigabytes.
    static let maxCells = 1 << 26

    /// Collective: the grid over the bounding box of every rank's rows (`points`, normalised,
    /// n × D) sized for K neighbours among `total` pairs, and its per-cell counts.
    public init(_ comm: any Collective, points: [Double], dims: Int, total: Int, neighbors: Int) throws {
        let geometry = try Self.geometry(comm, points: points, dims: dims, total: total, neighbors: neighbors)
        var counts = [Int64](repeating: 0, count: geometry.cellCount)
        for c in Self.cells(points, geometry) { counts[c] += 1 }
        try comm.allreduce(&counts, .sum)
        self.geometry = geometry; self.counts = counts; self.neighbors = neighbors; self.ranks = comm.size
    }

    /// Collective: the grid over the bounding box of every rank's rows (`points`, normalised,
    /// n × D) sized for K neighbours among `total` pairs; refused when it would have too many cells.
    static func geometry(_ comm: any Collective, points: [Double], dims: Int, total: Int, neighbors: Int) throws -> GridGeometry {
        var lower = [Double](repeating: .infinity, count: dims), upper = [Double](repeating: -.infinity, count: dims)
        for j in 0..<points.count / dims {
            for i in 0..<dims { lower[i] = min(lower[i], points[j * dims + i]); upper[i] = max(upper[i], points[j * dims + i]) }
        }
        try comm.allreduce(&lower, .min)
        try comm.allreduce(&upper, .max)
        let geometry = GridGeometry(lower: lower, upper: upper, count: total, neighbors: neighbors)
        let cells = geometry.shape.reduce((1, false)) { r, n in r.1 ? r : r.0.multipliedReportingOverflow(by: n) }
        guard !cells.1, cells.0 <= Self.maxCells else {
            throw SDEFlowError.option("--neighbour-index grid", "a grid over D = \(dims) coordinates would have \(cells.1 ? "more than 2^63" : String(cells.0)) cells (at most \(Self.maxCells)); use --neighbour-index brute-force (or auto)")
        }
        return geometry
    }

    public var summary: String {
        "grid: \(geometry.shape.map(String.init).joined(separator: "×")) cells of \(String(format: "%.4f", geometry.cellSize)) (normalised units)"
    }

    public func assignQueries(_ comm: any Collective, points: [Double]) throws -> [Int] {
        let qCells = Self.cells(points, geometry)
        var queryCounts = [Int32](repeating: 0, count: geometry.cellCount)
        for c in qCells { queryCounts[c] += 1 }
        queryCounts = try comm.broadcast(queryCounts)
        let partition = QueryPartition(geometry: geometry, queryCounts: queryCounts.map(Int.init), counts: counts,
                                       neighbors: neighbors, ranks: ranks)
        self.partition = partition
        return partition.owners(cells: qCells)
    }

    public func holders(of points: [Double]) -> [[Int]] {
        guard let partition else { preconditionFailure("holders(of:) before assignQueries") }
        let cells = Self.cells(points, geometry)
        return (0..<ranks).map { r in
            let needed = partition.neededCells(rank: r, geometry: geometry)
            return cells.indices.filter { needed[cells[$0]] }
        }
    }

    /// The cell of each normalised point (n × D).
    static func cells(_ points: [Double], _ geometry: GridGeometry) -> [Int] {
        let dims = geometry.dims
        return points.withUnsafeBufferPointer { p in (0..<points.count / dims).map { geometry.cell(of: p.baseAddress! + $0 * dims) } }
    }
}
