import CKernels
import Foundation

/// Queries (x_n, μ, z) with their global ids: x and z are count × d, mu is count × dMu.
public struct QueryBlock: Sendable {
    public var d: Int
    public var dMu: Int
    public var ids: [Int64] = []
    public var x: [Double] = []
    public var mu: [Double] = []
    public var z: [Double] = []
    public var count: Int { ids.count }

    public init(d: Int, dMu: Int) { self.d = d; self.dMu = dMu }

    /// Queries `range` (positions in this block).
    public func slice(_ range: Range<Int>) -> QueryBlock {
        var q = QueryBlock(d: d, dMu: dMu)
        q.ids = Array(ids[range]); q.x = Array(x[range.lowerBound * d ..< range.upperBound * d])
        q.mu = Array(mu[range.lowerBound * dMu ..< range.upperBound * dMu]); q.z = Array(z[range.lowerBound * d ..< range.upperBound * d])
        return q
    }
}
