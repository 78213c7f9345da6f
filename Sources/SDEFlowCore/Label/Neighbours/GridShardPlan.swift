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
