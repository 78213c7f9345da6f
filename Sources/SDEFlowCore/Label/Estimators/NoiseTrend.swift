import Foundation

/// A global model of the noise's size, s(x, μ) = E|y − x − g(x, μ)|² over every pair
/// (`GlobalTrend.fitFullBasis`, step 4), that a label's local noise scale is drawn toward.
///
/// Why: the local fit reads the noise scale at the query, s₀, from the squared residuals of its
/// K neighbours. s₀ carries their sampling noise, which every query near another shares, so the
/// network learns it: in 1-D at K = 20 000 the labels' variance wandered by ±1–2 % from state
/// to state (gbm, CIR), most where the data thin out. The model pools every pair, as the
/// trend does for the mean; a label keeps s = s_g + λ(s₀ − s_g), λ the share of the local
/// deviation the data show (`stretch`).
public struct NoiseTrend: Sendable, Equatable {
    /// Coefficients on the trend's columns; 0 for a column the selection dropped.
    let coefficients: [Double]
    /// The model is floored at this (1 % of the mean squared residual), where a fit dips low.
    let floor: Double
    /// How much of a label's local deviation V − s_g it keeps, fitted by the trend's pilot
    /// (`TrendPilot`) to the deviations' χ² = (V − s_g)²/Var(V); nil before that: all of it.
    public var shrinkage: TrendShrinkage?

    /// The factor by which a label's neighbours' residuals are stretched, √(s/V), for their
    /// weighted mean square `local` = V, the model's `global` = s_g (both in the labels' units)
    /// and the deviation's χ²; clamped to [½, 2]. 1 when V is not usable or before the pilot.
    func stretch(local: Double, global: Double, chiSquare: Double?) -> Double {
        guard let shrinkage, local > 0, local.isFinite, global > 0 else { return 1 }
        let target = global + shrinkage.factor(chiSquare: chiSquare, d: 1) * (local - global)
        return min(max((max(target, 0) / local).squareRoot(), 0.5), 2)
    }
}
