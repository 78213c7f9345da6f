import ArgumentParser
import Foundation
import SDEFlowCore
import SDEFlowMPI

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate an example SDE at its observed μ and write the one-step pairs as a data set folder.")
    @OptionGroup var simulation: SimulateOptions
    @OptionGroup var seed: SeedOption
    @Option(help: "Data set folder to write (x.npy, mu.npy, y.npy, dataset.json).") var output: String
    @OptionGroup var job: JobOptions

    func run() throws {
        let ex = try lookupExample(simulation.example, dim: simulation.dim)
        let settings = try simulation.settings(for: ex), dtype = try simulation.npyType()
        try withMPI(job.spec(outputs: [.data(output)])) { comm, log in
            try Pipeline.simulate(comm, example: ex, settings: settings, seed: seed.seed, output: output, dtype: dtype, log: log)
        }
    }
}

struct Label: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute training-free labels: kernel-weighted score over exact K nearest neighbours + probability-flow ODE.")
    @Option(help: "Data set folder (x.npy, mu.npy, y.npy, optional dataset.json: dt, and \"example\" only when the data are that built-in example's, of its d and dμ; an unknown name or another dimension is refused).") var data: String
    @Option(help: "Label folder to write.") var output: String
    @OptionGroup var options: LabelOptions
    @OptionGroup var seed: SeedOption
    @OptionGroup var resume: ResumeOptions
    @OptionGroup var block: LabelBlockOption
    @OptionGroup var job: JobOptions

    func run() throws {
        let spec = try job.spec(inputs: [JobInput("--data", data)], outputs: [.labels(output)], listens: true)
        let info = try? readJSON(DatasetInfo.self, from: filePath(data, "dataset.json"))
        let width = (try? NPY.header(at: filePath(data, "x.npy")))?.rowWidth
        let known = info?.example.flatMap { SDEExample.named($0, dim: width) }
        let ex = known ?? .brownianMotion
        var defaults = ex.labels
        // Data of no known example: the defaults follow its dimensions and spreads.
        if known == nil, let d = width, let mu = try? NPY.header(at: filePath(data, "mu.npy")) {
            defaults = UnknownDataDefaults.labels(d: d, dMu: mu.rowWidth, scales: try DataScales.of(data))
        }
        let settings = try options.settings(defaults: defaults, paper: ex.paperLabels)
        try withMPI(spec) { comm, log in
            try comm.everyRank { try Dataset(directory: data).requireMotion() }
            _ = try Pipeline.label(comm, data: data, settings: settings, seed: seed.seed, output: output, log: log,
                                   search: options.neighbourIndex, shards: options.shards,
                                   control: JobControl(fresh: resume.fresh, labelBlock: block.labelBlock))
        }
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the flow-map MLP G(x, μ, z) on labels, data-parallel over the ranks.")
    @Option(help: "Label folder written by `label`.") var labels: String
    @Option(help: "Model folder to write.") var output: String
    @OptionGroup var options: TrainOptions
    @OptionGroup var seed: SeedOption
    @OptionGroup var resume: ResumeOptions
    @OptionGroup var checkpoint: CheckpointEveryOption
    @OptionGroup var job: JobOptions

    func run() throws {
        try withMPI(job.spec(inputs: [JobInput("--labels", labels)], outputs: [.model(output)], listens: true)) { comm, log in
            let (set, settings) = try comm.everyRank {
                let set = try LabelSet(directory: labels)
                return (set, try options.settings(example: set.info.example.flatMap { SDEExample.named($0, dim: set.d) }, seed: seed.seed,
                                                  dims: (set.d, set.dMu), rows: set.count))
            }
            _ = try Pipeline.train(comm, labels: set, settings: settings, output: output, log: log,
                                   control: JobControl(fresh: resume.fresh, checkpointEvery: checkpoint.checkpointEvery))
        }
    }
}

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roll the learned flow map out from x0 at parameter μ; writes (count, steps + 1, d) as .npy.")
    @Option(help: "Model folder written by `train`.") var model: String
    @Option(parsing: .unconditional, help: "Initial state, d comma-separated values within ±1e100 (negative values are fine: --x0 -1.5).") var x0: String
    @Option(parsing: .unconditional, help: "Parameter μ, dμ comma-separated values within ±1e100.") var mu: String
    @Option(integer: "--steps", help: "Number of steps of Δt, 0…1e7.") var steps: Int
    @Option(integer: "--count", help: "Number of trajectories, 1…1e9; count × (steps + 1) × d values must fit in memory.") var count: Int
    @Option(help: "Output .npy file (an existing file there is replaced only if it is a .npy array).") var output: String
    @Option(help: "float32 or float64.") var dtype: String = "float64"
    @OptionGroup var seed: SeedOption
    @OptionGroup var job: JobOptions

    func validate() throws {
        _ = try parseList(x0, option: "--x0"); _ = try parseList(mu, option: "--mu")
        try checkRange(steps, "--steps", Limits.steps)
        try checkRange(count, "--count", Limits.count)
        guard ["float32", "float64"].contains(dtype) else { throw ValidationError("--dtype must be float32 or float64") }
    }

    func run() throws {
        let x = try parseList(x0, option: "--x0"), m = try parseList(mu, option: "--mu")
        try withMPI(job.spec(inputs: [JobInput("--model", model)], outputs: [JobOutput("--output", output, .npy)])) { comm, log in
            let flow = try comm.everyRank {  // refused once, by rank 0, on every rank alike
                let flow = try FlowModel(directory: model)
                try Limits.checkMemory(bytes: Limits.product(count, steps + 1, flow.info.d, 8, 2) ?? Int.max, what: "\(count) paths of \(steps) steps",
                                       fix: "lower --count or --steps", location: .option("--count"))
                guard x.count == flow.info.d else { throw SDEFlowError.usage("--x0 has \(x.count) values; the model's state has d = \(flow.info.d)") }
                guard m.count == flow.info.dMu else { throw SDEFlowError.usage("--mu has \(m.count) values; the model's parameter has dμ = \(flow.info.dMu)") }
                return flow
            }
            for line in flow.extrapolation(x0: x, mu: m) { log.info(line) }
            let paths = try Pipeline.sample(comm, model: flow, x0: x, mu: m, steps: steps, count: count, seed: seed.seed, log: log)
            if comm.isRoot {
                let shape = [count, steps + 1, flow.info.d]
                if dtype == "float32" { try NPY.write(output, paths.map(Float.init), shape: shape) } else { try NPY.write(output, paths, shape: shape) }
                log.info("sample: wrote \(output) with shape \(shape)")
            }
        }
    }
}
