import Foundation

/// What a learned sample is compared with in one row of `evaluate`.
public enum ExactComparison: Sendable {
    /// A Gaussian law: W1 in closed form (`Wasserstein.toGaussian`); `w1Floor` is the mean W1 of
    /// as many N(0, 1) draws (`Wasserstein.gaussianFloor`), scaled by each component's std.
    case gaussian(GaussianLaw, w1Floor: Double)
    /// A law that is not Gaussian: its exact moments and m exact draws (`reference`, m × d),
    /// against which W1, its floor and the variance's floor are taken (`ExactReference`).
    case sampled(GaussianLaw, reference: [Double])

    /// The exact mean and covariance.
    public var moments: GaussianLaw {
        switch self {
        case .gaussian(let law, _), .sampled(let law, _): return law
        }
    }
}

/// Exact draws of an example's law when it is not Gaussian (`SDEExample.exactSampler`): a
/// Gaussian with the same moments would put W1 and the noise floors on the wrong law (the
/// one-step law of `cir` near its lower data edge is skewed).
public enum ExactReference {
    /// Reference draws per row for n learned samples: 2n — the reference then adds half to the
    /// floors' variance (√(1/n + 1/m): the W1 floor is 1.22 × that of an exact law in closed
    /// form, and the learned W1 carries the same reference noise) — within [20 000, 200 000] and
    /// never below n. A row's draws, their sort and the comparison take about 0.7 µs per draw on
    /// one core for `cir`: 4 s of one core at `evaluate`'s defaults (147 rows, 6 M draws), 20 s
    /// at `run`'s 100 000 samples per row, shared out over the ranks by `DistributedRows`; one
    /// row at a time, so memory stays at one reference per rank.
    public static func count(for n: Int) -> Int { max(n, min(max(2 * n, 20_000), 200_000)) }

    /// `count` exact draws (count × d, row-major) of X_time at μ from `start` (a point, or
    /// N(mean, diag(std²)) drawn first): one call of the sampler with h = time, exact for the
    /// time-homogeneous Markov laws of the examples. Draw i takes its randomness from the
    /// sequence keyed by (seed, `exactReference`, i, key): deterministic, independent of ranks.
    public static func draws(_ example: SDEExample, start: StartLaw, mu: [Double], time: Double, count: Int,
                             seed: UInt64, key: Int) -> [Double] {
        guard let sampler = example.exactSampler else { preconditionFailure("\(example.name) has no exact sampler") }
        let rng = CounterRNG(seed: seed), d = example.d
        var out = [Double]()
        out.reserveCapacity(count * d)
        let point = start.isPoint
        for i in 0..<count {
            var draws = RandomDraws(rng, .exactReference, id: UInt64(i), index: UInt32(truncatingIfNeeded: key))
            let x0 = point ? start.mean : (0..<d).map { start.mean[$0] + start.std[$0] * draws.normal() }
            out += sampler(x0, mu, time, &draws)
        }
        return out
    }

    /// The comparison for one row: the exact moments of X_(steps·dt) from `start` at μ, and for an
    /// example with a sampler `count(for: n)` exact draws keyed by the row's job `key`.
    public static func comparison(_ spec: EvaluationSpec, start: StartLaw, mu: [Double], steps: Int, n: Int,
                                  key: Int, gaussianFloor: Double) -> ExactComparison {
        let time = Double(steps) * spec.dt
        let moments = GaussianLaw.exact(spec.example, start: start, mu: mu, time: time)!
        guard spec.example.exactSampler != nil else { return .gaussian(moments, w1Floor: gaussianFloor) }
        return .sampled(moments, reference: draws(spec.example, start: start, mu: mu, time: time, count: count(for: n),
                                                  seed: spec.seed, key: key))
    }
}
