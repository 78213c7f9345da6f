import ArgumentParser
import Foundation
import SDEFlowCore

extension LabelEstimator: ExpressibleByArgument {}
extension ODESolver: ExpressibleByArgument {}
extension NeighbourSearch: ExpressibleByArgument {}
extension ShardLayout: ExpressibleByArgument {}
extension ODEFinish: ExpressibleByArgument {}
extension LossWeighting: ExpressibleByArgument {}
extension OutputPriorKind: ExpressibleByArgument {}
extension LabelTrend: ExpressibleByArgument {}

// Every numeric option has a documented range, checked in the `validate()` of its option group
// (before a command starts; the bounds are `Limits`'); numeric options parse negative values
// (`parsing: .unconditional`) so that `--neighbors -5` is refused with its range, not "Missing value".
// Integer options (`@Option(integer:)`, SDEFlowBench/IntegerOption.swift) also take the notation
// the ranges are written in (`--labels 5e4`) when the value is exactly an integer.

/// `value` (if given) in `range`, else a ValidationError naming the option and the range.
func checkRange(_ value: Int?, _ option: String, _ range: ClosedRange<Int>) throws {
    guard let value, !range.contains(value) else { return }
    throw ValidationError("\(option) must be an integer in \(range.lowerBound)…\(range.upperBound) (got \(value))")
}

/// As above for a number (NaN and ±inf are outside every range); an open end excludes its bound.
func checkRange(_ value: Double?, _ option: String, _ range: ClosedRange<Double>, openBelow: Bool = false, openAbove: Bool = false) throws {
    guard let value else { return }
    guard !range.contains(value) || (openBelow && value == range.lowerBound) || (openAbove && value == range.upperBound) else { return }
    let r = Limits.text(range).dropFirst().dropLast()
    throw ValidationError("\(option) must be a number in \(openBelow ? "(" : "[")\(r)\(openAbove ? ")" : "]") (got \(value))")
}

struct SeedOption: ParsableArguments {
    // Read as the counts are (`--seed 5e4` was "The value '5e4' is invalid").
    @Option(integer: "--seed", help: "Seed of every random draw, 0…2^64−1 (draws are keyed by global ids, so results do not depend on the rank count).")
    var seed: UInt64 = 1
}

/// Simulation options; unset ones take the example's paper defaults.
struct SimulateOptions: ParsableArguments {
    @Option(help: "Name of the example SDE (\(SDEExample.all.map(\.name).joined(separator: ", "))).")
    var example: String = "bm"
    @Option(integer: "--dim", help: "State dimension d, for examples that take one (ou-nd: default 10), 2…\(Limits.maxStateDimension).")
    var dim: Int?
    @Option(integer: "--paths-per-mu", help: "Trajectories per observed μ (default: bm 40000, 8× the paper's 5000, whose data pin its drift only to the ten-step target; ou 5000 and ou2d 3000 as the paper; ou-nd, cir and gbm 9100), 1…1e9; the pairs must fit in memory.")
    var pathsPerMu: Int?
    @Option(decimal: "--horizon", help: "Trajectory length T (Δt = 0.1 observations; paper: 1, or 2 for ou2d), Δt…1e6 Δt.")
    var horizon: Double?
    @Option(decimal: "--fine-step", help: "Euler–Maruyama sub-step (paper: 1e-3), Δt/1e6…Δt; 0 uses the exact transition where known.")
    var fineStep: Double?
    @Option(help: "Floating type of the written arrays: float32 or float64.")
    var dtype: String = "float64"

    func validate() throws {
        // A fixed-dimension example would ignore --dim, and the user would get d = 1 data unawares.
        if let dim, !SDEExample.dimensioned.contains(example) {
            let d = SDEExample.named(example).map { " (example '\(example)' has d = \($0.d))" } ?? ""
            throw ValidationError("--dim \(dim): --dim applies to \(SDEExample.dimensioned.joined(separator: ", ")) only\(d)")
        }
        _ = try settings(for: try lookupExample(example, dim: dim))
        _ = try npyType()
    }

