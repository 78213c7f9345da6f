import Foundation
import SDEFlowCore
import Testing

// The `gbm` example: its exact sampler and data against the closed-form log-normal law.

/// Catches: a sampler without the Itô correction −σ²/2 (mean x e^{(μ + σ²/2)h}), with σ instead
/// of σ√h, or with the noise added rather than multiplied: mean, variance and the third central
/// moment x³e^{3μh}(e^{σ²h} − 1)²(e^{σ²h} + 2) of 200 000 draws, each within 5 standard errors.
@Test(arguments: [(0.6, -0.5, 0.1), (1.0, 0.0, 0.1), (2.0, 0.5, 0.1), (1.0, 0.3, 2.0)])
func gbmSamplerHasTheExactLaw(x: Double, mu: Double, h: Double) {
    let n = 200_000, rng = CounterRNG(seed: 5)
    let v = (0..<n).map { i -> Double in
        var draws = RandomDraws(rng, .exactReference, id: UInt64(i), index: 0)
        return GeometricBM.sample(x: x, mu: mu, h: h, &draws)
    }
    #expect(v.allSatisfy { $0 > 0 && $0.isFinite })
    let exact = GeometricBM.moments(x: x, mu: mu, h: h)
    let q = Foundation.expm1(GeometricBM.sigma * GeometricBM.sigma * h)
    let third = pow(exact.mean, 3) * q * q * (q + 3)
    expectExactMoments(v, mean: exact.mean, variance: exact.variance, third: third, "x=\(x) μ=\(mu) h=\(h)")
    #expect(SDEExample.geometricBM.exactTransition!([x], [mu], h).cov == [exact.variance])
}

/// Catches: data whose steps are not the exact multiplicative ones: log(y/x) of the simulated
/// pairs at one μ has mean (μ − σ²/2)Δt and variance σ²Δt, and is uncorrelated with log x.
@Test func gbmDataTakeExactLogNormalSteps() {
    let example = SDEExample.geometricBM, mu = 0.5, dt = example.simulation.dt
    var settings = example.simulation
    settings.pathsPerMu = 20_000
    let block = Simulator.simulate(example, settings: settings, observedMu: [[mu]], paths: 0..<20_000, seed: 6)
    let r = zip(block.x, block.y).map { Foundation.log($1 / $0) }, lx = block.x.map { Foundation.log($0) }
    let n = Double(r.count), mr = r.reduce(0, +) / n, ml = lx.reduce(0, +) / n
    let vr = r.reduce(0) { $0 + ($1 - mr) * ($1 - mr) } / n
    let cov = zip(r, lx).reduce(0) { $0 + ($1.0 - mr) * ($1.1 - ml) } / n
    let s2 = GeometricBM.sigma * GeometricBM.sigma * dt
    #expect(abs(mr - (mu - GeometricBM.sigma * GeometricBM.sigma / 2) * dt) < 5 * (s2 / n).squareRoot())
    #expect(abs(vr / s2 - 1) < 5 * (2 / n).squareRoot())
    #expect(abs(cov) < 5 * s2.squareRoot() * 0.6 / n.squareRoot())
}
