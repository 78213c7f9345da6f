import Foundation

/// Whether the labels start from a global model of the mean displacement (`GlobalTrend`).
public enum LabelTrend: String, Codable, Sendable, CaseIterable {
    /// The local fit alone (the paper examples' defaults).
    case none
    /// A least-squares trend over all pairs, the local fit on what it leaves, and the local
    /// deviation shrunk toward it when the data cannot tell them apart (the high-d defaults).
    case global
}

/// A least-squares model g(x, μ) of the one-step displacement y − x over every pair, the
/// "parametric start" of the local fit (docs/METHOD.md §7).
///
/// Why: from d ≈ 5 on, K neighbours span most of the data, and the local mean at a query is
/// the average of K noisy displacements: at d = 10, K = 8 000 its error was 3–6 % of the
/// one-step standard deviation, the same for every query near another (they share their
/// neighbours), so the network learned it as bias (mean error 0.017–0.026 at the ends of the μ
/// range). The trend is fitted to all N pairs; the local fit then only has to describe what
/// the trend misses, and its intercept — the local deviation from the trend — is shrunk toward
/// zero by the positive-part James–Stein factor λ = max(0, 1 − (d − 2)/χ²), χ² the deviation's
/// squared Mahalanobis length under its own sampling covariance. Where the trend is right the
/// deviation is noise (χ² ≈ d, λ ≈ 0.2) and most of it goes; where the drift departs from the
/// trend by more than the noise, λ → 1 and the local fit decides (below d = 3 the factor is
/// 1 − 1/χ², `shrinkFactor`).
///
/// Columns, in standardised x̃ = (x − x̄)/σ_x, μ̃ = (μ − μ̄)/σ_μ: 1, x̃ (d), μ̃ (dμ), μ̃_a x̃_i
/// (d·dμ), x̃_i² and x̃_i³ (d each): exact for a drift linear in x with μ-dependent coefficients
/// (ou-nd up to e^{−μΔt}'s curvature), and it catches per-component cubic forces.
public struct GlobalTrend: Sendable {
    public let d: Int, dMu: Int
    /// Data means (d, dμ) and the normalisation's scales.
    let meanX: [Double], meanMu: [Double]
    let sigmaX: Double, sigmaMu: Double
    /// Coefficients, columns × d, of the displacement y − x (not scaled by c).
    let coefficients: [Double]

    public var columns: Int { 1 + d + dMu + d * dMu + 2 * d }

    /// The feature row of (x, μ) into `f` (`columns` values).
    func features(x: UnsafePointer<Double>, mu: UnsafePointer<Double>, into f: UnsafeMutablePointer<Double>) {
        f[0] = 1
        for i in 0..<d { f[1 + i] = (x[i] - meanX[i]) / sigmaX }
        for a in 0..<dMu { f[1 + d + a] = (mu[a] - meanMu[a]) / sigmaMu }
        var c = 1 + d + dMu
        for a in 0..<dMu { for i in 0..<d { f[c] = f[1 + d + a] * f[1 + i]; c += 1 } }
        for i in 0..<d { f[c + i] = f[1 + i] * f[1 + i]; f[c + d + i] = f[c + i] * f[1 + i] }
    }

    /// g(x, μ) into `out` (d values), times `scale`.
    func value(x: UnsafePointer<Double>, mu: UnsafePointer<Double>, scale: Double, into out: UnsafeMutablePointer<Double>) {
        let p = columns
        withUnsafeTemporaryAllocation(of: Double.self, capacity: p) { f in
            features(x: x, mu: mu, into: f.baseAddress!)
            for o in 0..<d {
                var s = 0.0
                for c in 0..<p { s += f[c] * coefficients[c * d + o] }
                out[o] = scale * s
            }
        }
    }

