import Foundation
import SDEFlowCore
import Testing

/// Largest |a_i − b_i|.
private func maxDifference(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// The n × n diagonal matrix with `v` on the diagonal.
private func diagonal(_ v: [Double]) -> [Double] {
    let n = v.count
    var a = [Double](repeating: 0, count: n * n)
    for i in 0..<n { a[i * n + i] = v[i] }
    return a
}

/// Sample mean (d) and covariance (d × d, divisor n − 1) of n rows of d values.
private func moments(_ rows: [Double], d: Int) -> (mean: [Double], cov: [Double]) {
    let n = rows.count / d
    var mean = [Double](repeating: 0, count: d), cov = [Double](repeating: 0, count: d * d)
    for r in 0..<n { for i in 0..<d { mean[i] += rows[r * d + i] } }
    for i in 0..<d { mean[i] /= Double(n) }
    for r in 0..<n {
        for i in 0..<d {
            let u = rows[r * d + i] - mean[i]
            for j in 0..<d { cov[i * d + j] += u * (rows[r * d + j] - mean[j]) }
        }
    }
    return (mean, cov.map { $0 / Double(n - 1) })
}

/// Whether sample moments of n draws match N(mean, cov): every mean within `z` standard errors
/// √(Σ_ii / n) and every covariance entry within `z` of √((Σ_ii Σ_jj + Σ_ij²) / n), plus
/// `bias` times that entry's scale √(Σ_ii Σ_jj) (for the O(h) bias of an Euler–Maruyama sample).
private func expectMoments(_ sample: (mean: [Double], cov: [Double]), law: (mean: [Double], cov: [Double]),
                           n: Int, z: Double = 5, bias: Double = 0, _ what: String) {
    let d = law.mean.count, nd = Double(n)
    for i in 0..<d {
        let se = (law.cov[i * d + i] / nd).squareRoot()
        #expect(abs(sample.mean[i] - law.mean[i]) < z * se, "\(what): mean[\(i)] \(sample.mean[i]) vs \(law.mean[i])")
        for j in 0..<d {
            let (sii, sjj, sij) = (law.cov[i * d + i], law.cov[j * d + j], law.cov[i * d + j])
            let se = ((sii * sjj + sij * sij) / nd).squareRoot()
            let tolerance = z * se + bias * (sii * sjj).squareRoot()
            #expect(abs(sample.cov[i * d + j] - sij) < tolerance,
                    "\(what): cov[\(i)][\(j)] \(sample.cov[i * d + j]) vs \(sij) (± \(tolerance))")
        }
    }
}

@Suite struct OUNDTests {
    // MARK: Matrix exponential

    /// Catches: a wrong Padé coefficient or degree choice, and a wrong number of squarings
    /// (‖A‖₁ = 20 needs s = 2 at degree 13; 0.01 uses degree 3 unscaled).
    @Test func expmOfDiagonalIsElementwiseExp() {
        for v in [[0.01, -0.005, 0.0], [-20.0, -1, 0, 0.5, 3], [0.2, 0.9, -2.0, 4.0]] {
            let e = MatrixFunctions.exponential(diagonal(v))
            let exact = diagonal(v.map { exp($0) })
            for i in 0..<(v.count * v.count) {
                #expect(abs(e[i] - exact[i]) <= 1e-14 * max(1, abs(exact[i])), "v = \(v), entry \(i): \(e[i]) vs \(exact[i])")
            }
        }
    }

    /// Catches: sign or transposition errors in the odd part U (e^{θJ} would rotate backwards)
    /// and loss of accuracy when many squarings are needed (θ = 50: s = 4).
    @Test func expmOfRotationGeneratorIsRotation() {
        for theta in [0.01, 0.3, 1.0, 2.0, 10.0, 50.0] {
            let e = MatrixFunctions.exponential([0, -theta, theta, 0])
            let (c, s) = (cos(theta), sin(theta))
            #expect(maxDifference(e, [c, -s, s, c]) < 1e-14 * max(1, theta), "θ = \(theta): \(e)")
        }
    }

