import Foundation

/// The one place the neighbour index and the shard layout are chosen and built, for
/// `LabelSetup` (hence `label`, `bench` and the tests). A new index is its own file in this
/// folder and a case here.
public enum NeighbourSearch: String, Codable, Sendable, CaseIterable {
    /// `grid` up to `gridMaxDims` coordinates, `brute-force` beyond.
    case auto
    /// The cell list over the replicated grid.
    case grid
    /// A scan of every pair held, float screen and exact Double settle (`BruteForceIndex`).
    case bruteForce = "brute-force"

    /// Up to this many coordinates D = d + dμ the cell list wins: its search visits a few cells
    /// (12–13 µs per query at D = 2, 3 on 1 M pairs, K = 2 000), while a scan of every pair costs
    /// about 0.7 ms at D = 11; the grid's cells grow as 3^D, and by D = 6 a query already visits
    /// thousands of them (22 ms).
    public static let gridMaxDims = 4

    /// What `auto` means at D coordinates.
    public func resolved(dims: Int) -> NeighbourSearch {
        self != .auto ? self : (dims <= Self.gridMaxDims ? .grid : .bruteForce)
    }

    /// The index over a shard's normalised points (n × D, ascending global id) under `plan`.
    public static func index(points: [Double], dims: Int, plan: any ShardPlan) -> any NeighbourIndex {
        if let grid = plan as? GridShardPlan { return CellListIndex(points: points, geometry: grid.geometry) }
        if let geometry = (plan as? BlockShardPlan)?.geometry { return CellListIndex(points: points, geometry: geometry) }
        return BruteForceIndex(points: points, dims: dims)
    }
}

/// How the pairs are spread over the ranks for the label stage.
public enum ShardLayout: String, Codable, Sendable, CaseIterable {
    /// `halo` with the grid index while the largest halo shard fits comfortably in memory,
    /// `blocks` otherwise (and always with the brute-force index).
    case auto
    /// Each rank holds the pairs its queries' exact K-NN can reach (`GridShardPlan`): no
    /// communication while labelling, but at large K a rank holds most of the data (80 % of it
    /// at -n 2 on bm with K = 20 000).
    case halo
    /// Each rank holds N/P pairs (`BlockShardPlan`); the K rows of each label travel to it
    /// (`NeighbourExchange`).
    case blocks

    /// Whether a shard of `pairs` rows of `width` values (held twice: as received and in slot
    /// order, plus the index) fits in half of a rank's share of the memory the node's ranks may
    /// use (`MemoryBudget`), and of what its own address-space limit leaves.
    static func fits(pairs: Int, width: Int) -> Bool {
        let budget = MemoryBudget.current
        let perRank = min(budget.node / Double(Limits.localRanks), budget.process ?? .infinity)
        return Double(pairs) * Double(width) * 8 * 3 < perRank / 2
    }
}
