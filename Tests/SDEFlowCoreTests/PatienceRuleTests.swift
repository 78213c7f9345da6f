@testable import SDEFlowCore
import Testing

/// Catches (sixth probe): a training resumed with a lower `--patience` than the one it was saved
/// under, which the training had already passed: it stopped at once with the checkpoint's best
/// model, where the same command from the start stops much earlier with another one. The rule
/// that refuses it (`Schedule.leastPatience`) is checked against running the schedule from the
/// start with every patience, on loss sequences with runs without improvement that end and one
/// that goes on.
@Test func aResumedPatienceIsAcceptedExactlyWhenTheRunFromTheStartReachesTheCheckpoint() {
    let sequences: [[Double]] = [
        [1, 0.9, 0.95, 0.96, 0.97, 0.8, 0.85, 0.86],
        [1, 2, 3, 4, 0.5, 0.4, 0.6, 0.3, 0.7, 0.8, 0.9, 1.0, 1.1],
        [1, 0.9, 0.8, 0.7],
        [1, 1, 1, 1, 1],
    ]
    var settings = TrainSettings(hidden: [1])
    settings.lrPatience = 1000
    for losses in sequences {
        for checkpoint in 1...losses.count {
            var adam = Adam(parameterCount: 1)
            var saved = DataParallelTrainer.Schedule(parameters: [0])
            for loss in losses.prefix(checkpoint) { saved.record(loss, parameters: [0], adam: &adam, settings: settings); saved.epoch += 1 }
            let least = DataParallelTrainer.Schedule.leastPatience(longestEndedBadRun: saved.longestEndedBadRun, badEpochs: saved.badEpochs)
            for patience in 1...losses.count + 1 {
                // The run from the start with this patience: stopped before the checkpoint's epoch?
                var s = settings
                s.patience = patience
                var fresh = DataParallelTrainer.Schedule(parameters: [0])
                var stoppedEarly = false
                for loss in losses.prefix(checkpoint) {
                    if fresh.stops(s) { stoppedEarly = true; break }
                    fresh.record(loss, parameters: [0], adam: &adam, settings: s); fresh.epoch += 1
                }
                #expect((patience >= least) == !stoppedEarly, "losses \(losses), checkpoint after \(checkpoint), patience \(patience), least \(least)")
            }
        }
    }
}
