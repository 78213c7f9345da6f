import CKernels
import Foundation

/// Weighted least squares of the displacements on the neighbours' offsets from the query, and
/// the adjustment that moves every displacement to the query (`LabelEstimator.localLinear`).
///
/// The adjustment moves the mean *and* the scale (the heteroscedastic regression adjustment of
/// Blum & François 2010): Δ_j ← a + (Δ_j − a − u_j·B) · √(s(0) / s(u_j)), where a + u·B is the
/// weighted linear fit of the displacements and s(u) the weighted linear fit of the squared
/// residual norms |Δ_j − a − u_j·B|², both over the offsets u. Without the scale step a wide
/// neighbourhood pools the noise of every μ it covers: ou's one-step variance grows 8 % per
/// 0.1 in μ, so a one-sided neighbourhood at the end of the range reads it 3 % high. The scale
/// ratio is clamped to [¼, 4] so a fit that extrapolates cannot blow up a neighbour. The
/// residuals are then stretched by the fit's leverage correction γ (`leverageInflation`), as
/// the fit itself absorbs part of the noise.
///
/// With `curvatureBase` = D > 0 the scale fit is quadratic instead, and per component: each r_jo²
/// on the first D offset columns (x_j − x, μ_j − μ) and all their products u_a u_b (a ≤ b), and
/// each component rescaled by its own ratio. Noise whose variance is quadratic in the state
/// (dX ∝ X dW: s ∝ x²) read by a linear fit over a neighbourhood of offset variance v comes out
/// s₀ + v·s''/2 at the query: on geometric Brownian motion's data the labels from its 5 %
/// quantile were 5–9 % too wide and the trained model's variance 15 % (docs/METHOD.md §6.1). The
/// quadratic terms cost a second moments pass of D + D(D+1)/2 columns and make s₀ noisier, so
/// the estimators use them up to D = 3 (`LabelEstimator.curvatureColumns`).
///
/// Shapes: `offsets` is K × p (p = `LabelEstimator.fitColumns`: x_j − x, μ_j − μ, then any cross
/// terms), `deltas` is K × d, `weights` K non-negative (any scale). Everything is in Double; K ≥ 1.
/// The passes over the K neighbours run in C (`moments_kernel.h`). Reusable: holds its scratch.
public struct LocalLinearFit {
    public let p: Int
    public let d: Int
    /// Slopes, p × d: row i is ∂Δ/∂(offset i).
    public private(set) var slopes: [Double]
    /// Slope of the squared residual norm, p: ∂|r|²/∂(offset i); and its value at the query.
    public private(set) var scaleSlopes: [Double]
    public private(set) var scaleAtQuery = 0.0
    /// λ of the last fit: the fraction of the weighted noise the fit absorbed (`leverageInflation`).
    public private(set) var leverageFraction = 0.0
    /// Whether the last `adjust` fitted (false: weights or Gram matrix degenerate, nothing moved).
    public private(set) var fitted = false
    /// Cholesky factor of the centred weighted Gram matrix (lower triangle), p × p.
    private var gram: [Double]
    private var rhs: [Double]
    private var meanU: [Double]
    private var meanD: [Double]
    private var used: [Bool]
    private var keep: [Double]
    private var leverageScratch: [Double]
    /// Weighted raw moments of (1, u, Δ), (1 + p + d)², from one pass of the C kernel.
    private var moments: [Double]
    private var total = 0.0
    /// The fitted displacement at the query (d) and the scale fit's residual sums (1 + p).
    private var intercept: [Double]
    private var residualSums: [Double]
    /// The quadratic scale fit when `curvatureBase` > 0: a fit of the d squared residual
    /// components on q = D + D(D+1)/2 columns (at most one element: an array, as a struct cannot
    /// hold its own type), the columns (K × q) and the squared residuals (K × d), grown as needed.
    private var curvatureFit: [LocalLinearFit] = []
    private var curvatureOffsets: [Double] = [], squaredResiduals: [Double] = []
    public let curvatureBase: Int

