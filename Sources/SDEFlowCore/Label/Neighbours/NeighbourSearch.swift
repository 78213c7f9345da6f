import Foundation

/// The one place the shard plan and the neighbour index are chosen and built, for `LabelSetup`
/// (hence `label`, `bench` and the tests). A new index is its own file in this folder and a
/// case here.
public enum NeighbourSearch: String, Codable, Sendable, CaseIterable {
    /// `grid` up to `gridMaxDims` coordinates, `brute-force` beyond.
    case auto
    /// The cell list over the replicated grid, with the grid-and-halo shard plan.
    case grid
    /// Blocked GEMM distances and a selection that does not sort everything, every rank holding
    /// every pair.
    case bruteForce = "brute-force"

    /// Up to this many coordinates D = d + dμ the cell list wins: its search scans a few cells
    /// (12–13 µs per query at D = 2, 3 on 1 M pairs, K = 2 000), while a scan of every pair costs
    /// milliseconds; the grid's cell count grows as 3^D, and by D = 6 a query already scans
    /// thousands of cells (22 ms).
    public static let gridMaxDims = 4

    /// What `auto` means at D coordinates.
    public func resolved(dims: Int) -> NeighbourSearch {
        self != .auto ? self : (dims <= Self.gridMaxDims ? .grid : .bruteForce)
    }

    /// The shard plan of this search (collective: every rank calls it with its rows' normalised
    /// points, n × D).
    func plan(_ comm: any Collective, points: [Double], dims: Int, total: Int, neighbors: Int) throws -> any ShardPlan {
        switch resolved(dims: dims) {
        case .grid: try GridShardPlan(comm, points: points, dims: dims, total: total, neighbors: neighbors)
        default: ReplicatedShardPlan(ranks: comm.size, dims: dims, total: total)
        }
    }

    /// The index over a shard's normalised points (n × D, ascending global id) under `plan`.
    public static func index(points: [Double], dims: Int, plan: any ShardPlan) -> any NeighbourIndex {
        if let grid = plan as? GridShardPlan { return CellListIndex(points: points, geometry: grid.geometry) }
        return BruteForceIndex(points: points, dims: dims)
    }

    /// Refuses, before anything is fetched, a shard this node cannot hold: `pairs` pairs of
    /// width `width` values plus the index, for every rank on this node (Open MPI's local size).
    static func checkMemory(pairs: Int, width: Int, dims: Int, neighbors: Int, name: String) throws {
        let perRank = pairs * width * 8 * 2 + BruteForceIndex.bytesNeeded(count: pairs, dims: dims, k: neighbors)
        let local = Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1
        let available = Int(ProcessInfo.processInfo.physicalMemory)
        guard perRank.multipliedReportingOverflow(by: local).partialValue < available * 9 / 10 else {
            throw SDEFlowError.file(name, String(format: "labelling needs about %.1f GiB per rank × %d ranks on this node (every rank holds all %d pairs at D = %d), more than the node's %.1f GiB: use fewer ranks per node or fewer pairs",
                                                 Double(perRank) / 1_073_741_824, local, pairs, dims, Double(available) / 1_073_741_824))
        }
    }
}