    func settings(for ex: SDEExample) throws -> SimulationSettings {
        var s = ex.simulation
        try checkRange(pathsPerMu, "--paths-per-mu", Limits.pathsPerMu)
        try checkRange(horizon, "--horizon", s.dt...(s.dt * Double(Limits.maxStepsPerPath)))
        if let f = fineStep, f != 0 { try checkRange(f, "--fine-step (or 0)", (s.dt / Double(Limits.maxSubsteps) * (1 - 1e-9))...s.dt) }
        s.pathsPerMu = pathsPerMu ?? s.pathsPerMu
        s.horizon = horizon ?? s.horizon
        // T/Δt pairs per path: `--horizon 0.15` silently made 1 step (T = 0.1).
        if let h = horizon, abs(h / s.dt - Double(s.stepsPerPath)) > 1e-6 {
            let lower = Double(max(1, Int(h / s.dt))) * s.dt
            throw ValidationError("--horizon \(h) is not a multiple of Δt = \(s.dt) (observations are Δt apart); give a multiple, e.g. \(fmt(lower)) or \(fmt(lower + s.dt))")
        }
        if let f = fineStep { s.fineStep = f == 0 ? nil : f }
        let fine = s.stepsPerPath * max(1, Int((s.dt / (s.fineStep ?? s.dt)).rounded()))  // noise is keyed by a UInt32 step
        guard fine <= Int(UInt32.max) else {
            throw ValidationError("--horizon / --fine-step give \(fine) Euler–Maruyama steps per path; at most \(UInt32.max)")
        }
        let pairs = Limits.product(s.pathsPerMu, ex.observedMu.count, s.stepsPerPath)
        // Rank 0 gathers every pair (x, μ, y in Double) and keeps its own block meanwhile.
        let bytes = pairs.flatMap { Limits.product($0, 2 * ex.d + ex.dMu, 8, 2) } ?? Int.max
        try Limits.checkMemory(bytes: bytes, what: "simulating \(pairs.map(String.init) ?? "too many") pairs",
                               fix: "lower --paths-per-mu or --horizon", location: .option("--paths-per-mu"))
        return s
    }

    func npyType() throws -> NPYDType {
        switch dtype {
        case "float32": return .float32
        case "float64": return .float64
        default: throw ValidationError("--dtype must be float32 or float64, not '\(dtype)'")
        }
    }
}

/// Label options; unset ones take the tool's defaults for the data set's example (for data of no known
/// example, `UnknownDataDefaults` by its dimensions).
struct LabelOptions: ParsableArguments {
    @Option(integer: "--labels", help: "Number of labels (queries), 1…1e9 and at most the data's pairs.") var labels: Int?
    @Option(integer: "--neighbors", help: "K, exact nearest neighbours per query, 1…1e6 and at most the data's pairs.") var neighbors: Int?
    @Option(integer: "--ode-steps", help: "N_τ, steps of the probability-flow ODE, 1…100000.") var odeSteps: Int?
    @Option(decimal: "--nu-x", help: "Kernel bandwidth in x (units of x), 1e-100…1e100 and at least 1e-6 × the data's spread σ_x (narrower: every kernel weight underflows). Default: the example's; for data of no known example below d = 5, bm's \(SDEExample.brownianMotion.labels.nuX) × σ_x / \(DataScales.brownianMotion.x) (bm's σ_x), from d = 5 ou-nd's max(2, 2√(d/10)) × σ_x / \(DataScales.highDimensional.x).") var nuX: Double?
    @Option(decimal: "--nu-mu", help: "Kernel bandwidth in μ (units of μ), 1e-100…1e100 and at least 1e-6 × σ_μ. Default: the example's; for data of no known example below d = 5, bm's \(SDEExample.brownianMotion.labels.nuMu) × σ_μ / \(DataScales.brownianMotion.mu), from d = 5 ou-nd's \(UnknownDataDefaults.labels(d: 10, dMu: 1).nuMu) × σ_μ / \(DataScales.highDimensional.mu).") var nuMu: Double?
    @Option(decimal: "--scale", help: "Displacement scale c (labels are c·(y − x)), 1e-6…1e6, with c·|y − x| ≤ 1e15 (float32 range of the label kernel). Default \(SDEExample.brownianMotion.labels.scale); for data of no known example, that × \(DataScales.brownianMotion.displacement) (below d = 5, bm's) or \(DataScales.highDimensional.displacement) (from d = 5, ou-nd's) / the spread of y − x.") var scale: Double?
    @Option(help: "Score estimator: local-bilinear (neighbours' displacements moved to the query by a weighted fit linear in x − x_q and μ − μ_q plus their products; default), local-linear (without the products; the default where d·dμ > 4 below d = 5 and d·dμ > 20 from it on, for data of no known example) or paper (the paper's, for reproduction).")
    var estimator: LabelEstimator?
    @Option(help: "ODE solver: exponential (DPM-Solver++ 2M on a grid dense at small noise; default) or euler (the paper's uniform explicit Euler).")
    var odeSolver: ODESolver?
    @Option(decimal: "--ode-stop", help: "Exponential solver: stop at noise σ = this × the neighbours' displacement spread and finish with a variance-preserving posterior-mean step, 0…10 (default 0.2; 10 for ou-nd and for data of no known example with d ≥ 5; 0: run onto the data).")
    var odeStop: Double?
    @Option(help: "Exact K-NN index: auto (grid up to D = d + dμ = \(NeighbourSearch.gridMaxDims), brute-force beyond), grid (cell list, shards with halos) or brute-force (a scan of every pair held, exact).")
    var neighbourIndex: NeighbourSearch = .auto
    @Option(help: "How pairs are spread over ranks: auto (halo with the grid index while it fits in memory, blocks otherwise), halo (each rank holds what its queries' K-NN can reach: no traffic while labelling) or blocks (each rank holds N/P pairs; each label's K rows travel to its rank).")
    var shards: ShardLayout = .auto
    @Option(help: "How a stopped solve finishes: diagonal (κ per component) or matrix (κ from the neighbours' covariance: keeps correlations; default for ou-nd and for data of no known example with d > 2).")
    var odeFinish: ODEFinish?
    @Option(help: "Global trend: none (the local fit alone) or global (a least-squares model of the displacement over all pairs that the local fits start from, their deviation from it shrunk toward it where the data cannot tell them apart; for d ≤ 2 a weighted cubic in x and μ with the columns the data support, for d ≥ 3 linear in x and μ, their products, x_i² and x_i³). Default: global, except none for data of no known example with d = 3 or 4 and with --paper-method.")
    var trend: LabelTrend?
    @Flag(help: "The paper's labels exactly: its estimator, Euler solver, number of labels, K and N_τ (other options given still apply).")
    var paperMethod = false

