import CKernels
import Foundation

/// How the neighbours' displacements enter the kernel score (docs/METHOD.md §2).
public enum LabelEstimator: String, Codable, Sendable, CaseIterable {
    /// The paper's estimator: every neighbour contributes its own c·(y_j − x_j).
    case paper
    /// **[beyond]** Every neighbour's displacement is first moved to the query's (x, μ) by a
    /// kernel-weighted local-linear fit, Δ_j − B·(x_j − x) − C·(μ_j − μ) (the regression
    /// adjustment of approximate Bayesian computation). The K neighbours span a ball in x and,
    /// at the ends of the μ range, lie on one side of the query; with the paper's estimator the
    /// label law is their mixture, so its mean is biased by the drift's change across the ball
    /// and its variance is inflated by the spread of the neighbours' means. The adjustment
    /// removes both to first order, and rescales each pair's noise to the query's noise level
    /// (also fitted linearly), so neighbours from other μ slices pool without biasing the variance.
    case localLinear = "local-linear"
    /// **[beyond]** `localLinear` plus the cross terms (x_j − x)·(μ_j − μ): the x-slopes of the
    /// fit vary linearly in μ. Drifts like −μx (ou, ou2d) have such a term; a neighbourhood
    /// that is one-sided in μ and lopsided in x (the top of the μ range, where the data contract
    /// towards 0) turns it into a mean bias the plain fit keeps. Over 16 synthetic data sets of
    /// ou2d's size, the weighted law of the adjusted neighbours at (1.5, 0.5), μ = 2 (K = 20 000):
    /// mean bias 0.0038 → 0.0004, rms error 0.0046 → 0.0027. The fit has p = d + dμ + d·dμ columns and costs O(K p²) per query; for d ≳ 10
    /// `localLinear` is the affordable choice.
    case localBilinear = "local-bilinear"

    /// Whether neighbours are moved to the query by a `LocalLinearFit`.
    public var fitsLocally: Bool { self != .paper }

    /// Offset columns of the fit: x_j − x (d), μ_j − μ (dμ) and, for `localBilinear`, the
    /// products (μ_j − μ)_m (x_j − x)_i (d·dμ, μ-major).
    public func fitColumns(d: Int, dMu: Int) -> Int {
        d + dMu + (self == .localBilinear ? d * dMu : 0)
    }

    /// Offset columns (x and μ, D = d + dμ) whose squares and products join the scale fit
    /// (`LocalLinearFit.curvatureBase`): all of them at D = 2 (d = dμ = 1); at D = 3 where the
    /// data's noise varies with the state (`stateDependentNoise`: the trend's noise model
    /// changes by ≥ `stateNoiseThreshold` over a spread of x); none above. The quadratic fit's
    /// value at the query is noisier than the linear one's, and nearby labels share that error:
    /// on ou2d (D = 3, additive noise, nothing for the curvature to find) the per-component
    /// quadratic fit took the model's worst variance error over six start states from 1.14 %
    /// to 1.70 %, while on a held-out d = 2 SDE whose components' noise grows with the other
    /// component it took 20 of 25 judged rows over 2 % (worst 5.9 %) to 1 (2.2 %); on gbm
    /// (D = 2) it took the labels' excess variance at the data's 5 % quantile from 5–9 % to
    /// within ±4 % and the model's error there from 15 % to 7.5 % (BENCHMARKS.md).
    public func curvatureColumns(d: Int, dMu: Int, stateDependentNoise: Bool = false) -> Int {
        guard fitsLocally else { return 0 }
        return d + dMu == 2 || (d + dMu == 3 && stateDependentNoise) ? d + dMu : 0
    }

    /// The noise model's variation over a spread of x (`GlobalTrend.noiseStateVariation`) from
    /// which the scale fit at D = 3 is quadratic: on ou2d's additive noise the model keeps no x
    /// column (0), on the held-out d = 2 SDE it reads 0.67 (gbm's, at D = 2: 1.66).
    public static let stateNoiseThreshold = 0.05
}
