/// Shards that stay shards: rank r holds global rows [N·r/P, N·(r+1)/P) (N/P pairs, whatever K
/// and D; the rows read in fixed blocks for the normalisation are re-dealt to these ranges),
/// and the queries are cut into equal contiguous runs of query id.
/// A query's exact neighbours are found across every block by `NeighbourExchange`, and only
/// the K rows a label needs travel to its rank. With a grid index the geometry is the
/// replicated one (bounds over all rows), so the canonical (cell, row) order is the same as
/// under `GridShardPlan`, and so are the labels.
public final class BlockShardPlan: ShardPlan {
    let ranks: Int, rank: Int, dims: Int, total: Int
    /// Global id of the first row this rank read.
    let firstRead: Int
    /// Global id of this rank's first row held: N·rank/P.
    public var firstRow: Int { total * rank / ranks }
    /// The replicated grid, when the index is the cell list.
    public let geometry: GridGeometry?

    /// Collective when `grid` (the bounds of every rank's rows).
    public init(_ comm: any Collective, points: [Double], dims: Int, total: Int, firstRead: Int, neighbors: Int, grid: Bool) throws {
        self.ranks = comm.size; self.rank = comm.rank; self.dims = dims; self.total = total; self.firstRead = firstRead
        geometry = grid ? try GridShardPlan.geometry(comm, points: points, dims: dims, total: total, neighbors: neighbors) : nil
    }

    public var summary: String {
        "shards: every rank holds a block of about \(total / max(ranks, 1)) of \(total) pairs; neighbours found across blocks"
            + (geometry.map { ", grid \($0.shape.map(String.init).joined(separator: "×"))" } ?? "")
    }

    public func assignQueries(_ comm: any Collective, points: [Double]) throws -> [Int] {
        let m = points.count / dims
        return (0..<m).map { $0 * ranks / max(m, 1) }
    }

    public func holders(of points: [Double]) -> [[Int]] {
        var out = [[Int]](repeating: [], count: ranks)
        for j in 0..<points.count / dims {
            // The r with N·r/P ≤ row < N·(r+1)/P.
            let row = firstRead + j
            var r = min(ranks - 1, row * ranks / max(total, 1))
            while r > 0 && total * r / ranks > row { r -= 1 }
            while r + 1 < ranks && total * (r + 1) / ranks <= row { r += 1 }
            out[r].append(j)
        }
        return out
    }
}