    func validate() throws {
        try checkRange(labels, "--labels", Limits.labelCount)
        try checkRange(neighbors, "--neighbors", Limits.neighbors)
        try checkRange(odeSteps, "--ode-steps", Limits.odeSteps)
        try checkRange(nuX, "--nu-x", Limits.bandwidth)
        try checkRange(nuMu, "--nu-mu", Limits.bandwidth)
        try checkRange(scale, "--scale", Limits.scale)
        try checkRange(odeStop, "--ode-stop", Limits.odeStop)
    }

    /// `defaults` are the tool's label settings for the data's example, `paper` the paper's.
    func settings(defaults: LabelSettings, paper: LabelSettings) throws -> LabelSettings {
        try validate()
        var s = paperMethod ? paper : defaults
        if let v = labels { s.labels = v }
        if let v = neighbors { s.neighbors = v }
        if let v = odeSteps { s.odeSteps = v }
        if let v = nuX { s.nuX = v }
        if let v = nuMu { s.nuMu = v }
        if let v = scale { s.scale = v }
        if let v = estimator { s.estimator = v }
        if let v = odeSolver {
            s.solver = v
            if v == .euler && odeStop == nil { s.odeStop = 0 }  // the default stop is the exponential solver's
        }
        if let v = odeStop { s.odeStop = v }
        if let v = odeFinish { s.finish = v }
        if let v = trend { s.trend = v }
        guard s.odeStop == 0 || s.solver == .exponential else {
            throw ValidationError("--ode-stop needs --ode-solver exponential (the Euler solver always runs onto the data)")
        }
        return s
    }
}

