import Foundation

/// How the CLI's stages checkpoint and stop (README, "Restarting a killed job").
public struct JobControl: Sendable {
    /// Keep checkpoints next to the outputs (`<output>.partial`) and resume from one of this run.
    public var checkpoints: Bool
    /// Discard the checkpoints of an earlier run instead of resuming from them.
    public var fresh: Bool
    /// Training: epochs between two checkpoints (a stop by signal saves at once).
    public var checkpointEvery: Int
    /// Label stage: queries per checkpointed block (nil: `DistributedLabels.blockSize`).
    public var labelBlock: Int?
    /// Where the stages learn of a stop request.
    public var stop: StopRequest
    /// The stage's input was just made again (by `run`), so a checkpoint of other inputs is
    /// stale: discarded with a warning. Otherwise such a checkpoint is kept and the job refused
    /// (a mistyped `--data` or `--labels` deleted hours of saved work).
    public var inputRemade = false

    public init(checkpoints: Bool = true, fresh: Bool = false, checkpointEvery: Int = 10, labelBlock: Int? = nil,
                stop: StopRequest = .signals) {
        self.checkpoints = checkpoints; self.fresh = fresh; self.checkpointEvery = checkpointEvery
        self.labelBlock = labelBlock; self.stop = stop
    }
}

/// The stages as the CLI runs them on all ranks: each stage reads and writes the folder layouts
/// of the data contract; rank 0 writes, every output folder replaced whole (`writeFolderAtomically`).
public enum Pipeline {
    /// Below this median effective sample size of the kernel weights at the last ODE step the
    /// label stage warns: each label is then one or two neighbours' displacements, and the
    /// labels' law is under-dispersed noise around them (docs/METHOD.md §7).
    static let essFloor = 10.0

    /// Simulates an example's data set: paths are split over ranks by global path id and
    /// gathered on rank 0, which writes `x.npy`, `mu.npy`, `y.npy`, `dataset.json`.
    public static func simulate(_ comm: any Collective, example: SDEExample, settings: SimulationSettings, seed: UInt64,
                                output: String, dtype: NPYDType, log: Log) throws {
        let paths = settings.pathsPerMu * example.observedMu.count
        let mine = batchSlice(batchSize: paths, rank: comm.rank, size: comm.size)
        log.info("simulate: \(example.name), \(example.observedMu.count) μ × \(settings.pathsPerMu) paths × \(settings.stepsPerPath) steps = \(paths * settings.stepsPerPath) pairs")
        let started = monotonicSeconds()
        var next = started + DistributedSampling.progressSeconds
        let block = Simulator.simulate(example, settings: settings, observedMu: example.observedMu, paths: mine, seed: seed) { done in
            comm.progress()
            let now = monotonicSeconds()
            guard comm.isRoot, now >= next else { return }
            log.info(String(format: "simulate: %.0f %% of rank 0's paths in %.0f s, about %.0f s left", 100 * Double(done) / Double(mine.count),
                            now - started, (now - started) * Double(mine.count - done) / Double(done)))
            next = now + DistributedSampling.progressSeconds
        }
        let x = try comm.gatherv(block.x), mu = try comm.gatherv(block.mu), y = try comm.gatherv(block.y)
        if comm.isRoot {
            let info = simulationInfo(example, settings: settings, seed: seed)
            try Dataset.write(PairBlock(d: example.d, dMu: example.dMu, x: x, mu: mu, y: y), info: info, to: output, dtype: dtype)
            log.info("simulate: wrote \(output)")
        }
        try comm.barrier()
    }

