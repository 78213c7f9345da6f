@testable import SDEFlowCore
import Foundation
import Testing

/// Catches: a trend fit that is not least squares over every pair, or that differs with the
/// rank count. Displacements exactly in the trend's span (every column used, no noise) must be
/// recovered, at 1 and 3 in-process ranks, to the same bits.
@Test func globalTrendRecoversAnExactTrendOnAnyRankCount() throws {
    let d = 3, dMu = 1, n = 5_000
    let rng = CounterRNG(seed: 31)
    var block = PairBlock(d: d, dMu: dMu)
    for j in 0..<n {
        let u = rng.uniforms(.initialState, id: UInt64(j), index: 0)
        let v = rng.uniforms(.initialState, id: UInt64(j), index: 1)
        let x = [2 * u.0 - 1, 3 * u.1, v.0 - 0.5], mu = 0.5 + v.1
        // y − x = −μ x + 0.3 x³ + (0.1, 0, 0.2) + 0.05 μ
        block.x += x; block.mu.append(mu)
        block.y += (0..<d).map { i in x[i] - mu * x[i] + 0.3 * x[i] * x[i] * x[i] + [0.1, 0, 0.2][i] + 0.05 * mu }
    }
    let norm = Normalisation(d: d, dMu: dMu, sigmaX: 1.3, sigmaMu: 0.3), data = block
    func fit(ranks: Int) throws -> GlobalTrend {
        try LocalCollective.run(ranks: ranks) { comm in
            let blocks = (n + 999) / 1_000  // the rows LabelSetup gives each rank
            let mine = blocks * comm.rank / comm.size ..< blocks * (comm.rank + 1) / comm.size
            let rows = min(mine.lowerBound * 1_000, n) ..< min(mine.upperBound * 1_000, n)
            let part = PairBlock(d: d, dMu: dMu, x: Array(data.x[rows.lowerBound * d ..< rows.upperBound * d]),
                                 mu: Array(data.mu[rows]), y: Array(data.y[rows.lowerBound * d ..< rows.upperBound * d]))
            return try GlobalTrend.fit(comm, part, normalisation: norm, blockRows: 1_000, blockCount: (rows.count + 999) / 1_000)
        }[0]
    }
    let one = try fit(ranks: 1), three = try fit(ranks: 3)
    #expect(one.coefficients == three.coefficients)
    let rest = one.residualised(block)
    let worst = (0..<(n * d)).map { abs(rest.y[$0] - rest.x[$0]) }.max()!
    #expect(worst < 1e-6, "largest residual \(worst)")  // the ridge of 1e-10 × the largest diagonal: 2e-8 measured
}

/// Catches: a wrong sampling variance of the local fit's intercept, which sets how far the
/// deviation from the trend is shrunk. Against the textbook (AᵀWA)⁻¹AᵀW²A(AᵀWA)⁻¹ of the
/// weighted fit with an intercept column, on offsets one-sided in the last column (the end of
/// a μ range, where the factor is largest).
@Test func interceptVarianceFactorIsTheWeightedLeastSquaresOne() {
    let p = 3, k = 400, rng = CounterRNG(seed: 8)
    var u = [Double](repeating: 0, count: k * p), w = [Double](repeating: 0, count: k), y = [Double](repeating: 0, count: k)
    for j in 0..<k {
        let a = rng.uniforms(.initialState, id: UInt64(j), index: 0), b = rng.uniforms(.initialState, id: UInt64(j), index: 1)
        u[j * p] = a.0 - 0.5; u[j * p + 1] = 2 * a.1 - 1; u[j * p + 2] = -b.0  // one-sided
        w[j] = exp(-2 * b.1); y[j] = a.0 + b.0
    }
    var fit = LocalLinearFit(p: p, d: 1)
    fit.adjust(offsets: u, deltas: &y, weights: w, count: k)
    let got = fit.interceptVarianceFactor(offsets: u, weights: w, count: k)
    // The same from the normal equations of A = [1, u] (4 × 4), solved by Gauss–Jordan.
    let q = p + 1
    var m = [Double](repeating: 0, count: q * q), s = [Double](repeating: 0, count: q * q)
    for j in 0..<k {
        let a = [1] + Array(u[j * p ..< (j + 1) * p])
        for r in 0..<q { for c in 0..<q { m[r * q + c] += w[j] * a[r] * a[c]; s[r * q + c] += w[j] * w[j] * a[r] * a[c] } }
    }
    let inv = invert(m, n: q)
    var want = 0.0
    for r in 0..<q { for c in 0..<q { want += inv[r] * s[r * q + c] * inv[c] } }  // row 0 of M⁻¹ · S · column 0
    #expect(abs(got - want) < 1e-9 * want, "\(got) vs \(want)")  // the fit's ridge of 1e-12: 6e-12 measured
    #expect(want > 1.5 * LocalLinearFit.weightedMeanVarianceFactor(weights: w, count: k))
}

/// Catches: a wrong James–Stein factor. m = (3, 0, 0, 0) under S = I has χ² = 9: λ = 1 − 2/9;
/// under S = 9 I, χ² = 1 < d − 2: λ = 0. In one dimension m = 2, S = 1: λ = 1 − 1/4.
@Test func shrinkFactorIsPositivePartJamesStein() {
    let identity = (0..<16).map { $0 % 5 == 0 ? 1.0 : 0 }
    #expect(abs(GlobalTrend.shrinkFactor(mean: [3, 0, 0, 0], covariance: identity, d: 4) - 7.0 / 9) < 1e-15)
    #expect(GlobalTrend.shrinkFactor(mean: [3, 0, 0, 0], covariance: identity.map { 9 * $0 }, d: 4) == 0)
    #expect(GlobalTrend.shrinkFactor(mean: [2], covariance: [1], d: 1) == 0.75)
}

/// Inverse of an n × n matrix by Gauss–Jordan with partial pivoting (test reference only).
private func invert(_ a: [Double], n: Int) -> [Double] {
    var m = a, inv = (0..<(n * n)).map { $0 % (n + 1) == 0 ? 1.0 : 0 }
    for c in 0..<n {
        let piv = (c..<n).max { abs(m[$0 * n + c]) < abs(m[$1 * n + c]) }!
        for j in 0..<n { m.swapAt(c * n + j, piv * n + j); inv.swapAt(c * n + j, piv * n + j) }
        let f = m[c * n + c]
        for j in 0..<n { m[c * n + j] /= f; inv[c * n + j] /= f }
        for r in 0..<n where r != c {
            let g = m[r * n + c]
            for j in 0..<n { m[r * n + j] -= g * m[c * n + j]; inv[r * n + j] -= g * inv[c * n + j] }
        }
    }
    return inv
}
