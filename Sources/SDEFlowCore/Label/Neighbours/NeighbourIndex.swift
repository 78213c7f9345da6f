/// Exact K-nearest-neighbour search over the pairs one rank holds (its shard), in the
/// normalised (x/σ_x, μ/σ_μ) space of D = d + dμ coordinates.
///
/// The contract every implementation keeps, so labels are the same bits for any rank count:
/// - distance is the squared Euclidean distance Σ_i (p_i − q_i)² summed in Double in coordinate
///   order i = 0 ..< D; ties in it go to the smaller point index (the order the points were
///   given in, which is ascending global row id);
/// - a query's neighbours come back in the index's *canonical order*: one that depends only on
///   which points are returned (and on state every rank shares, such as a replicated grid),
///   never on which other points this shard holds.
public protocol NeighbourIndex: AnyObject {
    /// Points held.
    var count: Int { get }
    /// Dimensions D of a point.
    var dims: Int { get }
    /// The order in which callers should keep per-point data: slot s holds given point
    /// `slotOrder[s]`. Neighbours are reported as slots.
    var slotOrder: [Int32] { get }
    /// For each of the `m` queries (m × D values, row-major), the exact `k` nearest points as
    /// slots, written to `out[q·k ..< (q + 1)·k]` in canonical order. Needs 1 ≤ k ≤ count.
    func nearest(_ queries: UnsafePointer<Double>, count m: Int, k: Int, into out: UnsafeMutablePointer<Int32>)
}
