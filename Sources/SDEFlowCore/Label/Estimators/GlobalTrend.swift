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
/// Why: a local mean over K noisy displacements carries noise that every query near another
/// shares (they share their neighbours), and the network learns it as bias: at d = 10,
/// K = 8 000 it was 3–6 % of the one-step standard deviation (mean error 0.017–0.026 at the
/// ends of the μ range); in 1-D, K = 20 000, up to 0.006 (bm, ou). The trend is fitted to all N
/// pairs; the local fit then only has to describe what the trend misses, and its intercept —
/// the local deviation from the trend — is shrunk toward zero (`TrendShrinkage`).
///
/// Two bases, in standardised x̃ = (x − x̄)/σ_x, μ̃ = (μ − μ̄)/σ_μ:
/// - **d ≤ 2: every monomial of x̃ and μ̃ up to degree 3** (10 columns at d = 1, 20 at d = 2),
///   each component's columns chosen by backward elimination under BIC (`GlobalTrendFit`): a
///   column stays while its t² exceeds log N. Unneeded columns only add noise (bm's drift μ
///   needs 2 of the 10; with all 10 the trend's error at the states was up to 0.004, with the
///   2 kept 0.0014), and the data at N = 10⁶ keep what they can tell from noise (x e^{−μΔt}'s
///   μx term, not its μ²x term of size Δt²/2). At d = 1 the basis also offers **higher powers
///   of x** (x̃⁴…x̃⁶ and x̃³…x̃⁵ times each μ̃_a, `higherPowers`), which a drift such as μ(x − x³)
///   needs (its μx³ is of degree 4: without it the trend was 16 % of the one-step sd off on a
///   double well); they are kept only under a stricter test (`selectWithHigherPowers`).
/// - **d ≥ 3: 1, x̃ (d), μ̃ (dμ), μ̃_a x̃_i (d·dμ), x̃_i² and x̃_i³ (d each)**, all kept: exact
///   for a drift linear in x with μ-dependent coefficients (ou-nd up to e^{−μΔt}'s curvature),
///   with per-component cubic forces, and O(d·dμ) columns where the full cubic has O(D³).
public struct GlobalTrend: Sendable {
    public let d: Int, dMu: Int
    /// Data means (d, dμ) and the normalisation's scales.
    let meanX: [Double], meanMu: [Double]
    let sigmaX: Double, sigmaMu: Double
    /// The full basis's monomials, exponents of the D = d + dμ standardised variables (nil: the
    /// high-dimensional basis): every one up to degree 3, then `higherPowers`.
    let monomials: [[Int]]?
    /// How many of `monomials` are of degree ≤ 3 (the rest are `higherPowers`); 0 without them.
    let cubicColumns: Int
    /// Coefficients, columns × d, of the displacement y − x (not scaled by c); 0 for a column
    /// the selection dropped.
    let coefficients: [Double]
    /// The model of the noise's size E|y − x − g|² (full basis only), and how much of a label's
    /// local noise scale departs from it (`NoiseTrend`).
    public var noise: NoiseTrend?
    /// How a query's local deviation from the trend is shrunk: James–Stein from d = 3 on,
    /// for the full basis the pilot's fit (`TrendPilot`; James–Stein until it has run).
    public var shrinkage: TrendShrinkage = .jamesStein

    init(d: Int, dMu: Int, meanX: [Double], meanMu: [Double], sigmaX: Double, sigmaMu: Double, coefficients: [Double],
         noise: NoiseTrend? = nil) {
        self.d = d; self.dMu = dMu; self.meanX = meanX; self.meanMu = meanMu; self.sigmaX = sigmaX; self.sigmaMu = sigmaMu
        self.noise = noise
        let cubic = Self.usesFullBasis(d: d, dMu: dMu) ? Self.monomials(variables: d + dMu, degree: 3) : nil
        monomials = cubic.map { $0 + Self.higherPowers(d: d, dMu: dMu) }
        cubicColumns = cubic?.count ?? 0
        self.coefficients = coefficients
    }

