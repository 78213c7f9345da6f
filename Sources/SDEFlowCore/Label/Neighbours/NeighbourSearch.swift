/// The one place the neighbour index is chosen and built, for `LabelSetup` (hence `label`,
/// `bench` and the tests). A new index is its own file in this folder and a case here.
public enum NeighbourSearch {
    /// The index over a shard's normalised points (n × D, ascending global id) under `plan`.
    public static func index(points: [Double], plan: any ShardPlan) -> any NeighbourIndex {
        guard let grid = plan as? GridShardPlan else { preconditionFailure("no neighbour index for this shard plan") }
        return CellListIndex(points: points, geometry: grid.geometry)
    }
}