    /// Catches: an approximant that is not exact on nilpotent matrices (e^N is the finite
    /// series), including a non-normal N with ‖N‖₁ = 60 that forces scaling.
    @Test func expmOfNilpotentIsFiniteSeries() {
        for scale in [0.1, 1.0, 20.0] {
            let n = 4
            var nil4 = [Double](repeating: 0, count: 16)
            for i in 0..<n { for j in (i + 1)..<n { nil4[i * n + j] = scale * Double(1 + i + 2 * j) / 5 } }
            let n2 = MatrixFunctions.product(nil4, nil4), n3 = MatrixFunctions.product(n2, nil4)
            var exact = MatrixFunctions.identity(n)
            for i in 0..<16 { exact[i] += nil4[i] + n2[i] / 2 + n3[i] / 6 }
            let e = MatrixFunctions.exponential(nil4)
            let largest = exact.map(abs).max()!
            #expect(maxDifference(e, exact) < 1e-13 * largest, "scale \(scale): \(e) vs \(exact)")
        }
    }

    // MARK: Van Loan

    /// Catches: a wrong block layout or a missing factor h in Q (the 1-D OU law
    /// N(e^{−mh}x, σ²/(2m)(1 − e^{−2mh}))), and a wrong doubling of long steps (h = 50).
    @Test func vanLoanMatchesOneDimensionalOU() {
        for (m, sigma) in [(0.5, 1.0), (2.0, 0.3), (1.3, 2.5)] {
            for h in [1e-3, 0.1, 1.0, 50.0] {
                let law = MatrixFunctions.vanLoanDiscretisation(drift: [-m], noise: [sigma * sigma], h: h)
                let v = sigma * sigma / (2 * m) * -expm1(-2 * m * h)
                #expect(abs(law.transition[0] / exp(-m * h) - 1) < 1e-12, "m=\(m) h=\(h): Φ \(law.transition[0])")
                #expect(abs(law.covariance[0] / v - 1) < 1e-12, "m=\(m) h=\(h): Σ \(law.covariance[0]) vs \(v)")
            }
        }
    }

    /// Catches: Φ transposed (the rotation would turn the other way) and a covariance that
    /// is not the closed form of ou2d (`SDEExample.rotatingOU`: e^{−μh}-rotation,
    /// σ²/(2μ)(1 − e^{−2μh}) I).
    @Test func vanLoanMatchesRotatingOU() {
        let ou2d = SDEExample.rotatingOU.exactTransition!
        for mu in [0.5, 1.3, 2.0] {
            for h in [0.1, 2.0, 30.0] {
                let law = MatrixFunctions.vanLoanDiscretisation(drift: [-mu, 1, -1, -mu], noise: [0.25, 0, 0, 0.25], h: h)
                let e0 = ou2d([1, 0], [mu], h), e1 = ou2d([0, 1], [mu], h)
                let phi = [e0.mean[0], e1.mean[0], e0.mean[1], e1.mean[1]]
                #expect(maxDifference(law.transition, phi) < 1e-14, "μ=\(mu) h=\(h): Φ \(law.transition) vs \(phi)")
                #expect(maxDifference(law.covariance, e0.cov) < 1e-14, "μ=\(mu) h=\(h): Σ \(law.covariance) vs \(e0.cov)")
            }
        }
    }

    // MARK: ou-nd

