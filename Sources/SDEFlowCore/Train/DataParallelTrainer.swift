import Foundation

/// Stage 2 across ranks (docs/METHOD.md §3), data-parallel: every rank holds all labels (they are
/// small), takes its slice of each global batch, and one allreduce per step sums gradients
/// (and the batch loss) so every rank applies the same Adam update. Validation loss is
/// allreduced too, so learning-rate halving and early stopping happen on all ranks together.
public enum DataParallelTrainer {
    /// With a `TrainCheckpoint`, training continues from a saved state of this run and rank 0
    /// saves the state beside the epochs (every `checkpoint.every`); before each epoch the ranks
    /// agree on `stop` and, if any rank was asked to stop, save and end with `JobInterrupted`.
    public static func train(_ comm: any Collective, labels: LabelSet, settings: TrainSettings, log: Log,
                             checkpoint: TrainCheckpoint? = nil, stop: StopRequest = .never) throws -> FlowModel {
        let data = try TrainingData(labels, settings: settings, log: log)
        let shape = MLPShape(input: data.width, hidden: settings.hidden, output: labels.d)
        let binding = try TrainCheckpoint.Binding(shape: shape, settings: settings, labels: labels)
        var state = try checkpoint?.restore(comm, binding: binding, settings: settings, shape: shape, log: log) ?? TrainingState(shape: shape, settings: settings)
        var step = DataParallelStep(parameterCount: shape.parameterCount)
        let started = Date()
        log.info("training: \(data.trainRows) train / \(data.validationRows) validation rows, MLP \(data.width)→\(settings.hidden.map(String.init).joined(separator: "→"))→\(labels.d) (\(shape.parameterCount) parameters), batch \(settings.batchSize) over \(comm.size) rank(s), kernels \(MLP.kernelISA)")
        while state.schedule.epoch < settings.maxEpochs && !state.schedule.stops(settings) {
            let signal = try stop.agreed(comm)
            if signal != 0 {
                try checkpoint?.saveIfNew(comm, state, binding: binding, settings: settings)
                throw JobInterrupted(signal: signal, saved: checkpoint.map {
                    "training: the state after epoch \(state.schedule.epoch) (of at most \(settings.maxEpochs)) is saved in \($0.folder); the same command at the same -n (\(comm.size)) continues it bitwise"
                } ?? "training: nothing saved (no checkpoint)")
            }
            let trainLoss = try epoch(comm, &state, &step, data, settings)
            let valLoss = try validationLoss(comm, state.mlp, data.valX, data.valY, weights: data.valWeights, rows: data.validationRows, d: labels.d)
            state.schedule.record(valLoss, parameters: state.mlp.parameters, adam: &state.adam, settings: settings)
            let s = state.schedule
            if s.epoch == 1 || s.epoch % 10 == 0 || s.stops(settings) {
                log.info(String(format: "epoch %4d  train %.5f  val %.5f  best %.5f @ %d  lr %.2e  %.1fs", s.epoch, trainLoss, valLoss,
                                s.bestLoss, s.bestEpoch, state.adam.learningRate, Date().timeIntervalSince(started)))
            }
            if let checkpoint, s.epoch % checkpoint.every == 0 { try checkpoint.save(comm, state, binding: binding, settings: settings) }
        }
        var mlp = state.mlp
        mlp.parameters = state.schedule.bestParameters
        var info = ModelInfo(shape: shape, d: labels.d, dMu: labels.dMu, scale: labels.info.settings.scale, dt: labels.info.dt,
                             example: labels.info.example, observedMu: labels.info.observedMu, muRange: labels.info.muRange,
                             training: settings, epochs: state.schedule.epoch, bestEpoch: state.schedule.bestEpoch,
                             bestValidationLoss: state.schedule.bestLoss)
        info.outputPrior = data.prior
        info.inputRange = InputRange(labels: labels)
        info.labels = labels.fingerprint
        return FlowModel(info: info, mlp: mlp, input: data.input, output: data.output)
    }

    /// One epoch: the next epoch number, its batch order (keyed by that number) and one
    /// data-parallel step per global batch. Returns the mean training loss.
    static func epoch(_ comm: any Collective, _ state: inout TrainingState, _ step: inout DataParallelStep,
                      _ data: TrainingData, _ settings: TrainSettings) throws -> Double {
        state.schedule.epoch += 1
        let perm = CounterRNG(seed: settings.seed).permutation(data.trainRows, .batchOrder, id: UInt64(state.schedule.epoch))
        var trainLoss = 0.0
        for start in stride(from: 0, to: data.trainRows, by: settings.batchSize) {
            let batch = perm[start ..< min(start + settings.batchSize, data.trainRows)]
            let loss = try step.run(&state.mlp, &state.adam, xs: data.xs, ys: data.ys, weights: data.trainWeights, batch: batch, rank: comm.rank, size: comm.size) {
                try comm.allreduce(&$0, .sum)
            }
            trainLoss += loss * Double(batch.count)  // batch mean × rows
        }
        return trainLoss / Double(data.trainRows)
    }

    /// Mean squared error over the validation rows (standardised units, weighted like the
    /// training loss), from every rank's slice.
    static func validationLoss(_ comm: any Collective, _ mlp: MLP, _ x: [Float], _ y: [Float], weights: [Float]? = nil,
                               rows: Int, d: Int) throws -> Double {
        let mine = batchSlice(batchSize: rows, rank: comm.rank, size: comm.size)
        let w = mlp.shape.input
        let sse = mlp.loss(inputs: Array(x[mine.lowerBound * w ..< mine.upperBound * w]),
                           targets: Array(y[mine.lowerBound * d ..< mine.upperBound * d]), rows: mine.count,
                           weights: weights.map { Array($0[mine]) })
        return try comm.allreduce(sse, .sum) / Double(rows * d)
    }
}
