import ArgumentParser
import Foundation
import SDEFlowCore
import SDEFlowMPI

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate, label, train and evaluate in one job.",
        discussion: """
            Leaves DIR/data, DIR/labels, DIR/model (the layouts of the stage commands) and DIR/eval (`evaluate`'s \
            metrics.json and report.html), and prints the headline errors. Run again after a stop or a kill, the same \
            command keeps the stages whose folders are complete and made with the same settings, and resumes the \
            label or training stage from its checkpoint (DIR/labels.partial, DIR/model.partial); --fresh redoes all.
            """)
    @OptionGroup var simulation: SimulateOptions
    @OptionGroup var labelOptions: LabelOptions
    @OptionGroup var trainOptions: TrainOptions
    @OptionGroup var seed: SeedOption
    @Option(help: "Run folder.") var output: String
    @Option(integer: "--eval-samples", help: "One-step samples per start state and μ for the evaluation, 2…1e8 (default 100000, paper-grade; 20000 with --quick).") var evalSamples: Int?
    @Option(integer: "--path-samples", help: "Samples per μ for the evaluation's multi-step law, 2…1e8 (default: the example's, bm and ou 150000, ou2d 50000, ou-nd 10000, cir 25000; 5000 with --quick).")
    var pathSamples: Int?
    @Flag(help: "A small, fast configuration (500 paths/μ, 10000 labels, K = 500, 200 ODE steps, 300 epochs max; evaluation with 20000 one-step and 5000 multi-step samples) for a first look.")
    var quick = false
    @OptionGroup var resume: ResumeOptions
    @OptionGroup var checkpoint: CheckpointEveryOption
    @OptionGroup var block: LabelBlockOption
    @OptionGroup var job: JobOptions

    func validate() throws {
        try OutputGuard.checkNamed([("--output", output)])  // the stage folders below it are not empty
        try checkRange(evalSamples, "--eval-samples", Limits.samples)
        try checkRange(pathSamples, "--path-samples", Limits.samples)
    }

    func run() throws {
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
        try checkSizes(ex, sim, labelSettings, train)
        let dtype = try simulation.npyType()
        let control = JobControl(fresh: resume.fresh, checkpointEvery: checkpoint.checkpointEvery, labelBlock: block.labelBlock)
        let dir = Folders(output)
        let outputs: [JobOutput] = [.data(dir.data), .labels(dir.labels), .model(dir.model), .evaluation(dir.eval)]
        try withMPI(job.spec(outputs: outputs)) { comm, log in
            let times = Stopwatch()
            let model = try stages(comm, ex, sim, dtype, labelSettings, train, control, dir, log, times)
            let spec = EvaluationSpec(example: ex, dt: sim.dt, observedMu: model.info.observedMu, muRange: model.info.muRange,
                                      samples: evalSamples ?? (quick ? 20_000 : 100_000), pathSamples: pathSamples ?? (quick ? 5000 : nil),
                                      seed: seed.seed)
            let result = try Pipeline.evaluate(comm, model: model, spec: spec, output: dir.eval, modelPath: dir.model, log: log)
            times.lap("evaluate")
            if comm.isRoot, let result {
                print("headline errors against the exact law (\(filePath(output, "eval/metrics.json")), report \(filePath(output, "eval/report.html"))):")
                print(result.headlineText, terminator: "")
                print("wall time: " + times.summary)
            }
        }
    }

    /// What the label and training stages would refuse once the data exist, refused before the
    /// simulation: the pair count is known from the settings.
    func checkSizes(_ ex: SDEExample, _ sim: SimulationSettings, _ labels: LabelSettings, _ train: TrainSettings) throws {
        let pairs = sim.pathsPerMu * ex.observedMu.count * sim.stepsPerPath
        let source = "\(ex.observedMu.count) μ × \(sim.pathsPerMu) paths × \(sim.stepsPerPath) steps"
        for (option, value) in [("--neighbors", labels.neighbors), ("--labels", labels.labels)] where value > pairs {
            throw SDEFlowError.option(option, "\(value) is more than the \(pairs) pairs this run simulates (\(source)\(quick ? ", with --quick" : "")); pass \(option) with at most \(pairs), or a larger --paths-per-mu")
        }
        try train.checkSplit(rows: labels.labels, folder: nil)
        // The label stage refuses ν below 1e-6 × the data's spread; every built-in example
        // simulates spreads of x and μ of 0.3 or more, so ν below 1e-6 × 0.01 fails for any of
        // them: `run --nu-x 1e-20` was refused only after simulating.
        let floor = Limits.minRelativeBandwidth * 0.01
        for (option, nu) in [("--nu-x", labels.nuX), ("--nu-mu", labels.nuMu)] where nu < floor {
            throw SDEFlowError.option(option, "ν = \(nu) is below \(floor), 1e-6 × less than any spread of x or μ the built-in examples simulate: every kernel weight but a query's own would underflow to 0; use a bandwidth of the order of the data's spread (default \(option == "--nu-x" ? ex.labels.nuX : ex.labels.nuMu))")
        }
    }

    struct Folders {
        let data: String, labels: String, model: String, eval: String
        init(_ output: String) {
            data = filePath(output, "data"); labels = filePath(output, "labels"); model = filePath(output, "model"); eval = filePath(output, "eval")
        }
    }

    /// Simulate, label and train, each kept from an earlier run of this command when its folder is
    /// complete and of the same settings (and every stage before it was kept): `PipelineReuse.swift`.
    func stages(_ comm: any Collective, _ ex: SDEExample, _ sim: SimulationSettings, _ dtype: NPYDType, _ labelSettings: LabelSettings,
                _ train: TrainSettings, _ control: JobControl, _ dir: Folders, _ log: Log, _ times: Stopwatch) throws -> FlowModel {
        func kept(_ folder: String) { log.info("run: \(folder) is complete and of these settings: kept (--fresh redoes it)") }
        let keepData = try !control.fresh && Pipeline.keepsData(comm, dir.data, info: Pipeline.simulationInfo(ex, settings: sim, seed: seed.seed), dtype: dtype)
        if keepData { kept(dir.data) } else {
            try Pipeline.simulate(comm, example: ex, settings: sim, seed: seed.seed, output: dir.data, dtype: dtype, log: log)
        }
        times.lap("simulate")
        let keepLabels = try keepData && Pipeline.keepsLabels(comm, dir.labels, settings: labelSettings, seed: seed.seed, data: dir.data,
                                                                  index: labelOptions.neighbourIndex)
        let labels: LabelSet
        var remade = control
        remade.inputRemade = !keepData
        // A kept folder that cannot be read on some rank (a file removed by hand) is made again;
        // it was every rank's error, then MPI_Abort.
        func load<T>(_ folder: String, _ body: () throws -> T) throws -> T? {
            do { return try comm.everyRank(body) } catch let failure as AgreedFailure {
                log.info("run: \(folder) cannot be read\(failure.error.map { " (\($0))" } ?? " on some rank"): making it again")
                return nil
            }
        }
        if keepLabels, let set = try load(dir.labels, { try LabelSet(directory: dir.labels) }) { kept(dir.labels); labels = set } else {
            labels = try Pipeline.label(comm, data: dir.data, settings: labelSettings, seed: seed.seed, output: dir.labels, log: log,
                                        search: labelOptions.neighbourIndex, shards: labelOptions.shards, control: remade)
        }
        remade.inputRemade = !keepLabels
        times.lap("label")
        defer { times.lap("train") }
        if try keepLabels && Pipeline.keepsModel(comm, dir.model, settings: train, labels: labels),
           let model = try load(dir.model, { try FlowModel(directory: dir.model) }) { kept(dir.model); return model }
        return try Pipeline.train(comm, labels: labels, settings: train, output: dir.model, log: log, control: remade)
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
