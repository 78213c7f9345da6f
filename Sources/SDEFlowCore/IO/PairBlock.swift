import Foundation

/// One-step pairs (x_j, μ_j, y_j), row-major: x and y are count × d, mu is count × dMu.
public struct PairBlock: Sendable {
    public var d: Int
    public var dMu: Int
    public var x: [Double] = []
    public var mu: [Double] = []
    public var y: [Double] = []
    public var count: Int { d == 0 ? 0 : x.count / d }

    public init(d: Int, dMu: Int) { self.d = d; self.dMu = dMu }
    public init(d: Int, dMu: Int, x: [Double], mu: [Double], y: [Double]) {
        self.d = d; self.dMu = dMu; self.x = x; self.mu = mu; self.y = y
    }

}
