import Foundation

/// The paper's three examples (docs/METHOD.md §4), Δt = 0.1, c = 3 throughout: the paper's data,
/// network and (as `paperLabels`, for `--paper-method`) label settings.
///
/// The default labels differ from the paper's in how they spend the same budget. The paper's
/// K = 1000–2000 neighbours make every label's law the empirical law of one small patch of one
/// μ slice: its mean and variance carry that patch's sampling noise (√(2/K) ≈ 3–4 % on the
/// variance), and the network, which can only average what it is shown, inherits much of it.
/// With the local estimator (`local-bilinear`) moving every neighbour's mean and noise scale
/// to the query, a neighbourhood ten times wider costs no bias for these SDEs (additive noise,
/// drift close to linear over the patch) and pools several μ slices; the exponential solver
/// stopped at 0.2 of the neighbours' spread needs 60 steps instead of 500–1000, which pays for
/// the wider K.
/// Measured against the exact laws (`evaluate`, 100 000 samples per μ, every observed μ and
/// midpoint): mean error within 0.0013 / 0.0021 / 0.0022 and variance error within 0.7 / 1.1 /
/// 1.0 % for bm / ou / ou2d (the paper's labels: up to 0.0035 and 2.6 % on bm and ou, 0.024 and
/// 10.5 % on ou2d).
///
/// ou2d pools wider still (K = 80 000, ν doubled, 25 000 labels). In d = 2 the same K covers a
/// smaller stretch of each μ slice, and at the top of the μ range, where the data contract
/// towards 0, the labels near the evaluation point (1.5, 0.5) drew on a few thousand pairs
/// whose own sample variance was 2–9 % low (data seed 1; pairs within 0.6 of the point at
/// μ ≥ 1.8): K = 20 000 reproduced that as −2.5 % in the learned variance, K = 80 000 over the
/// doubled bandwidth averages it out (−0.9 %). Half the labels suffice: they are 4× smoother
/// (validation loss 0.0001 instead of 0.00025), and 50 000 gave no better model.
///
/// They start from the global trend (`--trend global`, docs/METHOD.md §6.7): the local mean
/// over K = 20 000 displacements carries the data's own noise (up to 0.006 at the quantile states
/// at the ends of the μ range, the same for every label near them), and a trend fitted to all
/// pairs, with the local deviation from it kept only where the data show one, halved it (bm
/// 0.0058 → 0.0031, ou 0.0085 → 0.0044, gbm 0.0043 → 0.0026; BENCHMARKS.md, "ninth session").
extension SDEExample {
    /// The tool's default labels for the paper's examples (see above), by default with the
    /// paper's ν.
    static func wideLabels(nuX: Double, nuMu: Double, neighbors: Int = 20_000, labels: Int = 50_000) -> LabelSettings {
        LabelSettings(labels: labels, neighbors: neighbors, odeSteps: 60, nuX: nuX, nuMu: nuMu,
                      estimator: .localBilinear, solver: .exponential, odeStop: 0.2, trend: .global)
    }
}

/// Defaults for data of no built-in example (a user's `.npy` folder), chosen by the data's
/// dimensions: the one place that says what `label` and `train` do with unknown data.
public enum UnknownDataDefaults {
    /// From this many state components on, the high-dimensional label settings apply: at
    /// d = 5 the wide labels' solve stopped at 0.2 of the spread already ends on an effective
    /// sample size of 7.6, at d = 10 on one neighbour (BENCHMARKS.md, "High-dimensional runs").
    public static let highDimension = 5

    /// The label settings for d state and dμ parameter components: the wide labels of the
    /// paper's examples below `highDimension` (the plain local-linear fit once the bilinear
    /// fit's d·dμ cross terms pass 4, the matrix finish and no trend from d = 3), the settings measured on
    /// `ou-nd` from it on (`SDEExample.highDimensionalLabels`). With the data's `scales`, the
    /// lengths ν_x, ν_μ and c are carried from the spreads they were measured at (bm's, or
    /// `ou-nd`'s from d = 5) to the data's, so the labels do not depend on the data's units.
    public static func labels(d: Int, dMu: Int, scales: DataScales? = nil) -> LabelSettings {
        if d >= highDimension {
            let s = SDEExample.highDimensionalLabels(d: d, dMu: dMu)
            return scales?.scaled(s, from: .highDimensional) ?? s
        }
        var s = SDEExample.brownianMotion.labels
        if d * dMu > 4 { s.estimator = .localLinear }
        if d > 2 { s.finish = .matrix }
        // The trend's full basis and fitted shrinkage were measured at d ≤ 2, its high-d form
        // from d = 5; d = 3 and 4 keep the local fit alone.
        if !GlobalTrend.usesFullBasis(d: d, dMu: dMu) { s.trend = .none }
        return scales?.scaled(s, from: .brownianMotion) ?? s
    }

    /// The network: the paper's 3 × 128 below `highDimension`, 3 × 256 from it on (the width
    /// `ou-nd` was measured with: 2d + dμ inputs, d outputs).
    public static func hidden(d: Int) -> [Int] {
        d >= highDimension ? [256, 256, 256] : [128, 128, 128]
    }
}

extension SDEExample {
    /// The label settings measured on `ou-nd` (d = 10, 20, 50; BENCHMARKS.md, "High-dimensional
    /// runs"), also the defaults for unknown data from d = 5 (`UnknownDataDefaults`). K = 8 000
    /// and ν_x = 2 (a kernel nearly flat over them; the fit removes the trends): what the network
    /// keeps is each point's local mean and covariance, whose error falls with the neighbours
    /// weighted (at d = 10: 6–8 % covariance error at K = 2 000, 3.4–4.2 % at 8 000; at d = 20 with
    /// ν_x = 1 vs 2: 5.6–6.7 vs 4.5–4.9 %), and the trained model's covariance error followed
    /// (6.7 → 4.4 % at d = 10). Beyond d = 10, ν_x grows like √d, as the neighbours' squared
    /// distances do: at d = 50 with ν_x = 2 the weights of a query in the tails fell on a few
    /// neighbours (median effective sample size 7, labels uncorrelated with the exact map).
    /// 50 000 labels (their errors are coherent, so more buy little). The
    /// solve stopped at 10 × the neighbours' spread and
    /// finished with the matrix κ, so each label is the neighbours' local Gaussian law (their
    /// weighted mean and covariance, correlations kept) carried along z: at 0.2 × the spread the
    /// kernel weights' effective sample size is 1 at d = 10 (each label one neighbour), at 1 × its
    /// median is 32 at d = 10 but 1.1 at d = 20 (labels uncorrelated with the exact transport
    /// map), at 10 × it is ~1 450 at d = 10 and the labels' RMS residual against the exact map
    /// falls from 19–24 % to 12–19 % of the one-step standard deviation. The bilinear fit while
    /// its d·dμ cross terms stay ≤ 20 (drifts with μ·x terms), the plain local-linear fit beyond,
    /// where the O(K p²) fit would dominate.
    static func highDimensionalLabels(d: Int, dMu: Int) -> LabelSettings {
        LabelSettings(labels: 50_000, neighbors: 8_000, odeSteps: 60, nuX: max(2, 2 * (Double(d) / 10).squareRoot()), nuMu: 0.5,
                      estimator: d * dMu <= 20 ? .localBilinear : .localLinear, solver: .exponential,
                      odeStop: 10, finish: .matrix, trend: .global)
    }
}