    /// The block with the trend taken out of its displacements: y ← y − g(x, μ).
    func residualised(_ block: PairBlock) -> PairBlock {
        var out = block
        block.x.withUnsafeBufferPointer { x in block.mu.withUnsafeBufferPointer { mu in
            out.y.withUnsafeMutableBufferPointer { y in
                withUnsafeTemporaryAllocation(of: Double.self, capacity: d) { g in
                    for j in 0..<block.count {
                        value(x: x.baseAddress! + j * d, mu: mu.baseAddress! + j * dMu, scale: 1, into: g.baseAddress!)
                        for o in 0..<d { y[j * d + o] -= g[o] }
                    }
                }
            }
        } }
        return out
    }
}

extension GlobalTrend {
    /// The last step of a label's estimator with a trend: `deltas` (K × d, c·(y − x − g) of the
    /// neighbours, moved to the query by the local fit) have weighted mean m, the local deviation
    /// from the trend, and weighted covariance Σ; v·Σ is m's sampling covariance (v =
    /// `LocalLinearFit.interceptVarianceFactor`, Σ w_j² / (Σ w_j)² without a fit). Every delta is
    /// moved by c·g(x, μ) − (1 − λ)·m, so the neighbours' cloud is centred on c·g + λ·m, with
    /// λ = `shrinkFactor` (1 − (d − 2)/χ², at least 0) and χ² = mᵀ(vΣ)⁻¹m. Returns λ.
    func shift(deltas y: UnsafeMutablePointer<Double>, weights w: UnsafePointer<Double>, count k: Int, varianceFactor v: Double,
               x: UnsafePointer<Double>, mu: UnsafePointer<Double>, scale c: Double) -> Double {
        var total = 0.0, m = [Double](repeating: 0, count: d), cov = [Double](repeating: 0, count: d * d)
        for j in 0..<k {
            total += w[j]
            for o in 0..<d { m[o] += w[j] * y[j * d + o] }
        }
        guard total > 0 else { return 1 }
        for o in 0..<d { m[o] /= total }
        m.withUnsafeBufferPointer { m in cov.withUnsafeMutableBufferPointer { cov in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: d) { r in
                for j in 0..<k where w[j] > 0 {  // lower triangle; K·d²/2 multiply-adds, the step's cost
                    for a in 0..<d { r[a] = y[j * d + a] - m[a] }
                    for a in 0..<d {
                        let t = w[j] * r[a], row = cov.baseAddress! + a * d
                        for b in 0...a { row[b] += t * r[b] }
                    }
                }
            }
        } }
        let lambda = Self.shrinkFactor(mean: m, covariance: cov.map { $0 / total * v }, d: d)
        var g = [Double](repeating: 0, count: d)
        value(x: x, mu: mu, scale: c, into: &g)
        for o in 0..<d { g[o] -= (1 - lambda) * m[o] }
        for j in 0..<k { for o in 0..<d { y[j * d + o] += g[o] } }
        return lambda
    }

    /// max(0, 1 − a/χ²), χ² = mᵀS⁻¹m with S's lower triangle given (`Simulator.cholesky`; 1 if S is not
    /// positive definite: no shrinkage without a usable noise estimate). a = d − 2 (James–Stein)
    /// from d = 3 on, 1 below (the empirical-Bayes factor of a normal prior: no dominance
    /// guarantee there, but the same shape).
    static func shrinkFactor(mean m: [Double], covariance s: [Double], d: Int) -> Double {
        let l = Simulator.cholesky(s, d)
        guard (0..<d).allSatisfy({ l[$0 * d + $0] > 0 && l[$0 * d + $0].isFinite }) else { return 1 }
        var z = m
        var chi2 = 0.0
        for a in 0..<d {
            var t = z[a]
            for q in 0..<a { t -= l[a * d + q] * z[q] }
            z[a] = t / l[a * d + a]
            chi2 += z[a] * z[a]
        }
        return chi2 > 0 ? max(0, 1 - Double(max(d - 2, 1)) / chi2) : 0
    }
}
