import Foundation

/// One batch of learned rollouts: `count` samples (global ids 0..<count) from `start` at `mu`
/// over `steps` steps. Start draws and step noise are keyed by (seed, job key, sample id, step),
/// so any split of the ids over ranks gives the same samples.
public struct SamplingJob: Sendable {
    public var key: Int
    public var start: StartLaw
    public var mu: [Double]
    public var steps: Int
    public var count: Int
    /// Keep every state (count × (steps + 1) × d) or only the final one (count × d).
    public var keepPath: Bool
    /// Antithetic, moment-matched step noise (`FlowModel.rollout`, `noiseScales`): for jobs that
    /// estimate moments, which would otherwise carry the Monte Carlo error of the noise itself —
    /// std/√count in the mean (0.0014 for Example 2 at 100 000 samples, half the accuracy target)
    /// and √(2/count) in the variance (0.45 %, a quarter of it); not for plotted paths.
    public var antithetic: Bool

    public init(key: Int, start: StartLaw, mu: [Double], steps: Int, count: Int, keepPath: Bool, antithetic: Bool = true) {
        self.key = key; self.start = start; self.mu = mu; self.steps = steps; self.count = count; self.keepPath = keepPath
        self.antithetic = antithetic
    }

    public func valuesPerSample(d: Int) -> Int { (keepPath ? steps + 1 : 1) * d }
    /// Model evaluations per sample: the unit of work when jobs are shared out.
    public var cost: Int { max(steps, 1) }

    /// The samples `ids` of this job, in id order. `noiseScale`: this job's `noiseScales` for
    /// `seed`, when the caller keeps them across blocks of ids (computed here otherwise).
    public func run(model: FlowModel, ids: Range<Int>, seed: UInt64, noiseScale: [Double]? = nil) -> [Double] {
        let d = model.info.d
        var starts = [Double](repeating: 0, count: ids.count * d)
        let rng = CounterRNG(seed: seed)
        var z = [Double](repeating: 0, count: d)
        for (s, id) in ids.enumerated() {
            if !start.isPoint {
                z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .evaluationStart, id: UInt64(id), index: UInt32(key)) }
            }
            for i in 0..<d { starts[s * d + i] = start.mean[i] + start.std[i] * z[i] }
        }
        return model.rollout(starts: starts, mu: mu, steps: steps, ids: ids, seed: noiseSeed(seed),
                             stream: .evaluationNoise, keepPath: keepPath, antithetic: antithetic,
                             noiseScale: antithetic ? (noiseScale ?? noiseScales(d: d, seed: seed)) : nil)
    }

    /// The seed of this job's step noise.
    func noiseSeed(_ seed: UInt64) -> UInt64 { seed &+ UInt64(key + 1) &* 0x9E37_79B9_7F4A_7C15 }

    /// Moment matching (Glasserman, *Monte Carlo Methods in Financial Engineering*, §4.5): per
    /// step and component, 1/√(mean z²) over all `count` samples of the job, so the antithetic
    /// noise has mean 0 and mean square 1 exactly and a variance estimate measures the model,
    /// not how far this draw's Σz² fell from count. Computed from every id, on every rank: the
    /// same scales for any split of the samples. steps × d values.
    public func noiseScales(d: Int, seed: UInt64) -> [Double] {
        let rng = CounterRNG(seed: noiseSeed(seed))
        let pairs = (count + 1) / 2
        var sums = [Double](repeating: 0, count: steps * d), z = [Double](repeating: 0, count: d)
        for n in 0..<steps {
            for k in 0..<pairs {
                z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .evaluationNoise, id: UInt64(k), index: UInt32(n)) }
                // Sample 2k carries z, sample 2k + 1 (when it exists) carries −z.
                let copies = 2 * k + 1 < count ? 2.0 : 1.0
                for i in 0..<d { sums[n * d + i] += copies * z[i] * z[i] }
            }
        }
        return sums.map { $0 > 0 ? (Double(count) / $0).squareRoot() : 1 }
    }
}
