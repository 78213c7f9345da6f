import Foundation

/// Which of the full basis's columns the trend and the noise model keep, from summed normal
/// equations: the same bits on any rank count, as the sums are.
extension GlobalTrend {
    /// Solves (FᵀF + ε I) B = Fᵀ(y − x) by Cholesky, FᵀF packed lower-triangular (row a holds
    /// columns 0…a) followed by Fᵀ(y − x), p × d. ε = 1e-10 × the largest diagonal keeps a
    /// column without spread (a constant μ, say) from breaking the factorisation; its
    /// coefficient comes out 0. With `ownRidge`, each diagonal gets 1e-10 of itself instead: the
    /// higher powers' diagonals (Σ x̃¹² over log-normal x) can be 10¹⁵ times the constant's, and
    /// a ridge set by them would bias every other column. All zero if the system is degenerate.
    static func solveNormal(_ t: [Double], p: Int, d: Int, ownRidge: Bool = false) -> [Double] {
        let tri = p * (p + 1) / 2
        var g = [Double](repeating: 0, count: p * p), largest = 0.0
        for a in 0..<p { largest = max(largest, t[a * (a + 1) / 2 + a]) }
        for a in 0..<p {
            for c in 0...a { g[a * p + c] = t[a * (a + 1) / 2 + c] }
            g[a * p + a] += 1e-10 * (ownRidge ? g[a * p + a] : largest)
        }
        let l = Simulator.cholesky(g, p)
        guard (0..<p).allSatisfy({ l[$0 * p + $0] > 0 }) else { return [Double](repeating: 0, count: p * d) }
        var b = Array(t[tri ..< tri + p * d])
        for o in 0..<d {
            for a in 0..<p {
                var s = b[a * d + o]
                for m in 0..<a { s -= l[a * p + m] * b[m * d + o] }
                b[a * d + o] = s / l[a * p + a]
            }
            for a in stride(from: p - 1, through: 0, by: -1) {
                var s = b[a * d + o]
                for m in (a + 1)..<p { s -= l[m * p + a] * b[m * d + o] }
                b[a * d + o] = s / l[a * p + a]
            }
        }
        return b
    }

    /// Backward elimination of one component's columns from its summed (weighted) normal
    /// equations `t`: packed FᵀWF, FᵀW(y − x) (p), Σ w (y − x)², over n pairs. While some column
    /// other than the constant has t² below its threshold (`keepAbove[column]`), the weakest
    /// relative to its threshold goes (ties: the higher column). Returns p coefficients, 0 for
    /// the columns dropped.
    static func selectColumns(_ t: [Double], p: Int, n: Double, keepAbove: [Double], ownRidge: Bool = false) -> [Double] {
        let tri = p * (p + 1) / 2
        var keep = Array(0..<p)
        while true {
            let q = keep.count, qt = q * (q + 1) / 2
            // The kept columns' packed Gram, then as right-hand sides FᵀW(y − x) and the unit
            // vectors: one solve gives β and (F_SᵀWF_S)⁻¹.
            var sub = [Double](repeating: 0, count: qt + q * (q + 1))
            for a in 0..<q {
                for c in 0...a { sub[a * (a + 1) / 2 + c] = t[keep[a] * (keep[a] + 1) / 2 + keep[c]] }
                sub[qt + a * (q + 1)] = t[tri + keep[a]]
                sub[qt + a * (q + 1) + 1 + a] = 1
            }
            let x = solveNormal(sub, p: q, d: q + 1, ownRidge: ownRidge)
            var rss = t[tri + p]
            for a in 0..<q { rss -= x[a * (q + 1)] * t[tri + keep[a]] }
            let s2 = max(rss, 0) / max(n - Double(q), 1)
            var weakest = -1, smallest = Double.infinity
            for a in 1..<max(q, 1) {
                let beta = x[a * (q + 1)], t2 = beta * beta / (s2 * x[a * (q + 1) + 1 + a])
                let value = t2.isNaN ? 0 : t2 / keepAbove[keep[a]]  // 0/0: a column with no effect and no noise
                if value <= smallest { smallest = value; weakest = a }
            }
            if weakest < 0 || smallest >= 1 {
                var out = [Double](repeating: 0, count: p)
                for a in 0..<q { out[keep[a]] = x[a * (q + 1)] }
                return out
            }
            keep.remove(at: weakest)
        }
    }

