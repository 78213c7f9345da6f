import Foundation
import SDEFlowCore
import Testing

/// The example's simulation settings with `pathsPerMu` paths of one observation step each
/// (horizon = Δt), so the pairs are independent.
private func oneStep(_ example: SDEExample, pathsPerMu: Int) -> SimulationSettings {
    var s = example.simulation
    s.pathsPerMu = pathsPerMu
    s.horizon = s.dt
    return s
}

/// `example` with every path started at `x0` (same SDE, same exact law).
private func startingAt(_ x0: [Double], _ e: SDEExample) -> SDEExample {
    var started = e
    started.initialState = { _, _, _ in x0 }
    return started
}

/// Least-squares fit y = a + b x on rows `range` of a d = 1 block: (a, b, residual variance).
private func regress(_ block: PairBlock, _ range: Range<Int>) -> (intercept: Double, slope: Double, residualVariance: Double) {
    let n = Double(range.count)
    var mx = 0.0, my = 0.0
    for j in range { mx += block.x[j]; my += block.y[j] }
    mx /= n; my /= n
    var sxx = 0.0, sxy = 0.0
    for j in range { sxx += (block.x[j] - mx) * (block.x[j] - mx); sxy += (block.x[j] - mx) * (block.y[j] - my) }
    let b = sxy / sxx, a = my - b * mx
    var rss = 0.0
    for j in range { let e = block.y[j] - a - b * block.x[j]; rss += e * e }
    return (a, b, rss / (n - 2))
}

// MARK: One-step laws

/// Catches: a wrong Euler–Maruyama step for ou (drift sign, diffusion √(1+μ²) missing or
/// squared, noise not scaled by √h, wrong number of sub-steps per Δt), a wrong μ per path
/// (two μ with equal stationary law but different one-step laws), and a wrong initial law.
@Test func ouOneStepLawMatchesExact() {
    let example = SDEExample.ornsteinUhlenbeck
    let n = 30_000, mus = [[0.5], [2.0]]
    let settings = oneStep(example, pathsPerMu: n)
    #expect(settings.fineStep == 1e-3 && settings.stepsPerPath == 1)
    let block = Simulator.simulate(example, settings: settings, observedMu: mus, paths: 0..<(2 * n), seed: 8)
    #expect(block.count == 2 * n && block.mu.count == 2 * n)
    let dt = settings.dt
    for (k, mu) in mus.enumerated() {
        let m = mu[0]
        let rows = (k * n)..<((k + 1) * n)
        #expect(block.mu[rows].allSatisfy { $0 == m })
        let fit = regress(block, rows)
        let stationary = (1 + m * m) / (2 * m)
        let v = stationary * (1 - exp(-2 * m * dt))
        // se(slope) = √(v / (n · stationary)) ≈ 0.0014 (μ=0.5) / 0.0026 (μ=2).
        let seSlope = (v / (Double(n) * stationary)).squareRoot()
        #expect(abs(fit.slope - exp(-m * dt)) < 5 * seSlope, "μ=\(m): slope \(fit.slope), exact \(exp(-m * dt))")
        #expect(abs(fit.intercept) < 5 * (v / Double(n)).squareRoot())
        // Residual variance: relative se √(2/n) ≈ 0.8 %; EM bias at h = 1e-3 is ~0.1 %.
        #expect(abs(fit.residualVariance / v - 1) < 5 * (2 / Double(n)).squareRoot(),
                "μ=\(m): variance \(fit.residualVariance), exact \(v)")
        // Started in the stationary law N(0, (1+μ²)/(2μ)).
        let xs = block.x[rows], mean = xs.reduce(0, +) / Double(n)
        let varX = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        #expect(abs(varX / stationary - 1) < 5 * (2 / Double(n)).squareRoot())
        // The example's own exact law agrees with the formulas in METHOD.md §4.
        let law = example.exactTransition!([0.8], mu, dt)
        #expect(abs(law.mean[0] - 0.8 * exp(-m * dt)) < 1e-14 && abs(law.cov[0] - v) < 1e-14)
    }
}

