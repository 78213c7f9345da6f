/// The training set of stage 2 from a label set: inputs [x, μ, z] and targets (the labels),
/// rows with non-finite values dropped, split into training and validation rows by a seeded
/// permutation, and standardised per column with the training rows' statistics (float32, as
/// the network takes them).
struct TrainingData {
    let width: Int
    let trainRows: Int, validationRows: Int
    let input: Standardizer, output: Standardizer
    /// Standardised rows: xs trainRows × width, ys trainRows × d; valX, valY likewise.
    let xs: [Float], ys: [Float], valX: [Float], valY: [Float]
    /// Loss weights of the training and validation rows (mean 1 over training rows), nil for
    /// `LossWeighting.uniform`.
    let trainWeights: [Float]?, valWeights: [Float]?
    /// The mean and spread the targets are relative to (`TrainSettings.outputPrior`), if any.
    let prior: OutputPrior?

    /// No training row is left once `validation` of the `rows` usable ones are held out: name the
    /// label folder, and the option when a smaller --validation-fraction would leave some.
    static func tooFew(rows n: Int, validation: Int, settings: TrainSettings, folder: String?) -> SDEFlowError {
        let labels = folder ?? "the labels"
        guard n >= 2 else {
            return .file(labels, "only \(n) usable label row: training needs one row to fit and one to validate; label with a larger --labels")
        }
        // (n − 1)/n holds out n − 1 rows; printed to within 0.05/n, so the value shown does too.
        let most = String(format: "%.*g", String(n).count + 1, Double(n - 1) / Double(n))
        return .option("--validation-fraction", "\(settings.validationFraction) of the \(n) usable label rows of \(labels) holds out \(validation), leaving 0 training rows; use at most \(most) (the default 0.1 trains on \(n - max(1, Int((Double(n) * 0.1).rounded()))))")
    }

    /// The rows held out for validation of `n` usable ones (at least 1).
    static func validationRows(_ n: Int, _ settings: TrainSettings) -> Int {
        max(1, Int((Double(n) * settings.validationFraction).rounded()))
    }

    init(_ labels: LabelSet, settings: TrainSettings, log: Log) throws {
        let d = labels.d, dMu = labels.dMu, w = 2 * d + dMu
        var raw = [Double](), target = [Double]()
        for r in 0..<labels.count {
            var row = Array(labels.x[r * d ..< (r + 1) * d])
            row.append(contentsOf: labels.mu[r * dMu ..< (r + 1) * dMu])
            row.append(contentsOf: labels.z[r * d ..< (r + 1) * d])
            let t = labels.label[r * d ..< (r + 1) * d]
            guard row.allSatisfy(\.isFinite), t.allSatisfy(\.isFinite) else { continue }
            raw += row; target += t
        }
        let n = target.count / d
        if labels.count > n { log.info("training: dropped \(labels.count - n) label rows with non-finite values") }
        let order = CounterRNG(seed: settings.seed).permutation(n, .split, id: 0)
        try settings.checkSplit(rows: n, folder: labels.source)
        let nVal = Self.validationRows(n, settings), nTrain = n - nVal
        func rows(_ idx: ArraySlice<Int>, _ a: [Double], _ width: Int) -> [Double] { idx.flatMap { a[$0 * width ..< ($0 + 1) * width] } }
        let trainX = rows(order[..<nTrain], raw, w), trainY = rows(order[..<nTrain], target, d)
        input = Standardizer(fitting: trainX, rows: nTrain, width: w)
        let targetMoments = Standardizer.moments(trainY, rows: nTrain, width: d)
        output = Standardizer(mean: targetMoments.mean, std: targetMoments.std)
        for line in Self.constantComponents(targetMoments, rows: nTrain) { log.info(line) }
        var ys = output.apply(trainY), valY = output.apply(rows(order[nTrain...], target, d))
        xs = input.apply(trainX); valX = input.apply(rows(order[nTrain...], raw, w))
        prior = Self.prior(settings.outputPrior ?? .none, inputs: xs, targets: &ys, width: w, dims: d + dMu, d: d, log: log)
        if let prior { prior.residuals(&valY, inputs: valX, width: w) }
        self.ys = ys; self.valY = valY
        width = w; trainRows = nTrain; validationRows = nVal
        (trainWeights, valWeights) = Self.weights(settings.lossWeighting ?? .uniform, train: (xs, ys), validation: (valX, valY),
                                                  width: w, dims: d + dMu, d: d)
    }