    /// The 2-standard-error rule (t² ≥ 4) of the cubic columns. Why not BIC's t² ≥ log N: BIC
    /// also dropped terms the data do hold (ou's x·μ², t = 2.9, whose absence put the labels
    /// 0.004 off at x = 1); this keeps about one spurious column in ten (bm: 1 of 8).
    static let cubicThreshold = 4.0

    /// One component's columns from its summed normal equations `sums`: over all pairs (laid
    /// out as for `selectColumns`, p columns of which the first `cubic` are of degree ≤ 3), then
    /// over the pairs at even offsets in their block (the same layout; `BlockSums.halves`).
    ///
    /// First the cubic columns alone, as the basis was before the higher powers: their selection
    /// is the same, to the bit, whatever the higher powers are. Then every column, the higher
    /// powers held to BIC (t² ≥ log N); if any stays, the two sets are compared by two-fold
    /// cross-validation (fitted on the even pairs, scored on the odd, and back), and the larger
    /// set is kept only if it predicts better by more than log N residual variances per extra
    /// column. Why both: on gbm's data, whose x is log-normal (x̃ up to 21), x̃⁵μ̃ and x̃⁶μ̃ passed
    /// BIC (weights from a rough variance model make t² overconfident at the few pairs of large
    /// x̃) and put the trend 4 % of the sd off; they predicted the other half worse, by 360
    /// residual variances. On a double well μ(x − x³) the higher powers gained 10 000.
    static func selectWithHigherPowers(_ sums: [Double], p: Int, cubic: Int, n: Double) -> [Double] {
        let tri = p * (p + 1) / 2, cubicTri = cubic * (cubic + 1) / 2
        let total = Array(sums.prefix(tri + p + 1)), even = Array(sums.suffix(tri + p + 1))
        let cubicSystem = Array(total.prefix(cubicTri)) + total[tri ..< tri + cubic] + [total[tri + p]]
        var base = selectColumns(cubicSystem, p: cubic, n: n, keepAbove: Array(repeating: cubicThreshold, count: cubic))
        base += Array(repeating: 0, count: p - cubic)
        guard p > cubic, total.allSatisfy(\.isFinite), even.allSatisfy(\.isFinite) else { return base }
        let logN = log(max(n, 2))
        let thresholds = (0..<p).map { $0 < cubic ? cubicThreshold : logN }
        let wide = selectColumns(total, p: p, n: n, keepAbove: thresholds, ownRidge: true)
        guard wide[cubic...].contains(where: { $0 != 0 }) else { return base }
        let small = (0..<p).filter { base[$0] != 0 }, large = (0..<p).filter { wide[$0] != 0 }
        let odd = zip(total, even).map { $0 - $1 }
        let scoreSmall = crossValidated(even, odd, columns: small, p: p), scoreLarge = crossValidated(even, odd, columns: large, p: p)
        let variance = scoreSmall / max(n, 1)
        return (scoreSmall - scoreLarge) / variance > Double(large.count - small.count) * logN ? wide : base
    }

    /// Two-fold cross-validation from summed normal equations: the weighted squared error on
    /// each half of the least-squares fit on `columns` of the other, Σ w (y − Fβ)² = yᵀWy −
    /// 2βᵀFᵀWy + βᵀFᵀWFβ, added over the two halves.
    static func crossValidated(_ a: [Double], _ b: [Double], columns: [Int], p: Int) -> Double {
        let tri = p * (p + 1) / 2, q = columns.count
        func gram(_ t: [Double], _ i: Int, _ j: Int) -> Double {
            let (r, c) = (max(columns[i], columns[j]), min(columns[i], columns[j]))
            return t[r * (r + 1) / 2 + c]
        }
        func score(fit t: [Double], on u: [Double]) -> Double {
            var system = [Double]()
            for i in 0..<q { for j in 0...i { system.append(gram(t, i, j)) } }
            system += columns.map { t[tri + $0] }
            let beta = solveNormal(system, p: q, d: 1, ownRidge: true)
            var error = u[tri + p]
            for i in 0..<q {
                error -= 2 * beta[i] * u[tri + columns[i]]
                for j in 0..<q { error += beta[i] * gram(u, i, j) * beta[j] }
            }
            return error
        }
        return score(fit: a, on: b) + score(fit: b, on: a)
    }
}
