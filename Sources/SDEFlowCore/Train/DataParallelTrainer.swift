import Foundation

/// Stage 2 across ranks (METHOD.md §3), data-parallel: every rank holds all labels (they are
/// small), takes its slice of each global batch, and one allreduce per step sums gradients
/// (and the batch loss) so every rank applies the same Adam update. Validation loss is
/// allreduced too, so learning-rate halving and early stopping happen on all ranks together.
public enum DataParallelTrainer {
    public static func train(_ comm: any Collective, labels: LabelSet, settings: TrainSettings, log: Log) throws -> FlowModel {
        let d = labels.d, dMu = labels.dMu, w = 2 * d + dMu
        // Inputs [x, μ, z] and targets (the labels); rows with non-finite values are dropped.
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
        let dropped = labels.count - n
        if dropped > 0 { log.info("training: dropped \(dropped) label rows with non-finite values") }
        let rng = CounterRNG(seed: settings.seed)
        let order = rng.permutation(n, .split, id: 0)
        let nVal = max(1, Int((Double(n) * settings.validationFraction).rounded()))
        let nTrain = n - nVal
        guard nTrain >= 1 else { throw SDEFlowError.file("labels", "only \(n) usable label rows: too few to train") }
        func rows(_ idx: ArraySlice<Int>, _ a: [Double], _ width: Int) -> [Double] { idx.flatMap { a[$0 * width ..< ($0 + 1) * width] } }
        let trainX = rows(order[..<nTrain], raw, w), trainY = rows(order[..<nTrain], target, d)
        let inStd = Standardizer(fitting: trainX, rows: nTrain, width: w)
        let outStd = Standardizer(fitting: trainY, rows: nTrain, width: d)
        let xs = inStd.apply(trainX), ys = outStd.apply(trainY)
        let valX = inStd.apply(rows(order[nTrain...], raw, w)), valY = outStd.apply(rows(order[nTrain...], target, d))

        let shape = MLPShape(input: w, hidden: settings.hidden, output: d)
        var mlp = MLP(shape: shape, seed: settings.seed)
        var adam = Adam(parameterCount: shape.parameterCount, learningRate: Float(settings.learningRate),
                        weightDecay: Float(settings.weightDecay))
        var step = DataParallelStep(parameterCount: shape.parameterCount)
        var best = (loss: Double.infinity, epoch: 0, parameters: mlp.parameters)
        var badEpochs = 0, badForLR = 0, epoch = 0
        let started = Date()
        log.info("training: \(nTrain) train / \(nVal) validation rows, MLP \(w)→\(settings.hidden.map(String.init).joined(separator: "→"))→\(d) (\(shape.parameterCount) parameters), batch \(settings.batchSize) over \(comm.size) rank(s), kernels \(MLP.kernelISA)")

        while epoch < settings.maxEpochs {
            epoch += 1
            let perm = rng.permutation(nTrain, .batchOrder, id: UInt64(epoch))
            var trainLoss = 0.0
            for start in stride(from: 0, to: nTrain, by: settings.batchSize) {
                let batch = perm[start ..< min(start + settings.batchSize, nTrain)]
                let loss = try step.run(&mlp, &adam, xs: xs, ys: ys, batch: batch, rank: comm.rank, size: comm.size) {
                    try comm.allreduce(&$0, .sum)
                }
                trainLoss += loss * Double(batch.count)  // batch mean × rows
            }
            let valLoss = try validationLoss(comm, mlp, valX, valY, rows: nVal, d: d)
            if valLoss < best.loss {
                best = (valLoss, epoch, mlp.parameters); badEpochs = 0; badForLR = 0
            } else {
                badEpochs += 1; badForLR += 1
                if badForLR > settings.lrPatience { adam.learningRate /= 2; badForLR = 0 }
            }
            if epoch == 1 || epoch % 10 == 0 || badEpochs >= settings.patience {
                log.info(String(format: "epoch %4d  train %.5f  val %.5f  best %.5f @ %d  lr %.2e  %.1fs", epoch,
                                trainLoss / Double(nTrain), valLoss, best.loss, best.epoch, adam.learningRate,
                                Date().timeIntervalSince(started)))
            }
            if badEpochs >= settings.patience { break }
        }
        mlp.parameters = best.parameters
        let info = ModelInfo(shape: shape, d: d, dMu: dMu, scale: labels.info.settings.scale, dt: labels.info.dt,
                             example: labels.info.example, observedMu: labels.info.observedMu, muRange: labels.info.muRange,
                             training: settings, epochs: epoch, bestEpoch: best.epoch, bestValidationLoss: best.loss)
        return FlowModel(info: info, mlp: mlp, input: inStd, output: outStd)
    }

    /// Mean squared error over the validation rows (standardised units), from every rank's slice.
    static func validationLoss(_ comm: any Collective, _ mlp: MLP, _ x: [Float], _ y: [Float], rows: Int, d: Int) throws -> Double {
        let mine = batchSlice(batchSize: rows, rank: comm.rank, size: comm.size)
        let w = mlp.shape.input
        let sse = mlp.loss(inputs: Array(x[mine.lowerBound * w ..< mine.upperBound * w]),
                           targets: Array(y[mine.lowerBound * d ..< mine.upperBound * d]), rows: mine.count)
        return try comm.allreduce(sse, .sum) / Double(rows * d)
    }
}