    public init(p: Int, d: Int, curvatureBase: Int = 0) {
        precondition(curvatureBase >= 0 && curvatureBase <= p)
        self.p = p; self.d = d; self.curvatureBase = curvatureBase
        if curvatureBase > 0 { curvatureFit = [LocalLinearFit(p: curvatureBase * (curvatureBase + 3) / 2, d: d)] }
        slopes = .init(repeating: 0, count: p * d); scaleSlopes = .init(repeating: 0, count: p)
        gram = .init(repeating: 0, count: p * p)
        rhs = .init(repeating: 0, count: p * max(d, 1)); meanU = .init(repeating: 0, count: p)
        meanD = .init(repeating: 0, count: max(d, 1)); used = .init(repeating: false, count: p)
        keep = .init(repeating: 0, count: p); leverageScratch = .init(repeating: 0, count: max(p, 1))
        moments = .init(repeating: 0, count: (1 + p + d) * (1 + p + d))
        intercept = .init(repeating: 0, count: d); residualSums = .init(repeating: 0, count: 1 + p)
    }

    /// Fits the slopes and moves every displacement to the query in place (mean, then scale).
    /// An offset column with (numerically) no spread among the neighbours — all of them at the
    /// query's μ, say — gets slope 0, so the fit never extrapolates along a direction the data
    /// do not span.
    public mutating func adjust(offsets u: UnsafePointer<Double>, deltas y: UnsafeMutablePointer<Double>,
                                weights w: UnsafePointer<Double>, count k: Int) {
        let p = self.p, d = self.d
        fitted = fitMean(offsets: u, deltas: y, weights: w, count: k)
        guard fitted else { return }
        let inflate = leverageInflation(offsets: u, weights: w, count: k)
        for o in 0..<d {
            intercept[o] = meanD[o]
            for i in 0..<p { intercept[o] -= meanU[i] * slopes[i * d + o] }
        }
        // Mean step, which also sums w_j s_j and w_j s_j u_j for s_j = |r_j|², the squared
        // residual norms the scale fit regresses on the offsets (with the same Gram factor).
        sdeflow_local_shift(u, Int64(p), y, Int64(d), w, Int64(k), slopes, intercept, &residualSums)
        if curvatureBase > 0 { return rescaleQuadratic(offsets: u, deltas: y, weights: w, count: k, inflate: inflate) }
        let meanS = residualSums[0] / total
        for a in 0..<p { rhs[a] = used[a] ? residualSums[1 + a] - meanU[a] * residualSums[0] : 0 }
        solve(width: 1, into: &scaleSlopes)
        var s0 = meanS
        for i in 0..<p { s0 -= meanU[i] * scaleSlopes[i] }
        scaleAtQuery = s0
        if s0 > 0, s0.isFinite {
            sdeflow_local_rescale(u, Int64(p), y, Int64(d), Int64(k), scaleSlopes, s0, intercept, inflate)
        } else {  // no usable scale fit: the leverage correction alone
            for i in scaleSlopes.indices { scaleSlopes[i] = 0 }
            sdeflow_local_rescale(u, Int64(p), y, Int64(d), Int64(k), scaleSlopes, 1, intercept, inflate)
        }
    }

    /// The scale step with the quadratic model (`curvatureBase`), one per component: r_jo² on the
    /// columns u_a (a < D) and u_a u_b (a ≤ b < D), fitted for every component o at once (one
    /// Gram factor), and each component of the residuals rescaled by its own model's ratio. A
    /// single model of |r|² cannot follow noise whose components vary differently (x₁'s with x₂,
    /// x₂'s with x₁): it leaves each component half its neighbourhood's curvature. At d = 1 this
    /// is the model of |r|² itself. `scaleAtQuery` is Σ_o s₀,o; `scaleSlopes` the sum of the
    /// components' linear coefficients.
    private mutating func rescaleQuadratic(offsets u: UnsafePointer<Double>, deltas y: UnsafeMutablePointer<Double>,
                                           weights w: UnsafePointer<Double>, count k: Int, inflate: Double) {
        let base = curvatureBase, q = curvatureFit[0].p
        if curvatureOffsets.count < k * q { curvatureOffsets = .init(repeating: 0, count: k * q) }
        if squaredResiduals.count < k * d { squaredResiduals = .init(repeating: 0, count: k * d) }
        for j in 0..<k {
            for o in 0..<d { let r = y[j * d + o] - intercept[o]; squaredResiduals[j * d + o] = r * r }
            var c = j * q
            for a in 0..<base { curvatureOffsets[c] = u[j * p + a]; c += 1 }
            for a in 0..<base { for b in a..<base { curvatureOffsets[c] = u[j * p + a] * u[j * p + b]; c += 1 } }
        }
        var s0 = [Double](repeating: 0, count: d), coefficients = [Double](repeating: 0, count: q * d)
        let fitted = curvatureOffsets.withUnsafeBufferPointer { cu in
            squaredResiduals.withUnsafeBufferPointer { sr in
                curvatureFit[0].fitMean(offsets: cu.baseAddress!, deltas: sr.baseAddress!, weights: w, count: k)
            }
        }
        curvatureFit[0].fitted = fitted
        if fitted {
            let f = curvatureFit[0]
            for o in 0..<d {
                s0[o] = f.meanD[o]
                for i in 0..<q { coefficients[i * d + o] = f.slopes[i * d + o]; s0[o] -= f.meanU[i] * f.slopes[i * d + o] }
            }
        }
        scaleAtQuery = s0.reduce(0, +)
        for i in 0..<p { scaleSlopes[i] = i < base ? (0..<d).reduce(0) { $0 + coefficients[i * d + $1] } : 0 }
        // A component without a usable model keeps its scale (the leverage correction alone).
        for o in 0..<d where !(s0[o] > 0 && s0[o].isFinite) {
            s0[o] = 1; for i in 0..<q { coefficients[i * d + o] = 0 }
        }
        curvatureOffsets.withUnsafeBufferPointer { cu in
            sdeflow_local_rescale_components(cu.baseAddress!, Int64(q), y, Int64(d), Int64(k), coefficients, s0, intercept, inflate)
        }
    }

