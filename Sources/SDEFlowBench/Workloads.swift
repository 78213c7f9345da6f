import CKernels
import Foundation
import SDEFlowCore

#if canImport(Glibc)
import Glibc
#endif
// MPI-free workloads of `sdeflow-mpi bench`: each builds realistic inputs once, then runs the
// timed part with nothing else in the loop. The MPI driver (Sources/sdeflow-mpi/Bench.swift)
// runs them on all ranks between barriers and reduces the timings.

/// Per-query buffers for `sdeflow_label_ode` as `Labeler` fills them (float32, component-major,
/// K padded to 16), for the queries with global ids `queries`: scaled displacements
/// c·(y − x) ~ N(0, 0.9) (variance 0.9 = c²·Δt, Example 1's), |Δ|², log kernel weights of
/// neighbours within the K-NN radius, and z ~ N(0, I). Values depend on the query id only.
public struct LabelKernelWorkload {
    public let d: Int
    public let neighbors: Int
    public let kPad: Int
    public let odeSteps: Int
    public let queries: Range<Int>
    private var deltaT: [[Float]] = []
    private var norm2: [[Float]] = []
    private var kern: [[Float]] = []
    private var z0: [[Float]] = []

    public init(queries: Range<Int>, neighbors: Int, odeSteps: Int, d: Int = 1, seed: UInt64 = 1) {
        precondition(neighbors > 0 && odeSteps > 0 && d > 0 && d <= Int(SDEFLOW_MAX_DIM))
        self.d = d; self.neighbors = neighbors; self.odeSteps = odeSteps; self.queries = queries
        kPad = (neighbors + 15) / 16 * 16
        let rng = CounterRNG(seed: seed)
        let sd = 0.9.squareRoot()
        for q in queries {
            var delta = [Float](repeating: 0, count: d * kPad)
            var n2 = [Float](repeating: 0, count: kPad)
            var k = [Float](repeating: -.infinity, count: kPad)
            for j in 0..<neighbors {
                var s = 0.0
                for c in 0..<d {
                    let v = Float(sd * rng.normals(.pathNoise, id: UInt64(q), index: UInt32(j), lane: UInt32(c)).0)
                    delta[c * kPad + j] = v
                    s += Double(v) * Double(v)
                }
                n2[j] = Float(s)
                // Neighbours lie within the K-NN radius: |Δx| ≲ 0.25 at ν_x = 1, Δμ ≈ 0 (bm).
                let (u, v) = rng.uniforms(.initialState, id: UInt64(q), index: UInt32(j))
                let dx = 0.5 * (u - 0.5), dm = 0.02 * (v - 0.5)
                k[j] = Float(-dx * dx / 2 - dm * dm / (2 * 0.25))
            }
            var z = [Float](repeating: 0, count: d)
            for c in 0..<d { z[c] = Float(rng.normals(.queryNoise, id: UInt64(q), index: 0, lane: UInt32(c)).0) }
            deltaT.append(delta); norm2.append(n2); kern.append(k); z0.append(z)
        }
    }

    /// Neighbour-steps of one query: K neighbours × ODE steps (padding not counted).
    public var neighbourStepsPerQuery: Double { Double(neighbors) * Double(odeSteps) }

    /// Runs the label ODE for the first `limit` queries (all by default); returns the sum of
    /// the labels (so the work cannot be dropped) and the neighbour-steps done.
    public func run(limit: Int? = nil) -> (checksum: Double, neighbourSteps: Double) {
        let n = min(limit ?? deltaT.count, deltaT.count)
        var scratch = [Float](repeating: 0, count: kPad)
        var z = [Float](repeating: 0, count: d)
        var sum = 0.0
        for q in 0..<n {
            for c in 0..<d { z[c] = z0[q][c] }
            let e = sdeflow_label_ode(Int32(d), Int32(kPad), deltaT[q], norm2[q], kern[q], &z, Int32(odeSteps), &scratch)
            sum += z.reduce(0.0) { $0 + Double($1) } + 1e-9 * Double(e)
        }
        return (sum, Double(n) * neighbourStepsPerQuery)
    }
}

