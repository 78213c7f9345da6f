import ArgumentParser
import Foundation
import SDEFlowCore

/// The options of `bench`'s knn-high section: exact K-NN at high dimension (`BruteForceIndex`)
/// timed next to FAISS `IndexFlatL2` on the same data, in alternating rounds. The section is long
/// (N = 10⁶ points per D by default), so it runs only when `--knn-dims` is given. Its numeric
/// options parse negative values, so `--knn-dims -1` is refused with the range, not "Missing value".
public struct KNNHighOptions: ParsableArguments {
    public init() {}

    @Option(parsing: .unconditional, help: "knn-high: dimensions D, comma-separated (e.g. 11,21,51). The section runs only when this is given (and knn-high is not in --skip).")
    var knnDims: String?
    @Option(integer: "--knn-points", help: "knn-high: points N per D, uniform in [0, 1]^D, float32 values (default 1000000).")
    var knnPoints: Int?
    @Option(parsing: .unconditional, help: "knn-high: K values, comma-separated, each ≤ --knn-points (default 2000,20000).")
    var knnKs: String?
    @Option(integer: "--knn-queries", help: "knn-high: queries per round, distinct rows of the points, searched in one call by each side (default 32).")
    var knnQueries: Int?
    @Option(integer: "--rounds", help: "knn-high: timed rounds per (D, K), each Swift then FAISS (default 3).")
    var rounds: Int?
    @Option(help: "knn-high: a python with faiss-cpu and numpy; FAISS IndexFlatL2 is timed with it on one thread in the same rounds. Without it only Swift is timed and the output says FAISS was not run.")
    var faissPython: String?
    @Option(help: "knn-high: the FAISS script (default benchmarks/knn_faiss.py under the current folder).")
    var faissScript: String?

    static let defaultPoints = 1_000_000
    static let defaultKs = [2000, 20_000]
    static let defaultQueries = 32
    static let defaultRounds = 3
    static let defaultScript = "benchmarks/knn_faiss.py"

    public func validate() throws {
        if let s = try settings() { try s.checkMemory() }
    }

    /// The section's settings, nil when it was not asked for (no `--knn-dims`). Throws when an
    /// option is out of range, or is given without `--knn-dims` (it would silently do nothing).
    func settings() throws -> KNNHighSettings? {
        guard let knnDims else {
            let given = [("--knn-points", knnPoints != nil), ("--knn-ks", knnKs != nil), ("--knn-queries", knnQueries != nil),
                         ("--rounds", rounds != nil), ("--faiss-python", faissPython != nil), ("--faiss-script", faissScript != nil)]
                .filter(\.1).map(\.0)
            guard given.isEmpty else {
                throw ValidationError("\(given.joined(separator: ", ")) \(given.count == 1 ? "applies" : "apply") only to the knn-high section, which runs only with --knn-dims")
            }
            return nil
        }
        let s = KNNHighSettings(
            dims: try parsePositiveList(knnDims, option: "--knn-dims"), points: knnPoints ?? Self.defaultPoints,
            ks: try knnKs.map { try parsePositiveList($0, option: "--knn-ks") } ?? Self.defaultKs,
            queries: knnQueries ?? Self.defaultQueries, rounds: rounds ?? Self.defaultRounds,
            faissPython: faissPython, faissScript: faissPython == nil ? nil : (faissScript ?? Self.defaultScript))
        try s.check()
        return s
    }
}

/// What the knn-high section runs (resolved options; also written to the JSON report).
struct KNNHighSettings: Encodable, Equatable {
    var dims: [Int]
    var points: Int
    var ks: [Int]
    var queries: Int
    var rounds: Int
    /// nil: FAISS is not run.
    var faissPython: String?
    var faissScript: String?

    /// The first queries whose K-th neighbour distance Swift and FAISS must agree on (and the
    /// first of which is also checked against a plain sort of every exact distance).
    var checkedQueries: Int { min(4, queries) }
    /// Largest D: far beyond any use, and keeps the generator's counter lanes (D / 4) distinct.
    static let maxDims = 1 << 20

    /// Ranges of every value, and the FAISS files' presence (before any work is done).
    func check() throws {
        guard points >= 1, points < Int(Int32.max) else {
            throw ValidationError("--knn-points must be in [1, \(Int32.max - 1)] (BruteForceIndex's limit), not \(points)")
        }
        guard queries >= 1, queries <= points else {
            throw ValidationError("--knn-queries must be in [1, --knn-points = \(points)] (distinct rows of the points), not \(queries)")
        }
        if let d = dims.first(where: { $0 > Self.maxDims }) {
            throw ValidationError("--knn-dims: D = \(d) exceeds \(Self.maxDims)")
        }
        guard rounds >= 1 else { throw ValidationError("--rounds must be positive, not \(rounds)") }
        if let big = ks.first(where: { $0 > points }) {
            throw ValidationError("--knn-ks: K = \(big) exceeds --knn-points = \(points)")
        }
        try checkFAISSFiles()
    }

    private func checkFAISSFiles() throws {
        guard let faissPython else { return }
        guard FileManager.default.isExecutableFile(atPath: faissPython) else {
            throw ValidationError("--faiss-python \(faissPython) is not an executable file (e.g. a venv's bin/python with faiss-cpu and numpy)")
        }
        if let script = faissScript, !FileManager.default.fileExists(atPath: script) {
            throw ValidationError("--faiss-script: \(script) not found (run from the repository's root, or give its path)")
        }
    }

    /// Bytes rank 0 holds at the largest D and K: the points as Double (what the index takes),
    /// the index's packed float copy and scratch, the neighbours found (queries × K Int32) and the
    /// sorted distances of the exact check (N Double); with FAISS, its process's points and index
    /// (2 × N·D float32) and its results (queries × K × 12 bytes). Nil if the count overflows.
    var bytesNeeded: Int? {
        let d = dims.max() ?? 1, k = ks.max() ?? 1
        guard let points8 = Limits.product(points, d, 8), Limits.product(points, d + 1, 64) != nil,
              let found = Limits.product(queries, k, 4), let faiss = Limits.product(points, d, 8),
              let results = Limits.product(queries, k, 12) else { return nil }
        let index = BruteForceIndex.bytesNeeded(count: points, dims: d, k: k)
        let total = [points8, index, found, points * 8] + (faissPython == nil ? [] : [faiss, results])
        let (sum, overflow) = total.reduce((0, false)) { acc, v in
            let (s, o) = acc.0.addingReportingOverflow(v)
            return (s, acc.1 || o)
        }
        return overflow ? nil : sum
    }

    /// Refuses sizes that would not fit in the node's memory (rank 0 alone does the work).
    func checkMemory() throws {
        try Limits.checkMemory(bytes: bytesNeeded ?? Int.max, what: "the knn-high section at D = \(dims.max() ?? 0), K = \(ks.max() ?? 0)",
                               fix: "lower --knn-points or the largest of --knn-dims / --knn-ks", location: .option("--knn-points"), ranks: 1)
    }
}

/// A comma-separated list of positive integers ("11, 21,51"), in the order given; throws a
/// ValidationError naming `option` on an empty list, a non-integer, a value < 1 or a repeat.
func parsePositiveList(_ text: String, option: String) throws -> [Int] {
    let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    var values: [Int] = []
    for item in items {
        guard let v = Int(item), v >= 1 else {
            throw ValidationError("\(option): '\(item)' is not a positive integer (expected a comma-separated list such as 11,21,51)")
        }
        guard !values.contains(v) else { throw ValidationError("\(option): \(v) is given twice") }
        values.append(v)
    }
    return values
}
