/// The per-pair values a label reads from its neighbours, row-major: the scaled displacement
/// c·(y − x) (n × d), x (n × d) and μ (n × dμ). The labeler's copy of its shard (in the index's
/// slot order), or the rows of one round's neighbours fetched from other ranks (`NeighbourExchange`).
public struct NeighbourRows: Sendable {
    public var d: Int, dMu: Int
    public var delta: [Double] = [], x: [Double] = [], mu: [Double] = []
    public var count: Int { d == 0 ? 0 : x.count / d }

    public init(d: Int, dMu: Int) { self.d = d; self.dMu = dMu }

    /// Rows `rows` of `data`, in that order, with displacements scaled by c = `scale`.
    public init(_ data: PairBlock, rows: [Int], scale c: Double) {
        let d = data.d, dMu = data.dMu
        self.init(d: d, dMu: dMu)
        delta = [Double](repeating: 0, count: rows.count * d); x = delta; mu = [Double](repeating: 0, count: rows.count * dMu)
        for (slot, j) in rows.enumerated() {
            for i in 0..<d {
                delta[slot * d + i] = c * (data.y[j * d + i] - data.x[j * d + i])
                x[slot * d + i] = data.x[j * d + i]
            }
            for i in 0..<dMu { mu[slot * dMu + i] = data.mu[j * dMu + i] }
        }
    }
}
