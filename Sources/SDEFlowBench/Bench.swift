import ArgumentParser
import Foundation
import SDEFlowCore
import SDEFlowMPI

#if canImport(Glibc)
import Glibc
#endif

public struct Bench: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        abstract: "Measure the stages at the rank count it runs on: label kernel vs its roofline, K-NN, training, memory.",
        discussion: """
            Every measured part runs on all ranks at once between barriers; per-rank figures and the \
            aggregate are printed by rank 0 and, with --json, written as one JSON object. Sections: \
            label (label kernel, its roofline, and the roofline on rank 0 alone vs all ranks at once, \
            which shows whether the ranks share floating-point units), knn (grid build and exact K-NN \
            on Example 1 data), labeler (the label stage's whole per-query path on that data), training (data-parallel steps of the paper's 3×128 and 4×256 MLPs), \
            memory (peak resident memory per rank); --end-to-end adds the whole `run --example bm`. \
            knn-high (off unless --knn-dims is given: minutes at its defaults) times exact K-NN at high D \
            (BruteForceIndex over N uniform points in [0, 1]^D) next to FAISS IndexFlatL2 (--faiss-python), \
            one thread each on rank 0, Swift then FAISS in every round, and prints each round's ratio; \
            run it on one rank (without mpirun): other ranks wait in MPI collectives, which busy-poll. \
            benchmarks/knn-vs-faiss.sh runs it with FAISS.
            """)

    @Option(integer: "--pairs", help: "One-step pairs of Example 1 data for the K-NN section (21 μ × paths × 10 steps), 1…1e9; they must fit in memory.")
    var pairs: Int = 1_050_000
    @Option(integer: "--neighbors", help: "K, neighbours per query (label kernel, roofline and K-NN), 1…1e6 and at most the pairs.")
    var neighbors: Int = 2000
    @Option(integer: "--ode-steps", help: "ODE steps per label in the label-kernel section, 1…1e5.")
    var odeSteps: Int = 1000
    @Option(integer: "--queries", help: "Queries over all ranks (split like the label stage) for the label kernel and the K-NN search, 1…1e7.")
    var queries: Int = 256
    @Option(integer: "--epochs-to-time", help: "Epochs timed per network in the training section (after a few warm-up steps), 1…1e4.")
    var epochsToTime: Int = 2
    @Option(integer: "--train-rows", help: "Training rows per epoch (the paper's 50 000 labels × 0.9), 1…1e9; they must fit in memory.")
    var trainRows: Int = 45_000
    @Option(integer: "--batch-size", help: "Global mini-batch size of the training section (split over ranks), 1…16777216.")
    var batchSize: Int = 1024
    @Option(help: "Sections to leave out, comma-separated: label, knn, labeler, training, memory, knn-high (labeler needs knn's data: skipping knn skips it too; knn-high runs only with --knn-dims); repeatable.")
    var skip: [String] = []
    @Option(help: "Write the results as one JSON object to this file (rank 0).")
    var json: String?
    @Flag(help: "Also run `run --example bm` (simulate, label, train, evaluate) and time each stage: minutes at the paper's settings.")
    var endToEnd = false
    @Flag(help: "With --end-to-end: `run --quick`'s settings instead of the paper's.")
    var quick = false
    @Option(help: "With --end-to-end or knn-high: the folder for their files (default: the system temp folder on one node, else the current folder for --end-to-end; removed afterwards).")
    var workDir: String?
    @Option(integer: "--eval-samples", help: "With --end-to-end: one-step samples per start state and μ for the evaluation (as `run`), 2…1e8.")
    var evalSamples: Int = 100_000
    @OptionGroup(title: "knn-high section (exact K-NN at high D vs FAISS)")
    var knnHighOptions: KNNHighOptions

    static let sectionNames = ["label", "knn", "labeler", "training", "memory", "knn-high"]

    public func validate() throws {
        for (name, value, range) in Self.ranges(self) where !range.contains(value) {
            throw ValidationError("\(name) must be in \(range.lowerBound)…\(range.upperBound) (got \(value))")
        }
        // About 64 bytes a pair (x, μ, y, the grid and the search's copies) and 32 a training row,
        // on every rank of this node: the probe's --pairs 1e11 aborted allocating 800 GB.
        try Limits.checkMemory(bytes: pairs * 64, what: "\(pairs) pairs on every rank", fix: "lower --pairs", location: .option("--pairs"))
        try Limits.checkMemory(bytes: trainRows * 32, what: "\(trainRows) training rows on every rank", fix: "lower --train-rows", location: .option("--train-rows"))
        let unknown = skipped.subtracting(Self.sectionNames)
        guard unknown.isEmpty else {
            throw ValidationError("--skip: unknown section(s) \(unknown.sorted().joined(separator: ", ")); known: \(Self.sectionNames.joined(separator: ", "))")
        }
        if let json { try checkWritableFile(json, option: "--json") }
        if let workDir { try checkWorkFolder(workDir, option: "--work-dir") }
        if !skipped.contains("knn") {
            let actual = exampleOneSettings(pairs: pairs).pathsPerMu * 210
            guard neighbors <= actual else { throw ValidationError("--neighbors \(neighbors) exceeds the \(actual) pairs of --pairs \(pairs)") }
        }
    }

    /// The numeric options and their ranges (the help states them too).
    static func ranges(_ b: Bench) -> [(String, Int, ClosedRange<Int>)] {
        [("--pairs", b.pairs, 1...1_000_000_000), ("--neighbors", b.neighbors, 1...1_000_000), ("--ode-steps", b.odeSteps, 1...100_000),
         ("--queries", b.queries, 1...10_000_000), ("--epochs-to-time", b.epochsToTime, 1...10_000),
         ("--train-rows", b.trainRows, 1...1_000_000_000), ("--batch-size", b.batchSize, 1...16_777_216),
         ("--eval-samples", b.evalSamples, 2...100_000_000)]
    }

    var skipped: Set<String> {
        // Every --skip counts (a repeated one kept only its last value).
        Set(skip.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    public func run() throws {
        try withMPI { comm, log in
            let started = monotonicSeconds()
            var report = BenchReport(
                date: ISO8601DateFormatter().string(from: Date()),
                command: CommandLine.arguments.joined(separator: " "),
                machine: try machine(comm),
                settings: .init(pairs: exampleOneSettings(pairs: pairs).pathsPerMu * 210, neighbors: neighbors, odeSteps: odeSteps,
                                queries: queries, epochsToTime: epochsToTime, trainRows: trainRows, batchSize: batchSize,
                                skipped: skipped.sorted(), endToEnd: endToEnd, quick: quick,
                                knnHigh: skipped.contains("knn-high") ? nil : try knnHighOptions.settings()))
            if comm.isRoot { print(report.machine.summary) }
            if !skipped.contains("label") {
                let (kernel, roof) = try labelKernel(comm, log)
                report.labelKernel = kernel; report.roofline = roof
                if comm.isRoot { print(kernel.summary(roof)) }
            }
            if !skipped.contains("knn") {
                (report.neighbourSearch, report.labeler) = try neighbourSearch(comm, log)
                if comm.isRoot { print(report.neighbourSearch!.summary) }
                if comm.isRoot, let l = report.labeler { print(l.summary) }
            }
            if let s = report.settings.knnHigh {
                report.knnHigh = try knnHigh(comm, log, s)
            }
            if !skipped.contains("training") {
                report.training = try training(comm, log)
                if comm.isRoot { print(TrainingResult.summary(report.training!)) }
            }
            if let kernel = report.labelKernel, let knn = report.neighbourSearch {
                report.projection = LabelProjection(kernel, knn, labels: SDEExample.brownianMotion.labels.labels)
                if comm.isRoot { print(report.projection!.summary) }
            }
            if !skipped.contains("memory") {
                report.memory = try memory(comm, after: "the benchmark sections")
                if comm.isRoot { print(report.memory!.summary) }
            }
            if endToEnd {
                report.endToEnd = try endToEndRun(comm, log)
                if comm.isRoot { print(report.endToEnd!.summary) }
                if !skipped.contains("memory") {
                    report.memory = try memory(comm, after: "the end-to-end run")
                    if comm.isRoot { print(report.memory!.summary) }
                }
            }
            report.seconds = monotonicSeconds() - started
            if comm.isRoot, let json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                encoder.keyEncodingStrategy = .convertToSnakeCase
                try writeFileAtomically(json, contents: try encoder.encode(report))
                log.info("bench: wrote \(json)")
            }
            if let k = report.knnHigh, !k.checksPassed {
                throw SDEFlowError(.job, "knn-high: a K-NN correctness check failed (see the tables above and knn_high in the JSON)")
            }
        }
    }

    // MARK: Machine

    func machine(_ comm: any Collective) throws -> MachineReport {
        let name = MachineInfo.hostname
        let hosts = try gatherStrings(comm, name)
        let cpus = try comm.allgatherv([Int64(MachineInfo.onlineCPUs)])
        var perNode: [String: (ranks: Int, cpus: Int)] = [:]
        for (h, c) in zip(hosts, cpus) { perNode[h, default: (0, Int(c))].ranks += 1 }
        let oversubscribed = perNode.values.contains { $0.ranks > $0.cpus }
        return MachineReport(
            hostname: name, nproc: MachineInfo.onlineCPUs, cpuModel: MachineInfo.cpuModel, vectorIsa: MachineInfo.vectorISA,
            ranks: comm.size, nodes: perNode.count, maxRanksPerNode: perNode.values.map(\.ranks).max() ?? 1,
            oversubscribed: oversubscribed, hostnames: hosts, cpusAllowed: try gatherStrings(comm, MachineInfo.cpusAllowed),
            openblasNumThreads: ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "unset",
            loadAverage: loadAverage())
    }

    // MARK: Label kernel and roofline

    func labelKernel(_ comm: any Collective, _ log: Log) throws -> (LabelKernelResult, RooflineResult) {
        let mine = batchSlice(batchSize: queries, rank: comm.rank, size: comm.size)
        log.info("bench: label kernel, K = \(neighbors), \(odeSteps) ODE steps, \(queries) queries over \(comm.size) rank(s)")
        let work = LabelKernelWorkload(queries: mine, neighbors: neighbors, odeSteps: odeSteps)
        _ = work.run(limit: 1)  // warm-up: pages, caches, clock

        // Rank 0 alone: a few queries while the other ranks sleep (not spin in a barrier).
        var t = monotonicSeconds()
        _ = work.run(limit: 1)
        let perQuery = monotonicSeconds() - t
        let alone = min(mine.count, max(1, Int(4e7 / work.neighbourStepsPerQuery)))
        var aloneRate = 0.0
        try onRootAlone(comm, expectedSeconds: perQuery * Double(alone)) {
            let t0 = monotonicSeconds()
            let r = work.run(limit: alone)
            aloneRate = r.neighbourSteps / (monotonicSeconds() - t0)
            blackHole(r.checksum)
        }

        // All ranks at once, every rank its slice; the better of two rounds (by wall time).
        var seconds: [Double] = [], steps: [Double] = [], wall = Double.infinity
        for _ in 0..<2 {
            try comm.barrier()
            t = monotonicSeconds()
            let r = work.run()
            let local = monotonicSeconds() - t
            try comm.barrier()
            blackHole(r.checksum)
            let s = try comm.allgatherv([local])
            if (s.max() ?? 0) < wall { seconds = s; wall = s.max() ?? 0; steps = try comm.allgatherv([r.neighbourSteps]) }
            else { _ = try comm.allgatherv([r.neighbourSteps]) }
        }
        let rates = zip(steps, seconds).map { $1 > 0 ? $0 / $1 : 0 }
        let busy = rates.filter { $0 > 0 }

        let roof = try roofline(comm, log)
        let ratios = zip(rates, roof.allRanksPerRank).map { $1 > 0 ? $0 / $1 : 0 }
        let busyRatios = ratios.filter { $0 > 0 }
        let kernel = LabelKernelResult(
            neighbors: neighbors, kPad: work.kPad, odeSteps: odeSteps, d: work.d, queries: queries,
            queriesPerRank: try comm.allgatherv([Int64(mine.count)]).map(Int.init),
            secondsPerRank: seconds, neighbourStepsPerSecondPerRank: rates,
            meanPerRank: busy.reduce(0, +) / Double(max(busy.count, 1)),
            aggregateNeighbourStepsPerSecond: wall > 0 ? steps.reduce(0, +) / wall : 0, wallSeconds: wall,
            rank0AloneNeighbourStepsPerSecond: try comm.broadcast([aloneRate])[0], rank0AloneQueries: alone,
            ratioToRooflinePerRank: ratios, ratioToRoofline: busyRatios.reduce(0, +) / Double(max(busyRatios.count, 1)))
        return (kernel, roof)
    }

    /// `sdeflow_roofline` at K on rank 0 alone, then on all ranks at once (best of 3 each).
    func roofline(_ comm: any Collective, _ log: Log) throws -> RooflineResult {
        let roof = RooflineWorkload(neighbors: neighbors)
        // Calibrate on rank 0: repeats for about 0.25 s; every rank uses the same count.
        var repeats = 0.0
        if comm.isRoot {
            _ = roof.run(repeats: 50)
            let t0 = monotonicSeconds()
            let r = roof.run(repeats: 500)
            let rate = r.elements / max(monotonicSeconds() - t0, 1e-9)
            repeats = max(100, (0.25 * rate / Double(roof.kPad)).rounded())
            blackHole(r.checksum)
        }
        let n = Int(try comm.broadcast([repeats])[0])
        func timed() -> Double {
            let t0 = monotonicSeconds()
            let r = roof.run(repeats: n)
            let s = monotonicSeconds() - t0
            blackHole(r.checksum)
            return r.elements / s
        }
        var alone = 0.0, all = 0.0
        for _ in 0..<3 {
            try onRootAlone(comm, expectedSeconds: 0.25) { alone = max(alone, timed()) }
        }
        for _ in 0..<3 {
            try comm.barrier()
            all = max(all, timed())
            try comm.barrier()
        }
        let perRank = try comm.allgatherv([all])
        let mean = perRank.reduce(0, +) / Double(perRank.count)
        let aloneAll = try comm.broadcast([alone])[0]
        return RooflineResult(
            kPad: roof.kPad, repeats: n, rank0AloneElementsPerSecond: aloneAll, allRanksPerRank: perRank,
            allRanksMeanPerRank: mean, allRanksAggregate: perRank.reduce(0, +),
            sharingFactor: aloneAll > 0 ? mean / aloneAll : 0)
    }

    // MARK: Neighbour search

    /// The label stage's own set-up (`LabelSetup`: normalisation, shard plan, distinct queries,
    /// shards) on Example 1 data, then the index build and the exact K-NN of this rank's queries
    /// timed on every rank at once, and the whole per-query labeler path.
    func neighbourSearch(_ comm: any Collective, _ log: Log) throws -> (NeighbourSearchResult, LabelerResult?) {
        let ex = SDEExample.brownianMotion
        let sim = exampleOneSettings(pairs: pairs)
        let paths = sim.pathsPerMu * ex.observedMu.count
        log.info("bench: K-NN, simulating \(paths * sim.stepsPerPath) pairs of Example 1 (exact transitions)")
        var t0 = monotonicSeconds()
        let part = Simulator.simulate(ex, settings: sim, observedMu: ex.observedMu,
                                      paths: batchSlice(batchSize: paths, rank: comm.rank, size: comm.size), seed: 1)
        let data = PairBlock(d: ex.d, dMu: ex.dMu, x: try comm.allgatherv(part.x), mu: try comm.allgatherv(part.mu),
                             y: try comm.allgatherv(part.y))
        let simulateSeconds = monotonicSeconds() - t0
        var settings = labelSettings
        settings.labels = queries
        let setup = try LabelSetup(comm, source: data, settings: settings, seed: 1, log: log)
        let norm = setup.normalisation, dims = norm.dims
        let shard = norm.points(x: setup.shard.x, mu: setup.shard.mu), q = norm.points(x: setup.queries.x, mu: setup.queries.mu)
        let mineCount = setup.queries.count

        try comm.barrier()
        t0 = monotonicSeconds()
        let index = NeighbourSearch.index(points: shard, dims: dims, plan: setup.plan)
        let build = monotonicSeconds() - t0
        try comm.barrier()
        if mineCount > 0 { blackHole(Double(search(index, Array(q.prefix(dims))))) }  // warm-up
        try comm.barrier()
        t0 = monotonicSeconds()
        let check = search(index, q)
        let searchSeconds = monotonicSeconds() - t0
        try comm.barrier()
        blackHole(Double(check))

        let builds = try comm.allgatherv([build]), searches = try comm.allgatherv([searchSeconds])
        let counts = try comm.allgatherv([Int64(mineCount)]).map(Int.init)
        let shards = try comm.allgatherv([Int64(setup.shard.count)]).map(Int.init)
        let perQuery = zip(searches, counts).map { $1 > 0 ? 1e6 * $0 / Double($1) : 0 }
        let busy = perQuery.filter { $0 > 0 }
        let wall = searches.max() ?? 0
        let labelerResult = skipped.contains("labeler") ? nil : try labeler(comm, log, setup.labeler(settings), setup.queries)
        let grid = (setup.plan as? GridShardPlan)?.geometry
        return (NeighbourSearchResult(
            pairs: data.count, neighbors: neighbors, gridShape: grid?.shape ?? [], cellSize: grid?.cellSize ?? 0,
            simulateSeconds: try comm.allreduce(simulateSeconds, .max), shardPairsPerRank: shards, buildSecondsPerRank: builds,
            buildSeconds: builds.max() ?? 0, queries: queries, queriesPerRank: counts,
            microsecondsPerQueryPerRank: perQuery,
            microsecondsPerQuery: busy.reduce(0, +) / Double(max(busy.count, 1)),
            aggregateQueriesPerSecond: wall > 0 ? Double(queries) / wall : 0, wallSeconds: wall), labelerResult)
    }

    /// Exact K-NN of every query (normalised, D values each) in the labeler's blocks; returns a
    /// checksum of the slots found.
    func search(_ index: any NeighbourIndex, _ queries: [Double]) -> Int {
        let dims = index.dims, m = queries.count / dims, block = 32
        var found = [Int32](repeating: 0, count: block * neighbors), sum = 0
        queries.withUnsafeBufferPointer { q in
            for start in stride(from: 0, to: m, by: block) {
                let count = min(block, m - start)
                found.withUnsafeMutableBufferPointer { index.nearest(q.baseAddress! + start * dims, count: count, k: neighbors, into: $0.baseAddress!) }
                sum &+= Int(found[0]) &+ Int(found[count * neighbors - 1])
            }
        }
        return sum
    }

    /// Example 1's label settings at this run's K and ODE steps.
    var labelSettings: LabelSettings {
        var s = Self.paperNumbers
        s.neighbors = neighbors; s.odeSteps = odeSteps
        return s
    }

    /// The issue's workload: Example 1 at the paper's numbers (50 000 labels, K 2000, 1000 ODE
    /// steps: 10¹¹ neighbour-steps), labelled with this tool's estimator and solver run onto the data.
    static var paperNumbers: LabelSettings {
        var s = SDEExample.brownianMotion.paperLabels
        s.estimator = SDEExample.brownianMotion.labels.estimator; s.solver = .exponential
        return s
    }

    /// `Labeler.label` on this rank's queries and shard: the label stage's whole per-query path.
    func labeler(_ comm: any Collective, _ log: Log, _ labeler: Labeler, _ queries: QueryBlock) throws -> LabelerResult {
        log.info("bench: labeler (K-NN + buffers + label ODE per query) on real data, \(queries) queries over \(comm.size) rank(s)")
        if queries.count > 0 { _ = labeler.label(queries.slice(0..<1)) }  // warm-up
        try comm.barrier()
        let t0 = monotonicSeconds()
        let r = labeler.label(queries)
        let local = monotonicSeconds() - t0
        try comm.barrier()
        blackHole(r.labels.reduce(0, +))
        let seconds = try comm.allgatherv([local]), counts = try comm.allgatherv([Int64(queries.count)]).map(Int.init)
        let perQuery = zip(seconds, counts).map { $1 > 0 ? 1e3 * $0 / Double($1) : 0 }
        let busy = perQuery.filter { $0 > 0 }
        let wall = seconds.max() ?? 0
        let aggregate = wall > 0 ? Double(counts.reduce(0, +)) / wall : 0
        let paper = SDEExample.brownianMotion.labels.labels
        return LabelerResult(
            neighbors: neighbors, odeSteps: odeSteps, queries: self.queries, queriesPerRank: counts,
            millisecondsPerQueryPerRank: perQuery, millisecondsPerQuery: busy.reduce(0, +) / Double(max(busy.count, 1)),
            aggregateQueriesPerSecond: aggregate,
            neighbourStepsPerSecond: aggregate * Double(neighbors) * Double(odeSteps), wallSeconds: wall,
            paperLabels: paper, projectedPaperLabelSeconds: aggregate > 0 ? Double(paper) / aggregate : 0)
    }
}