/// Training options; unset ones take the paper's (docs/METHOD.md §3).
struct TrainOptions: ParsableArguments {
    @Option(help: "Hidden layer widths, e.g. 128,128,128: 1…64 integers in 1…65536 (default: the example's paper network); the network must fit in memory.") var hidden: String?
    @Option(integer: "--batch-size", help: "Global mini-batch size (split over ranks), 1…16777216.") var batchSize: Int = 1024
    @Option(decimal: "--learning-rate", help: "Adam learning rate, 1e-10…1 (below 1e-10 every step of Adam is lost to the float32 rounding of the weights).") var learningRate: Double = 1e-3
    @Option(decimal: "--weight-decay", help: "Adam weight decay (L2), in [0, 1].") var weightDecay: Double = 1e-6
    @Option(integer: "--max-epochs", help: "Maximum epochs, 1…1e7.") var maxEpochs: Int = 1000
    @Option(integer: "--patience", help: "Early-stopping patience in epochs, 1…1e7 (default: the example's, 50 or 100).") var patience: Int?
    @Option(integer: "--lr-patience", help: "Epochs without improvement before the learning rate is halved, 0…1e7.") var lrPatience: Int = 20
    @Option(decimal: "--validation-fraction", help: "Fraction of labels held out for validation, in (0, 1).") var validationFraction: Double = 0.1
    @Option(help: "Weights of the loss's rows: relative (by the inverse local label variance) or uniform (default: relative for d < 5).") var lossWeighting: LossWeighting?
    @Option(help: "What the network's output is relative to: quadratic (a mean and spread in (x, μ) fitted to the labels), none (the labels themselves), or auto (quadratic where its spread fits the labels', checked on the training rows; the default; docs/METHOD.md §6.9).") var outputPrior: OutputPriorKind?

    func validate() throws {
        if let h = hidden { _ = try Self.widths(h) }
        try checkRange(batchSize, "--batch-size", Limits.batchSize)
        let floor = Limits.learningRate.lowerBound
        if learningRate > 0 && learningRate < floor {  // refused, not warned: such a run trains nothing, however long
            throw ValidationError("--learning-rate \(learningRate) is below \(floor): Adam moves each weight by about the learning rate per step, and in float32 a step that small is lost to the rounding of even the smallest initial weights (about 0.002), so nothing would be trained; use a rate in [\(floor), 1] (default 1e-3)")
        }
        try checkRange(learningRate, "--learning-rate", Limits.learningRate)
        try checkRange(weightDecay, "--weight-decay", Limits.weightDecay)
        try checkRange(maxEpochs, "--max-epochs", Limits.epochs)
        try checkRange(patience, "--patience", Limits.epochs)
        try checkRange(lrPatience, "--lr-patience", Limits.lrPatience)
        try checkRange(validationFraction, "--validation-fraction", 0...1, openBelow: true, openAbove: true)
    }

    /// `--hidden` as widths: 1…64 integers in 1…65536 (no rounding of 1.5, no 1e10).
    static func widths(_ text: String) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let w = Limits.hiddenWidth, l = Limits.hiddenLayers
        guard l.contains(parts.count) else { throw ValidationError("--hidden gives \(parts.count) layers; expected \(l.lowerBound)…\(l.upperBound) widths, e.g. 128,128,128") }
        return try parts.map {
            guard let v = Int($0), w.contains(v) else {
                throw ValidationError("--hidden: '\($0)' is not a layer width: widths are integers in \(w.lowerBound)…\(w.upperBound), e.g. 128,128,128")
            }
            return v
        }
    }

    /// The settings, with the network and batch checked against this node's memory: inputs of
    /// width 2d + dμ and d outputs (`dims`, else the example's; `rows` labels).
    func settings(example: SDEExample?, seed: UInt64, dims: (d: Int, dMu: Int)? = nil, rows: Int = 0) throws -> TrainSettings {
        try validate()
        var s = TrainSettings(for: example, d: dims?.d)
        if let h = hidden { s.hidden = try Self.widths(h) }
        s.batchSize = batchSize; s.learningRate = learningRate; s.weightDecay = weightDecay
        s.maxEpochs = maxEpochs; s.patience = patience ?? s.patience; s.lrPatience = lrPatience
        s.validationFraction = validationFraction; s.seed = seed
        if let w = lossWeighting { s.lossWeighting = w }
        if let p = outputPrior { s.outputPrior = p }
        if let dm = dims ?? example.map({ ($0.d, $0.dMu) }) {
            let (d, dMu) = dm
            let bytes = Limits.trainingBytes(input: 2 * d + dMu, hidden: s.hidden, output: d, batch: s.batchSize, rows: rows)
            try Limits.checkMemory(bytes: bytes ?? Int.max, what: "training an MLP \(2 * d + dMu)→\(s.hidden.map(String.init).joined(separator: "→"))→\(d) with batch \(s.batchSize)",
                                   fix: "use narrower --hidden layers or a smaller --batch-size", location: .option("--hidden"))
        }
        return s
    }
}
