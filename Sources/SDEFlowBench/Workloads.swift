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
/// steps), with exact transitions (N(x + μΔt, Δt) per step).
public func exampleOneSettings(pairs: Int) -> SimulationSettings {
    var s = SDEExample.brownianMotion.simulation
    let perPath = s.stepsPerPath * SDEExample.brownianMotion.observedMu.count
    s.pathsPerMu = max(1, (pairs + perPath - 1) / perPath)
    s.fineStep = nil
    return s
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
