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
        // Rank 0 gathers every job's samples (count × d doubles) and keeps them for the statistics,
        // with room for a copy: at d = 50 the defaults hold ~6 GB there. Refuse before sampling.
        let rootBytes = jobs.reduce(0.0) { $0 + Double($1.count) * Double(spec.example.d) * 16 }
        try Limits.checkMemory(bytes: Int(min(rootBytes, 1e18)), what: "evaluate (rank 0 holds every sample)",
                               fix: "lower --samples or --path-samples", location: .option("--samples"), ranks: 1)
        let started = Date()
        let results = try DistributedSampling.run(comm, model: model, jobs: jobs, seed: spec.seed)
        log.info(String(format: "evaluate: sampling done in %.1f s", Date().timeIntervalSince(started)))
        let statistics = Date()
        let rows = try DistributedRows.compute(comm, spec: spec, results: results)
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
}
