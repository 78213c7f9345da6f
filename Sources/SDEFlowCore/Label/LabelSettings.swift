import Foundation

/// The settings the paper used for labels (docs/METHOD.md §2, §4); every CLI default comes from here.
public struct LabelSettings: Codable, Sendable, Equatable {
    /// Number of queries (x_n, μ, z), one label each.
    public var labels: Int
    /// K, the exact nearest neighbours in the normalised (x/σ_x, μ/σ_μ) space.
    public var neighbors: Int
    /// N_τ, steps of the probability-flow ODE.
    public var odeSteps: Int
    /// Kernel bandwidths in the units of x and μ.
    public var nuX: Double
    public var nuMu: Double
    /// c: labels are samples of c (y − x).
    public var scale: Double
    /// Whether neighbours' displacements are moved to the query first (`LocalLinear.swift`).
    /// Label sets written before this setting existed were made with `.paper`.
    public var estimator: LabelEstimator
    /// How the ODE is integrated (`ODESolver.swift`); older label sets used `.euler`.
    public var solver: ODESolver
    /// Exponential solver only: stop at noise σ = odeStop × the neighbours' displacement spread
    /// and finish with the posterior mean plus κ times the remaining noise, instead of running
    /// onto the data. In d > 1 the flow's last stretch sends nearby z to different, scattered
    /// data points, and which ones changes from query to query: label noise that the network
    /// averages away as lost variance. Stopping above the data spacing keeps the z → label map
    /// smooth; κ keeps the variance of a locally Gaussian law exact. 0: run onto the data.
    /// The examples' defaults use 0.2 with 60 steps (+0.2 % label variance against 1000 steps).
    public var odeStop: Double
    /// How a stopped solve finishes (`ODEFinish`); label sets written before it existed used `.diagonal`.
    public var finish: ODEFinish
    /// Whether the labels start from a global trend of the displacement (`GlobalTrend`); label
    /// sets written before it existed had none.
    public var trend: LabelTrend

    public init(labels: Int, neighbors: Int, odeSteps: Int, nuX: Double, nuMu: Double, scale: Double = 3,
                estimator: LabelEstimator = .localLinear, solver: ODESolver = .exponential, odeStop: Double = 0,
                finish: ODEFinish = .diagonal, trend: LabelTrend = .none) {
        self.labels = labels; self.neighbors = neighbors; self.odeSteps = odeSteps
        self.nuX = nuX; self.nuMu = nuMu; self.scale = scale; self.estimator = estimator; self.solver = solver
        self.odeStop = odeStop; self.finish = finish; self.trend = trend
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        labels = try c.decode(Int.self, forKey: .labels); neighbors = try c.decode(Int.self, forKey: .neighbors)
        odeSteps = try c.decode(Int.self, forKey: .odeSteps)
        nuX = try c.decode(Double.self, forKey: .nuX); nuMu = try c.decode(Double.self, forKey: .nuMu)
        scale = try c.decode(Double.self, forKey: .scale)
        estimator = try c.decodeIfPresent(LabelEstimator.self, forKey: .estimator) ?? .paper
        solver = try c.decodeIfPresent(ODESolver.self, forKey: .solver) ?? .euler
        odeStop = try c.decodeIfPresent(Double.self, forKey: .odeStop) ?? 0
        finish = try c.decodeIfPresent(ODEFinish.self, forKey: .finish) ?? .diagonal
        trend = try c.decodeIfPresent(LabelTrend.self, forKey: .trend) ?? LabelTrend.none
    }
}

extension LabelSettings {
    /// The options set differently in `saved` than here, as "--option saved → here", in the order
    /// `label --help` lists them (what a refused label checkpoint names).
    func differences(from saved: LabelSettings) -> [String] {
        func item<T: Equatable>(_ name: String, _ k: KeyPath<LabelSettings, T>) -> String? {
            saved[keyPath: k] == self[keyPath: k] ? nil : "\(name) \(saved[keyPath: k]) → \(self[keyPath: k])"
        }
        func named<T: RawRepresentable & Equatable>(_ name: String, _ k: KeyPath<LabelSettings, T>) -> String? {
            saved[keyPath: k] == self[keyPath: k] ? nil : "\(name) \(saved[keyPath: k].rawValue) → \(self[keyPath: k].rawValue)"
        }
        return [
            item("--labels", \.labels), item("--neighbors", \.neighbors), item("--ode-steps", \.odeSteps),
            item("--nu-x", \.nuX), item("--nu-mu", \.nuMu), item("--scale", \.scale),
            named("--estimator", \.estimator), named("--ode-solver", \.solver), item("--ode-stop", \.odeStop),
            named("--ode-finish", \.finish), named("--trend", \.trend),
        ].compactMap { $0 }
    }
}
