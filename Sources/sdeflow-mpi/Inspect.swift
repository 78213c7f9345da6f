import ArgumentParser
import Foundation
import SDEFlowCore
import SDEFlowMPI

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Estimate the drift and diffusion a learned flow map implies, on a line of states (works on any model).",
        discussion: """
            At each of P states x on the line given by --x-range, draws --samples one-step samples of the \
            learned flow map at μ (on all ranks, split by sample id; the same for any `mpirun -n`) and \
            estimates, per component,
              drift      â(x, μ) = E[Δx] / Δt,      diffusion  b̂(x, μ) = std(Δx) / √Δt.
            These are finite-Δt estimates: even a perfect model differs from a(x, μ), b(x, μ) by O(Δt) where \
            the drift varies with x; the sampling error of â is about b / √(samples · Δt).

            --x-range: `A:B` runs component 0 from A to B with the other components at 0; for d > 1 you may \
            instead give one `A:B` per component (`-3:3,0.5:0.5`): the states then lie on the straight \
            segment between the two corners, and a component given as `c:c` stays at c. The plot's \
            horizontal axis is the first component that varies.

            Writes F.npy, shape (P, 3d), columns [x_1..x_d, drift_1..drift_d, diffusion_1..diffusion_d] \
            (float64), and F.svg (drift and diffusion of each component against x, with ±2 standard errors). \
            When the model's example (model.json) or --example names a built-in SDE, also writes \
            F_truth.npy (same layout, the exact a(x, μ) and b(x, μ) from the SDE's coefficients) and overlays \
            the truth on the plot, with the exact one-step law's finite-Δt values dashed. A trailing .npy \
            or .svg on F is dropped. An existing F.npy or F.svg that is not a .npy array or an SVG image \
            is not replaced.
            """)
    @Option(help: "Model folder written by `train` or `run`.") var model: String
    @Option(parsing: .unconditional, help: "Parameter μ (dμ comma-separated values within ±1e100), e.g. --mu 0.35 or --mu=-0.5.") var mu: String
    @Option(parsing: .unconditional, help: "States: A:B (component 0 varies, others 0), or one A:B per component (a segment), A and B within ±1e100. E.g. -3:3.")
    var xRange: String
    @Option(integer: "--points", help: "Number of states on the line, P in 2…1e6.") var points: Int = 41
    @Option(integer: "--samples", help: "One-step samples per state, 2…1e8; P × samples × d values must fit in memory.") var samples: Int = 20_000
    @Option(help: "Output stem F (a file name, not a folder; a trailing .npy or .svg is dropped): writes F.npy, F.svg (and F_truth.npy when the SDE is known).") var output: String
    @Option(help: "Overlay the exact coefficients of this example (default: the model's, if it names one; 'none' for no overlay).")
    var example: String?
    @OptionGroup var seed: SeedOption
    @OptionGroup var job: JobOptions

    func validate() throws {
        try OutputGuard.checkNamed([("--model", model), ("--output", output)])
        let name = (stem as NSString).lastPathComponent
        if stem.hasSuffix("/") || ["", ".", ".."].contains(name) {
            throw ValidationError("--output '\(output)' names a folder; give a file stem F inside it, e.g. \(filePath(output, "drift")) (writes F.npy and F.svg)")
        }
        try checkRange(points, "--points", 2...1_000_000)
        try checkRange(samples, "--samples", Limits.samples)
        if let e = example, e != "none" { _ = try lookupExample(e) }
        _ = try parseList(mu, option: "--mu")
        let bytes = Limits.product(points, samples, 8, 2) ?? Int.max  // per state component
        try Limits.checkMemory(bytes: bytes, what: "\(points) states × \(samples) samples", fix: "lower --points or --samples",
                               location: .option("--samples"))
    }

    /// The example whose exact coefficients are overlaid. One named by --example must fit the
    /// model (d, dμ) and hold --mu in its μ range (ou at μ ≤ 0 has no law): else the command is
    /// refused before sampling. The model's own (model.json, checked to fit at load) is overlaid
    /// unless --mu lies outside its range, with a warning then.
    func overlayExample(_ flow: FlowModel, modelPath: String, mu: [Double], log: Log) throws -> SDEExample? {
        guard let name = example ?? flow.info.example, name != "none" else { return nil }
        let ex = try modelExample(name, explicit: example != nil, model: flow, modelPath: modelPath)
        guard let why = ex.muOutsideRange([mu], what: "--mu") else { return ex }
        if example != nil { throw SDEFlowError.option("--example", "\(why): no exact law to overlay there") }
        log.info("warning: no exact overlay: \(why)")
        return nil
    }

    /// F of `--output F`: a trailing .npy or .svg dropped (`--output ins/x.svg` wrote
    /// ins/x.svg.npy and ins/x.svg.svg).
    var stem: String { output.hasSuffix(".npy") || output.hasSuffix(".svg") ? String(output.dropLast(4)) : output }

    /// A model of data without dataset.json has no Δt, which the rates need: a file problem
    /// (65) that says how to give it, not a usage error without a hint.
    static func noDt(_ model: String) -> SDEFlowError {
        SDEFlowError.file(filePath(model, "model.json"), "has no dt, the observation interval Δt, so displacements cannot be turned into drift and diffusion rates (the data it was trained from had no dataset.json); add \"dt\": <Δt> to this model.json, or give the data a dataset.json with {\"dt\": <Δt>} and label and train again")
    }

    /// The model, the x ranges, Δt and the example to overlay, each checked against the model
    /// (every rank alike, before any work).
    func checked(_ m: [Double], log: Log) throws -> (FlowModel, [(Double, Double)], Double, SDEExample?) {
        let flow = try FlowModel(directory: model)
        guard m.count == flow.info.dMu else { throw SDEFlowError.usage("--mu has \(m.count) values; the model's parameter has dμ = \(flow.info.dMu)") }
        let ranges: [(Double, Double)]
        do { ranges = try FlowDiagnostics.parseRanges(xRange, d: flow.info.d) } catch { throw SDEFlowError.usage("\(error)") }
        guard let dt = flow.info.dt else { throw Self.noDt(model) }
        for line in flow.extrapolation(x0: nil, mu: m) + flow.extrapolation(segment: ranges) { log.info(line) }
        return (flow, ranges, dt, try overlayExample(flow, modelPath: model, mu: m, log: log))
    }

    func run() throws {
        let m = try parseList(mu, option: "--mu")
        let outputs = [JobOutput("--output", stem + ".npy", .npy), JobOutput("--output", stem + ".svg", .svg),
                       JobOutput("--output", stem + "_truth.npy", .npy)]
        try withMPI(job.spec(inputs: [JobInput("--model", model)], outputs: outputs)) { comm, log in
            let (flow, ranges, dt, known) = try comm.everyRank { try checked(m, log: log) }
            let d = flow.info.d
            let grid = FlowDiagnostics.grid(ranges, points: points)
            let jobs = FlowDiagnostics.jobs(grid: grid, mu: m, samples: samples)
            log.info("inspect: \(points) states × \(samples) one-step samples at μ = \(m) over \(comm.size) rank(s)")
            let results = try DistributedSampling.run(comm, model: flow, jobs: jobs, seed: seed.seed, log: log)
            guard comm.isRoot else { return }
            let learned = FlowDiagnostics(grid: grid, mu: m, dt: dt, results: results)
            let truth = known.map { FlowDiagnostics(example: $0, grid: grid, mu: m, dt: dt, exactStep: false) }
            let exactStep = known.flatMap { $0.exactTransition == nil ? nil : FlowDiagnostics(example: $0, grid: grid, mu: m, dt: dt, exactStep: true) }
            let dir = parentFolder(of: stem)
            if !dir.isEmpty { try createFolder(dir) }
            // The plot (the long part) is made before any file is written, so a stop leaves the three
            // files of one run; a truth file of an earlier run with a known SDE is removed.
            let title = URL(fileURLWithPath: model).standardized.pathComponents.suffix(2).joined(separator: "/")
            let svg = learned.svg(axis: FlowDiagnostics.axis(ranges), title: title, truth: truth, exactStep: exactStep)
            try NPY.write(stem + ".npy", learned.array, shape: [points, 3 * d])
            if let truth { try NPY.write(stem + "_truth.npy", truth.array, shape: [points, 3 * d]) } else { unlink(stem + "_truth.npy") }
            try writeFileAtomically(stem + ".svg", contents: svg)
            print(learned.table(truth: truth), terminator: "")
            print("wrote \(stem).npy (\(points) × \(3 * d): x, drift, diffusion)" + (truth != nil ? ", \(stem)_truth.npy" : "") + " and \(stem).svg")
        }
    }
}
