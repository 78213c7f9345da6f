import Foundation
import SDEFlowCore

/// What `bench` prints and writes as JSON: one value per section.
// MARK: - Report

struct BenchReport: Encodable {
    var version = 1
    var date: String
    var command: String
    var machine: MachineReport
    var settings: BenchSettings
    var labelKernel: LabelKernelResult?
    var roofline: RooflineResult?
    var neighbourSearch: NeighbourSearchResult?
    var knnHigh: KNNHighResult?
    var training: [TrainingResult]?
    var labeler: LabelerResult?
    var projection: LabelProjection?
    var memory: MemoryResult?
    var endToEnd: EndToEndResult?
    var seconds = 0.0

    init(date: String, command: String, machine: MachineReport, settings: BenchSettings) {
        self.date = date; self.command = command; self.machine = machine; self.settings = settings
    }
}

struct BenchSettings: Encodable {
    var pairs: Int, neighbors: Int, odeSteps: Int, queries: Int, epochsToTime: Int, trainRows: Int, batchSize: Int
    var skipped: [String], endToEnd: Bool, quick: Bool
    /// nil: the knn-high section did not run (no --knn-dims, or skipped).
    var knnHigh: KNNHighSettings?
}

struct MachineReport: Encodable {
    var hostname: String
    var nproc: Int
    var cpuModel: String
    var vectorIsa: String
    var ranks: Int
    var nodes: Int
    var maxRanksPerNode: Int
    /// More ranks than online CPUs on some node.
    var oversubscribed: Bool
    var hostnames: [String]
    var cpusAllowed: [String]
    var openblasNumThreads: String
    var loadAverage: [Double]

    var summary: String {
        "sdeflow-mpi bench: \(ranks) rank(s) on \(nodes) node(s); \(hostname): \(cpuModel), \(nproc) CPUs, \(vectorIsa)"
            + (oversubscribed ? "  [OVERSUBSCRIBED: more ranks than CPUs]" : "")
            + String(format: "; load %@", loadAverage.map { String(format: "%.2f", $0) }.joined(separator: " "))
    }
}

struct LabelKernelResult: Encodable {
    var neighbors: Int, kPad: Int, odeSteps: Int, d: Int, queries: Int
    var queriesPerRank: [Int]
    var secondsPerRank: [Double]
    var neighbourStepsPerSecondPerRank: [Double]
    var meanPerRank: Double
    var aggregateNeighbourStepsPerSecond: Double
    var wallSeconds: Double
    var rank0AloneNeighbourStepsPerSecond: Double
    var rank0AloneQueries: Int
    var ratioToRooflinePerRank: [Double]
    var ratioToRoofline: Double

    func summary(_ roof: RooflineResult) -> String {
        func list(_ v: [Double]) -> String { v.map { String(format: "%.3g", $0) }.joined(separator: " ") }
        return """
            label kernel (K = \(neighbors), \(odeSteps) ODE steps, d = \(d), \(queries) queries), neighbour-steps/s:
              per rank, all at once  \(list(neighbourStepsPerSecondPerRank))  (mean \(String(format: "%.3g", meanPerRank)))
              aggregate              \(String(format: "%.3g", aggregateNeighbourStepsPerSecond))  (\(String(format: "%.2f", wallSeconds)) s wall)
              rank 0 alone           \(String(format: "%.3g", rank0AloneNeighbourStepsPerSecond))
            roofline (one exp + FMAs per element, K_pad = \(roof.kPad)), elements/s:
              rank 0 alone           \(String(format: "%.3g", roof.rank0AloneElementsPerSecond))
              per rank, all at once  \(list(roof.allRanksPerRank))  (sharing factor \(String(format: "%.2f", roof.sharingFactor)): 1 = own FP units, 1/ranks = shared)
              label kernel / roofline \(String(format: "%.1f %%", 100 * ratioToRoofline))
            """
    }
}

struct RooflineResult: Encodable {
    var kPad: Int, repeats: Int
    var rank0AloneElementsPerSecond: Double
    var allRanksPerRank: [Double]
    var allRanksMeanPerRank: Double
    var allRanksAggregate: Double
    /// Mean per-rank rate with all ranks running over rank 0's rate alone.
    var sharingFactor: Double
}

struct NeighbourSearchResult: Encodable {
    var pairs: Int, neighbors: Int
    var gridShape: [Int]
    var cellSize: Double
    var simulateSeconds: Double
    /// Pairs each rank indexes: its query cells plus the halo (as in the label stage).
    var shardPairsPerRank: [Int]
    var buildSecondsPerRank: [Double]
    var buildSeconds: Double
    var queries: Int
    var queriesPerRank: [Int]
    var microsecondsPerQueryPerRank: [Double]
    var microsecondsPerQuery: Double
    var aggregateQueriesPerSecond: Double
    var wallSeconds: Double

