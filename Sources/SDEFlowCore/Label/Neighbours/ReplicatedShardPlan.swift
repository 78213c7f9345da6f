/// Every rank holds every pair, and the queries are cut into equal contiguous runs of query id.
/// The plan for dimensions where a grid over (x, μ) cannot be built (its cells grow as 3^D:
/// 3.5·10⁹ at D = 21) and the neighbour index is a brute-force scan anyway. Memory per rank is
/// the whole data set: checked before it is fetched (`NeighbourSearch.checkMemory`).
public final class ReplicatedShardPlan: ShardPlan {
    let ranks: Int, dims: Int, total: Int

    public init(ranks: Int, dims: Int, total: Int) { self.ranks = ranks; self.dims = dims; self.total = total }

    public var summary: String { "shards: every rank holds all \(total) pairs (D = \(dims): no grid)" }

    public func assignQueries(_ comm: any Collective, points: [Double]) throws -> [Int] {
        let m = points.count / dims
        return (0..<m).map { $0 * ranks / max(m, 1) }
    }

    public func holders(of points: [Double]) -> [[Int]] {
        let rows = Array(0..<points.count / dims)
        return Array(repeating: rows, count: ranks)
    }
}