/// Catches: a wrong bm step (drift μ not times Δt, unit diffusion, sub-step count) and a wrong
/// initial law (U(−5, 5)).
@Test func bmOneStepLawMatchesExact() {
    let example = SDEExample.brownianMotion
    let n = 20_000, mus = [[-1.0], [0.6]]
    let settings = oneStep(example, pathsPerMu: n)
    let block = Simulator.simulate(example, settings: settings, observedMu: mus, paths: 0..<(2 * n), seed: 9)
    let dt = settings.dt
    for (k, mu) in mus.enumerated() {
        let rows = (k * n)..<((k + 1) * n)
        let incs = rows.map { block.y[$0] - block.x[$0] }
        let mean = incs.reduce(0, +) / Double(n)
        let variance = incs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
        #expect(abs(mean - mu[0] * dt) < 5 * (dt / Double(n)).squareRoot(), "μ=\(mu[0]): mean \(mean)")
        #expect(abs(variance / dt - 1) < 5 * (2 / Double(n)).squareRoot(), "μ=\(mu[0]): variance \(variance)")
        #expect(block.x[rows].allSatisfy { (-5...5).contains($0) })
        let xMean = block.x[rows].reduce(0, +) / Double(n)
        #expect(abs(xMean) < 5 * (100.0 / 12 / Double(n)).squareRoot())
    }
}

/// Catches: a flipped rotation direction in ou2d's exact transition relative to its drift
/// (the mean of X_{t+h} must be x + h·a(x, μ) + O(h²)), i.e. simulation data and ground truth
/// that rotate the other way than the SDE the drift defines.
@Test func ou2dExactMeanFollowsDrift() {
    let example = SDEExample.rotatingOU
    let law = example.exactTransition!
    for (x, mu) in [([1.5, 0.5], [0.5]), ([-0.3, 2.0], [1.0]), ([2.0, -1.0], [2.0])] {
        var drift = [0.0, 0.0], diffusion = [0.0, 0.0]
        x.withUnsafeBufferPointer { xp in mu.withUnsafeBufferPointer { mp in
            example.coefficients(xp.baseAddress!, mp.baseAddress!, &drift, &diffusion)
        } }
        #expect(diffusion == [0.5, 0.5])
        var errors: [Double] = []
        for h in [1e-2, 1e-3] {
            let mean = law(x, mu, h).mean
            let e = hypot(mean[0] - (x[0] + h * drift[0]), mean[1] - (x[1] + h * drift[1]))
            errors.append(e)
            // O(h²): the remainder is at most |A|²|x| h² / 2 (+ higher order), |A|² = μ² + ω²;
            // a flipped rotation gives an O(h) error 2ωh|x| instead.
            let bound = 0.6 * (mu[0] * mu[0] + 1) * hypot(x[0], x[1]) * h * h
            #expect(e < bound, "x=\(x) μ=\(mu) h=\(h): mean \(mean), x + h a = \(x[0] + h * drift[0]), \(x[1] + h * drift[1])")
        }
        #expect(errors[1] < errors[0] / 50)  // second order: ×100 smaller for h ×10 smaller
        // Covariance σ²/(2μ)(1 − e^{−2μh}) I ≈ σ² h I for small h.
        let cov = law(x, mu, 1e-3).cov
        #expect(abs(cov[0] / (0.25 * 1e-3) - 1) < 3e-3 && cov[1] == 0 && cov[2] == 0 && cov[0] == cov[3])
    }
}