    var summary: String {
        """
        neighbour search (\(pairs) pairs of Example 1, grid \(gridShape.map(String.init).joined(separator: "×")), K = \(neighbors)):
          shard per rank (query cells + halo) \(shardPairsPerRank.map(String.init).joined(separator: " ")) pairs
          grid build (NearestNeighbours init over the shard, slowest rank) \(String(format: "%.3f", buildSeconds)) s
          exact K-NN  \(microsecondsPerQueryPerRank.map { String(format: "%.1f", $0) }.joined(separator: " ")) µs/query per rank (mean \(String(format: "%.1f", microsecondsPerQuery))), aggregate \(String(format: "%.0f", aggregateQueriesPerSecond)) queries/s
        """
    }
}

struct LabelerResult: Encodable {
    var neighbors: Int, odeSteps: Int, queries: Int
    var queriesPerRank: [Int]
    var millisecondsPerQueryPerRank: [Double]
    var millisecondsPerQuery: Double
    var aggregateQueriesPerSecond: Double
    var neighbourStepsPerSecond: Double
    var wallSeconds: Double
    var paperLabels: Int
    /// paperLabels / aggregate rate: the label loop of the stage at the paper's label count
    /// (without reading data, sharding and gathering).
    var projectedPaperLabelSeconds: Double

    var summary: String {
        """
        labeler (Labeler.label on the shard: K-NN + buffers + label ODE, K = \(neighbors), \(odeSteps) ODE steps):
          \(millisecondsPerQueryPerRank.map { String(format: "%.2f", $0) }.joined(separator: " ")) ms/query per rank, aggregate \(String(format: "%.0f", aggregateQueriesPerSecond)) labels/s (\(String(format: "%.3g", neighbourStepsPerSecond)) neighbour-steps/s); \(paperLabels) labels would take \(String(format: "%.1f", projectedPaperLabelSeconds)) s
        """
    }
}

/// The label stage at the paper's label count, from this run's kernel and K-NN rates (at this
/// run's K and ODE steps; buffer filling, data exchange and gathering not included).
struct LabelProjection: Encodable {
    var labels: Int, neighbors: Int, odeSteps: Int
    var kernelSeconds: Double
    var neighbourSearchSeconds: Double
    var labelStageSeconds: Double

    init(_ k: LabelKernelResult, _ n: NeighbourSearchResult, labels: Int) {
        self.labels = labels; neighbors = k.neighbors; odeSteps = k.odeSteps
        kernelSeconds = Double(labels) * Double(k.neighbors) * Double(k.odeSteps) / max(k.aggregateNeighbourStepsPerSecond, 1e-9)
        neighbourSearchSeconds = Double(labels) / max(n.aggregateQueriesPerSecond, 1e-9)
        labelStageSeconds = kernelSeconds + neighbourSearchSeconds
    }

    var summary: String {
        String(format: "projected label stage for %d labels (K = %d, %d ODE steps) at these rates: kernel %.1f s + K-NN %.1f s = %.1f s",
               labels, neighbors, odeSteps, kernelSeconds, neighbourSearchSeconds, labelStageSeconds)
    }
}

struct TrainingResult: Encodable {
    var name: String
    var input: Int, hidden: [Int], output: Int, parameters: Int
    var batchSize: Int, rows: Int, epochs: Int, stepsPerEpoch: Int
    var secondsPerEpoch: Double
    var samplesPerSecond: Double
    var secondsPerStep: Double
    var allreduceSecondsPerStepPerRank: [Double]
    var allreduceSecondsPerStep: Double
    var allreduceFraction: Double
    /// One allreduce of the same buffer in a tight loop after a barrier (the rest of the in-step
    /// figure is waiting for the slowest rank).
    var allreduceIsolatedSeconds: Double
    var finalBatchLoss: Double

    static func summary(_ rows: [TrainingResult]) -> String {
        var s = "training (data-parallel steps, \(rows.first?.rows ?? 0) rows/epoch, global batch \(rows.first?.batchSize ?? 0)):\n"
        for r in rows {
            s += String(format: "  %@ (%d→%@→%d, %d params)  %.0f samples/s, %.3f s/epoch, %.2f ms/step of which allreduce %.2f ms (%.0f %%; %.3f ms isolated)\n",
                        r.name, r.input, r.hidden.map(String.init).joined(separator: "→"), r.output, r.parameters,
                        r.samplesPerSecond, r.secondsPerEpoch, 1e3 * r.secondsPerStep, 1e3 * r.allreduceSecondsPerStep,
                        100 * r.allreduceFraction, 1e3 * r.allreduceIsolatedSeconds)
        }
        return String(s.dropLast())
    }
}

struct MemoryResult: Encodable {
    var after: String
    var peakMibPerRank: [Double]
    var maxPeakMib: Double
    var totalPeakMib: Double

    var summary: String {
        "peak resident memory after \(after): " + peakMibPerRank.map { String(format: "%.0f", $0) }.joined(separator: " ")
            + String(format: " MiB per rank (max %.0f, total %.0f)", maxPeakMib, totalPeakMib)
    }
}

