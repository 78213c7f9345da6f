/// Where the label stage reads trajectory pairs from: rows of x (N × d), μ (N × dμ) and y (N × d)
/// by global row id. The `.npy` folder of the data contract is one (`Dataset`); an in-memory
/// block is another (`PairBlock`, for the bench and tests). A new data format is one new
/// conformance.
public protocol PairSource: Sendable {
    var d: Int { get }
    var dMu: Int { get }
    var count: Int { get }
    /// What to name in an error about this source (a folder, a file).
    var name: String { get }
    /// Rows [rows), checked finite.
    func read(rows: Range<Int>) throws -> PairBlock
    /// The given rows, in the given order, checked finite.
    func read(indices: [Int]) throws -> PairBlock
}

extension PairBlock: PairSource {
    public var name: String { "in-memory pairs" }

    public func read(rows: Range<Int>) throws -> PairBlock {
        PairBlock(d: d, dMu: dMu, x: Array(x[rows.lowerBound * d ..< rows.upperBound * d]),
                  mu: Array(mu[rows.lowerBound * dMu ..< rows.upperBound * dMu]),
                  y: y.isEmpty ? [] : Array(y[rows.lowerBound * d ..< rows.upperBound * d]))
    }

    public func read(indices: [Int]) throws -> PairBlock {
        var out = PairBlock(d: d, dMu: dMu)
        for j in indices {
            out.x += x[j * d ..< (j + 1) * d]; out.mu += mu[j * dMu ..< (j + 1) * dMu]
            if !y.isEmpty { out.y += y[j * d ..< (j + 1) * d] }
        }
        return out
    }
}
