import ArgumentParser
import Foundation
import SDEFlowCore
import SDEFlowMPI

#if canImport(Glibc)
import Glibc
#endif

/// The training, memory and end-to-end sections of `bench`, and the helpers every section uses.
extension Bench {
    // MARK: Training

    func training(_ comm: any Collective, _ log: Log) throws -> [TrainingResult] {
        let nets: [(String, MLPShape)] = [
            ("3x128", MLPShape(input: 3, hidden: [128, 128, 128], output: 1)),
            ("4x256", MLPShape(input: 5, hidden: [256, 256, 256, 256], output: 2)),
        ]
        var out: [TrainingResult] = []
        for (name, shape) in nets {
            log.info("bench: training \(name) (\(shape.parameterCount) parameters), \(trainRows) rows, batch \(batchSize) over \(comm.size) rank(s), \(epochsToTime) epoch(s), kernels \(MLP.kernelISA)")
            var work = TrainingWorkload(shape: shape, rows: trainRows, batchSize: batchSize)
            _ = try work.epoch(0, rank: comm.rank, size: comm.size, limit: 3) { try comm.allreduce(&$0, .sum) }  // warm-up
            try comm.barrier()
            let t0 = monotonicSeconds()
            var reduce = 0.0, steps = 0, loss = 0.0
            for e in 1...epochsToTime {
                let r = try work.epoch(e, rank: comm.rank, size: comm.size) { try comm.allreduce(&$0, .sum) }
                reduce += r.reduceSeconds; steps += r.steps; loss = r.loss
            }
            let local = monotonicSeconds() - t0
            try comm.barrier()
            // The same allreduce with nothing else in the loop: its own cost, without waiting for slower ranks.
            var buffer = [Float](repeating: 1, count: shape.parameterCount + 1)
            try comm.barrier()
            let t1 = monotonicSeconds()
            for _ in 0..<20 { try comm.allreduce(&buffer, .sum) }
            let isolated = try comm.allreduce((monotonicSeconds() - t1) / 20, .max)
            let seconds = try comm.allgatherv([local]), reduces = try comm.allgatherv([reduce / Double(max(steps, 1))])
            let wall = seconds.max() ?? 0
            let perStep = wall / Double(max(steps, 1))
            let meanReduce = reduces.reduce(0, +) / Double(reduces.count)
            out.append(TrainingResult(
                name: name, input: shape.input, hidden: shape.hidden, output: shape.output, parameters: shape.parameterCount,
                batchSize: batchSize, rows: trainRows, epochs: epochsToTime, stepsPerEpoch: work.stepsPerEpoch,
                secondsPerEpoch: wall / Double(epochsToTime), samplesPerSecond: wall > 0 ? Double(trainRows * epochsToTime) / wall : 0,
                secondsPerStep: perStep, allreduceSecondsPerStepPerRank: reduces, allreduceSecondsPerStep: meanReduce,
                allreduceFraction: perStep > 0 ? meanReduce / perStep : 0, allreduceIsolatedSeconds: isolated,
                finalBatchLoss: loss))
        }
        return out
    }

    // MARK: Memory

    func memory(_ comm: any Collective, after: String) throws -> MemoryResult {
        let peaks = try comm.allgatherv([peakMemoryMiB()])
        return MemoryResult(after: after, peakMibPerRank: peaks, maxPeakMib: peaks.max() ?? 0, totalPeakMib: peaks.reduce(0, +))
    }

    // MARK: End to end