struct EndToEndResult: Encodable {
    var settings: String
    var pairs: Int, labels: Int, neighbors: Int, odeSteps: Int, epochs: Int
    var stageSeconds: [String: Double]
    var totalSeconds: Double
    var labelNeighbourStepsPerSecond: Double
    /// Bytes of trajectory pairs (x, μ, y as float64) in each rank's label shard.
    var shardBytesPerRank: [Int64]
    var datasetBytes: Int64
    var maxMeanError: Double
    var maxVarianceRelativeError: Double
    var peakMibPerRank: [Double]

    var summary: String {
        let order = ["simulate", "label", "train", "evaluate"]
        return """
            end to end (run --example bm, \(settings) settings: \(pairs) pairs, \(labels) labels, K = \(neighbors), \(odeSteps) ODE steps, \(epochs) epochs):
              \(order.map { "\($0) " + String(format: "%.1f s", stageSeconds[$0] ?? 0) }.joined(separator: ", ")); total \(String(format: "%.1f", totalSeconds)) s
              label stage \(String(format: "%.3g", labelNeighbourStepsPerSecond)) neighbour-steps/s over all ranks
              shard per rank \(shardBytesPerRank.map { String(format: "%.1f", Double($0) / 1_048_576) }.joined(separator: " ")) MiB of \(String(format: "%.1f", Double(datasetBytes) / 1_048_576)) MiB
              accuracy: max mean error \(String(format: "%.4f", maxMeanError)), max variance rel. error \(String(format: "%.2f %%", 100 * maxVarianceRelativeError))
            """
    }
}

// MARK: - knn-high

/// The knn-high section: exact K-NN at high D, `BruteForceIndex` and FAISS `IndexFlatL2` on the
/// same float32 data, one thread each on rank 0, in alternating rounds.
struct KNNHighResult: Encodable {
    var settings: KNNHighSettings
    /// faiss's version; nil: FAISS was not run (no --faiss-python).
    var faissVersion: String?
    var faissRun: Bool
    var dims: [KNNHighDims]

    /// Every exact check and every FAISS check (where run) passed.
    var checksPassed: Bool {
        dims.allSatisfy { $0.tables.allSatisfy { $0.exactCheckPassed && $0.faissCheckPassed != false } }
    }
}

/// One D: the data's cost in seconds (generation, writing the .npy files, the index build) and
/// one table per K.
struct KNNHighDims: Encodable {
    var dims: Int
    var generateSeconds: Double, writeSeconds: Double
    /// `BruteForceIndex.init` over the N points (their mean and packed float copy).
    var buildSeconds: Double
    var tables: [KNNHighTable]
}

/// One (D, K): per round the milliseconds per query of each side (each searches all queries in
/// one call) and their ratio, and the correctness checks.
struct KNNHighTable: Encodable {
    var dims: Int, k: Int, points: Int, queries: Int
    /// /proc/loadavg when the (D, K) started: the machine is shared, read the times with it.
    var loadAverage: [Double]
    var swiftMsPerQuery: [Double]
    var swiftMedianMs: Double
    /// The checked queries' K-th neighbour squared distance (normalised units²): Swift's exact
    /// Double value, FAISS's float32 one.
    var swiftKthDistance2: [Double]
    /// Query 0's K-th distance from the index equals the plain sort of its N exact distances.
    var exactCheckPassed: Bool
    /// nil below here: FAISS was not run.
    var faissMsPerQuery: [Double]? = nil
    var faissMedianMs: Double? = nil
    /// FAISS ms / Swift ms per round (> 1: Swift is faster), and their median.
    var ratios: [Double]? = nil
    var medianRatio: Double? = nil
    var faissKthDistance2: [Double]? = nil
    /// Every checked query's K-th distance agrees within `faissAgrees`'s float32 tolerance.
    var faissCheckPassed: Bool? = nil
    var faissCheckMaxRelativeDifference: Double? = nil

    var summary: String {
        var s = "knn-high D = \(dims), K = \(k) (N = \(points), \(queries) queries per round; load "
            + loadAverage.map { String(format: "%.2f", $0) }.joined(separator: " ") + "):\n"
            + "  round  Swift ms/query  FAISS ms/query  FAISS/Swift\n"
        for (r, ms) in swiftMsPerQuery.enumerated() {
            s += String(format: "  %5d  %14.3f", r + 1, ms)
            if let f = faissMsPerQuery, let q = ratios { s += String(format: "  %14.3f  %10.2f×\n", f[r], q[r]) }
            else { s += "       (not run)            -\n" }
        }
        s += String(format: "  median Swift %.3f ms/query", swiftMedianMs)
        if let f = faissMedianMs, let r = medianRatio { s += String(format: ", FAISS %.3f ms/query; median ratio %.2f×", f, r) }
        else { s += "; FAISS not run (no --faiss-python)" }
        s += "\n  check: query 0's K-th distance " + (exactCheckPassed ? "equals" : "DIFFERS FROM") + " the plain sort of its exact distances"
        if let ok = faissCheckPassed {
            s += String(format: "; %d queries' K-th distance ", swiftKthDistance2.count) + (ok ? "agrees" : "DISAGREES")
                + String(format: " with FAISS (max rel. difference %.1e)", faissCheckMaxRelativeDifference ?? 0)
        }
        return s
    }
}
