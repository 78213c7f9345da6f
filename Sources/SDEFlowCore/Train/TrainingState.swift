/// Everything training carries from one epoch to the next: the network, Adam's moments, step
/// and learning rate, and the schedule (epoch, best loss and parameters, epochs without
/// improvement). An epoch's batch order is keyed by the epoch number, so the schedule's epoch is
/// also the position of the random stream: restoring this state continues training bitwise as
/// it would have run (at the same rank count; `TrainCheckpoint`).
struct TrainingState {
    var mlp: MLP
    var adam: Adam
    var schedule: DataParallelTrainer.Schedule

    /// The state before the first epoch.
    init(shape: MLPShape, settings: TrainSettings) {
        mlp = MLP(shape: shape, seed: settings.seed)
        adam = Adam(parameterCount: shape.parameterCount, learningRate: Float(settings.learningRate),
                    weightDecay: Float(settings.weightDecay))
        schedule = .init(parameters: mlp.parameters)
    }

    init(mlp: MLP, adam: Adam, schedule: DataParallelTrainer.Schedule) { self.mlp = mlp; self.adam = adam; self.schedule = schedule }
}

extension DataParallelTrainer {
    /// Early stopping and learning-rate halving on the validation loss (the same on every rank,
    /// since the loss is allreduced): the best parameters so far and the epochs since.
    struct Schedule {
        var epoch = 0, bestEpoch = 0, badEpochs = 0, badForLR = 0
        /// The longest run of epochs without improvement that an improvement ended: a restart
        /// with a `--patience` at or below it would not be the run that patience gives (that run
        /// stopped then), and is refused (`TrainCheckpoint`).
        var longestEndedBadRun = 0
        var bestLoss = Double.infinity
        var bestParameters: [Float]

        init(parameters: [Float]) { bestParameters = parameters }

        mutating func record(_ loss: Double, parameters: [Float], adam: inout Adam, settings: TrainSettings) {
            if loss < bestLoss {
                longestEndedBadRun = max(longestEndedBadRun, badEpochs)
                bestLoss = loss; bestEpoch = epoch; bestParameters = parameters; badEpochs = 0; badForLR = 0
            } else {
                badEpochs += 1; badForLR += 1
                if badForLR > settings.lrPatience { adam.learningRate /= 2; badForLR = 0 }
            }
        }

        func stops(_ settings: TrainSettings) -> Bool { badEpochs >= settings.patience }

        /// The least patience under which a run from the start reaches this state: it must not
        /// have stopped on a run without improvement that later ended, nor before the current one
        /// reached its length (stopping now is what the run with that patience does too).
        static func leastPatience(longestEndedBadRun: Int, badEpochs: Int) -> Int { max(longestEndedBadRun + 1, badEpochs) }
    }
}