/// The label kernel's roofline (`sdeflow_roofline`: one exp and a few FMAs per element over
/// in-cache data) at the same K.
public struct RooflineWorkload {
    public let kPad: Int
    private let a: [Float]
    private let b: [Float]

    public init(neighbors: Int) {
        kPad = (neighbors + 15) / 16 * 16
        let rng = CounterRNG(seed: 7)
        a = (0..<kPad).map { Float(rng.normals(.split, id: 1, index: UInt32($0)).0) }
        b = (0..<kPad).map { Float(20 * rng.uniforms(.split, id: 2, index: UInt32($0)).0) }
    }

    /// Runs `repeats` passes; returns a checksum and the elements processed (kPad × repeats).
    public func run(repeats: Int) -> (checksum: Double, elements: Double) {
        let s = sdeflow_roofline(Int32(kPad), a, b, Int32(repeats))
        return (Double(s), Double(kPad) * Double(repeats))
    }
}

// MARK: - Neighbour search

/// Example 1's simulation settings giving about `pairs` one-step pairs (21 μ × paths × 10
/// steps), with exact transitions (one Euler step of Δt, exact for dX = μ dt + dW).
public func exampleOneSettings(pairs: Int) -> SimulationSettings {
    var s = SDEExample.brownianMotion.simulation
    let perPath = s.stepsPerPath * SDEExample.brownianMotion.observedMu.count
    s.pathsPerMu = max(1, (pairs + perPath - 1) / perPath)
    s.fineStep = nil
    return s
}

/// The K-NN problem of the label stage on a data set: the normalisation DistributedLabels uses
/// (σ_x, σ_μ of all entries), the grid sized for K over the bounding box, and the normalised points.
public struct NeighbourSearchWorkload {
    public let normalisation: Normalisation
    public let geometry: GridGeometry
    public let points: [Double]
    public let neighbors: Int
    public var count: Int { points.count / normalisation.dims }

    /// `data.y` is not used (may be empty).
    public init(_ data: PairBlock, neighbors: Int) {
        let d = data.d, dMu = data.dMu, n = data.x.count / max(d, 1)
        func std(_ v: [Double]) -> Double {
            var s = 0.0, s2 = 0.0
            for x in v { s += x; s2 += x * x }
            let c = Double(max(v.count, 1))
            return max(s2 / c - (s / c) * (s / c), 0).squareRoot()
        }
        let norm = Normalisation(d: d, dMu: dMu, sigmaX: std(data.x), sigmaMu: std(data.mu))
        let dims = norm.dims
        var p = [Double](repeating: 0, count: n * dims)
        var lower = [Double](repeating: .infinity, count: dims), upper = [Double](repeating: -.infinity, count: dims)
        data.x.withUnsafeBufferPointer { x in
            data.mu.withUnsafeBufferPointer { mu in
                p.withUnsafeMutableBufferPointer { out in
                    for j in 0..<n {
                        let o = out.baseAddress! + j * dims
                        norm.point(x: x.baseAddress! + j * d, mu: mu.baseAddress! + j * dMu, into: o)
                        for i in 0..<dims { lower[i] = min(lower[i], o[i]); upper[i] = max(upper[i], o[i]) }
                    }
                }
            }
        }
        normalisation = norm
        geometry = GridGeometry(lower: lower, upper: upper, count: n, neighbors: neighbors)
        points = p
        self.neighbors = neighbors
    }

