import Foundation
import SDEFlowCore
import SDEFlowMPI

#if canImport(Glibc)
import Glibc
#endif

/// The knn-high section of `bench`: exact K-NN beyond the grid's dimensions (`BruteForceIndex`)
/// against FAISS `IndexFlatL2`, both on one thread, on the same float32 data, timed in alternating
/// rounds of one run (this kind of VM drifts by 20 % and more within minutes, so only figures
/// taken side by side compare). All the work is on rank 0; the other ranks only take part in one
/// collective per step (Open MPI busy-polls there, which costs a core): run the section on one
/// rank, as benchmarks/knn-vs-faiss.sh does.
extension Bench {
    func knnHigh(_ comm: any Collective, _ log: Log, _ s: KNNHighSettings) throws -> KNNHighResult? {
        let runner = s.faissPython.map { FAISSRunner(python: $0, script: s.faissScript ?? KNNHighOptions.defaultScript) }
        let version = try comm.onRoot { try runner?.version() } ?? nil
        if comm.isRoot {
            print("knn-high: exact K-NN, BruteForceIndex vs "
                  + (version.map { "FAISS \($0) IndexFlatL2" } ?? "nothing (FAISS not run: no --faiss-python)")
                  + ", one thread each, rank 0 alone, \(s.rounds) alternating round(s) per (D, K)")
            fflush(nil)
        }
        let dir = try comm.onRoot { try makeWorkFolder("sdeflow-knn-high") }
        defer { if let dir { try? FileManager.default.removeItem(atPath: dir) } }
        var result = KNNHighResult(settings: s, faissVersion: version, faissRun: version != nil, dims: [])
        for d in s.dims {
            let data = try comm.onRoot { try KNNHighData(dims: d, settings: s, dir: dir!, log: log) }
            if let data { print(data.summary); fflush(nil) }
            var tables: [KNNHighTable] = []
            for k in s.ks {
                if let t = try knnHighTable(comm, data, k: k, runner: runner, dir: dir, settings: s) {
                    print(t.summary); fflush(nil)  // a table as soon as it is done: a full run takes minutes
                    tables.append(t)
                }
            }
            if let data {
                result.dims.append(KNNHighDims(dims: d, generateSeconds: data.generateSeconds, writeSeconds: data.writeSeconds,
                                               buildSeconds: data.buildSeconds, tables: tables))
            }
        }
        return comm.isRoot ? result : nil
    }

    /// One (D, K) on rank 0: the warm-up search that also gives the checked queries' K-th
    /// distances, then `rounds` × (Swift search of every query, FAISS run); nil on other ranks.
    func knnHighTable(_ comm: any Collective, _ data: KNNHighData?, k: Int, runner: FAISSRunner?, dir: String?,
                      settings s: KNNHighSettings) throws -> KNNHighTable? {
        let load = loadAverage()
        let kth = try comm.onRoot { data!.kthDistances(k: k, count: s.checkedQueries) }
        var swift: [Double] = [], faiss: [FAISSSearch] = []
        for _ in 0..<s.rounds {
            _ = try comm.onRoot {
                swift.append(data!.timeSwift(k: k))
                if let runner { faiss.append(try runner.search(dir: dir!, k: k, check: s.checkedQueries)) }
            }
        }
        guard let data, let kth else { return nil }
        var t = KNNHighTable(dims: data.dims, k: k, points: s.points, queries: s.queries, loadAverage: load,
                             swiftMsPerQuery: swift, swiftMedianMs: median(swift), swiftKthDistance2: kth,
                             exactCheckPassed: kth[0] == data.reference[k])
        if !faiss.isEmpty {
            let f = faiss.map(\.msPerQuery), theirs = faiss[0].kthDistance2
            let ratios = zip(f, swift).map { $0 / $1 }
            t.faissMsPerQuery = f; t.faissMedianMs = median(f); t.ratios = ratios; t.medianRatio = median(ratios)
            t.faissKthDistance2 = theirs
            t.faissCheckPassed = theirs.count == kth.count
                && zip(kth, theirs).allSatisfy { faissAgrees(exact: $0, faiss: $1, dims: data.dims) }
            t.faissCheckMaxRelativeDifference = zip(kth, theirs).map { abs($0 - $1) / max($0, 1e-300) }.max() ?? 0
        }
        return t
    }