    /// The full basis's columns beyond degree 3, at d = 1 only: x̃⁴, x̃⁵, x̃⁶ and x̃³, x̃⁴, x̃⁵ times
    /// each μ̃_a (3 + 3·dμ), the powers of a polynomial drift with μ as a factor (μ(x − x³) needs
    /// x̃³μ̃; its one-step mean over Δt = 0.1, the x̃⁵ terms). None at d = 2, where the same would
    /// grow with every product of the two coordinates.
    static func higherPowers(d: Int, dMu: Int) -> [[Int]] {
        guard d == 1 else { return [] }
        var out = [[Int]]()
        for k in 4...6 {
            out.append([k] + [Int](repeating: 0, count: dMu))
            for a in 0..<dMu {
                var e = [Int](repeating: 0, count: 1 + dMu)
                e[0] = k - 1; e[1 + a] = 1
                out.append(e)
            }
        }
        return out
    }

    /// The largest d with the full polynomial basis and the fitted two-groups shrinkage, and the
    /// most variables D = d + dμ it takes: its C(D + 3, 3) columns grow like D³ (35 at D = 4;
    /// at d = 1 with dμ = 10, 364 columns were fitted to 300 pairs, and dμ = 300 never ended).
    static let fullBasisUpTo = 2, fullBasisVariables = 4

    static func usesFullBasis(d: Int, dMu: Int) -> Bool { d <= fullBasisUpTo && d + dMu <= fullBasisVariables }

    /// The columns of the trend for d state and dμ parameter components (`columns`).
    static func columns(d: Int, dMu: Int) -> Int {
        let v = d + dMu
        return usesFullBasis(d: d, dMu: dMu)
            ? (v + 1) * (v + 2) * (v + 3) / 6 + higherPowers(d: d, dMu: dMu).count : 1 + d + dMu + d * dMu + 2 * d
    }

    /// Whether `pairs` pairs can pin the trend's columns: at least 20 per column, and at most
    /// 4 096 columns (the fit is O(pairs · columns²)). Otherwise the labels go without it.
    public static func fits(d: Int, dMu: Int, pairs: Int) -> Bool {
        let c = columns(d: d, dMu: dMu)
        return c <= 4096 && 20 * c <= pairs
    }

    /// Whether the shrinkage is fitted by a pilot over the queries (the full basis).
    public var needsPilot: Bool { monomials != nil }

    public var columns: Int { Self.columns(d: d, dMu: dMu) }

    /// Exponent vectors of every monomial in `variables` variables up to `degree`, by degree and
    /// then lexicographically (the constant first).
    static func monomials(variables: Int, degree: Int) -> [[Int]] {
        func build(_ v: Int, _ total: Int) -> [[Int]] {
            guard v < variables else { return total == 0 ? [[]] : [] }
            return stride(from: total, through: 0, by: -1).flatMap { e in build(v + 1, total - e).map { [e] + $0 } }
        }
        return (0...degree).flatMap { build(0, $0) }
    }

    /// How much the noise model varies with the state: Σ |coefficient| over the columns with x in
    /// them, relative to the model's value at the data's mean (its constant column). The
    /// columns are monomials of the standardised variables, so this is about the change over
    /// one spread of the data. 0 without a noise model or on the high-dimensional basis.
    public var noiseStateVariation: Double {
        guard let noise, let monomials, noise.coefficients[0] > 0 else { return 0 }
        var sum = 0.0
        for (c, e) in monomials.enumerated() where e.prefix(d).contains(where: { $0 > 0 }) { sum += abs(noise.coefficients[c]) }
        return sum / noise.coefficients[0]
    }

    /// For the log: how many columns the mean (any component) and the noise model keep, and
    /// which powers of x beyond the cubic, e.g. "9 (x̃³μ̃, x̃⁵ among them) of 16 columns in use;
    /// the noise model 7". nil on the high-dimensional basis (it keeps every column).
    public var keptSummary: String? {
        guard let monomials else { return nil }
        func kept(_ c: [Double], _ width: Int) -> String {
            let kept = monomials.indices.filter { a in (0..<width).contains { c[a * width + $0] != 0 } }
            let high = kept.filter { $0 >= cubicColumns }.map { Self.name(monomials[$0], d: d) }
            return "\(kept.count)" + (high.isEmpty ? "" : " (\(high.joined(separator: ", ")) among them)")
        }
        return kept(coefficients, d) + " of \(columns) columns in use" + (noise.map { "; the noise model " + kept($0.coefficients, 1) } ?? "")
    }

