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
    /// What the network's output is relative to; nil (models saved before the option): none.
    public var outputPrior: OutputPriorKind?

    public init(hidden: [Int]) { self.hidden = hidden }

    /// These settings without the stopping criteria (`--max-epochs`, `--patience`): the epochs a
    /// run takes before it stops do not depend on them, so a checkpoint of a run with other
    /// stopping criteria continues as a run of these would (raising either is the usual resume).
    var trajectory: TrainSettings {
        var s = self
        s.maxEpochs = 0; s.patience = 0
        return s
    }

    /// The options set differently in `saved` than here, as "--option saved → here", in the
    /// order `train --help` lists them (the stopping criteria left out, as in `trajectory`).
    func differences(from saved: TrainSettings) -> [String] {
        func item<T: Equatable>(_ name: String, _ k: KeyPath<TrainSettings, T>) -> String? {
            saved[keyPath: k] == self[keyPath: k] ? nil : "\(name) \(saved[keyPath: k]) → \(self[keyPath: k])"
        }
        func text<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "unset" }
        return [
            saved.hidden == hidden ? nil : "--hidden \(saved.hidden.map(String.init).joined(separator: ",")) → \(hidden.map(String.init).joined(separator: ","))",
            item("--batch-size", \.batchSize), item("--learning-rate", \.learningRate), item("--weight-decay", \.weightDecay),
            item("--lr-patience", \.lrPatience), item("--validation-fraction", \.validationFraction), item("--seed", \.seed),
            saved.lossWeighting == lossWeighting ? nil : "--loss-weighting \(text(saved.lossWeighting?.rawValue)) → \(text(lossWeighting?.rawValue))",
            saved.outputPrior == outputPrior ? nil : "--output-prior \(text(saved.outputPrior?.rawValue)) → \(text(outputPrior?.rawValue))",
        ].compactMap { $0 }
    }

    /// The example's network and patience (3×128 and 50 for data of no known example).
    /// The example's network, or for data of no known example with `d` state components the
    /// width `UnknownDataDefaults` gives it.
    public init(for example: SDEExample?, d: Int? = nil) {
        hidden = example?.hidden ?? UnknownDataDefaults.hidden(d: d ?? 1)
        patience = example?.patience ?? 50
        lossWeighting = (example?.d ?? d ?? 1) < UnknownDataDefaults.highDimension ? .relative : .uniform
        outputPrior = .auto
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

/// What the network's output is relative to (`OutputPrior`, docs/METHOD.md §3, §6.9).
public enum OutputPriorKind: String, Codable, Sendable, CaseIterable {
    /// The network gives the standardised labels themselves, as in the paper.
    case none
    /// The network gives (label − m̂) / ŝ for a quadratic mean m̂ and spread ŝ in (x, μ) fitted to
    /// the labels, so its error is relative to the local spread.
    case quadratic
    /// `quadratic` where `OutputPriorCheck` finds that ŝ fits the labels' spread, `none` elsewhere
    /// (the default below d + dμ = 7): it helps where ŝ fits (cir, ou2d) and costs where it does
    /// not (gbm's 5 % state).
    case auto
}
