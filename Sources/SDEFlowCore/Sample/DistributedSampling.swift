import Foundation

/// Sampling work shared out over the ranks so that the result does not depend on their number.
///
/// Each job's sample ids are cut into fixed blocks of `blockRows` ids, aligned at id 0, and every
/// block goes through the network as one batch. A block is therefore computed by the same
/// sequence of BLAS calls whichever rank runs it (a rank-sized batch would not be: sgemm's
/// rounding depends on the row count), and the gathered samples are bitwise identical for any
/// `mpirun -n`. The blocks of all jobs, in (job, id) order, are dealt out to the ranks as
/// contiguous runs balanced by cost (rows × steps), then gathered on rank 0 in that order.
public enum DistributedSampling {
    public static let blockRows = 1024
    static let progressSeconds = 30.0

    struct Block { var job: Int; var ids: Range<Int>; var cost: Int }

    static func blocks(counts: [Int], costs: [Int]) -> [Block] {
        var out: [Block] = []
        for (j, n) in counts.enumerated() {
            for start in stride(from: 0, to: n, by: blockRows) {
                let ids = start..<min(start + blockRows, n)
                out.append(Block(job: j, ids: ids, cost: ids.count * max(costs[j], 1)))
            }
        }
        return out
    }

    /// The contiguous run of blocks rank `rank` computes: block b goes to the rank whose share of
    /// the total cost holds b's cost midpoint.
    static func share(_ blocks: [Block], rank: Int, size: Int) -> Range<Int> {
        let total = blocks.reduce(0) { $0 + $1.cost }
        guard total > 0 else { return 0..<0 }
        var before = 0, lo = blocks.count, hi = blocks.count
        for (b, block) in blocks.enumerated() {
            let owner = min(size - 1, Int((Double(before) + Double(block.cost) / 2) * Double(size) / Double(total)))
            if owner == rank && lo == blocks.count { lo = b }
            if owner > rank { hi = b; break }
            before += block.cost
        }
        return lo < hi ? lo..<hi : 0..<0
    }

    /// Runs `body(job, ids)` for blocks of `counts[job]` samples (each `valuesPerSample[job]`
    /// values) on all ranks; returns each job's values in id order on rank 0, [] elsewhere.
    /// With `log`, rank 0 says every `progressSeconds` how much of its share is done (the ranks'
    /// shares cost the same): a long `evaluate` or `sample` printed nothing for minutes.
    public static func run(_ comm: any Collective, counts: [Int], costs: [Int], valuesPerSample: [Int], log: Log? = nil,
                           body: (_ job: Int, _ ids: Range<Int>) -> [Double]) throws -> [[Double]] {
        let all = blocks(counts: counts, costs: costs), mine = share(all, rank: comm.rank, size: comm.size)
        let total = Double(mine.reduce(0) { $0 + all[$1].cost }), started = monotonicSeconds()
        var local: [Double] = [], done = 0.0, next = started + progressSeconds
        for b in mine {
            local += body(all[b].job, all[b].ids)
            comm.progress()
            done += Double(all[b].cost)
            let now = monotonicSeconds()
            if let log, comm.isRoot, now >= next, done < total {
                log.info(String(format: "sampling: %.0f %% done in %.0f s, about %.0f s left", 100 * done / total, now - started, (now - started) * (total - done) / done))
                next = now + progressSeconds
            }
        }
        let gathered = try comm.gatherv(local)
        guard comm.isRoot else { return [] }
        var out: [[Double]] = [], offset = 0
        for (n, w) in zip(counts, valuesPerSample) {
            out.append(Array(gathered[offset ..< offset + n * w]))
            offset += n * w
        }
        precondition(offset == gathered.count, "gathered \(gathered.count) values, expected \(offset)")
        return out
    }

    /// Runs sampling jobs of the learned flow map (see `SamplingJob`).
    public static func run(_ comm: any Collective, model: FlowModel, jobs: [SamplingJob], seed: UInt64, log: Log? = nil) throws -> [[Double]] {
        var scales: [Int: [Double]] = [:]  // each job's moment-matching scales, once per rank
        return try run(comm, counts: jobs.map(\.count), costs: jobs.map(\.cost),
                       valuesPerSample: jobs.map { $0.valuesPerSample(d: model.info.d) }, log: log) { j, ids in
            if jobs[j].antithetic && scales[j] == nil { scales[j] = jobs[j].noiseScales(d: model.info.d, seed: seed) }
            return jobs[j].run(model: model, ids: ids, seed: seed, noiseScale: scales[j])
        }
    }
}
