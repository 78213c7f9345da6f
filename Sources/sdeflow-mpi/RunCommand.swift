import ArgumentParser
import Foundation
import SDEFlowCore
import SDEFlowMPI

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate, label, train and evaluate in one job.",
        discussion: """
            Leaves DIR/data, DIR/labels, DIR/model (the layouts of the stage commands) and DIR/eval (`evaluate`'s \
            metrics.json and report.html), and prints the headline errors.
            """)
    @OptionGroup var simulation: SimulateOptions
    @OptionGroup var labelOptions: LabelOptions
    @OptionGroup var trainOptions: TrainOptions
    @OptionGroup var seed: SeedOption
    @Option(help: "Run folder.") var output: String
    @Option(help: "One-step samples per μ for the evaluation (paper-grade: 100000).") var evalSamples: Int = 100_000
    @Option(help: "Samples per μ for the evaluation's multi-step law (default: the paper's, bm 10000, ou 50000, ou2d 10000; 5000 with --quick).")
    var pathSamples: Int?
    @Flag(help: "A small, fast configuration (500 paths/μ, 10000 labels, K = 500, 200 ODE steps, 300 epochs max) for a first look.")
    var quick = false

    func run() throws {
        guard evalSamples >= 2, (pathSamples ?? 2) >= 2 else { throw ValidationError("--eval-samples and --path-samples must be at least 2") }
        let ex = try lookupExample(simulation.example, dim: simulation.dim)
        var sim = try simulation.settings(for: ex)
        var labelDefaults = ex.labels, paperLabels = ex.paperLabels
        var train = try trainOptions.settings(example: ex, seed: seed.seed)
        if quick {
            applyQuickPreset(simulation: &sim, labels: &labelDefaults, train: &train,
                             userSetPathsPerMu: simulation.pathsPerMu != nil, userSetPatience: trainOptions.patience != nil)
            applyQuickPreset(simulation: &sim, labels: &paperLabels, train: &train,
                             userSetPathsPerMu: simulation.pathsPerMu != nil, userSetPatience: trainOptions.patience != nil)
        }
        let labelSettings = try labelOptions.settings(defaults: labelDefaults, paper: paperLabels)
        let dtype = try simulation.npyType()
        try withMPI { comm, log in
            let times = Stopwatch()
            try Pipeline.simulate(comm, example: ex, settings: sim, seed: seed.seed, output: filePath(output, "data"), dtype: dtype, log: log)
            times.lap("simulate")
            let labels = try Pipeline.label(comm, data: filePath(output, "data"), settings: labelSettings, seed: seed.seed,
                                            output: filePath(output, "labels"), log: log, search: labelOptions.neighbourIndex, shards: labelOptions.shards)
            times.lap("label")
            let model = try Pipeline.train(comm, labels: labels, settings: train, output: filePath(output, "model"), log: log)
            times.lap("train")
            let spec = EvaluationSpec(example: ex, dt: sim.dt, observedMu: model.info.observedMu, muRange: model.info.muRange,
                                      samples: evalSamples, pathSamples: pathSamples ?? (quick ? 5000 : nil), seed: seed.seed)
            let result = try Pipeline.evaluate(comm, model: model, spec: spec, output: filePath(output, "eval"),
                                               modelPath: filePath(output, "model"), log: log)
            times.lap("evaluate")
            if comm.isRoot, let result {
                print("headline errors against the exact law (\(filePath(output, "eval/metrics.json")), report \(filePath(output, "eval/report.html"))):")
                print(result.headlineText, terminator: "")
                print("wall time: " + times.summary)
            }
        }
    }
}

/// Wall time per stage.
final class Stopwatch {
    private var last = Date()
    private(set) var laps: [(String, Double)] = []
    func lap(_ name: String) {
        let now = Date()
        laps.append((name, now.timeIntervalSince(last)))
        last = now
    }
    var summary: String { laps.map { String(format: "%@ %.1f s", $0.0, $0.1) }.joined(separator: ", ") }
}
