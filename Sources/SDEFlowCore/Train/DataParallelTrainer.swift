import Foundation

/// Stage 2 across ranks (docs/METHOD.md §3), data-parallel: every rank holds all labels (they are
/// small), takes its slice of each global batch, and one allreduce per step sums gradients
/// (and the batch loss) so every rank applies the same Adam update. Validation loss is
/// allreduced too, so learning-rate halving and early stopping happen on all ranks together.
public enum DataParallelTrainer {
    public static func train(_ comm: any Collective, labels: LabelSet, settings: TrainSettings, log: Log) throws -> FlowModel {
        let data = try TrainingData(labels, settings: settings, log: log)
        let shape = MLPShape(input: data.width, hidden: settings.hidden, output: labels.d)
        var mlp = MLP(shape: shape, seed: settings.seed)
        var adam = Adam(parameterCount: shape.parameterCount, learningRate: Float(settings.learningRate),
                        weightDecay: Float(settings.weightDecay))
        var step = DataParallelStep(parameterCount: shape.parameterCount)
        var schedule = Schedule(parameters: mlp.parameters)
        let rng = CounterRNG(seed: settings.seed), started = Date()
        log.info("training: \(data.trainRows) train / \(data.validationRows) validation rows, MLP \(data.width)→\(settings.hidden.map(String.init).joined(separator: "→"))→\(labels.d) (\(shape.parameterCount) parameters), batch \(settings.batchSize) over \(comm.size) rank(s), kernels \(MLP.kernelISA)")
        while schedule.epoch < settings.maxEpochs {
            schedule.epoch += 1
            let perm = rng.permutation(data.trainRows, .batchOrder, id: UInt64(schedule.epoch))
            var trainLoss = 0.0
            for start in stride(from: 0, to: data.trainRows, by: settings.batchSize) {
                let batch = perm[start ..< min(start + settings.batchSize, data.trainRows)]
                let loss = try step.run(&mlp, &adam, xs: data.xs, ys: data.ys, batch: batch, rank: comm.rank, size: comm.size) {
                    try comm.allreduce(&$0, .sum)
                }
                trainLoss += loss * Double(batch.count)  // batch mean × rows
            }
            let valLoss = try validationLoss(comm, mlp, data.valX, data.valY, rows: data.validationRows, d: labels.d)
            schedule.record(valLoss, parameters: mlp.parameters, adam: &adam, settings: settings)
            if schedule.epoch == 1 || schedule.epoch % 10 == 0 || schedule.stops(settings) {
                log.info(String(format: "epoch %4d  train %.5f  val %.5f  best %.5f @ %d  lr %.2e  %.1fs", schedule.epoch,
                                trainLoss / Double(data.trainRows), valLoss, schedule.bestLoss, schedule.bestEpoch,
                                adam.learningRate, Date().timeIntervalSince(started)))
            }
            if schedule.stops(settings) { break }
        }
        mlp.parameters = schedule.bestParameters
        let info = ModelInfo(shape: shape, d: labels.d, dMu: labels.dMu, scale: labels.info.settings.scale, dt: labels.info.dt,
                             example: labels.info.example, observedMu: labels.info.observedMu, muRange: labels.info.muRange,
                             training: settings, epochs: schedule.epoch, bestEpoch: schedule.bestEpoch,
                             bestValidationLoss: schedule.bestLoss)
        return FlowModel(info: info, mlp: mlp, input: data.input, output: data.output)
    }

    /// Early stopping and learning-rate halving on the validation loss (the same on every rank,
    /// since the loss is allreduced): the best parameters so far and the epochs since.
    struct Schedule {
        var epoch = 0, bestEpoch = 0, badEpochs = 0, badForLR = 0
        var bestLoss = Double.infinity
        var bestParameters: [Float]

        init(parameters: [Float]) { bestParameters = parameters }

        mutating func record(_ loss: Double, parameters: [Float], adam: inout Adam, settings: TrainSettings) {
            if loss < bestLoss {
                bestLoss = loss; bestEpoch = epoch; bestParameters = parameters; badEpochs = 0; badForLR = 0
            } else {
                badEpochs += 1; badForLR += 1
                if badForLR > settings.lrPatience { adam.learningRate /= 2; badForLR = 0 }
            }
        }

        func stops(_ settings: TrainSettings) -> Bool { badEpochs >= settings.patience }
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
