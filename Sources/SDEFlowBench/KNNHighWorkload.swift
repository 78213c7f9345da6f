import Foundation
import SDEFlowCore

// MPI-free parts of the knn-high section: its data, the plain-sort reference of its exact check,
// and the FAISS subprocess. The driver (KNNHigh.swift) runs them on rank 0.

// MARK: - Data

/// `count` × `dims` coordinates uniform in [0, 1], row-major, each rounded to float32 and held as
/// Double: the values written to points.npy for FAISS are then exactly the ones `BruteForceIndex`
/// searches. Coordinate i of row j is a pure function of (seed, j, i) — the same for any D ≥ i.
public func uniformCube(count: Int, dims: Int, seed: UInt64) -> [Double] {
    precondition(count >= 0 && dims >= 1)
    let rng = CounterRNG(seed: seed)
    var out = [Double](repeating: 0, count: count * dims)
    out.withUnsafeMutableBufferPointer { p in
        for j in 0..<count {
            var i = 0
            while i < dims {
                // One Philox block: four coordinates of row j.
                let b = rng.block(.initialState, id: UInt64(j), index: 0, lane: UInt32(i / 4))
                for l in 0..<min(4, dims - i) {
                    let w = l == 0 ? b.0 : l == 1 ? b.1 : l == 2 ? b.2 : b.3
                    p[j * dims + i + l] = Double(Float(CounterRNG.unit(w)))
                }
                i += 4
            }
        }
    }
    return out
}

/// The rows the queries are taken from: `queries` distinct rows of 0..<count, ascending.
public func queryRows(count: Int, queries: Int, seed: UInt64) -> [Int] {
    CounterRNG(seed: seed).distinctIndices(queries, below: count, .queryChoice)
}

/// The rows `rows` of a row-major `dims`-wide array, concatenated.
public func gatherRows(_ points: [Double], dims: Int, _ rows: [Int]) -> [Double] {
    rows.flatMap { points[($0 * dims)..<(($0 + 1) * dims)] }
}

// MARK: - Reference distances

/// Exact squared distance |p_row − q|² in Double, summed over coordinates in order (one
/// definition for both sides of the exact check, so equal sets give bitwise equal results).
public func squaredDistance(_ points: UnsafeBufferPointer<Double>, dims: Int, row: Int, _ q: UnsafeBufferPointer<Double>) -> Double {
    var s = 0.0
    for i in 0..<dims { let t = points[row * dims + i] - q[i]; s += t * t }
    return s
}

/// The K-th smallest exact squared distance from `query` (dims values) to the points, for each K
/// of `ks` (each 1 ≤ K ≤ count), by a plain sort of all of them: the reference a K-NN's K-th
/// neighbour must match. O(N D + N log N).
public func kthSmallestSquaredDistances(_ points: [Double], dims: Int, query: [Double], ks: [Int]) -> [Double] {
    let n = points.count / dims
    precondition(query.count == dims && ks.allSatisfy { $0 >= 1 && $0 <= n })
    var all = [Double](repeating: 0, count: n)
    points.withUnsafeBufferPointer { p in
        query.withUnsafeBufferPointer { q in
            for j in 0..<n { all[j] = squaredDistance(p, dims: dims, row: j, q) }
        }
    }
    all.sort()
    return ks.map { all[$0 - 1] }
}

/// The largest exact squared distance from `query` to the points of `rows` (a K-NN result:
/// its K-th neighbour's distance, whatever the order of the rows).
public func largestSquaredDistance(_ points: [Double], dims: Int, query: ArraySlice<Double>, rows: ArraySlice<Int32>) -> Double {
    let q = Array(query)
    return points.withUnsafeBufferPointer { p in
        q.withUnsafeBufferPointer { qp in rows.reduce(0.0) { max($0, squaredDistance(p, dims: dims, row: Int($1), qp)) } }
    }
}

/// Whether FAISS's K-th squared distance `faiss` (float32: |q|² + |p|² − 2 q·p) agrees with the
/// exact `exact`: within 1e-4 relative, plus 1e-6·D absolute for the float rounding of |q|² + |p|²
/// (≈ 2D/3 on [0, 1]^D), which a small distance cannot absorb.
public func faissAgrees(exact: Double, faiss: Double, dims: Int) -> Bool {
    abs(exact - faiss) <= 1e-4 * max(abs(exact), abs(faiss)) + 1e-6 * Double(dims)
}

/// The median (mean of the middle two for an even count); 0 for no values.
public func median(_ values: [Double]) -> Double {
    let s = values.sorted(), n = s.count
    if n == 0 { return 0 }
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

// MARK: - FAISS

/// One run of `knn_faiss.py --json`: its timing and the K-th squared distances of the first
/// queries (float32 values, as FAISS computes them).
public struct FAISSSearch: Decodable, Equatable {
    public var msPerQuery: Double
    public var kthDistance2: [Double]
    public var faissVersion: String

    enum CodingKeys: String, CodingKey {
        case msPerQuery = "ms_per_query", kthDistance2 = "kth_distance2", faissVersion = "faiss_version"
    }

    /// The last line of `output` that is a JSON object (the script may print warnings before it).
    public static func parse(_ output: String) throws -> FAISSSearch {
        for line in output.split(separator: "\n").reversed() where line.hasPrefix("{") {
            if let r = try? JSONDecoder().decode(FAISSSearch.self, from: Data(line.utf8)), r.msPerQuery > 0 { return r }
        }
        throw SDEFlowError(.option("--faiss-python"), "knn_faiss.py printed no result line; its output:\n\(output)")
    }
}

/// Runs the FAISS script with `python` on one thread (OpenMP, OpenBLAS and MKL pinned to 1 in the
/// child's environment, as the script pins FAISS's own OpenMP).
public struct FAISSRunner {
    public let python: String
    public let script: String

    public init(python: String, script: String) { self.python = python; self.script = script }

    /// faiss's version; throws with the interpreter's message when faiss or numpy does not import.
    public func version() throws -> String {
        let (status, out) = try runProcess(python, ["-c", "import faiss, numpy; print(faiss.__version__)"], environment: Self.oneThread)
        guard status == 0, let line = out.split(separator: "\n").last else {
            throw SDEFlowError(.option("--faiss-python"), "\(python) cannot import faiss and numpy (pip install faiss-cpu numpy):\n\(out)")
        }
        return String(line)
    }

    /// IndexFlatL2 over `dir`/points.npy searching `dir`/queries.npy for `k` neighbours.
    public func search(dir: String, k: Int, check: Int) throws -> FAISSSearch {
        let args = [script, "--load", dir, "--k", String(k), "--json", "--check", String(check)]
        let (status, out) = try runProcess(python, args, environment: Self.oneThread)
        guard status == 0 else {
            throw SDEFlowError(.option("--faiss-python"), "`\(python) \(args.joined(separator: " "))` exited \(status):\n\(out)")
        }
        return try FAISSSearch.parse(out)
    }

    static let oneThread = ["OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"]
}

/// Runs `executable` with `arguments` (this environment plus `environment`) and waits; returns
/// its status and stdout + stderr as one text (one pipe, read to the end before waiting, so a
/// chatty child cannot block on a full pipe).
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    p.standardOutput = pipe; p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
