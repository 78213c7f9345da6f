import Foundation

/// The rows of an evaluation whose exact law is not Gaussian, computed on every rank.
///
/// Why: such a row draws its exact reference (`ExactReference`, 40 000–200 000 draws), sorts it
/// and compares; on rank 0 alone this took as long as the sampling itself (`cir` at 100 000
/// samples per row: 20 s of statistics after 21 s of sampling on 2 ranks). Here rank 0 sends each
/// row's learned samples to the rank that owns the row (row i to rank i mod P, rank 0 keeping
/// its own), every rank computes its rows with the same function, and their JSON comes back to
/// rank 0. Every row is computed identically whichever rank owns it, and rank 0 decodes its own
/// rows from JSON as it does the others', so metrics.json is the same at any rank count.
enum DistributedRows {
    /// Rows by job index (`spec.jobs`) for every job of `batch` that is a row (not the fan), on
    /// rank 0; empty elsewhere and for an example with a Gaussian law (rank 0 computes those rows
    /// itself). `results`: the batch's samples on rank 0, in batch order (ignored elsewhere).
    static func compute(_ comm: any Collective, spec: EvaluationSpec, jobs batch: Range<Int>, results batchResults: [[Double]]) throws -> [Int: LawRow] {
        guard spec.example.exactSampler != nil else { return [:] }
        let jobs = spec.jobs, fan = spec.oneStepMu.count + spec.lawMu.count
        let rowJobs = batch.filter { $0 != fan }
        func results(_ j: Int) -> [Double] { batchResults[j - batch.lowerBound] }
        let owned = (0..<comm.size).map { r in rowJobs.enumerated().filter { $0.offset % comm.size == r }.map(\.element) }
        var parts: [[Double]] = []
        if comm.isRoot { parts = owned.enumerated().map { r, js in r == 0 ? [] : js.flatMap { results($0) } } }
        let received = try comm.scatterv(parts)
        var offset = 0
        let mine = owned[comm.rank].map { j -> LawRow in
            let job = jobs[j], width = job.count * spec.example.d
            let samples = comm.isRoot ? results(j) : Array(received[offset ..< offset + width])
            if !comm.isRoot { offset += width }
            defer { comm.progress() }
            return row(spec, job: job, point: point(spec, job: j), samples: samples)
        }
        let bytes = [UInt8](try transport.encoder.encode(mine))
        let lengths = try comm.gatherv([Int64(bytes.count)])
        let all = try comm.gatherv(bytes)
        guard comm.isRoot else { return [:] }
        var rows: [Int: LawRow] = [:], start = 0
        for (r, length) in lengths.enumerated() {
            let decoded = try transport.decoder.decode([LawRow].self, from: Data(all[start ..< start + Int(length)]))
            for (j, row) in zip(owned[r], decoded) { rows[j] = row }
            start += Int(length)
        }
        return rows
    }

    /// JSON that carries non-finite values too (a model can sample NaN; metrics.json decides
    /// what to do with it, as for rows computed on rank 0). Doubles round-trip exactly.
    static var transport: (encoder: JSONEncoder, decoder: JSONDecoder) {
        let encoder = JSONEncoder(), decoder = JSONDecoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (encoder, decoder)
    }

    /// The μ point of job j: one-step μ for the point's and the states' jobs, the multi-step μ otherwise.
    static func point(_ spec: EvaluationSpec, job j: Int) -> MuPoint {
        let k1 = spec.oneStepMu.count, k2 = spec.lawMu.count
        if j < k1 { return spec.oneStepMu[j] }
        if j < k1 + k2 { return spec.lawMu[j - k1] }
        return spec.oneStepMu[(j - k1 - k2 - 1) % k1]
    }

    /// One row against the exact law after the job's steps from its start (the Gaussian floors
    /// are those of `EvaluationResult`, for examples without a sampler).
    static func row(_ spec: EvaluationSpec, job: SamplingJob, point: MuPoint, samples: [Double]) -> LawRow {
        let floor = Wasserstein.gaussianFloor(n: job.count)
        let exact = ExactReference.comparison(spec, start: job.start, mu: point.mu, steps: job.steps, n: job.count, key: job.key,
                                              gaussianFloor: floor)
        return LawRow(at: point, samples: samples, d: spec.example.d, exact: exact)
    }
}