    /// Var(intercept)/σ² of the last fit, for noise of equal covariance σ² at every neighbour:
    /// Σ_j c_j² with the intercept's weights c_j = w_j (1/W − tᵀ(u_j − ū)), t = G⁻¹ū (W = Σ w_j,
    /// ū the weighted mean offset, G the centred weighted Gram matrix). At the end of the μ
    /// range, where the fit extrapolates, it is several times Σ w_j²/W². Call after `adjust`
    /// (it reuses the fit's factor and overwrites its right-hand side).
    public mutating func interceptVarianceFactor(offsets u: UnsafePointer<Double>, weights w: UnsafePointer<Double>, count k: Int) -> Double {
        guard fitted else { return Self.weightedMeanVarianceFactor(weights: w, count: k) }
        for a in 0..<p { rhs[a] = used[a] ? meanU[a] : 0 }
        var t = [Double](repeating: 0, count: p)
        solve(width: 1, into: &t)
        var shift = 0.0
        for a in 0..<p { shift += t[a] * meanU[a] }
        var sum = 0.0
        for j in 0..<k where w[j] > 0 {
            var c = 1 / total + shift
            for a in 0..<p { c -= t[a] * u[j * p + a] }
            sum += w[j] * w[j] * c * c
        }
        return sum
    }

    /// Var(s₀)/Var(|r|²) of the last quadratic scale fit (`curvatureBase` > 0): what
    /// `interceptVarianceFactor` is for the mean, for the noise scale's value at the query. Nil
    /// for the linear scale fit, whose columns and factor are the mean fit's. Call after `adjust`.
    public mutating func scaleVarianceFactor(weights w: UnsafePointer<Double>, count k: Int) -> Double? {
        guard curvatureBase > 0 else { return nil }
        return curvatureOffsets.withUnsafeBufferPointer { cu in
            curvatureFit[0].interceptVarianceFactor(offsets: cu.baseAddress!, weights: w, count: k)
        }
    }

    /// Var(weighted mean)/σ² = Σ w_j² / (Σ w_j)²: the same without a fit.
    public static func weightedMeanVarianceFactor(weights w: UnsafePointer<Double>, count k: Int) -> Double {
        var s = 0.0, s2 = 0.0
        for j in 0..<k { s += w[j]; s2 += w[j] * w[j] }
        return s > 0 ? s2 / (s * s) : 0
    }

    /// The factor γ = 1/√(1 − λ) by which the residuals are stretched so their weighted
    /// covariance is unbiased: a weighted least-squares fit with 1 + p coefficients absorbs the
    /// fraction λ = Σ_j w_j h_jj / Σ_j w_j of the noise, h_jj = w_j x_jᵀ(XᵀWX)⁻¹x_j its leverages
    /// (E Σ w_j r_j rⱼᵀ = (Σw − Σ w_j h_jj) Σ for noise of covariance Σ). With p ≈ 2d columns and
    /// a few hundred effective neighbours at d = 10 the uncorrected labels were 5 % too narrow.
    /// λ is capped at ¾ (γ ≤ 2), where a fit that nearly interpolates says little anyway.
    private mutating func leverageInflation(offsets u: UnsafePointer<Double>, weights w: UnsafePointer<Double>, count k: Int) -> Double {
        var sumW2 = 0.0
        for j in 0..<k { sumW2 += w[j] * w[j] }
        for a in 0..<p { keep[a] = used[a] ? 1 : 0 }
        let quadratic = sdeflow_leverage(u, Int64(p), w, Int64(k), meanU, keep, gram, &leverageScratch)
        let lambda = (sumW2 / total + quadratic) / total
        guard lambda.isFinite, lambda > 0 else { return 1 }
        leverageFraction = lambda
        return 1 / (1 - min(lambda, 0.75)).squareRoot()
    }

