import Foundation
import SDEFlowCore

/// Query positions: data pairs chosen by the counter RNG (as the pipeline does).
func queryX(_ block: PairBlock, queries: Int, seed: UInt64) -> [Double] {
    let rows = CounterRNG(seed: seed).distinctIndices(queries, below: block.count, .queryChoice)
    return rows.flatMap { Array(block.x[($0 * block.d)..<(($0 + 1) * block.d)]) }
}

/// Labels `queries` queries at data pairs chosen by the counter RNG (the label stage's own set-up,
/// `LabelSetup`, on one in-process rank), or all of them at one (x, μ) with the same z.
func runLabeler(_ block: PairBlock, settings: LabelSettings, queries: Int, seed: UInt64,
                at point: (x: [Double], mu: [Double])? = nil) -> (labels: [Double], ess: [Double]) {
    let r = harnessLabels(block, settings: settings, queries: queries, seed: seed, at: point)
    return (r.labels, r.ess)
}

/// `runLabeler` at one (x, μ), also returning each query's z (queries × d): what the label
/// transports, for comparing labels with an exact transport map.
func runLabelerWithNoise(_ block: PairBlock, settings: LabelSettings, queries: Int, seed: UInt64,
                         at point: (x: [Double], mu: [Double])) -> (labels: [Double], z: [Double]) {
    let r = harnessLabels(block, settings: settings, queries: queries, seed: seed, at: point)
    return (r.labels, r.z)
}

/// The one harness both share: labels, ESS and the queries' z.
private func harnessLabels(_ block: PairBlock, settings: LabelSettings, queries: Int, seed: UInt64,
                           at point: (x: [Double], mu: [Double])?) -> (labels: [Double], ess: [Double], z: [Double]) {
    var s = settings
    s.labels = queries
    let shared = s
    let result = try! LocalCollective.run(ranks: 1) { comm in
        let setup = try LabelSetup(comm, source: block, settings: shared, seed: seed, log: Log(rank: 1))
        var q = setup.queries
        if let point {
            q.x = (0..<q.count).flatMap { _ in point.x }
            q.mu = (0..<q.count).flatMap { _ in point.mu }
        }
        let r = setup.labeler(shared).label(q)
        return (r.labels, r.ess, q.z)
    }
    return result[0]
}