/// Catches: an exact-law simulation that misuses the Cholesky factor or the mean (rotation
/// applied twice or not at all, covariance not scaled): regress y on x per component; the
/// fitted 2×2 matrix must be e^{−AΔt} and the residual covariance the exact one.
@Test func ou2dExactSimulationMatchesExactTransition() {
    let example = SDEExample.rotatingOU
    #expect(example.usesExactSimulation)
    let n = 20_000, mu = [0.5]
    let settings = oneStep(example, pathsPerMu: n)
    let block = Simulator.simulate(example, settings: settings, observedMu: [mu], paths: 0..<n, seed: 10)
    let law = example.exactTransition!
    // Residuals against the exact mean: mean 0, uncorrelated with x, covariance as exact.
    let v = law([0, 0], mu, settings.dt).cov[0]
    var r = [0.0, 0.0], rr = [0.0, 0.0, 0.0], rx = [0.0, 0.0, 0.0, 0.0], xx = [0.0, 0.0]
    for j in 0..<n {
        let x = [block.x[2 * j], block.x[2 * j + 1]]
        let m = law(x, mu, settings.dt).mean
        let e = [block.y[2 * j] - m[0], block.y[2 * j + 1] - m[1]]
        r[0] += e[0]; r[1] += e[1]
        rr[0] += e[0] * e[0]; rr[1] += e[1] * e[1]; rr[2] += e[0] * e[1]
        for a in 0..<2 { for b in 0..<2 { rx[2 * a + b] += e[a] * x[b] } }
        xx[0] += x[0] * x[0]; xx[1] += x[1] * x[1]
    }
    let nd = Double(n)
    for a in 0..<2 {
        #expect(abs(r[a] / nd) < 5 * (v / nd).squareRoot())
        #expect(abs(rr[a] / nd / v - 1) < 5 * (2 / nd).squareRoot(), "component \(a): residual variance \(rr[a] / nd), exact \(v)")
        // Regression coefficient of the residual on x_b: se √(v / Σx_b²) ≈ 0.0006; a rotation
        // error of ±2ωΔt = 0.2 in the off-diagonal is 300 se away.
        for b in 0..<2 {
            #expect(abs(rx[2 * a + b] / xx[b]) < 5 * (v / xx[b]).squareRoot(), "residual on x: \(a), \(b)")
        }
    }
    #expect(abs(rr[2] / nd) < 5 * v / nd.squareRoot())
    // The empirical one-step law from one fixed start, over 20 000 paths.
    let x0 = [1.5, 0.5]
    let fixed = Simulator.simulate(startingAt(x0, example), settings: settings, observedMu: [mu], paths: 0..<n, seed: 11)
    let m0 = law(x0, mu, settings.dt).mean
    for a in 0..<2 {
        let ys = stride(from: a, to: fixed.y.count, by: 2).map { fixed.y[$0] }
        let mean = ys.reduce(0, +) / nd
        let variance = ys.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (nd - 1)
        #expect(abs(mean - m0[a]) < 5 * (v / nd).squareRoot(), "component \(a): mean \(mean), exact \(m0[a])")
        #expect(abs(variance / v - 1) < 5 * (2 / nd).squareRoot())
    }
}

/// Catches: a Cholesky factor that does not reproduce the matrix (used for exact-law noise).
@Test func choleskyReproducesTheMatrix() {
    let a = [4.0, 2.0, 0.6, 2.0, 5.0, 1.5, 0.6, 1.5, 3.0]
    let l = Simulator.cholesky(a, 3)
    for i in 0..<3 {
        for j in 0..<3 {
            if j > i { #expect(l[i * 3 + j] == 0) }
            let v = (0..<3).reduce(0.0) { $0 + l[i * 3 + $1] * l[j * 3 + $1] }
            #expect(abs(v - a[i * 3 + j]) < 1e-12)
        }
    }
    // Semi-definite: a zero variance gives a zero row, not NaN.
    #expect(Simulator.cholesky([0, 0, 0, 2], 2) == [0, 0, 0, 2.0.squareRoot()])
}

// MARK: Rank independence

/// Catches: noise keyed by anything but (seed, global path id, step) — e.g. by position in the
/// range or by a running generator — and μ assigned by local rather than global path index:
/// the same paths simulated as one range or as pieces (as different ranks would) must give
/// bitwise identical pairs.
@Test(arguments: ["bm", "ou", "ou2d", "cir", "gbm"])
func pathsAreIndependentOfTheRangeSplit(name: String) {
    let example = SDEExample.named(name)!
    var settings = example.simulation
    settings.pathsPerMu = 7
    settings.horizon = 3 * settings.dt
    let mus = Array(example.observedMu.prefix(4))
    let total = 4 * settings.pathsPerMu
    let whole = Simulator.simulate(example, settings: settings, observedMu: mus, paths: 0..<total, seed: 21)
    var pieces = PairBlock(d: example.d, dMu: example.dMu)
    for r in [0..<5, 5..<6, 6..<17, 17..<total] {
        let part = Simulator.simulate(example, settings: settings, observedMu: mus, paths: r, seed: 21)
        pieces.x += part.x; pieces.mu += part.mu; pieces.y += part.y
    }
    #expect(whole.count == total * 3)
    #expect(whole.x == pieces.x && whole.y == pieces.y && whole.mu == pieces.mu)
    // Each pair is a step of its own path: y of step n is x of step n + 1.
    let d = example.d
    for p in 0..<total {
        for s in 0..<2 {
            let j = p * 3 + s
            #expect(Array(whole.y[(j * d)..<((j + 1) * d)]) == Array(whole.x[((j + 1) * d)..<((j + 2) * d)]))
        }
    }
    // μ by global path id: path p runs at observedMu[p / pathsPerMu].
    #expect((0..<total).allSatisfy { whole.mu[$0 * 3 * example.dMu] == mus[$0 / 7][0] })
    // Different seeds give different data.
    let other = Simulator.simulate(example, settings: settings, observedMu: mus, paths: 0..<total, seed: 22)
    #expect(other.y != whole.y)
}
