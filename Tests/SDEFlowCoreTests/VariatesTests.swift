import Foundation
import SDEFlowCore
import Testing

// Gamma and Poisson variates (`Variates`) and the keyed draw sequence they take their randomness
// from (`RandomDraws`), against exact answers: moments and distribution functions in closed form,
// each checked within a bound from the Monte Carlo sample's own standard error.

/// `n` values of `draw`, value i from the sequence keyed by (seed, stream, id i, index).
private func sample(_ n: Int, seed: UInt64 = 5, index: UInt32 = 0, _ draw: (inout RandomDraws) -> Double) -> [Double] {
    let rng = CounterRNG(seed: seed)
    return (0..<n).map { i in
        var draws = RandomDraws(rng, .pathNoise, id: UInt64(i), index: index)
        return draw(&draws)
    }
}

/// The empirical distribution function at `t` is within 5 binomial standard errors of `p`.
private func expectCDF(_ v: [Double], at t: Double, _ p: Double, _ what: String) {
    let n = Double(v.count), f = Double(v.filter { $0 <= t }.count) / n
    #expect(abs(f - p) < 5 * (p * (1 - p) / n).squareRoot() + 1e-12, "\(what): F(\(t)) = \(f), exact \(p)")
}

/// Catches: a sequence that depends on anything but its key, lanes reused between kinds, or
/// uniforms outside (0, 1).
@Test func randomDrawsArePureFunctionsOfTheirKey() {
    let rng = CounterRNG(seed: 9)
    var a = RandomDraws(rng, .pathNoise, id: 42, index: 3), b = RandomDraws(rng, .pathNoise, id: 42, index: 3)
    let first = (0..<7).map { k in k % 3 == 0 ? a.normal() : a.uniform() }
    let second = (0..<7).map { k in k % 3 == 0 ? b.normal() : b.uniform() }
    #expect(first == second)
    // Two uniforms and two normals per lane, a lane per kind: 4 uniforms + 3 normals = 2 + 2 lanes.
    #expect(a.lane == 4)
    // The uniforms of lane 0 are the counter's own uniforms at lane 0.
    var c = RandomDraws(rng, .pathNoise, id: 42, index: 3)
    let (u, v) = rng.uniforms(.pathNoise, id: 42, index: 3, lane: 0)
    #expect(c.uniform() == u && c.uniform() == v)
    var other = RandomDraws(rng, .pathNoise, id: 42, index: 4), otherId = RandomDraws(rng, .pathNoise, id: 43, index: 3)
    #expect(other.uniform() != u && otherId.uniform() != u)
    var many = RandomDraws(rng, .exactReference, id: 1, index: 1)
    #expect((0..<10_000).allSatisfy { _ in let w = many.uniform(); return w > 0 && w < 1 })
}

@Test func logFactorialMatchesLgamma() {
    for k in Array(0...300) + [500, 1000, 12_345, 1_000_000, 123_456_789] {
        let exact: Double = lgamma(Double(k) + 1)
        #expect(abs(Variates.logFactorial(k) - exact) <= 1e-13 * max(1, abs(exact)), "k = \(k)")
    }
}

/// Catches: a wrong Marsaglia–Tsang constant or acceptance test, a missing or wrong boost for
/// shape < 1 (mean and variance shape, third central moment 2·shape), and draws that depend on
/// the order they are made in.
@Test(arguments: [0.3, 0.5, 1.0, 2.04, 7.5, 60.0])
func gammaHasTheExactMoments(shape: Double) {
    let v = sample(200_000) { Variates.gamma(shape: shape, &$0) }
    #expect(v.allSatisfy { $0 >= 0 && $0.isFinite })
    expectExactMoments(v, mean: shape, variance: shape, third: 2 * shape, meanErrorInThird: true, "Gamma(\(shape))")
    // The same keys give the same values in any order.
    let again = sample(50) { Variates.gamma(shape: shape, &$0) }
    #expect(Array(v.prefix(50)) == again)
}

/// Catches: a boost that gives the right moments but the wrong law: the distribution functions
/// of Gamma(1/2) (Z²/2, F(t) = erf(√t)) and Gamma(3) (F(t) = 1 − e^{−t}(1 + t + t²/2)).
@Test func gammaHasTheExactDistributionFunction() {
    let half = sample(200_000, index: 1) { Variates.gamma(shape: 0.5, &$0) }
    for t in [0.001, 0.02, 0.1, 0.5, 1, 2, 4] { expectCDF(half, at: t, erf(t.squareRoot()), "Gamma(0.5)") }
    let three = sample(200_000, index: 2) { Variates.gamma(shape: 3, &$0) }
    for t in [0.3, 1, 2, 3, 5, 8] { expectCDF(three, at: t, 1 - exp(-t) * (1 + t + t * t / 2), "Gamma(3)") }
}

/// Catches: errors in either branch of `poisson` (inversion below 10, PTRS from 10) and at the
/// switch: mean, variance and third central moment all equal the mean.
@Test(arguments: [0.2, 3.0, 9.99, 10.0, 25.5, 150.0, 10_000.0])
func poissonHasTheExactMoments(mean: Double) {
    let v = sample(200_000) { Double(Variates.poisson(mean: mean, &$0)) }
    #expect(v.allSatisfy { $0 >= 0 && $0 == $0.rounded() })
    expectExactMoments(v, mean: mean, variance: mean, third: mean, meanErrorInThird: true, "Poisson(\(mean))")
}

/// Catches: a PTRS or inversion that matches the moments but not the law: every probability
/// P(N = k) within 5 binomial standard errors, on both sides of the switch.
@Test(arguments: [4.0, 12.0, 40.0])
func poissonHasTheExactProbabilities(mean: Double) {
    let n = 300_000
    let v = sample(n, index: 3) { Double(Variates.poisson(mean: mean, &$0)) }
    var counts: [Int: Int] = [:]
    for k in v { counts[Int(k), default: 0] += 1 }
    let hi = Int(mean + 8 * mean.squareRoot()) + 5
    for k in 0...hi {
        let p = exp(-mean + Double(k) * log(mean) - Variates.logFactorial(k))
        let f = Double(counts[k] ?? 0) / Double(n)
        #expect(abs(f - p) < 5 * (p * (1 - p) / Double(n)).squareRoot() + 1e-6, "Poisson(\(mean)): P(\(k)) = \(f), exact \(p)")
    }
    var none = RandomDraws(CounterRNG(seed: 0), .pathNoise, id: 0, index: 0)
    #expect(Variates.poisson(mean: 0, &none) == 0 && none.lane == 0)
}