    /// A warning per label component without spread over the `rows` training rows (std below
    /// `Standardizer.minimumStd`): training goes on, but the network can learn only a constant
    /// there, so the model steps that component deterministically. A label folder whose labels
    /// were all 1 trained to such a model without a word.
    static func constantComponents(_ moments: (mean: [Double], std: [Double]), rows: Int) -> [String] {
        moments.std.indices.filter { !(moments.std[$0] >= Standardizer.minimumStd) }.map { c in
            let spread = moments.std[c] == 0 ? "every training label is \(moments.mean[c])" : String(format: "their std is %.3g", moments.std[c])
            return "training: warning: the labels of component \(c) do not vary over the \(rows) training rows (\(spread)): the network can learn only a constant there, and the model's steps in that component will be deterministic"
        }
    }

    /// The prior `kind` asks for, fitted to the training rows, with `targets` made relative to it;
    /// nil (targets unchanged) for `none`, where it cannot be fitted, or where `auto` finds it off.
    private static func prior(_ kind: OutputPriorKind, inputs: [Float], targets: inout [Float], width: Int, dims: Int, d: Int,
                              log: Log) -> OutputPrior? {
        guard kind != .none else { return nil }
        guard let prior = OutputPrior.fit(inputs: inputs, width: width, dims: dims, targets: targets, d: d) else {
            log.info("training: no output prior: it needs d + dμ ≤ \(OutputPrior.maxDims), \(4 * OutputPrior.termCount(dims)) rows and labels that vary (here d + dμ = \(dims), \(targets.count / d) rows)")
            return nil
        }
        var h = targets
        prior.residuals(&h, inputs: inputs, width: width)
        if kind == .auto {
            let check = OutputPriorCheck(prior, inputs: inputs, width: width, h: h)
            guard check.accepted else {
                log.info("training: no output prior (auto): \(check.summary)")
                return nil
            }
            log.info("training: output prior (auto): \(check.summary)")
        }
        log.info("training: the network learns the labels relative to a quadratic mean and spread in (x, μ) (--output-prior)")
        targets = h
        return prior
    }

    /// `LossWeights` over every usable row in the split's order (training rows first), from the
    /// network's own inputs and targets: x and μ standardised, targets standardised (and relative
    /// to the prior, when there is one).
    private static func weights(_ kind: LossWeighting, train: (inputs: [Float], targets: [Float]),
                                validation: (inputs: [Float], targets: [Float]), width: Int, dims: Int, d: Int) -> ([Float]?, [Float]?) {
        guard kind == .relative else { return (nil, nil) }
        let inputs = train.inputs + validation.inputs, targets = train.targets + validation.targets
        let n = targets.count / d, nTrain = train.targets.count / d
        var points = [Double](repeating: 0, count: n * dims)
        for r in 0..<n { for c in 0..<dims { points[r * dims + c] = Double(inputs[r * width + c]) } }
        guard let all = LossWeights.inverseLocalVariance(points: points, dims: dims, targets: targets.map(Double.init), d: d)
        else { return (nil, nil) }
        let mean = all[..<nTrain].reduce(0, +) / Double(nTrain)
        return (all[..<nTrain].map { Float($0 / mean) }, all[nTrain...].map { Float($0 / mean) })
    }
}

extension TrainSettings {
    /// Refuses, before any work, a validation fraction that leaves no training row of `rows`
    /// labels (`run` knows the count before its label stage).
    public func checkSplit(rows n: Int, folder: String?) throws {
        let validation = TrainingData.validationRows(n, self)
        if n - validation < 1 { throw TrainingData.tooFew(rows: n, validation: validation, settings: self, folder: folder) }
    }
}
