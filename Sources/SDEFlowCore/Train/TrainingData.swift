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
        let nVal = max(1, Int((Double(n) * settings.validationFraction).rounded()))
        let nTrain = n - nVal
        guard nTrain >= 1 else { throw SDEFlowError.file("labels", "only \(n) usable label rows: too few to train") }
        func rows(_ idx: ArraySlice<Int>, _ a: [Double], _ width: Int) -> [Double] { idx.flatMap { a[$0 * width ..< ($0 + 1) * width] } }
        let trainX = rows(order[..<nTrain], raw, w), trainY = rows(order[..<nTrain], target, d)
        input = Standardizer(fitting: trainX, rows: nTrain, width: w)
        output = Standardizer(fitting: trainY, rows: nTrain, width: d)
        xs = input.apply(trainX); ys = output.apply(trainY)
        valX = input.apply(rows(order[nTrain...], raw, w)); valY = output.apply(rows(order[nTrain...], target, d))
        width = w; trainRows = nTrain; validationRows = nVal
        (trainWeights, valWeights) = Self.weights(settings.lossWeighting ?? .uniform, raw: raw, target: target, order: order,
                                                  nTrain: nTrain, d: d, dMu: dMu, input: input, output: output)
    }

    /// `LossWeights` over every usable row, in the split's order; x and μ standardised like the
    /// network's inputs, targets like its outputs.
    private static func weights(_ kind: LossWeighting, raw: [Double], target: [Double], order: [Int], nTrain: Int,
                                d: Int, dMu: Int, input: Standardizer, output: Standardizer) -> ([Float]?, [Float]?) {
        guard kind == .relative else { return (nil, nil) }
        let w = 2 * d + dMu, n = target.count / d, dims = d + dMu
        var points = [Double](repeating: 0, count: n * dims), scaled = target
        for r in 0..<n {
            for c in 0..<dims { points[r * dims + c] = (raw[r * w + c] - input.mean[c]) / input.std[c] }
            for o in 0..<d { scaled[r * d + o] = (target[r * d + o] - output.mean[o]) / output.std[o] }
        }
        guard let all = LossWeights.inverseLocalVariance(points: points, dims: dims, targets: scaled, d: d) else { return (nil, nil) }
        let mean = order[..<nTrain].reduce(0.0) { $0 + all[$1] } / Double(nTrain)
        return (order[..<nTrain].map { Float(all[$0] / mean) }, order[nTrain...].map { Float(all[$0] / mean) })
    }
}
