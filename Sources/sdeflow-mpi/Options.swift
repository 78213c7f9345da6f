import ArgumentParser
import Foundation
import SDEFlowCore

extension LabelEstimator: ExpressibleByArgument {}
extension ODESolver: ExpressibleByArgument {}
extension NeighbourSearch: ExpressibleByArgument {}
extension ShardLayout: ExpressibleByArgument {}
extension ODEFinish: ExpressibleByArgument {}

struct SeedOption: ParsableArguments {
    @Option(help: "Seed of every random draw (draws are keyed by global ids, so results do not depend on the rank count).")
    var seed: UInt64 = 1
}

/// Simulation options; unset ones take the example's paper defaults.
struct SimulateOptions: ParsableArguments {
    @Option(help: "Name of the example SDE (\(SDEExample.all.map(\.name).joined(separator: ", "))).")
    var example: String = "bm"
    @Option(help: "State dimension d, for examples that take one (ou-nd: default 10).")
    var dim: Int?
    @Option(help: "Trajectories per observed μ (paper: 5000 for bm and ou, 3000 for ou2d).")
    var pathsPerMu: Int?
    @Option(help: "Trajectory length T (Δt = 0.1 observations; paper: 1, or 2 for ou2d).")
    var horizon: Double?
    @Option(help: "Euler–Maruyama sub-step (paper: 1e-3); 0 uses the exact transition where known.")
    var fineStep: Double?
    @Option(help: "Floating type of the written arrays: float32 or float64.")
    var dtype: String = "float64"

    func settings(for ex: SDEExample) throws -> SimulationSettings {
        var s = ex.simulation
        if let p = pathsPerMu { guard p > 0 else { throw ValidationError("--paths-per-mu must be positive") }; s.pathsPerMu = p }
        if let h = horizon { guard h >= s.dt else { throw ValidationError("--horizon must be at least Δt = \(s.dt)") }; s.horizon = h }
        if let f = fineStep {
            guard f >= 0, f <= s.dt else { throw ValidationError("--fine-step must be in [0, Δt = \(s.dt)]") }
            s.fineStep = f == 0 ? nil : f
        }
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

/// Label options; unset ones take the paper's settings for the data set's example (bm's for user data).
struct LabelOptions: ParsableArguments {
    @Option(help: "Number of labels (queries).") var labels: Int?
    @Option(help: "K, exact nearest neighbours per query.") var neighbors: Int?
    @Option(help: "N_τ, steps of the probability-flow ODE.") var odeSteps: Int?
    @Option(help: "Kernel bandwidth in x.") var nuX: Double?
    @Option(help: "Kernel bandwidth in μ.") var nuMu: Double?
    @Option(help: "Displacement scale c (labels are c·(y − x)).") var scale: Double?
    @Option(help: "Score estimator: local-bilinear (neighbours' displacements moved to the query by a weighted fit linear in x − x_q and μ − μ_q plus their products; default), local-linear (without the products; the default for data of no known example with d·dμ > 4) or paper (the paper's, for reproduction).")
    var estimator: LabelEstimator?
    @Option(help: "ODE solver: exponential (DPM-Solver++ 2M on a grid dense at small noise; default) or euler (the paper's uniform explicit Euler).")
    var odeSolver: ODESolver?
    @Option(help: "Exponential solver: stop at noise σ = this × the neighbours' displacement spread and finish with a variance-preserving posterior-mean step (default 0.2; 0: run onto the data).")
    var odeStop: Double?
    @Option(help: "Exact K-NN index: auto (grid up to D = d + dμ = \(NeighbourSearch.gridMaxDims), brute-force beyond), grid (cell list, shards with halos) or brute-force (a scan of every pair held, exact).")
    var neighbourIndex: NeighbourSearch = .auto
    @Option(help: "How pairs are spread over ranks: auto (halo with the grid index while it fits in memory, blocks otherwise), halo (each rank holds what its queries' K-NN can reach: no traffic while labelling) or blocks (each rank holds N/P pairs; each label's K rows travel to its rank).")
    var shards: ShardLayout = .auto
    @Option(help: "How a stopped solve finishes: diagonal (κ per component) or matrix (κ from the neighbours' covariance: keeps correlations; default for ou-nd and for data of no known example with d > 2).")
    var odeFinish: ODEFinish?
    @Flag(help: "The paper's labels exactly: its estimator, Euler solver, number of labels, K and N_τ (other options given still apply).")
    var paperMethod = false

    /// `defaults` are the tool's label settings for the data's example, `paper` the paper's.
    func settings(defaults: LabelSettings, paper: LabelSettings) throws -> LabelSettings {
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
        guard s.odeStop >= 0 && s.odeStop <= 10 else { throw ValidationError("--ode-stop must be in [0, 10]") }
        guard s.odeStop == 0 || s.solver == .exponential else {
            throw ValidationError("--ode-stop needs --ode-solver exponential (the Euler solver always runs onto the data)")
        }
        guard s.labels > 0, s.neighbors > 0, s.odeSteps > 0 else {
            throw ValidationError("--labels, --neighbors and --ode-steps must be positive")
        }
        guard s.nuX > 0, s.nuMu > 0, s.scale > 0 else { throw ValidationError("--nu-x, --nu-mu and --scale must be positive") }
        return s
    }
}

/// Training options; unset ones take the paper's (docs/METHOD.md §3).
struct TrainOptions: ParsableArguments {
    @Option(help: "Hidden layer widths, e.g. 128,128,128 (default: the example's paper network).") var hidden: String?
    @Option(help: "Global mini-batch size (split over ranks).") var batchSize: Int = 1024
    @Option(help: "Adam learning rate.") var learningRate: Double = 1e-3
    @Option(help: "Adam weight decay (L2).") var weightDecay: Double = 1e-6
    @Option(help: "Maximum epochs.") var maxEpochs: Int = 1000
    @Option(help: "Early-stopping patience in epochs (default: the example's, 50 or 100).") var patience: Int?
    @Option(help: "Epochs without improvement before the learning rate is halved.") var lrPatience: Int = 20
    @Option(help: "Fraction of labels held out for validation.") var validationFraction: Double = 0.1

    func settings(example: SDEExample?, seed: UInt64) throws -> TrainSettings {
        var s = TrainSettings(for: example)
        if let h = hidden {
            s.hidden = try parseList(h, option: "--hidden").map { Int($0) }
            guard !s.hidden.isEmpty, s.hidden.allSatisfy({ $0 > 0 }) else { throw ValidationError("--hidden needs positive widths, e.g. 128,128,128") }
        }
        s.batchSize = batchSize; s.learningRate = learningRate; s.weightDecay = weightDecay
        s.maxEpochs = maxEpochs; s.patience = patience ?? s.patience; s.lrPatience = lrPatience
        s.validationFraction = validationFraction; s.seed = seed
        guard s.batchSize > 0, s.maxEpochs > 0, s.patience > 0 else { throw ValidationError("--batch-size, --max-epochs and --patience must be positive") }
        guard (0.0..<1.0).contains(s.validationFraction), s.validationFraction > 0 else { throw ValidationError("--validation-fraction must be in (0, 1)") }
        return s
    }
}

