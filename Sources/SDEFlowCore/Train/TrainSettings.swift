import Foundation

/// How a model was trained (the defaults are the paper's, docs/METHOD.md §3).
public struct TrainSettings: Codable, Sendable, Equatable {
    public var hidden: [Int]
    public var batchSize = 1024
    public var learningRate = 1e-3
    public var weightDecay = 1e-6
    public var maxEpochs = 1000
    /// Early stopping: epochs without validation improvement before stopping.
    public var patience = 50
    /// Halve the learning rate after more than this many epochs without improvement.
    public var lrPatience = 20
    public var validationFraction = 0.1
    public var seed: UInt64 = 1

    public init(hidden: [Int]) { self.hidden = hidden }

    /// The example's network and patience (3×128 and 50 for data of no known example).
    /// The example's network, or for data of no known example with `d` state components the
    /// width `UnknownDataDefaults` gives it.
    public init(for example: SDEExample?, d: Int? = nil) {
        hidden = example?.hidden ?? UnknownDataDefaults.hidden(d: d ?? 1)
        patience = example?.patience ?? 50
    }
}