    /// Catches: a non-skew B (the drift would not have real part −μ), a covariance that is
    /// not symmetric positive definite, and an exponential that is not accurate at d = 50:
    /// with B skew, Φ = e^{−μh} e^{−Bh} with e^{−Bh} orthogonal, so Φ Φᵀ = e^{−2μh} I, and the
    /// stationary Σ∞ solves A Σ∞ + Σ∞ Aᵀ + Q = 0.
    @Test(arguments: [2, 10, 50]) func structureAtDimension(_ d: Int) {
        let b = OUND.coupling(dim: d)
        for i in 0..<d {
            for j in 0..<d {
                #expect(b[i * d + j] == -b[j * d + i])
                if j == i + 1 { #expect((0.5...1).contains(b[i * d + j])) }
                if j == i + 2 { #expect((0.1...0.3).contains(b[i * d + j])) }
                if j > i + 2 || i > j + 2 || i == j { #expect(b[i * d + j] == 0) }
            }
        }
        for mu in [0.5, 2.0] {
            let law = OUND.discretisation(dim: d, mu: mu, h: 0.1)
            #expect(law.covariance == MatrixFunctions.transpose(law.covariance))
            let l = Simulator.cholesky(law.covariance, d)
            let minPivot = (0..<d).map { l[$0 * d + $0] }.min()!
            #expect(minPivot > 0.1, "d=\(d) μ=\(mu): smallest Cholesky pivot \(minPivot)")
            let back = MatrixFunctions.product(l, MatrixFunctions.transpose(l))
            #expect(maxDifference(back, law.covariance) < 1e-13)
            let ppt = MatrixFunctions.product(law.transition, MatrixFunctions.transpose(law.transition))
            let target = MatrixFunctions.identity(d).map { $0 * exp(-2 * mu * 0.1) }
            #expect(maxDifference(ppt, target) < 1e-13, "d=\(d) μ=\(mu): Φ Φᵀ ≠ e^{−2μh} I")
            let a = OUND.driftMatrix(dim: d, mu: mu), q = OUND.noiseCovariance(dim: d, mu: mu)
            let s = OUND.stationaryCovariance(dim: d, mu: mu)
            let as_ = MatrixFunctions.product(a, s)
            let residual = zip(zip(as_, MatrixFunctions.transpose(as_)), q).map { $0.0 + $0.1 + $1 }
            #expect(residual.map(abs).max()! < 1e-12, "d=\(d) μ=\(mu): Lyapunov residual")
        }
    }

    /// Catches: coefficients that disagree with the matrices of the exact law (drift sign,
    /// B transposed, diffusion not σ(μ)√((L Lᵀ)_ii)), wrong settings, and an exact law that
    /// `GaussianLaw.exact` cannot compose (20 steps of Δt must equal one step of 2).
    @Test func exampleAgreesWithItsMatrices() {
        let d = 7, ex = SDEExample.ouND(dim: d)
        #expect(ex.name == "ou-nd" && ex.d == d && ex.dMu == 1 && ex.observedMu.count == 11)
        #expect(ex.observedMu.first == [0.5] && ex.observedMu.last == [2.0] && ex.usesExactSimulation)
        let pairs = ex.observedMu.count * ex.simulation.pathsPerMu * ex.simulation.stepsPerPath
        #expect((950_000...1_050_000).contains(pairs))
        let x = (0..<d).map { 0.3 + 0.1 * Double($0) }, mu = 1.7
        var drift = [Double](repeating: 0, count: d), diffusion = drift
        x.withUnsafeBufferPointer { xp in [mu].withUnsafeBufferPointer { mp in
            ex.coefficients(xp.baseAddress!, mp.baseAddress!, &drift, &diffusion)
        } }
        #expect(maxDifference(drift, MatrixFunctions.apply(OUND.driftMatrix(dim: d, mu: mu), to: x)) < 1e-15)
        let q = OUND.noiseCovariance(dim: d, mu: mu)
        #expect(maxDifference(diffusion, (0..<d).map { q[$0 * d + $0].squareRoot() }) < 1e-15)
        // Twenty exact steps composed by hand against one exact step of 2.
        let one = ex.exactTransition!(x, [mu], 0.1)
        var mean = x, cov = [Double](repeating: 0, count: d * d)
        let phi = (0..<d).map { j in ex.exactTransition!((0..<d).map { $0 == j ? 1 : 0 }, [mu], 0.1).mean }
        let phiT = phi.flatMap { $0 }  // rows are Φ's columns
        for _ in 0..<20 {
            mean = MatrixFunctions.apply(MatrixFunctions.transpose(phiT), to: mean)
            cov = MatrixFunctions.product(MatrixFunctions.product(MatrixFunctions.transpose(phiT), cov), phiT)
            for i in cov.indices { cov[i] += one.cov[i] }
        }
        let law = GaussianLaw.exact(ex, start: StartLaw(mean: x), mu: [mu], time: 2)!
        #expect(maxDifference(law.mean, mean) < 1e-13 && maxDifference(law.cov, cov) < 1e-13)
    }

    /// Catches: an exact law that is not the law of the SDE it names: the ou-nd law at d = 5
    /// against a Monte Carlo of fine Euler–Maruyama steps (h = 10⁻³) with the full correlated
    /// noise σ(μ) L dW, from x₀ = 0.3·𝟙 and from 0; and a Simulator that draws something else
    /// from the law (one exact step from the same starts).
    @Test func exactLawMatchesFineEulerMaruyama() {
        let d = 5, n = 30_000, sub = 100, dt = 0.1, hs = dt / Double(sub)
        let ex = SDEExample.ouND(dim: d), rng = CounterRNG(seed: 31)
        let l = OUND.noiseFactor(dim: d)
        for (mu, x0) in [(0.5, [Double](repeating: 0.3, count: d)), (2.0, [Double](repeating: 0, count: d))] {
            let law = ex.exactTransition!(x0, [mu], dt)
            let g = l.map { $0 * OUND.noiseScale(mu: mu) * hs.squareRoot() }
            var ends = [Double](), state = x0, z = x0, drift = x0, diffusion = x0
            ends.reserveCapacity(n * d)
            for p in 0..<n {
                state = x0
                for s in 0..<sub {
                    z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .pathNoise, id: UInt64(p), index: UInt32(s)) }
                    state.withUnsafeBufferPointer { xp in [mu].withUnsafeBufferPointer { mp in
                        ex.coefficients(xp.baseAddress!, mp.baseAddress!, &drift, &diffusion)
                    } }
                    for i in 0..<d {
                        var v = state[i] + hs * drift[i]
                        for j in 0...i { v += g[i * d + j] * z[j] }
                        state[i] = v
                    }
                }
                ends += state
            }
            // EM's covariance bias is O(μ h) ≈ 0.2 % at μ = 2; 5 standard errors are 4 %.
            expectMoments(moments(ends, d: d), law: law, n: n, bias: 0.01, "EM μ=\(mu)")
            var settings = ex.simulation
            settings.pathsPerMu = n; settings.horizon = dt
            var start = ex
            start.observedMu = [[mu]]
            start.initialState = { _, _, _ in x0 }
            let block = Simulator.simulate(start, settings: settings, observedMu: [[mu]], paths: 0..<n, seed: 5)
            expectMoments(moments(block.y, d: d), law: law, n: n, "Simulator μ=\(mu)")
        }
    }

    /// Catches: paths not started in the stationary law N(0, Σ∞(μ)) (the data would drift in
    /// scale along each path and across μ).
    @Test func pathsStartInTheStationaryLaw() {
        let d = 4, n = 30_000, ex = SDEExample.ouND(dim: d), rng = CounterRNG(seed: 3)
        for mu in [0.5, 2.0] {
            var starts = [Double]()
            for p in 0..<n { starts += ex.initialState([mu], rng, UInt64(p)) }
            let law = ([Double](repeating: 0, count: d), OUND.stationaryCovariance(dim: d, mu: mu))
            expectMoments(moments(starts, d: d), law: law, n: n, "start μ=\(mu)")
        }
    }

    /// Not a correctness check: measures simulation per step (1 path × 10 steps) at d = 10,
    /// 20, 50, first call (builds the memoised laws), then warm through `Simulator.simulate`.
    /// Catches: the Van Loan exponential recomputed every step (milliseconds per step at d = 50).
    @Test func simulationSpeedPerStep() {
        for d in [10, 20, 50] {
            let ex = SDEExample.ouND(dim: d)
            var settings = ex.simulation
            settings.pathsPerMu = 1
            let mus = [[1.25]], clock = ContinuousClock(), repeats = 200
            let cold = clock.measure { _ = Simulator.simulate(ex, settings: settings, observedMu: mus, paths: 0..<1, seed: 1) }
            var sink = 0.0
            let warm = clock.measure {
                for r in 0..<repeats {
                    sink += Simulator.simulate(ex, settings: settings, observedMu: mus, paths: 0..<1, seed: UInt64(r)).y[0]
                }
            }
            let steps = repeats * settings.stepsPerPath
            print("ou-nd simulate d=\(d): first call \(cold), warm \(warm / steps) per step (\(sink.isFinite))")
            #expect(warm / steps < .milliseconds(1), "d=\(d): \(warm / steps) per step")
        }
    }
}
