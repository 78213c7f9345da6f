import Foundation

/// One start state of `evaluate`'s one-step laws: a quantile of the x an example's data hold at
/// each μ, or the example's own point (the paper's start).
///
/// Why: a flow map learned from data is only as good as the data around the state it starts
/// from, and for state-dependent noise (`cir`) the law to learn changes with the state. One
/// point per example says nothing about the edges of the data; the 5 %–95 % quantiles span them.
public struct StartState: Codable, Sendable, Equatable {
    /// "q05" … "q95" for a quantile level, "point" for the example's point.
    public var name: String
    /// The quantile level in (0, 1); nil for the point.
    public var level: Double?
    /// The state at each of the spec's one-step μ (`EvaluationSpec.oneStepMu` order), d values each.
    public var x: [[Double]]

    public init(name: String, level: Double?, x: [[Double]]) { self.name = name; self.level = level; self.x = x }

    /// "q05" for 0.05: the level in whole per cent (to one decimal where it is not whole).
    public static func name(level: Double) -> String {
        let percent = level * 100
        return percent == percent.rounded() ? String(format: "q%02d", Int(percent)) : String(format: "q%04.1f", percent)
    }
}

/// Where the quantile states come from: the example's own data design — its initial law, its
/// exact (or Euler–Maruyama) steps, its horizon — simulated for `paths` paths at each μ with the
/// fixed `seed`, and the quantiles of every x of those pairs (the x a data set of the design holds
/// at that μ; at a midpoint μ, what the design would hold there). Deterministic: the same states
/// on every rank and for every evaluation seed, so rows of several evaluations line up. For
/// d > 1 the quantile is taken per component (a vector of component-wise quantiles; for ou-nd,
/// whose components have about the same law, a state along the diagonal).
public enum DataQuantiles {
    /// Paths per μ: 1 000 give 10 000 x per μ (20 000 for ou2d); the standard error of the 5 %
    /// quantile is then 0.02–0.07 of the law's standard deviation (a path's states are
    /// correlated) — it says where to evaluate, it is not itself a figure.
    public static let paths = 1000
    /// The default data seed of `simulate` (1): the states are a property of the example.
    public static let seed: UInt64 = 1

    /// The component-wise quantiles at `levels` of the design's x at each μ: [μ][level][component].
    public static func states(of example: SDEExample, at mus: [[Double]], levels: [Double],
                              paths: Int = paths, seed: UInt64 = seed) -> [[[Double]]] {
        precondition(paths >= 1 && levels.allSatisfy { $0 >= 0 && $0 <= 1 }, "quantile levels must be in [0, 1]")
        var settings = example.simulation
        settings.pathsPerMu = paths
        if example.hasExactLaw { settings.fineStep = nil }  // the same law as the data, and cheaper
        let d = example.d
        return mus.map { mu in
            let block = Simulator.simulate(example, settings: settings, observedMu: [mu], paths: 0..<paths, seed: seed)
            let columns = (0..<d).map { i in stride(from: i, to: block.x.count, by: d).map { block.x[$0] }.sorted() }
            return levels.map { q in columns.map { quantile(sorted: $0, q) } }
        }
    }

    /// The q-quantile of ascending `sorted` values by linear interpolation between order
    /// statistics (NumPy's default, Hyndman & Fan type 7): position q·(n − 1).
    public static func quantile(sorted: [Double], _ q: Double) -> Double {
        precondition(!sorted.isEmpty)
        let h = q * Double(sorted.count - 1), lo = Int(h.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }
}
