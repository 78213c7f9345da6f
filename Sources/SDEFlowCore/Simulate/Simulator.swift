import Foundation

/// Simulates trajectories of an example and cuts them into one-step pairs.
///
/// Path p (global id) runs at μ = observedMu[p / pathsPerMu]; its noise is keyed by
/// (seed, p, fine step), so a path is the same whichever rank simulates it. Whether a step is
/// exact or Euler–Maruyama is the settings' choice (`fineStep` nil: exact where the law is
/// known), not the example's default.
public enum Simulator {
    public static func simulate(
        _ example: SDEExample, settings: SimulationSettings, observedMu: [[Double]],
        paths: Range<Int>, seed: UInt64, progress: (_ pathsDone: Int) -> Void = { _ in }
    ) -> PairBlock {
        let d = example.d, steps = settings.stepsPerPath
        let rng = CounterRNG(seed: seed)
        var block = PairBlock(d: d, dMu: example.dMu)
        block.x.reserveCapacity(paths.count * steps * d)
        block.y.reserveCapacity(paths.count * steps * d)
        block.mu.reserveCapacity(paths.count * steps * example.dMu)
        var state = [Double](repeating: 0, count: d)
        var drift = state, diffusion = state, noise = state
        // The Cholesky factor of the last covariance: reused while the covariance repeats (it
        // does not depend on x for a linear SDE with additive noise: every built-in example with a Gaussian law),
        // which saves the d³/6 factorisation per step (≈ 30–40 µs at d = 50).
        var lastCov: [Double] = [], factor: [Double] = []
        // Exact transitions when the settings ask for no Euler–Maruyama sub-step and the law is
        // known (`--fine-step 0` included), Euler–Maruyama at `fineStep` otherwise.
        let exact = settings.fineStep == nil && example.hasExactLaw
        for p in paths {
            if (p - paths.lowerBound) % 256 == 255 { progress(p - paths.lowerBound + 1) }
            let mu = observedMu[p / settings.pathsPerMu]
            state = example.initialState(mu, rng, UInt64(p))
            for n in 0..<steps {
                block.x += state
                block.mu += mu
                if exact, let sampler = example.exactSampler {
                    var draws = RandomDraws(rng, .pathNoise, id: UInt64(p), index: UInt32(n))
                    state = sampler(state, mu, settings.dt, &draws)
                } else if exact, let law = example.exactTransition {
                    let (mean, cov) = law(state, mu, settings.dt)
                    noise.withUnsafeMutableBufferPointer {
                        rng.fillNormals($0, .pathNoise, id: UInt64(p), index: UInt32(n))
                    }
                    if cov != lastCov { factor = cholesky(cov, d); lastCov = cov }
                    let l = factor
                    for i in 0..<d {
                        var v = mean[i]
                        for j in 0...i { v += l[i * d + j] * noise[j] }
                        state[i] = v
                    }
                } else {
                    eulerMaruyama(example, &state, mu: mu, settings: settings, rng: rng, path: p, step: n,
                                  noise: &noise, drift: &drift, diffusion: &diffusion)
                }
                block.y += state
            }
        }
        return block
    }

    /// One observation step Δt of `state` by Euler–Maruyama at the settings' sub-step (one step
    /// of Δt without one); the noise of sub-step s is keyed by (seed, path, step · sub + s).
    static func eulerMaruyama(_ example: SDEExample, _ state: inout [Double], mu: [Double], settings: SimulationSettings,
                              rng: CounterRNG, path p: Int, step n: Int,
                              noise: inout [Double], drift: inout [Double], diffusion: inout [Double]) {
        let d = example.d
        let h = settings.fineStep ?? settings.dt
        let sub = max(1, Int((settings.dt / h).rounded()))
        let hs = settings.dt / Double(sub), sq = hs.squareRoot()
        for s in 0..<sub {
            noise.withUnsafeMutableBufferPointer {
                rng.fillNormals($0, .pathNoise, id: UInt64(p), index: UInt32(n * sub + s))
            }
            mu.withUnsafeBufferPointer { m in
                state.withUnsafeBufferPointer { xs in
                    example.coefficients(xs.baseAddress!, m.baseAddress!, &drift, &diffusion)
                }
            }
            for i in 0..<d { state[i] += drift[i] * hs + diffusion[i] * sq * noise[i] }
        }
    }

    /// Lower Cholesky factor of a d × d symmetric positive semi-definite matrix (row-major).
    public static func cholesky(_ a: [Double], _ d: Int) -> [Double] {
        var l = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0...i {
                var s = a[i * d + j]
                for k in 0..<j { s -= l[i * d + k] * l[j * d + k] }
                l[i * d + j] = i == j ? max(s, 0).squareRoot() : (l[j * d + j] > 0 ? s / l[j * d + j] : 0)
            }
        }
        return l
    }
}