    /// A fresh folder for the section's files under --work-dir or the system temp folder.
    func makeWorkFolder(_ prefix: String) throws -> String {
        let base = workDir ?? FileManager.default.temporaryDirectory.path
        let dir = filePath(base, "\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// One D's data on rank 0: N uniform points (float32 values held as Double), the queries (rows
/// of the points, dims values each), their .npy files for FAISS, the index over the points and
/// query 0's K-th distances by a plain sort (the exact check's reference).
final class KNNHighData {
    let dims: Int
    let points: [Double]
    let queries: [Double]
    let index: BruteForceIndex
    let generateSeconds: Double, writeSeconds: Double, buildSeconds: Double
    /// Query 0's K-th smallest exact squared distance, for each K of the settings.
    let reference: [Int: Double]

    init(dims: Int, settings s: KNNHighSettings, dir: String, log: Log) throws {
        log.info("bench: knn-high, D = \(dims): generating \(s.points) points and \(s.queries) queries")
        var t0 = monotonicSeconds()
        self.dims = dims
        points = uniformCube(count: s.points, dims: dims, seed: 1)
        queries = gatherRows(points, dims: dims, queryRows(count: s.points, queries: s.queries, seed: 2))
        generateSeconds = monotonicSeconds() - t0
        t0 = monotonicSeconds()
        try NPY.write(filePath(dir, "points.npy"), points, shape: [s.points, dims], dtype: .float32)
        try NPY.write(filePath(dir, "queries.npy"), queries, shape: [s.queries, dims], dtype: .float32)
        writeSeconds = monotonicSeconds() - t0
        t0 = monotonicSeconds()
        index = BruteForceIndex(points: points, dims: dims)
        buildSeconds = monotonicSeconds() - t0
        let sorted = kthSmallestSquaredDistances(points, dims: dims, query: Array(queries.prefix(dims)), ks: s.ks)
        reference = Dictionary(uniqueKeysWithValues: zip(s.ks, sorted))
    }

    /// The K nearest of the first `count` queries (the rounds' warm-up too: pages, caches, clock)
    /// and each one's K-th neighbour squared distance, exact.
    func kthDistances(k: Int, count: Int) -> [Double] {
        var found = [Int32](repeating: 0, count: count * k)
        search(k: k, count: count, into: &found)
        return (0..<count).map { j in
            largestSquaredDistance(points, dims: dims, query: queries[(j * dims)..<((j + 1) * dims)], rows: found[(j * k)..<((j + 1) * k)])
        }
    }

    /// One timed search of every query for K neighbours in one call (as FAISS searches its batch):
    /// milliseconds per query.
    func timeSwift(k: Int) -> Double {
        let m = queries.count / dims
        var found = [Int32](repeating: 0, count: m * k)
        let t0 = monotonicSeconds()
        search(k: k, count: m, into: &found)
        let seconds = monotonicSeconds() - t0
        blackHole(Double(found[0]) + Double(found[found.count - 1]))
        return 1e3 * seconds / Double(m)
    }

    /// `nearest` of the first `count` queries into `found`: count × K point indices, each query's ascending.
    private func search(k: Int, count: Int, into found: inout [Int32]) {
        precondition(found.count >= count * k)
        queries.withUnsafeBufferPointer { q in
            found.withUnsafeMutableBufferPointer { index.nearest(q.baseAddress!, count: count, k: k, into: $0.baseAddress!) }
        }
    }

    var summary: String {
        String(format: "knn-high D = %d: %d uniform points in [0, 1]^D (float32), %d queries from them; generated %.2f s, .npy written %.2f s, BruteForceIndex built %.3f s",
               dims, index.count, queries.count / dims, generateSeconds, writeSeconds, buildSeconds)
    }
}
