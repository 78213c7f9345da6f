import Foundation

extension Pipeline {
    /// `evaluate` on all ranks: the spec's sampling jobs split over ranks (`DistributedSampling`),
    /// statistics on rank 0, which writes `metrics.json` and `report.html` into `output` and
    /// returns the result (nil on other ranks).
    public static func evaluate(_ comm: any Collective, model: FlowModel, spec: EvaluationSpec, output: String,
                                modelPath: String?, log: Log) throws -> EvaluationResult? {
        let jobs = spec.jobs
        let evaluations = jobs.reduce(0) { $0 + $1.count * $1.cost }
        log.info("evaluate: \(spec.example.name), \(spec.oneStepMu.count) μ × \(spec.states.count) start states × \(spec.oneStepSamples) one-step samples, "
                 + "\(spec.lawMu.count) μ × \(spec.lawSamples) samples × \(spec.lawSteps) steps; \(evaluations) network evaluations over \(comm.size) rank(s)")
        // The jobs run in batches of at most `batchBytes` of samples; rank 0 turns each batch into
        // its rows and keeps only the samples the report plots (the density μ and the fan).
        let d = spec.example.d, fan = spec.oneStepMu.count + spec.lawMu.count
        let keep = Set(spec.densityMu.map { p in spec.oneStepMu.firstIndex(of: p)! } + [fan])
        let bytes = jobs.map { Double($0.count) * Double($0.valuesPerSample(d: d)) * 8 }
        let rootBytes = 2 * min(Double(batchBytes), bytes.max() ?? 0) + keep.reduce(0.0) { $0 + bytes[$1] }
        // Agreed: under a memory limit every rank printed it, then MPI_Abort.
        try comm.everyRank {
            try Limits.checkMemory(bytes: Int(min(rootBytes, 1e18)), what: "evaluate (rank 0 holds a batch of samples)",
                                   fix: "lower --samples or --path-samples (run: --eval-samples)", location: .option("--samples"), ranks: 1)
        }
        let started = Date()
        var results = [[Double]](repeating: [], count: jobs.count), rows: [Int: LawRow] = [:], statisticsSeconds = 0.0
        for batch in batches(bytes) {
            let samples = try DistributedSampling.run(comm, model: model, jobs: Array(jobs[batch]), seed: spec.seed, log: log)
            let t = Date()
            if spec.example.exactSampler != nil {
                rows.merge(try DistributedRows.compute(comm, spec: spec, jobs: batch, results: samples)) { a, _ in a }
            } else if comm.isRoot {
                for (i, j) in batch.enumerated() where j != fan {
                    rows[j] = DistributedRows.row(spec, job: jobs[j], point: DistributedRows.point(spec, job: j), samples: samples[i])
                }
            }
            statisticsSeconds += Date().timeIntervalSince(t)
            if comm.isRoot { for (i, j) in batch.enumerated() where keep.contains(j) { results[j] = samples[i] } }
        }
        log.info(String(format: "evaluate: sampling and rows done in %.1f s (rows %.1f s)", Date().timeIntervalSince(started), statisticsSeconds))
        let statistics = Date()
        var result: EvaluationResult? = nil
        if comm.isRoot {
            let r = EvaluationResult(spec: spec, results: results, rows: rows)
            try writeFolderAtomically(output) { dir in
                try writeFileAtomically((dir as NSString).appendingPathComponent("report.html"),
                                        contents: EvaluationReport.html(r, modelPath: modelPath))
                try writeJSON(r.metrics, to: (dir as NSString).appendingPathComponent("metrics.json"))
            }
            log.info(String(format: "evaluate: statistics%@ and report in %.1f s; wrote %@/metrics.json and report.html",
                            spec.example.exactSampler == nil ? "" : " (with exact reference draws)",
                            Date().timeIntervalSince(statistics), output))
            result = r
        }
        try comm.barrier()
        return result
    }

    /// Samples rank 0 gathers at once, at most (one job more if a single job is larger).
    static let batchBytes = 1 << 30

    /// Consecutive runs of job indices whose samples (`bytes` each) stay within `batchBytes`.
    static func batches(_ bytes: [Double]) -> [Range<Int>] {
        var out: [Range<Int>] = [], start = 0, sum = 0.0
        for (j, b) in bytes.enumerated() {
            if j > start && sum + b > Double(batchBytes) { out.append(start..<j); start = j; sum = 0 }
            sum += b
        }
        if start < bytes.count { out.append(start..<bytes.count) }
        return out
    }
}