    /// What rank `rank` of `size` works on in the label stage, by DistributedLabels' rule: the
    /// `queries` (random data points, drawn by global id) are given out in contiguous ranges of
    /// cells balanced by count, and the rank holds the pairs of its cells plus the halo its exact
    /// K-NN can reach (its shard, in ascending index). Returns both as normalised coordinates and
    /// as row indices into the data.
    public func partition(queries total: Int, rank: Int, size: Int, seed: UInt64 = 1)
        -> (queries: [Double], shard: [Double], queryRows: [Int], shardRows: [Int])
    {
        let rng = CounterRNG(seed: seed), dims = normalisation.dims, g = geometry
        var counts = [Int64](repeating: 0, count: g.cellCount)
        var cells = [Int](repeating: 0, count: count)
        points.withUnsafeBufferPointer { p in
            for j in 0..<count { cells[j] = g.cell(of: p.baseAddress! + j * dims); counts[cells[j]] += 1 }
        }
        let picks = (0..<total).map { Int(rng.index(below: UInt64(count), .queryChoice, id: UInt64($0), index: 0)) }
        var queryCounts = [Int](repeating: 0, count: g.cellCount)
        for j in picks { queryCounts[cells[j]] += 1 }
        let partition = QueryPartition(geometry: g, queryCounts: queryCounts, counts: counts, neighbors: neighbors, ranks: size)
        let owners = partition.owners(cells: picks.map { cells[$0] }), needed = partition.neededCells(rank: rank, geometry: g)
        let queryRows = picks.indices.filter { owners[$0] == rank }.map { picks[$0] }
        let shardRows = (0..<count).filter { needed[cells[$0]] }
        return (rows(queryRows), rows(shardRows), queryRows, shardRows)
    }

    /// Normalised coordinates of the given points, D values each.
    public func rows(_ indices: [Int]) -> [Double] {
        let dims = normalisation.dims
        var out = [Double]()
        out.reserveCapacity(indices.count * dims)
        for j in indices { out += points[j * dims ..< (j + 1) * dims] }
        return out
    }

    /// The build being timed: the cell list over a shard's points (normalised, D values each).
    public func buildIndex(_ shard: [Double]) -> NearestNeighbours { NearestNeighbours(points: shard, geometry: geometry) }

    /// Exact K-NN of every query (normalised, D values each); returns a checksum of the indices.
    public func search(_ index: NearestNeighbours, queries: [Double]) -> Int {
        let dims = normalisation.dims
        var scratch = NearestNeighbours.Scratch()
        var sum = 0
        queries.withUnsafeBufferPointer { q in
            for i in 0..<(q.count / dims) {
                let found = index.nearest(q.baseAddress! + i * dims, k: neighbors, scratch: &scratch)
                sum &+= found.count &+ Int(found.first ?? 0)
            }
        }
        return sum
    }
}

// MARK: - Labeler

/// The whole per-query path of the label stage on one rank (`Labeler.label`: K-NN search,
/// filling the kernel's buffers, the label ODE) on a shard of real data.
public struct LabelerWorkload {
    public let labeler: Labeler
    public let queries: QueryBlock

    /// `data` holds x, μ and y; `shardRows` and `queryRows` index it (as from `partition`).
    public init(data: PairBlock, shardRows: [Int], queryRows: [Int], geometry: GridGeometry,
                normalisation: Normalisation, settings: LabelSettings, seed: UInt64 = 1) {
        let d = data.d, dMu = data.dMu
        var shard = PairBlock(d: d, dMu: dMu)
        shard.x.reserveCapacity(shardRows.count * d); shard.y.reserveCapacity(shardRows.count * d)
        shard.mu.reserveCapacity(shardRows.count * dMu)
        for j in shardRows {
            shard.x += data.x[j * d ..< (j + 1) * d]; shard.y += data.y[j * d ..< (j + 1) * d]
            shard.mu += data.mu[j * dMu ..< (j + 1) * dMu]
        }
        let rng = CounterRNG(seed: seed)
        var q = QueryBlock(d: d, dMu: dMu)
        for (i, j) in queryRows.enumerated() {
            q.ids.append(Int64(i))
            q.x += data.x[j * d ..< (j + 1) * d]; q.mu += data.mu[j * dMu ..< (j + 1) * dMu]
            for c in 0..<d { q.z.append(rng.normals(.queryNoise, id: UInt64(j), index: 0, lane: UInt32(c)).0) }
        }
        labeler = Labeler(data: shard, geometry: geometry, normalisation: normalisation, settings: settings)
        queries = q
    }

