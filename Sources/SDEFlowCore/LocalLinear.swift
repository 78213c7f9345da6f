import Foundation

/// How the neighbours' displacements enter the kernel score (METHOD.md §2).
public enum LabelEstimator: String, Codable, Sendable, CaseIterable {
    /// The paper's estimator: every neighbour contributes its own c·(y_j − x_j).
    case paper
    /// **[beyond]** Every neighbour's displacement is first moved to the query's (x, μ) by a
    /// kernel-weighted local-linear fit, Δ_j − B·(x_j − x) − C·(μ_j − μ) (the regression
    /// adjustment of approximate Bayesian computation). The K neighbours span a ball in x and,
    /// at the ends of the μ range, lie on one side of the query; with the paper's estimator the
    /// label law is their mixture, so its mean is biased by the drift's change across the ball
    /// and its variance is inflated by the spread of the neighbours' means. The adjustment
    /// removes both to first order and leaves the conditional noise of each pair untouched.
    case localLinear = "local-linear"
}

/// Weighted least squares of the displacements on the neighbours' offsets from the query, and
/// the adjustment that moves every displacement to the query (`LabelEstimator.localLinear`).
///
/// Shapes: `offsets` is K × p (p = d + dμ: x_j − x, then μ_j − μ), `deltas` is K × d, `weights`
/// K non-negative (any scale). Everything is in Double; K ≥ 1. Reusable: holds its scratch.
public struct LocalLinearFit {
    public let p: Int
    public let d: Int
    /// Slopes, p × d: row i is ∂Δ/∂(offset i).
    public private(set) var slopes: [Double]
    private var gram: [Double]
    private var rhs: [Double]
    private var meanU: [Double]
    private var meanD: [Double]
    private var used: [Bool]

    public init(p: Int, d: Int) {
        self.p = p; self.d = d
        slopes = .init(repeating: 0, count: p * d); gram = .init(repeating: 0, count: p * p)
        rhs = .init(repeating: 0, count: p * d); meanU = .init(repeating: 0, count: p)
        meanD = .init(repeating: 0, count: d); used = .init(repeating: false, count: p)
    }

    /// Fits the slopes and subtracts `offsets · slopes` from `deltas` in place. An offset column
    /// with (numerically) no spread among the neighbours — all of them at the query's μ, say —
    /// gets slope 0, so the fit never extrapolates along a direction the data do not span.
    public mutating func adjust(offsets: UnsafePointer<Double>, deltas: UnsafeMutablePointer<Double>,
                                weights: UnsafePointer<Double>, count k: Int) {
        fit(offsets: offsets, deltas: deltas, weights: weights, count: k)
        for j in 0..<k {
            for o in 0..<d {
                var shift = 0.0
                for i in 0..<p { shift += offsets[j * p + i] * slopes[i * d + o] }
                deltas[j * d + o] -= shift
            }
        }
    }

    /// The weighted centred normal equations S_uu · B = S_uΔ, solved by Cholesky.
    mutating func fit(offsets u: UnsafePointer<Double>, deltas y: UnsafePointer<Double>,
                      weights w: UnsafePointer<Double>, count k: Int) {
        let p = self.p, d = self.d
        var total = 0.0
        for i in 0..<p { meanU[i] = 0 }
        for o in 0..<d { meanD[o] = 0 }
        for j in 0..<k {
            total += w[j]
            for i in 0..<p { meanU[i] += w[j] * u[j * p + i] }
            for o in 0..<d { meanD[o] += w[j] * y[j * d + o] }
        }
        for i in 0..<slopes.count { slopes[i] = 0 }
        guard total > 0, total.isFinite else { return }
        for i in 0..<p { meanU[i] /= total }
        for o in 0..<d { meanD[o] /= total }
        for i in 0..<gram.count { gram[i] = 0 }
        for i in 0..<rhs.count { rhs[i] = 0 }
        for j in 0..<k {
            for a in 0..<p {
                let ua = w[j] * (u[j * p + a] - meanU[a])
                for b in 0...a { gram[a * p + b] += ua * (u[j * p + b] - meanU[b]) }
                for o in 0..<d { rhs[a * d + o] += ua * (y[j * d + o] - meanD[o]) }
            }
        }
        // Columns without spread (relative to the largest offset scale) are left out.
        var scale = 0.0
        for a in 0..<p { scale = max(scale, gram[a * p + a]) }
        guard scale > 0 else { return }
        for a in 0..<p { used[a] = gram[a * p + a] > 1e-10 * scale }
        for a in 0..<p where !used[a] {
            for b in 0..<p { gram[a * p + b] = 0; gram[b * p + a] = 0 }
            gram[a * p + a] = 1
            for o in 0..<d { rhs[a * d + o] = 0 }
        }
        // Cholesky of the lower triangle, G = L Lᵀ (L overwrites it), with a tiny ridge so
        // nearly collinear offsets cannot blow up the slopes.
        for a in 0..<p { gram[a * p + a] += 1e-12 * scale }
        for a in 0..<p {
            for b in 0...a {
                var s = gram[a * p + b]
                for m in 0..<b { s -= gram[a * p + m] * gram[b * p + m] }
                if a == b {
                    guard s > 0 else { return }  // not positive definite: no adjustment
                    gram[a * p + a] = s.squareRoot()
                } else {
                    gram[a * p + b] = s / gram[b * p + b]
                }
            }
        }
        for o in 0..<d {
            for a in 0..<p {  // L v = r
                var s = rhs[a * d + o]
                for m in 0..<a { s -= gram[a * p + m] * slopes[m * d + o] }
                slopes[a * d + o] = s / gram[a * p + a]
            }
            for a in stride(from: p - 1, through: 0, by: -1) {  // Lᵀ b = v
                var s = slopes[a * d + o]
                for m in (a + 1)..<p { s -= gram[m * p + a] * slopes[m * d + o] }
                slopes[a * d + o] = s / gram[a * p + a]
            }
        }
        for a in 0..<p where !used[a] { for o in 0..<d { slopes[a * d + o] = 0 } }
    }
}
