import ArgumentParser
import Foundation
import SDEFlowCore
import SDEFlowMPI

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a trained model with the exact law of an example (the paper's statistics, many start states, off-grid μ, W1, a report).",
        discussion: """
            Samples the learned flow map on all ranks (fixed blocks of global sample ids, gathered on rank 0 \
            in id order: the numbers are the same for any `mpirun -n`) and compares, with the exact law:
              - the one-step law from the example's point (bm: x = 2, ou: x = 1, ou2d: (1.5, 0.5), \
            ou-nd: 0.3·1, cir: x = 0.5) at every observed μ and every midpoint between neighbouring observed μ: \
            |mean error| (Euclidean for d > 1), variance relative error (worst component) and the per-component \
            Wasserstein-1 distance to the exact law (the Gaussian in closed form; for cir, whose law is a scaled \
            non-central chi-square, a sample of exact draws), each next to what as many exact draws score (the \
            noise floor);
              - the same from the 5, 25, 50, 75 and 95 % quantiles of the x the example's data hold at each μ \
            (its data design simulated at that μ, 1000 paths, seed 1; component-wise for d > 1), --samples each: \
            a row per (start state, μ), the headline gives the worst over the states;
              - a multi-step law (bm: T = 1, 10 steps from X0 ~ N(0, 0.5²), 150000 samples at 9 μ; ou: 50 steps \
            from 0, 150000 samples at 9 μ, also against the stationary variance (1+μ²)/(2μ); ou2d: 20 steps from \
            (2, 0), 50000 samples at μ = 0.5, 1, 2 and three midpoints; cir: 10 steps from 0.5, 25000 samples at \
            every μ), sized so that the mean error's noise floor is below 0.003.
            Writes EDIR/metrics.json (every row, summaries and the headline figures) and EDIR/report.html \
            (one self-contained page, inline SVG: densities, moments and errors against μ and against the start \
            state, trajectories), and prints the table. The observed μ are those in model.json (else the example's).
            """)
    @Option(help: "Model folder written by `train` or `run`.") var model: String
    @Option(help: "Example whose exact law is the reference (\(SDEExample.all.map(\.name).joined(separator: ", "))); default: the model's, from model.json.")
    var example: String?
    @Option(help: "Output folder (metrics.json, report.html).") var output: String
    @Option(integer: "--samples", help: "One-step samples per start state and μ, 2…1e8 (default: bm 10000 and ou 20000 as in the paper, ou2d, ou-nd and cir 20000).") var samples: Int?
    @Option(integer: "--path-samples", help: "Samples per μ for the multi-step law, 2…1e8 (default: bm and ou 150000, ou2d 50000, ou-nd 10000, cir 25000).") var pathSamples: Int?
    @OptionGroup var seed: SeedOption
    @OptionGroup var job: JobOptions

    func validate() throws {
        try checkRange(samples, "--samples", Limits.samples)
        try checkRange(pathSamples, "--path-samples", Limits.samples)
        if let e = example { _ = try lookupExample(e) }
    }

    func run() throws {
        try withMPI(job.spec(inputs: [JobInput("--model", model)], outputs: [.evaluation(output)])) { comm, log in
            let (flow, spec) = try comm.everyRank {
                let flow = try FlowModel(directory: model)
                return (flow, try evaluationSpec(model: flow, modelPath: model, exampleName: example, samples: samples,
                                                 pathSamples: pathSamples, seed: seed.seed, log: log))
            }
            if let result = try Pipeline.evaluate(comm, model: flow, spec: spec, output: output, modelPath: model, log: log) {
                print(result.table, terminator: "")
                print("wrote \(filePath(output, "metrics.json")) and \(filePath(output, "report.html"))")
            }
        }
    }
}

/// The evaluation of `model` against example `exampleName` (default: the model's own), with
/// clear errors when there is no exact law to compare with or the dimensions do not match.
func evaluationSpec(model: FlowModel, modelPath: String, exampleName: String?, samples: Int?, pathSamples: Int?,
                    seed: UInt64, log: Log) throws -> EvaluationSpec {
    let known = SDEExample.all.map(\.name).joined(separator: ", ")
    guard let name = exampleName ?? model.info.example else {
        throw SDEFlowError.usage("\(modelPath)/model.json names no example (a model of your own data): pass --example NAME to choose the exact law to compare with (known: \(known)); without an exact law, use `sdeflow-mpi inspect`")
    }
    let ex = try modelExample(name, explicit: exampleName != nil, model: model, modelPath: modelPath)
    guard ex.exactTransition != nil else { throw SDEFlowError.usage("example '\(name)' has no exact law to evaluate against") }
    // Evaluation simulates the exact law at the model's observed μ: outside the example's range
    // (ou at μ ≤ 0) it has no stationary law and its variance is NaN, found only after sampling.
    // Without observedMu, the μ the model was trained on (inputRange); without either, the example's.
    let trained = model.info.inputRange.map { r in [r.mu.map { $0[0] }, r.mu.map { $0[1] }] }
    let observed = model.info.observedMu.flatMap { $0.isEmpty ? nil : $0 } ?? trained ?? ex.observedMu
    let what = model.info.observedMu?.isEmpty == false ? "the observed μ of \(modelPath)/model.json" : "the μ \(modelPath) was trained on"
    if let why = ex.muOutsideRange(observed, what: what) {
        throw SDEFlowError.usage("\(why): evaluate against an example whose μ range holds the model's")
    }
    if let own = model.info.example, own != name {
        log.info("warning: the model was trained on example '\(own)'; comparing it with the exact law of '\(name)'")
    }
    let dt = model.info.dt ?? ex.simulation.dt
    if model.info.dt == nil { log.info("warning: model.json has no dt; using the example's Δt = \(dt)") }
    return EvaluationSpec(example: ex, dt: dt, observedMu: model.info.observedMu, muRange: model.info.muRange,
                          samples: samples, pathSamples: pathSamples, seed: seed)
}

/// Example `name` checked against the model's d and dμ (an `ExampleMismatch` as a usage error,
/// naming --example when the user gave it): so that `ou-nd` on a 1-D model is refused, not trapped.
func modelExample(_ name: String, explicit: Bool, model: FlowModel, modelPath: String) throws -> SDEExample {
    do {
        return try SDEExample.fitting(name, d: model.info.d, dMu: model.info.dMu, holder: "model \(modelPath) has")
    } catch let e as ExampleMismatch {
        throw explicit ? SDEFlowError.option("--example", e.description) : SDEFlowError.file(filePath(modelPath, "model.json"), e.description)
    }
}
