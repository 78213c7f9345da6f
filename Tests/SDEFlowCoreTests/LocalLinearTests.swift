import CKernels
import Foundation
import SDEFlowCore
import Testing

/// Catches: wrong normal equations, centring or back-substitution in `LocalLinearFit`: with
/// displacements exactly linear in the offsets, the fit must return the slopes and the
/// adjusted displacements must all equal the value at the query (the intercept).
@Test func localLinearFitRecoversExactSlopes() {
    let k = 300, p = 3, d = 2
    let rng = CounterRNG(seed: 7)
    let intercept = [0.4, -1.1], slopes = [0.5, -0.2, 1.5, 0.3, -2.0, 0.7]  // p × d
    var u = [Double](), y = [Double](), w = [Double]()
    for j in 0..<k {
        let (a, b) = rng.uniforms(.initialState, id: UInt64(j), index: 0)
        let row = [a - 0.3, 2 * b - 1, 0.1 * (a + b) - 0.05 + 0.2 * a * a]
        u += row
        for o in 0..<d { y.append(intercept[o] + (0..<p).reduce(0) { $0 + row[$1] * slopes[$1 * d + o] }) }
        w.append(0.2 + a)
    }
    var fit = LocalLinearFit(p: p, d: d)
    fit.adjust(offsets: u, deltas: &y, weights: w, count: k)
    for i in 0..<(p * d) { #expect(abs(fit.slopes[i] - slopes[i]) < 1e-8, "slope \(i): \(fit.slopes[i])") }
    for j in 0..<k { for o in 0..<d { #expect(abs(y[j * d + o] - intercept[o]) < 1e-8) } }
}

/// Catches: extrapolating along a direction the neighbours do not span — all at the query's
/// μ (offset column 0): that slope must be 0 and the other one still fitted.
@Test func localLinearFitLeavesConstantColumnsAlone() {
    let k = 100
    var u = [Double](), y = [Double](), w = [Double](repeating: 1, count: k)
    for j in 0..<k {
        let x = Double(j) / Double(k) - 0.5
        u += [x, 0]
        y.append(2 + 0.8 * x)
    }
    w[3] = 0
    var fit = LocalLinearFit(p: 2, d: 1)
    fit.adjust(offsets: u, deltas: &y, weights: w, count: k)
    #expect(abs(fit.slopes[0] - 0.8) < 1e-9)
    #expect(fit.slopes[1] == 0)
    #expect(y.allSatisfy { abs($0 - 2) < 1e-9 })
}

/// Catches: the bias the local-linear estimator exists to remove (METHOD.md §2 [beyond]).
/// Rotating OU data as in the paper (Example 3, exact transitions); labels at (1.5, 0.5) at the
/// top of the μ range, a sparse corner: the K neighbours lie below the query in μ and spread
/// over ±0.5 in x, so the paper's label law is their mixture — mean off by ~0.02, variance
/// inflated by ~20 %. Adjusted neighbours must match the exact one-step law to within the
/// noise of 2000 neighbours and 4000 labels (mean se ≈ 0.004, variance ≈ 4 %).
@Test func localLinearRemovesEdgeBiasOfLabels() {
    let ex = SDEExample.rotatingOU
    let sim = ex.simulation
    let block = Simulator.simulate(ex, settings: sim, observedMu: ex.observedMu,
                                   paths: 0..<(sim.pathsPerMu * ex.observedMu.count), seed: 3)
    let x = [1.5, 0.5], mu = 2.0
    let law = ex.exactTransition!(x, [mu], sim.dt)
    func errors(_ estimator: LabelEstimator) -> (mean: Double, variance: Double) {
        var settings = ex.paperLabels  // K = 2000: the neighbours span ±0.5 in x
        settings.estimator = estimator; settings.solver = .exponential
        settings.odeSteps = 100
        let (labels, _) = runLabeler(block, settings: settings, queries: 4000, seed: 5, at: (x: x, mu: [mu]))
        var meanErr2 = 0.0, varErr = 0.0
        for o in 0..<2 {
            let v = stride(from: o, to: labels.count, by: 2).map { x[o] + labels[$0] / settings.scale }
            let m = v.reduce(0, +) / Double(v.count)
            let s2 = v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)
            meanErr2 += (m - law.mean[o]) * (m - law.mean[o])
            varErr = max(varErr, abs(s2 / law.cov[o * 2 + o] - 1))
        }
        return (meanErr2.squareRoot(), varErr)
    }
    let paper = errors(.paper), adjusted = errors(.localLinear)
    print("labels at (1.5, 0.5), μ = 2: |mean error| paper \(paper.mean), local-linear \(adjusted.mean); variance error \(paper.variance), \(adjusted.variance)")
    #expect(adjusted.mean < 0.012 && adjusted.variance < 0.1)
    #expect(paper.mean > 0.015 && paper.variance > 0.12)  // the bias is real, not noise
}

/// Catches: a wrong scale step (the Blum–François adjustment). Pairs of neighbours at the same
/// offset carry residuals ±√(s0 + g·u) around a linear mean, so the squared residual is exactly
/// linear in the offsets: the fit must return g, and every adjusted displacement must sit at
/// the intercept ± γ√s0 — the noise of the query's (x, μ), not of the neighbour's.
@Test func localLinearFitMovesTheScaleToTheQuery() {
    let k = 400, s0 = 0.09, g = [0.02, -0.04], mean = (a: 0.3, b: [0.7, -1.4])
    let rng = CounterRNG(seed: 11)
    var u = [Double](), y = [Double](), w = [Double]()
    for j in 0..<(k / 2) {
        let (a, b) = rng.uniforms(.initialState, id: UInt64(j), index: 0)
        let row = [2 * a - 1, b - 0.2]
        let r = (s0 + g[0] * row[0] + g[1] * row[1]).squareRoot()
        let m = mean.a + mean.b[0] * row[0] + mean.b[1] * row[1]
        for sign in [1.0, -1.0] { u += row; y.append(m + sign * r); w.append(0.5 + a * b) }
    }
    var fit = LocalLinearFit(p: 2, d: 1)
    fit.adjust(offsets: u, deltas: &y, weights: w, count: k)
    #expect(abs(fit.slopes[0] - mean.b[0]) < 1e-9 && abs(fit.slopes[1] - mean.b[1]) < 1e-9)
    #expect(abs(fit.scaleSlopes[0] - g[0]) < 1e-9 && abs(fit.scaleSlopes[1] - g[1]) < 1e-9)
    #expect(abs(fit.scaleAtQuery - s0) < 1e-9)
    // …stretched by the leverage correction γ = 1/√(1 − λ) (its own test checks λ).
    let gamma = 1 / (1 - fit.leverageFraction).squareRoot()
    #expect(fit.leverageFraction > 0 && fit.leverageFraction < 0.05)
    for j in 0..<k { #expect(abs(abs(y[j] - mean.a) - gamma * s0.squareRoot()) < 1e-9, "neighbour \(j): \(y[j])") }
}

/// Catches: a quadratic scale fit (`curvatureBase`) with products missing, misplaced or
/// mis-centred: the squared residual is exactly quadratic in two offsets (variance ∝ x², as for
/// dX ∝ X dW, plus terms in μ), so the fit must return s₀ and every adjusted displacement
/// must sit at the intercept ± γ√s₀. The linear scale fit on the same neighbours reads s₀ high
/// by the curvature times the offsets' spread.
@Test func quadraticScaleFitRemovesTheCurvatureBias() {
    let k = 800, x0 = 0.4, s0 = x0 * x0 * 0.025, mean = (a: 0.3, b: [0.7, -1.4])
    func s(_ u: [Double]) -> Double { (x0 + u[0]) * (x0 + u[0]) * 0.025 + 0.001 * u[1] + 0.0005 * u[0] * u[1] }
    let rng = CounterRNG(seed: 12)
    func neighbours() -> (u: [Double], y: [Double], w: [Double]) {
        var u = [Double](), y = [Double](), w = [Double]()
        for j in 0..<(k / 2) {
            let (a, b) = rng.uniforms(.initialState, id: UInt64(j), index: 0)
            let row = [0.3 * a - 0.15, 0.6 * b - 0.3]  // s0 / s(u) within the rescale's clamp [¼, 4]
            let m = mean.a + mean.b[0] * row[0] + mean.b[1] * row[1]
            for sign in [1.0, -1.0] { u += row; y.append(m + sign * s(row).squareRoot()); w.append(0.5 + a * b) }
        }
        return (u, y, w)
    }
    var (u, y, w) = neighbours()
    var fit = LocalLinearFit(p: 2, d: 1, curvatureBase: 2)
    fit.adjust(offsets: u, deltas: &y, weights: w, count: k)
    #expect(abs(fit.scaleAtQuery - s0) < 1e-9 * s0, "s0 \(fit.scaleAtQuery), exact \(s0)")
    let gamma = 1 / (1 - fit.leverageFraction).squareRoot()
    for j in 0..<k { #expect(abs(abs(y[j] - mean.a) - gamma * s0.squareRoot()) < 1e-9, "neighbour \(j): \(y[j])") }
    var linear = LocalLinearFit(p: 2, d: 1)
    (u, y, w) = neighbours()
    linear.adjust(offsets: u, deltas: &y, weights: w, count: k)
    #expect(linear.scaleAtQuery > 1.03 * s0, "the linear fit's s0 \(linear.scaleAtQuery) is not biased: the test cannot fail")
    // The estimators use the quadratic fit at D = 2, at D = 3 where the noise varies with the
    // state, not beyond nor in paper mode.
    #expect(LabelEstimator.localBilinear.curvatureColumns(d: 1, dMu: 1) == 2)
    #expect(LabelEstimator.localLinear.curvatureColumns(d: 1, dMu: 1) == 2)
    #expect(LabelEstimator.localBilinear.curvatureColumns(d: 2, dMu: 1) == 0)
    #expect(LabelEstimator.localBilinear.curvatureColumns(d: 2, dMu: 1, stateDependentNoise: true) == 3)
    #expect(LabelEstimator.localLinear.curvatureColumns(d: 1, dMu: 2, stateDependentNoise: true) == 3)
    #expect(LabelEstimator.localBilinear.curvatureColumns(d: 3, dMu: 1, stateDependentNoise: true) == 0)
    #expect(LabelEstimator.paper.curvatureColumns(d: 1, dMu: 1) == 0)
}

/// Catches: one scale model for all components (of |r|²) where each component's noise varies
/// its own way, and components' coefficients crossed. In d = 2 (offsets x₁, x₂, μ) component 1's
/// variance is quadratic in x₂ and component 2's in x₁ (as for dX₁ ∝ √(1 + X₂²) dW₁); every
/// neighbour row comes with the four sign pairs (±√s₁, ±√s₂), so each component's squared
/// residual is exactly its model and every adjusted component must sit at its intercept ±
/// γ√s_o(0). A model of |r|² leaves each component's spread off by its neighbour's share.
@Test func quadraticScaleFitIsPerComponent() {
    let rows = 300, k = 4 * rows, a = [0.3, -0.2], slope = [0.5, 1.5]
    func s(_ u: [Double]) -> [Double] {
        [0.02 * (1 + (0.4 + u[1]) * (0.4 + u[1])) + 0.001 * u[2], 0.03 * (1 + (u[0] - 0.2) * (u[0] - 0.2)) + 0.0005 * u[0] * u[2]]
    }
    let rng = CounterRNG(seed: 13)
    var u = [Double](), y = [Double](), w = [Double]()
    for j in 0..<rows {
        let (r0, r1) = rng.uniforms(.initialState, id: UInt64(j), index: 0), (r2, r3) = rng.uniforms(.split, id: UInt64(j), index: 0)
        let row = [0.6 * r0 - 0.3, 0.6 * r1 - 0.3, 0.4 * r2 - 0.2], v = s(row)
        for (s1, s2) in [(1.0, 1.0), (1, -1), (-1, 1), (-1, -1)] {
            u += row
            y += [a[0] + slope[0] * row[0] + s1 * v[0].squareRoot(), a[1] + slope[1] * row[2] + s2 * v[1].squareRoot()]
            w.append(0.5 + r3)
        }
    }
    var fit = LocalLinearFit(p: 3, d: 2, curvatureBase: 3)
    fit.adjust(offsets: u, deltas: &y, weights: w, count: k)
    let s0 = s([0, 0, 0]), gamma = 1 / (1 - fit.leverageFraction).squareRoot()
    #expect(abs(fit.scaleAtQuery - s0[0] - s0[1]) < 1e-9, "s0 \(fit.scaleAtQuery), exact \(s0)")
    for j in 0..<k {
        for o in 0..<2 {
            #expect(abs(abs(y[j * 2 + o] - a[o]) - gamma * s0[o].squareRoot()) < 1e-9, "neighbour \(j) component \(o): \(y[j * 2 + o])")
        }
    }
}

/// Catches: cross-term columns missing or misplaced in the labeler (`.localBilinear`). Pairs
/// with no noise and a displacement exactly bilinear in (x, μ) — the drift −μx has such a
/// term — queried at the top of the μ range, where the neighbours lie below the query and
/// (data denser towards x = 0) mostly on one side of it in x: every adjusted neighbour must
/// land on the displacement at the query, so every label equals it whatever z is. The plain
/// linear fit cannot absorb the cross term, so its labels miss by far more (and vary with z).
@Test func localBilinearLabelsAreExactForABilinearDrift() {
    let rng = CounterRNG(seed: 13)
    var block = PairBlock(d: 1, dMu: 1)
    func shift(_ x: Double, _ mu: Double) -> Double { 0.05 - 0.02 * x + 0.03 * mu - 0.1 * x * mu }
    for j in 0..<6000 {
        let (a, b) = rng.uniforms(.initialState, id: UInt64(j), index: 0)
        let x = 3 * a * a - 0.5, mu = (b * 11).rounded(.down) / 10
        block.x.append(x); block.mu.append(mu); block.y.append(x + shift(x, mu))
    }
    let x = 1.5, mu = 1.0, exact = 3 * shift(x, mu)  // labels are c·Δ, c = 3
    func worst(_ estimator: LabelEstimator) -> Double {
        var s = LabelSettings(labels: 0, neighbors: 1000, odeSteps: 40, nuX: 0.8, nuMu: 0.3,
                              estimator: estimator, solver: .exponential, odeStop: 0.2)
        s.scale = 3
        let (labels, _) = runLabeler(block, settings: s, queries: 50, seed: 2, at: (x: [x], mu: [mu]))
        return labels.map { abs($0 - exact) }.max()!
    }
    let bilinear = worst(.localBilinear), linear = worst(.localLinear)
    #expect(bilinear < 1e-5 * abs(exact) + 1e-6, "bilinear labels miss by \(bilinear)")
    #expect(linear > 100 * max(bilinear, 1e-6), "linear labels miss by only \(linear)")
}

/// Catches: a wrong index or padding in the one-pass moments kernel, on each of its paths
/// (m ≤ 8, m ≤ 16, wider): every entry of Σ_j w_j v_j v_jᵀ with v_j = (1, u_j, y_j) must match
/// the plain triple loop.
@Test func weightedMomentsMatchTheDefinition() {
    let rng = CounterRNG(seed: 17)
    for (p, q) in [(2, 1), (5, 2), (9, 3), (21, 10)] {
        let k = 257, m = 1 + p + q
        var u = [Double](), y = [Double](), w = [Double]()
        for j in 0..<k {
            for i in 0..<p { u.append(rng.normals(.initialState, id: UInt64(j), index: UInt32(i)).0) }
            for o in 0..<q { y.append(rng.normals(.queryNoise, id: UInt64(j), index: UInt32(o)).0) }
            w.append(rng.uniforms(.split, id: UInt64(j), index: 0).0)
        }
        var out = [Double](repeating: .nan, count: m * m)
        sdeflow_weighted_moments(u, Int64(p), y, Int64(q), w, Int64(k), &out)
        var worst = 0.0
        for a in 0..<m {
            for b in 0..<m {
                var s = 0.0
                for j in 0..<k {
                    let v = [1.0] + u[(j * p)..<((j + 1) * p)] + y[(j * q)..<((j + 1) * q)]
                    s += w[j] * v[a] * v[b]
                }
                worst = max(worst, abs(out[a * m + b] - s) / max(1, abs(s)))
            }
        }
        #expect(worst < 1e-12, "p = \(p), q = \(q): worst relative error \(worst)")
    }
}

/// Catches: a wrong leverage correction (the fraction λ of the weighted noise the local fit
/// absorbs, by which the adjusted residuals are stretched): against the definition
/// λ = Σ_j w_j H_jj / Σ_j w_j, H = X (XᵀWX)⁻¹ XᵀW with X = [1, u], computed densely here by
/// Gauss–Jordan, on a random design with one column the neighbours do not span (left out of
/// the fit, so it must not count).
@Test func localLinearFitLeverageMatchesTheHatMatrix() {
    let k = 60, p = 4, d = 2
    let rng = CounterRNG(seed: 11)
    var u = [Double](), y = [Double](), w = [Double]()
    for j in 0..<k {
        let (a, b) = rng.uniforms(.initialState, id: UInt64(j), index: 0)
        let (c, e) = rng.uniforms(.initialState, id: UInt64(j), index: 1)
        u += [a - 0.5, b * b, 0, c - e]
        y += [a + c, b - e]
        w.append(0.1 + e)
    }
    var fit = LocalLinearFit(p: p, d: d)
    fit.adjust(offsets: u, deltas: &y, weights: w, count: k)
    let cols = [0, 1, 3], m = 1 + cols.count  // the constant column 2 is left out
    var g = [Double](repeating: 0, count: m * m)  // XᵀWX
    func row(_ j: Int) -> [Double] { [1] + cols.map { u[j * p + $0] } }
    for j in 0..<k { let x = row(j); for a in 0..<m { for b in 0..<m { g[a * m + b] += w[j] * x[a] * x[b] } } }
    var inv = [Double](repeating: 0, count: m * m)
    for a in 0..<m { inv[a * m + a] = 1 }
    for c in 0..<m {  // Gauss–Jordan (XᵀWX is positive definite: no pivoting needed)
        let piv = g[c * m + c]
        for b in 0..<m { g[c * m + b] /= piv; inv[c * m + b] /= piv }
        for r in 0..<m where r != c {
            let f = g[r * m + c]
            for b in 0..<m { g[r * m + b] -= f * g[c * m + b]; inv[r * m + b] -= f * inv[c * m + b] }
        }
    }
    var absorbed = 0.0, total = 0.0
    for j in 0..<k {
        let x = row(j)
        var q = 0.0
        for a in 0..<m { for b in 0..<m { q += x[a] * inv[a * m + b] * x[b] } }
        absorbed += w[j] * (w[j] * q); total += w[j]
    }
    #expect(abs(fit.leverageFraction - absorbed / total) < 1e-10, "\(fit.leverageFraction) vs \(absorbed / total)")
    #expect(abs(fit.leverageFraction - Double(m) / Double(k)) < 0.1)  // about (1 + p) / ESS
}
