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
    /// (`TrendPilot`) to the deviations' χ² = (V − s_g)²/Var(V); nil before that, or where the
    /// model is off everywhere (`offEverywhere`): all of it.
    public var shrinkage: TrendShrinkage?

    /// The pilot's slab variance κ (in units of a deviation's own sampling variance) beyond which,
    /// with no deviation found to be noise alone (π = 0), the model is set aside. Why: the slab keeps
    /// κ/(1 + κ) of every deviation, so a model that is off everywhere still pulls each label by
    /// 1/(1 + κ) of its misfit. On a bump-shaped noise, 0.2 + 0.5e^(−x²), which no polynomial of
    /// the basis follows (the model 19 % off at its peak; π = 0, κ = 33), that pull of 3 % put the
    /// judged variance 0.4 points further off (worst row 1.74 → 2.11 %). Every data set measured
    /// had either π > 0 or κ < 3 (quadnoise: π = 5 %, κ = 2.2; gbm π = 98.5 %).
    static let offEverywhere = 10.0

    /// The factor by which a label's neighbours' residuals are stretched, √(s/V), for their
    /// weighted mean square `local` = V, the model's `global` = s_g (both in the labels' units)
    /// and the deviation's χ²; clamped to [½, 2]. 1 when V is not usable or before the pilot.
    func stretch(local: Double, global: Double, chiSquare: Double?) -> Double {
        guard let shrinkage, local > 0, local.isFinite, global > 0 else { return 1 }
        let target = global + shrinkage.factor(chiSquare: chiSquare, d: 1) * (local - global)
        return min(max((max(target, 0) / local).squareRoot(), 0.5), 2)
    }
}