    /// Stage 1 on all ranks; rank 0 writes the label folder. Every rank returns the labels.
    public static func label(_ comm: any Collective, data: String, settings: LabelSettings, seed: UInt64,
                             output: String, log: Log, search: NeighbourSearch = .auto, shards: ShardLayout = .auto,
                             control: JobControl = .init()) throws -> LabelSet {
        let dataset = try Dataset(directory: data)
        if dataset.info == nil { log.info("label: warning: \(data) has no dataset.json, so no Δt: a model trained on these labels samples, but `inspect` cannot turn its steps into rates (and `evaluate` assumes its example's Δt); to give it, write \(filePath(data, "dataset.json")) with {\"dt\": <Δt>} and label again") }
        log.info("label: \(dataset.count) pairs (d = \(dataset.d), dμ = \(dataset.dMu)), \(settings.labels) labels, K = \(settings.neighbors), \(settings.odeSteps) ODE steps, ν_x = \(fmt(settings.nuX)), ν_μ = \(fmt(settings.nuMu)), c = \(fmt(settings.scale)), estimator \(settings.estimator.rawValue), solver \(settings.solver.rawValue), \(comm.size) rank(s), kernel \(Labeler.kernelISA)")
        let started = Date()
        let checkpoint = control.checkpoints ? LabelCheckpoint(folder: checkpointFolder(for: output), fresh: control.fresh, discardOtherInputs: control.inputRemade) : nil
        let labels = try StopSignals.listen {
            try DistributedLabels.run(comm, source: dataset, info: dataset.info, settings: settings, seed: seed, log: log,
                                      search: search, shards: shards, checkpoint: checkpoint, stop: control.stop, block: control.labelBlock)
        }
        let seconds = Date().timeIntervalSince(started)
        let work = Double(settings.labels) * Double(settings.neighbors) * Double(settings.odeSteps)
        log.info(String(format: "label: done in %.1f s (%.3g neighbour-steps/s over all ranks), mean ESS at τ→0: %.1f",
                        seconds, work / seconds, labels.info.meanEffectiveSampleSize))
        let ess = labels.ess.filter(\.isFinite).sorted()
        if !ess.isEmpty {
            func q(_ p: Double) -> Double { ess[min(ess.count - 1, Int(p * Double(ess.count)))] }
            log.info(String(format: "label: effective sample size at the last ODE step: 5%% %.1f, median %.1f, 95%% %.1f", q(0.05), q(0.5), q(0.95)))
            if q(0.5) < Self.essFloor {
                log.info(String(format: "label: warning: median effective sample size %.1f < %.0f: most labels rest on a handful of neighbours (high dimension or narrow bandwidths); raise --nu-x/--nu-mu or --ode-stop, see docs/METHOD.md §7", q(0.5), Self.essFloor))
            }
        }
        let nonFinite = labels.label.filter { !$0.isFinite }.count
        if nonFinite > 0 { log.info("label: warning: \(nonFinite) non-finite label values (training drops those rows)") }
        if comm.isRoot { try labels.write(to: output); checkpoint?.remove(); log.info("label: wrote \(output)") }
        try comm.barrier()
        return labels
    }

    /// Stage 2 on all ranks; rank 0 writes the model folder.
    public static func train(_ comm: any Collective, labels: LabelSet, settings: TrainSettings, output: String, log: Log,
                             control: JobControl = .init()) throws -> FlowModel {
        let started = Date()
        let checkpoint = control.checkpoints
            ? TrainCheckpoint(folder: checkpointFolder(for: output), every: control.checkpointEvery, fresh: control.fresh,
                              discardOtherInputs: control.inputRemade) : nil
        let model = try StopSignals.listen {
            try DataParallelTrainer.train(comm, labels: labels, settings: settings, log: log, checkpoint: checkpoint, stop: control.stop)
        }
        log.info(String(format: "train: %d epochs in %.1f s, best validation loss %.5f at epoch %d; %d checkpoints took %.3f s",
                        model.info.epochs, Date().timeIntervalSince(started), model.info.bestValidationLoss, model.info.bestEpoch,
                        checkpoint?.saves ?? 0, checkpoint?.seconds ?? 0))
        if comm.isRoot { try model.write(to: output); checkpoint?.remove(); log.info("train: wrote \(output)") }
        try comm.barrier()
        return model
    }

    /// Trajectories of `count` samples from x0, split over ranks in `DistributedSampling`'s fixed
    /// id blocks (so the values are bitwise the same for any -n); on rank 0 (count × (steps + 1) × d),
    /// [] elsewhere.
    public static func sample(_ comm: any Collective, model: FlowModel, x0: [Double], mu: [Double], steps: Int, count: Int,
                              seed: UInt64, stream: RandomStream = .sampleNoise, log: Log? = nil) throws -> [Double] {
        let d = model.info.d
        let paths = try DistributedSampling.run(comm, counts: [count], costs: [steps], valuesPerSample: [(steps + 1) * d], log: log) { _, ids in
            let starts = [[Double]](repeating: x0, count: ids.count).flatMap { $0 }
            return model.rollout(starts: starts, mu: mu, steps: steps, ids: ids, seed: seed, stream: stream, keepPath: true)
        }
        return paths.first ?? []
    }
}