    /// Labels the first `limit` queries (all by default); returns a checksum and the count.
    public func run(limit: Int? = nil) -> (checksum: Double, queries: Int) {
        var block = queries
        if let limit, limit < block.count {
            let d = block.d, dMu = block.dMu
            block.ids = Array(block.ids.prefix(limit)); block.x = Array(block.x.prefix(limit * d))
            block.mu = Array(block.mu.prefix(limit * dMu)); block.z = Array(block.z.prefix(limit * d))
        }
        let r = labeler.label(block)
        return (r.labels.reduce(0, +), block.count)
    }
}

// MARK: - Training

/// Data-parallel training steps as `DataParallelTrainer` takes them (the same `DataParallelStep`),
/// on synthetic standardised data of the paper's size, batches in the epoch's permutation.
public struct TrainingWorkload {
    public let shape: MLPShape
    public let rows: Int
    public let batchSize: Int
    private let xs: [Float]
    private let ys: [Float]
    private var mlp: MLP
    private var adam: Adam
    private var step: DataParallelStep
    private let rng: CounterRNG

    public init(shape: MLPShape, rows: Int, batchSize: Int = 1024, seed: UInt64 = 1) {
        precondition(rows > 0 && batchSize > 0)
        self.shape = shape; self.rows = rows; self.batchSize = batchSize
        rng = CounterRNG(seed: seed)
        let w = shape.input, d = shape.output
        var x = [Float](repeating: 0, count: rows * w), y = [Float](repeating: 0, count: rows * d)
        for r in 0..<rows {
            var s = 0.0
            for i in 0..<w {
                let v = rng.normals(.split, id: UInt64(r), index: UInt32(i)).0
                x[r * w + i] = Float(v); s += v * Double(i + 1)
            }
            for k in 0..<d { y[r * d + k] = Float(sin(s + Double(k)) + 0.1 * rng.normals(.batchOrder, id: UInt64(r), index: UInt32(k)).0) }
        }
        xs = x; ys = y
        mlp = MLP(shape: shape, seed: seed)
        adam = Adam(parameterCount: shape.parameterCount)
        step = DataParallelStep(parameterCount: shape.parameterCount)
    }

    public var stepsPerEpoch: Int { (rows + batchSize - 1) / batchSize }

    /// Runs steps of epoch `epoch` (all of them, or the first `limit`) as rank `rank` of `size`;
    /// `allreduce` sums the buffer (gradient, then loss) over ranks. Returns the seconds spent in
    /// `allreduce`, the steps taken and the mean batch loss.
    public mutating func epoch(_ epoch: Int, rank: Int, size: Int, limit: Int? = nil,
                               allreduce: (inout [Float]) throws -> Void) rethrows -> (reduceSeconds: Double, steps: Int, loss: Double) {
        let perm = rng.permutation(rows, .batchOrder, id: UInt64(epoch))
        var reduceSeconds = 0.0, steps = 0, lossSum = 0.0
        for start in stride(from: 0, to: rows, by: batchSize) {
            if let limit, steps >= limit { break }
            lossSum += try step.run(&mlp, &adam, xs: xs, ys: ys, batch: perm[start ..< min(start + batchSize, rows)],
                                    rank: rank, size: size) { buffer in
                let t0 = monotonicSeconds()
                try allreduce(&buffer)
                reduceSeconds += monotonicSeconds() - t0
            }
            steps += 1
        }
        return (reduceSeconds, steps, lossSum / Double(max(steps, 1)))
    }
}

// MARK: - Machine

/// What the JSON records about the node a rank runs on.
public enum MachineInfo {
    public static var hostname: String { ProcessInfo.processInfo.hostName }

    /// Online CPUs of the node (not the affinity mask mpirun may have bound this rank to).
    public static var onlineCPUs: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// `model name` of the first CPU in /proc/cpuinfo ("unknown" elsewhere).
    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    /// The widest x86 vector extension the CPU reports (avx512f, avx2, avx or sse2).
    public static var vectorISA: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return "unknown" }
        let flags = Set(line.split(separator: " ").map(String.init))
        return ["avx512f", "avx2", "avx", "sse2"].first { flags.contains($0) } ?? "unknown"
    }

    /// `Cpus_allowed_list` of this process (the CPUs mpirun bound it to).
    public static var cpusAllowed: String {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else { return "unknown" }
        return line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)
    }
}
