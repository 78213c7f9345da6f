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
}
