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
    /// How the rows of the loss are weighted; nil (models saved before the option): uniform.
    public var lossWeighting: LossWeighting?

    public init(hidden: [Int]) { self.hidden = hidden }

    /// The example's network and patience (3×128 and 50 for data of no known example).
    /// The example's network, or for data of no known example with `d` state components the
    /// width `UnknownDataDefaults` gives it.
    public init(for example: SDEExample?, d: Int? = nil) {
        hidden = example?.hidden ?? UnknownDataDefaults.hidden(d: d ?? 1)
        patience = example?.patience ?? 50
        lossWeighting = (example?.d ?? d ?? 1) < UnknownDataDefaults.highDimension ? .relative : .uniform
    }
}

/// How the rows of the training loss are weighted (docs/METHOD.md §3).
public enum LossWeighting: String, Codable, Sendable, CaseIterable {
    /// Every label alike: the mean squared error of the paper.
    case uniform
    /// Each label by the inverse of the label variance around it (`LossWeights`), so the fit is
    /// as good relative to the local noise where the diffusion is small as where it is large.
    /// The default below d = 5: on geometric Brownian motion (noise ∝ x) it took the model's
    /// variance error at the data's 5 % quantile from 7.5 % to 2.1 % (worst of six states: 2.5 %).
    case relative
}