    /// The mean fit: weighted means of u and Δ, the centred normal equations S_uu · B = S_uΔ
    /// (from one pass of raw moments, centred here), S_uu factored by Cholesky and B solved into
    /// `slopes` (p × d). False (slopes 0) if the weights or the Gram matrix are degenerate.
    private mutating func fitMean(offsets u: UnsafePointer<Double>, deltas y: UnsafePointer<Double>,
                                  weights w: UnsafePointer<Double>, count k: Int) -> Bool {
        let p = self.p, d = self.d, m = 1 + p + d
        for i in slopes.indices { slopes[i] = 0 }
        for i in scaleSlopes.indices { scaleSlopes[i] = 0 }
        scaleAtQuery = 0; leverageFraction = 0
        moments.withUnsafeMutableBufferPointer {
            sdeflow_weighted_moments(u, Int64(p), y, Int64(d), w, Int64(k), $0.baseAddress!)
        }
        total = moments[0]
        guard total > 0, total.isFinite else { return false }
        for i in 0..<p { meanU[i] = moments[1 + i] / total }
        for o in 0..<d { meanD[o] = moments[1 + p + o] / total }
        for a in 0..<p {
            for b in 0...a { gram[a * p + b] = moments[(1 + a) * m + 1 + b] - total * meanU[a] * meanU[b] }
            for o in 0..<d { rhs[a * d + o] = moments[(1 + a) * m + 1 + p + o] - total * meanU[a] * meanD[o] }
        }
        guard factorGram() else { return false }
        solve(width: d, into: &slopes)
        return true
    }

    /// Cholesky of the lower triangle of `gram` in place, G = L Lᵀ. Columns without spread
    /// (relative to the largest offset scale) are left out (identity rows, `used` false, their
    /// right-hand sides zeroed); a tiny ridge keeps nearly collinear offsets from blowing up the
    /// slopes. False if G is not positive definite.
    private mutating func factorGram() -> Bool {
        var scale = 0.0
        for a in 0..<p { scale = max(scale, gram[a * p + a]) }
        guard scale > 0 else { return false }
        for a in 0..<p { used[a] = gram[a * p + a] > 1e-10 * scale }
        for a in 0..<p where !used[a] {
            for b in 0..<p { gram[a * p + b] = 0; gram[b * p + a] = 0 }
            gram[a * p + a] = 1
            for o in 0..<d { rhs[a * d + o] = 0 }
        }
        for a in 0..<p { gram[a * p + a] += 1e-12 * scale }
        for a in 0..<p {
            for b in 0...a {
                var s = gram[a * p + b]
                for m in 0..<b { s -= gram[a * p + m] * gram[b * p + m] }
                if a == b {
                    guard s > 0 else { return false }
                    gram[a * p + a] = s.squareRoot()
                } else {
                    gram[a * p + b] = s / gram[b * p + b]
                }
            }
        }
        return true
    }

    /// Solves L Lᵀ B = rhs (p × width, the factored `gram`) into `out`; unused columns get 0.
    private func solve(width d: Int, into out: inout [Double]) {
        for o in 0..<d {
            for a in 0..<p {  // L v = r
                var s = rhs[a * d + o]
                for m in 0..<a { s -= gram[a * p + m] * out[m * d + o] }
                out[a * d + o] = s / gram[a * p + a]
            }
            for a in stride(from: p - 1, through: 0, by: -1) {  // Lᵀ b = v
                var s = out[a * d + o]
                for m in (a + 1)..<p { s -= gram[m * p + a] * out[m * d + o] }
                out[a * d + o] = s / gram[a * p + a]
            }
        }
        for a in 0..<p where !used[a] { for o in 0..<d { out[a * d + o] = 0 } }
    }
}