    func endToEndRun(_ comm: any Collective, _ log: Log) throws -> EndToEndResult {
        let ex = SDEExample.brownianMotion
        var sim = ex.simulation
        sim.pathsPerMu = 5000  // the paper's data, as its label numbers (bm's default is 8×: METHOD §6.7)
        var labelSettings = Self.paperNumbers
        var train = TrainSettings(for: ex)
        if quick { applyQuickPreset(simulation: &sim, labels: &labelSettings, train: &train) }
        // A fresh folder, named by rank 0; on several nodes it must be on a shared file system.
        var dir = ""
        let nodes = Set(try gatherStrings(comm, MachineInfo.hostname)).count
        if comm.isRoot {
            let base = workDir ?? (nodes == 1 ? FileManager.default.temporaryDirectory.path : FileManager.default.currentDirectoryPath)
            dir = filePath(base, "sdeflow-bench-\(getpid())-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        dir = String(decoding: try comm.broadcast(Array(dir.utf8)), as: UTF8.self)
        defer { if comm.isRoot { try? FileManager.default.removeItem(atPath: dir) } }
        log.info("bench: end to end (`run --example bm\(quick ? " --quick" : "")`) in \(dir)")

        var stages: [String: Double] = [:]
        var t0 = monotonicSeconds()
        func lap(_ name: String) throws {
            try comm.barrier()
            let now = monotonicSeconds()
            stages[name] = now - t0
            t0 = now
        }
        try Pipeline.simulate(comm, example: ex, settings: sim, seed: 1, output: filePath(dir, "data"), dtype: .float64, log: log)
        try lap("simulate")
        let labels = try Pipeline.label(comm, data: filePath(dir, "data"), settings: labelSettings, seed: 1,
                                        output: filePath(dir, "labels"), log: log)
        try lap("label")
        let model = try Pipeline.train(comm, labels: labels, settings: train, output: filePath(dir, "model"), log: log)
        try lap("train")
        let spec = EvaluationSpec(example: ex, dt: sim.dt, observedMu: model.info.observedMu, muRange: model.info.muRange,
                                  samples: evalSamples, pathSamples: quick ? 5000 : nil, seed: 1)
        let evaluation = try Pipeline.evaluate(comm, model: model, spec: spec, output: filePath(dir, "eval"), modelPath: nil, log: log)
        try lap("evaluate")
        let rows = evaluation?.metrics.oneStep.rows ?? []  // rank 0 only; the others report nothing

        let pairBytes = (2 * ex.d + ex.dMu) * 8
        let shardBytes = (labels.shardPairs ?? []).map { Int64($0 * pairBytes) }
        let total = stages.values.reduce(0, +)
        let work = Double(labelSettings.labels) * Double(labelSettings.neighbors) * Double(labelSettings.odeSteps)
        return EndToEndResult(
            settings: quick ? "quick" : "paper", pairs: sim.pathsPerMu * ex.observedMu.count * sim.stepsPerPath,
            labels: labelSettings.labels, neighbors: labelSettings.neighbors, odeSteps: labelSettings.odeSteps,
            epochs: model.info.epochs, stageSeconds: stages, totalSeconds: total,
            labelNeighbourStepsPerSecond: (stages["label"] ?? 0) > 0 ? work / stages["label"]! : 0,
            shardBytesPerRank: shardBytes, datasetBytes: Int64(sim.pathsPerMu * ex.observedMu.count * sim.stepsPerPath * pairBytes),
            maxMeanError: rows.map(\.meanError).max() ?? 0,
            maxVarianceRelativeError: rows.map(\.varianceRelativeError).max() ?? 0,
            peakMibPerRank: try comm.allgatherv([peakMemoryMiB()]))
    }
}

// MARK: - Helpers

/// Runs `body` on rank 0 while the other ranks sleep for about its duration (rank 0 tells them
/// `expectedSeconds`) instead of spinning in a barrier: Open MPI busy-polls while waiting, which
/// would compete with rank 0 for a core it may share (SMT siblings).
func onRootAlone(_ comm: any Collective, expectedSeconds: Double, _ body: () -> Void) throws {
    let expected = try comm.broadcast([expectedSeconds])[0]
    try comm.barrier()
    if comm.isRoot { body() } else { usleep(UInt32(min(1.5 * expected + 0.05, 60) * 1e6)) }
    try comm.barrier()
}

/// Every rank's string, in rank order, on every rank.
func gatherStrings(_ comm: any Collective, _ s: String) throws -> [String] {
    let bytes = try comm.allgatherv(Array(s.utf8) + [0])
    return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
}

func loadAverage() -> [Double] {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return [] }
    return text.split(separator: " ").prefix(3).compactMap { Double($0) }
}

/// Keeps a result alive so the optimiser cannot drop the work that made it.
@inline(never) func blackHole(_ x: Double) {
    if x.isNaN && x.sign == .minus && x.significandWidth == 12345 { print(x) }
}

