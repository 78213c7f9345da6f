import Foundation
import SDEFlowCore
import Testing

// The `cir` example: its exact sampler against the closed-form law, its data against the exact
// transition, and the Simulator's choice of exact or Euler–Maruyama steps.

/// Catches: wrong constants in the closed forms: the moments must be those of c · χ'²(δ, λ),
/// c(δ + λ) and 2c²(δ + 2λ), and the parameters must keep the Feller condition over the range.
@Test func cirMomentsAreThoseOfTheScaledNoncentralChiSquare() {
    for (x, mu, h) in [(0.18, 0.5, 0.1), (1.0, 1.25, 0.1), (2.4, 2.0, 0.1), (0.5, 0.5, 1.0), (0.0, 0.7, 0.3)] {
        let c = CIR.scale(mu: mu, h: h), delta = CIR.degrees(mu: mu), lambda = CIR.noncentrality(x: x, mu: mu, h: h)
        let m = CIR.moments(x: x, mu: mu, h: h)
        #expect(abs(m.mean - c * (delta + lambda)) < 1e-14 * max(1, m.mean), "mean at x=\(x) μ=\(mu) h=\(h)")
        #expect(abs(m.variance - 2 * c * c * (delta + 2 * lambda)) < 1e-13 * m.variance, "variance at x=\(x) μ=\(mu) h=\(h)")
        let law = SDEExample.cir.exactTransition!([x], [mu], h)
        #expect(law.mean == [m.mean] && law.cov == [m.variance])
    }
    // Feller 2μθ ≥ σ² at the bottom of the range, so everywhere in it.
    #expect(2 * CIR.muRange.lowerBound * CIR.theta >= CIR.sigma * CIR.sigma)
    // The stationary law is the limit of the transition: Gamma(2μθ/σ², σ²/(2μ)).
    let s = CIR.stationary(mu: 0.8), far = CIR.moments(x: 3, mu: 0.8, h: 200)
    #expect(abs(far.mean - s.shape * s.scale) < 1e-12 && abs(far.variance - s.shape * s.scale * s.scale) < 1e-12)
}

/// Catches: a sampler whose law is not the exact one (Poisson mean λ instead of λ/2, χ² degrees
/// of freedom δ + N instead of δ + 2N, a missing factor 2 or c) although it may be positive:
/// mean, variance and the third central moment 8c³(δ + 3λ) against the closed forms, each within
/// 5 of the sample's own standard errors; every draw > 0.
@Test(arguments: [(0.18, 0.5, 0.1), (1.0, 1.25, 0.1), (2.4, 2.0, 0.1), (0.5, 0.5, 1.0), (0.0, 2.0, 0.1), (1.0, 1.0, 50.0)])
func cirSamplerHasTheExactLaw(x: Double, mu: Double, h: Double) {
    let n = 200_000, rng = CounterRNG(seed: 3)
    let v = (0..<n).map { i -> Double in
        var draws = RandomDraws(rng, .exactReference, id: UInt64(i), index: 0)
        return CIR.sample(x: x, mu: mu, h: h, &draws)
    }
    #expect(v.allSatisfy { $0 > 0 && $0.isFinite }, "a draw ≤ 0 or not finite")
    let exact = CIR.moments(x: x, mu: mu, h: h)
    expectExactMoments(v, mean: exact.mean, variance: exact.variance, third: CIR.thirdCentralMoment(x: x, mu: mu, h: h),
                       "x=\(x) μ=\(mu) h=\(h)")
}

