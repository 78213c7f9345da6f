import ArgumentParser
import Foundation
import SDEFlowCore
import SDEFlowMPI

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate, label, train and check one-step accuracy in one job.",
        discussion: "Leaves DIR/data, DIR/labels, DIR/model (the layouts of the stage commands) and DIR/accuracy.json.")
    @OptionGroup var simulation: SimulateOptions
    @OptionGroup var labelOptions: LabelOptions
    @OptionGroup var trainOptions: TrainOptions
    @OptionGroup var seed: SeedOption
    @Option(help: "Run folder.") var output: String
    @Option(help: "Samples per μ for the accuracy check (paper-grade: 100000).") var evalSamples: Int = 100_000
    @Flag(help: "A small, fast configuration (500 paths/μ, 10000 labels, K = 500, 200 ODE steps, 300 epochs max) for a first look.")
    var quick = false

    func run() throws {
        let ex = try lookupExample(simulation.example)
        var sim = try simulation.settings(for: ex)
        var labelDefaults = ex.labels
        var train = try trainOptions.settings(example: ex, seed: seed.seed)
        if quick {
            if simulation.pathsPerMu == nil { sim.pathsPerMu = 500 }
            labelDefaults.labels = 10_000; labelDefaults.neighbors = 500; labelDefaults.odeSteps = 200
            if trainOptions.patience == nil { train.patience = 30 }
            train.maxEpochs = min(train.maxEpochs, 300)
        }
        let labelSettings = try labelOptions.settings(defaults: labelDefaults)
        let dtype = try simulation.npyType()
        try withMPI { comm, log in
            let times = try Stopwatch()
            try Pipeline.simulate(comm, example: ex, settings: sim, seed: seed.seed, output: path(output, "data"), dtype: dtype, log: log)
            times.lap("simulate")
            let labels = try Pipeline.label(comm, data: path(output, "data"), settings: labelSettings, seed: seed.seed,
                                            output: path(output, "labels"), log: log)
            times.lap("label")
            let model = try Pipeline.train(comm, labels: labels, settings: train, output: path(output, "model"), log: log)
            times.lap("train")
            let x0 = ex.name == "ou2d" ? [1.5, 0.5] : (ex.name == "ou" ? [1.0] : [2.0])
            let rows = try Pipeline.oneStepAccuracy(comm, model: model, example: ex, x0: x0,
                                                    mus: AccuracyRow.gridAndMidpoints(ex.observedMu), samples: evalSamples, seed: seed.seed)
            times.lap("accuracy")
            if comm.isRoot {
                try writeJSON(rows, to: path(output, "accuracy.json"))
                print(AccuracyRow.table(rows, x0: x0, samples: evalSamples), terminator: "")
                print("wall time: " + times.summary)
            }
        }
    }
}

/// Wall time per stage.
final class Stopwatch {
    private var last = Date()
    private(set) var laps: [(String, Double)] = []
    init() throws {}
    func lap(_ name: String) {
        let now = Date()
        laps.append((name, now.timeIntervalSince(last)))
        last = now
    }
    var summary: String { laps.map { String(format: "%@ %.1f s", $0.0, $0.1) }.joined(separator: ", ") }
}
