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
    /// other than the constant has t² below `keepAbove`, the weakest goes (ties: the higher
    /// column). Returns p coefficients, 0 for the columns dropped.
    static func selectColumns(_ t: [Double], p: Int, n: Double, keepAbove: Double = cubicThreshold) -> [Double] {
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
            let x = solveNormal(sub, p: q, d: q + 1)
            var rss = t[tri + p]
            for a in 0..<q { rss -= x[a * (q + 1)] * t[tri + keep[a]] }
            let s2 = max(rss, 0) / max(n - Double(q), 1)
            var weakest = -1, smallest = Double.infinity
            for a in 1..<max(q, 1) {
                let beta = x[a * (q + 1)], t2 = beta * beta / (s2 * x[a * (q + 1) + 1 + a])
                let value = t2.isNaN ? 0 : t2  // 0/0: a column with no effect and no noise
                if value <= smallest { smallest = value; weakest = a }
            }
            if weakest < 0 || smallest >= keepAbove {
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
    /// First the cubic columns alone, by backward elimination, as the basis was before the higher
    /// powers: that selection is the same, to the bit, whatever else is offered. Then forward
    /// by two-fold cross-validation (fitted on the even pairs, scored on the odd, and back): the
    /// column whose addition predicts best joins while it lowers the score by more than log N
    /// residual variances, a BIC-sized price per column. Any column may join, a higher power or
    /// a cubic one the elimination dropped. Why cross-validation, not t²: t² trusts the weights,
    /// which come from a rough variance model; where they are wrong at a few far pairs
    /// (log-normal x, x̃ up to 21; a step in the noise) powers up to x̃⁶ fit those pairs and pass
    /// BIC, but predict the other half worse. On a double well the chosen powers lowered the
    /// score by about 10 000 residual variances; on bm, ou, cir, gbm and the held-out logistic,
    /// multiplicative and Feller data none joined.
    static func selectWithHigherPowers(_ sums: [Double], p: Int, cubic: Int, n: Double) -> [Double] {
        let tri = p * (p + 1) / 2, cubicTri = cubic * (cubic + 1) / 2
        let total = Array(sums.prefix(tri + p + 1)), even = Array(sums.suffix(tri + p + 1))
        let cubicSystem = Array(total.prefix(cubicTri)) + total[tri ..< tri + cubic] + [total[tri + p]]
        var base = selectColumns(cubicSystem, p: cubic, n: n)
        base += Array(repeating: 0, count: p - cubic)
        guard p > cubic, total.allSatisfy(\.isFinite), even.allSatisfy(\.isFinite) else { return base }
        let odd = zip(total, even).map { $0 - $1 }, price = log(max(n, 2))
        var kept = (0..<p).filter { base[$0] != 0 }, score = crossValidated(even, odd, columns: kept, p: p)
        let variance = score / max(n, 1)
        while kept.count < p {
            var best = Double.infinity, column = -1
            for c in 0..<p where !kept.contains(c) {
                let s = crossValidated(even, odd, columns: kept + [c], p: p)
                if s < best { best = s; column = c }  // ties: the lower column
            }
            guard column >= 0, (score - best) / variance > price else { break }
            kept.append(column); score = best
        }
        guard kept.count > base.filter({ $0 != 0 }).count else { return base }
        return fitted(total, columns: kept, p: p)
    }

    /// The least-squares coefficients on `columns` from summed normal equations `t` (p columns),
    /// 0 for the others.
    static func fitted(_ t: [Double], columns: [Int], p: Int) -> [Double] {
        let tri = p * (p + 1) / 2
        var system = [Double]()
        for i in columns.indices { for j in 0...i { system.append(t[packed(columns[i], columns[j])]) } }
        let beta = solveNormal(system + columns.map { t[tri + $0] }, p: columns.count, d: 1, ownRidge: true)
        var out = [Double](repeating: 0, count: p)
        for (i, c) in columns.enumerated() { out[c] = beta[i] }
        return out
    }

    /// Where FᵀWF's entry (i, j) is in its packed lower triangle.
    static func packed(_ i: Int, _ j: Int) -> Int { i >= j ? i * (i + 1) / 2 + j : j * (j + 1) / 2 + i }

    /// Two-fold cross-validation from summed normal equations: the weighted squared error on
    /// each half of the least-squares fit on `columns` of the other, Σ w (y − Fβ)² = yᵀWy −
    /// 2βᵀFᵀWy + βᵀFᵀWFβ, added over the two halves.
    static func crossValidated(_ a: [Double], _ b: [Double], columns: [Int], p: Int) -> Double {
        let tri = p * (p + 1) / 2
        func score(fit t: [Double], on u: [Double]) -> Double {
            let beta = fitted(t, columns: columns, p: p)
            var error = u[tri + p]
            for i in columns {
                error -= 2 * beta[i] * u[tri + i]
                for j in columns { error += beta[i] * u[packed(i, j)] * beta[j] }
            }
            return error
        }
        return score(fit: a, on: b) + score(fit: b, on: a)
    }
}
