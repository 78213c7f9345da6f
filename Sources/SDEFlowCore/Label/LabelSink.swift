/// Where finished labels go, keyed by global query id: the point a checkpoint hooks into. The
/// label stage hands every finished block of queries to the sink as soon as it is done.
public protocol LabelSink: AnyObject {
    /// Finished queries: their ids and, row by row in the same order, x (d), μ (dμ), z (d),
    /// label (d) and effective sample size (1).
    func accept(_ queries: QueryBlock, labels: [Double], ess: [Double]) throws
}

/// The default sink: keeps this rank's finished labels in memory until they are gathered.
public final class MemoryLabelSink: LabelSink {
    public private(set) var queries: QueryBlock
    public private(set) var labels: [Double] = []
    public private(set) var ess: [Double] = []

    public init(d: Int, dMu: Int) { queries = QueryBlock(d: d, dMu: dMu) }

    public func accept(_ block: QueryBlock, labels: [Double], ess: [Double]) throws {
        queries.ids += block.ids; queries.x += block.x; queries.mu += block.mu; queries.z += block.z
        self.labels += labels; self.ess += ess
    }
}
