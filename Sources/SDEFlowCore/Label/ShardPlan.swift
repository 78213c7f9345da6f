/// Which pairs a rank holds and which queries it labels. Built collectively once the ranks
/// agree on the normalised space; the same rule on every rank, so the assignment depends on
/// global ids and data only, never on the rank count's accidents.
public protocol ShardPlan: AnyObject {
    /// The rank that labels each query. Collective: every rank calls it; `points` (the queries'
    /// normalised coordinates, m × D, in query id order) are rank 0's, others pass []. Returns
    /// the owners on rank 0 ([] elsewhere).
    func assignQueries(_ comm: any Collective, points: [Double]) throws -> [Int]
    /// For the rows this rank read (normalised, n × D), the ranks that must hold each: one
    /// list of row indices per rank. Call after `assignQueries`.
    func holders(of points: [Double]) -> [[Int]]
    /// One line for the log.
    var summary: String { get }
}