/// Catches: an initial law other than the stationary Gamma(2μθ/σ², σ²/(2μ)), and exact steps
/// that do not keep it stationary: the x of the data and their y have its mean and variance;
/// the regression of y on x has the exact slope e^{−μΔt} and intercept θ(1 − e^{−μΔt}); the
/// residual variance is the exact variance averaged over the stationary x. Every state > 0.
@Test func cirDataAreStationaryWithTheExactTransition() {
    let example = SDEExample.cir, mu = 0.5, dt = example.simulation.dt
    var settings = example.simulation
    settings.pathsPerMu = 20_000
    let block = Simulator.simulate(example, settings: settings, observedMu: [[mu]], paths: 0..<20_000, seed: 4)
    #expect(block.x.allSatisfy { $0 > 0 } && block.y.allSatisfy { $0 > 0 })
    let st = CIR.stationary(mu: mu), statMean = st.shape * st.scale, statVar = st.shape * st.scale * st.scale
    // The path's states are correlated: 10 per path, the effective sample at most ten times smaller.
    let n = Double(block.count), paths = 20_000.0
    for values in [block.x, block.y] {
        let m = values.reduce(0, +) / n, v = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)
        #expect(abs(m - statMean) < 5 * (statVar / paths).squareRoot(), "stationary mean \(m), exact \(statMean)")
        #expect(abs(v / statVar - 1) < 5 * (5.0 / paths).squareRoot(), "stationary variance \(v), exact \(statVar)")
    }
    let e = exp(-mu * dt)
    var mx = 0.0, my = 0.0
    for j in 0..<block.count { mx += block.x[j]; my += block.y[j] }
    mx /= n; my /= n
    var sxx = 0.0, sxy = 0.0
    for j in 0..<block.count { sxx += (block.x[j] - mx) * (block.x[j] - mx); sxy += (block.x[j] - mx) * (block.y[j] - my) }
    let slope = sxy / sxx, intercept = my - slope * mx
    var rss = 0.0
    for j in 0..<block.count { let r = block.y[j] - intercept - slope * block.x[j]; rss += r * r }
    let meanVariance = CIR.moments(x: statMean, mu: mu, h: dt).variance  // variance is affine in x
    let seSlope = (meanVariance / sxx).squareRoot() * 3  // ×3 for heteroscedastic, correlated pairs
    #expect(abs(slope - e) < 5 * seSlope, "slope \(slope), exact \(e)")
    #expect(abs(intercept - CIR.theta * (1 - e)) < 5 * seSlope * 2, "intercept \(intercept)")
    #expect(abs(rss / n / meanVariance - 1) < 0.03, "residual variance \(rss / n), exact average \(meanVariance)")
}

/// Catches: the Simulator taking exact or Euler–Maruyama steps from the example's default
/// instead of the settings (`--fine-step`): ou with no sub-step must give the exact one-step
/// variance (one Euler step of Δt would give (1+μ²)Δt, 21 % more at μ = 2), and cir with a
/// sub-step must run Euler–Maruyama (its law then differs from the exact one's draws).
@Test func simulatorTakesExactOrEulerStepsFromTheSettings() {
    let ou = SDEExample.ornsteinUhlenbeck, mu = 2.0, n = 20_000
    var settings = ou.simulation
    settings.pathsPerMu = n; settings.horizon = settings.dt; settings.fineStep = nil
    var started = ou
    started.initialState = { _, _, _ in [0] }
    let exact = Simulator.simulate(started, settings: settings, observedMu: [[mu]], paths: 0..<n, seed: 6).y
    let v = exact.reduce(0) { $0 + $1 * $1 } / Double(n), target = (1 + mu * mu) / (2 * mu) * (1 - exp(-2 * mu * settings.dt))
    #expect(abs(v / target - 1) < 5 * (2 / Double(n)).squareRoot(), "ou with fineStep nil: variance \(v), exact \(target)")

    var cirSettings = SDEExample.cir.simulation
    cirSettings.pathsPerMu = 4; cirSettings.horizon = cirSettings.dt
    let byLaw = Simulator.simulate(.cir, settings: cirSettings, observedMu: [[1]], paths: 0..<4, seed: 6)
    cirSettings.fineStep = 1e-3
    let byEuler = Simulator.simulate(.cir, settings: cirSettings, observedMu: [[1]], paths: 0..<4, seed: 6)
    #expect(byLaw.x == byEuler.x && byLaw.y != byEuler.y)
    // Euler–Maruyama at 1e-3 from the same x: within a few exact standard deviations of the exact mean.
    for j in 0..<4 {
        let m = CIR.moments(x: byEuler.x[j], mu: 1, h: cirSettings.dt)
        #expect(abs(byEuler.y[j] - m.mean) < 6 * m.variance.squareRoot())
    }
}