    /// A monomial's name in the standardised variables, e.g. x̃³μ̃ ([3, 1]; μ̃₂ for the second of several).
    static func name(_ exponents: [Int], d: Int) -> String {
        let powers = ["", "", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"], digits = ["₀", "₁", "₂", "₃", "₄", "₅", "₆", "₇", "₈", "₉"]
        return exponents.enumerated().filter { $0.element > 0 }.map { v, e in
            let base = v < d ? "x̃" + (d > 1 ? digits[(v + 1) % 10] : "") : "μ̃" + (exponents.count - d > 1 ? digits[(v - d + 1) % 10] : "")
            return base + (e < powers.count ? powers[e] : "^\(e)")
        }.joined()
    }

    /// The feature row of (x, μ) into `f` (`columns` values).
    func features(x: UnsafePointer<Double>, mu: UnsafePointer<Double>, into f: UnsafeMutablePointer<Double>) {
        if let monomials {
            withUnsafeTemporaryAllocation(of: Double.self, capacity: d + dMu) { v in
                for i in 0..<d { v[i] = (x[i] - meanX[i]) / sigmaX }
                for a in 0..<dMu { v[d + a] = (mu[a] - meanMu[a]) / sigmaMu }
                for (c, e) in monomials.enumerated() {
                    var t = 1.0
                    for i in 0..<e.count { for _ in 0..<e[i] { t *= v[i] } }
                    f[c] = t
                }
            }
            return
        }
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

    /// The noise model's E|y − x − g|² at (x, μ), times `scale`² (nil without one).
    func noiseScale(x: UnsafePointer<Double>, mu: UnsafePointer<Double>, scale: Double) -> Double? {
        guard let noise else { return nil }
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: columns) { f in
            features(x: x, mu: mu, into: f.baseAddress!)
            var s = 0.0
            for c in 0..<columns { s += f[c] * noise.coefficients[c] }
            return scale * scale * max(s, noise.floor)
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
    /// The local deviation from the trend and its χ²: `deltas` (K × d, c·(y − x − g) of the
    /// neighbours, moved to the query by the local fit) have weighted mean m and weighted
    /// covariance Σ; v·Σ is m's sampling covariance (v = `LocalLinearFit.interceptVarianceFactor`,
    /// Σ w_j² / (Σ w_j)² without a fit), and χ² = mᵀ(vΣ)⁻¹m (nil if vΣ is not positive definite).
    func deviation(deltas y: UnsafePointer<Double>, weights w: UnsafePointer<Double>, count k: Int,
                   varianceFactor v: Double) -> (mean: [Double], chiSquare: Double?) {
        var total = 0.0, m = [Double](repeating: 0, count: d), cov = [Double](repeating: 0, count: d * d)
        for j in 0..<k {
            total += w[j]
            for o in 0..<d { m[o] += w[j] * y[j * d + o] }
        }
        guard total > 0 else { return (m, nil) }
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
        return (m, Self.chiSquare(mean: m, covariance: cov.map { $0 / total * v }, d: d))
    }

    /// The last step of a label's estimator with a trend: every delta is moved by
    /// c·g(x, μ) − (1 − λ)·m, so the neighbours' cloud is centred on c·g + λ·m, λ from
    /// `shrinkage` and the deviation's χ² (`deviation`). Returns λ.
    func shift(deltas y: UnsafeMutablePointer<Double>, weights w: UnsafePointer<Double>, count k: Int, varianceFactor v: Double,
               x: UnsafePointer<Double>, mu: UnsafePointer<Double>, scale c: Double) -> Double {
        let (m, chi2) = deviation(deltas: y, weights: w, count: k, varianceFactor: v)
        let lambda = shrinkage.factor(chiSquare: chi2, d: d)
        var g = [Double](repeating: 0, count: d)
        value(x: x, mu: mu, scale: c, into: &g)
        for o in 0..<d { g[o] -= (1 - lambda) * m[o] }
        for j in 0..<k { for o in 0..<d { y[j * d + o] += g[o] } }
        return lambda
    }

    /// χ² = mᵀS⁻¹m with S's lower triangle given (`Simulator.cholesky`); nil if S is not positive
    /// definite (no shrinkage without a usable noise estimate).
    static func chiSquare(mean m: [Double], covariance s: [Double], d: Int) -> Double? {
        let l = Simulator.cholesky(s, d)
        guard (0..<d).allSatisfy({ l[$0 * d + $0] > 0 && l[$0 * d + $0].isFinite }) else { return nil }
        var z = m
        var chi2 = 0.0
        for a in 0..<d {
            var t = z[a]
            for q in 0..<a { t -= l[a * d + q] * z[q] }
            z[a] = t / l[a * d + a]
            chi2 += z[a] * z[a]
        }
        return chi2
    }
}
