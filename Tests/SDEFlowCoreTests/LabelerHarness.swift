import Foundation
import SDEFlowCore

/// Query positions: data pairs chosen by the counter RNG (as the pipeline does).
func queryX(_ block: PairBlock, queries: Int, seed: UInt64) -> [Double] {
    let rows = CounterRNG(seed: seed).distinctIndices(queries, below: block.count, .queryChoice)
    return rows.flatMap { Array(block.x[($0 * block.d)..<(($0 + 1) * block.d)]) }
}

/// Labels `queries` queries at data pairs chosen by the counter RNG, or all at one (x, μ).
func runLabeler(_ block: PairBlock, settings: LabelSettings, queries: Int, seed: UInt64,
                        at point: (x: [Double], mu: [Double])? = nil) -> (labels: [Double], ess: [Double]) {
    let d = block.d, dMu = block.dMu, n = block.count
    func std(_ v: [Double]) -> Double {
        let m = v.reduce(0, +) / Double(v.count)
        return (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count)).squareRoot()
    }
    let norm = Normalisation(d: d, dMu: dMu, sigmaX: std(block.x), sigmaMu: std(block.mu))
    var lower = [Double](repeating: .infinity, count: d + dMu), upper = [Double](repeating: -.infinity, count: d + dMu)
    var p = [Double](repeating: 0, count: d + dMu)
    for j in 0..<n {
        block.x.withUnsafeBufferPointer { x in
            block.mu.withUnsafeBufferPointer { mu in
                p.withUnsafeMutableBufferPointer { norm.point(x: x.baseAddress! + j * d, mu: mu.baseAddress! + j * dMu, into: $0.baseAddress!) }
            }
        }
        for i in 0..<(d + dMu) { lower[i] = min(lower[i], p[i]); upper[i] = max(upper[i], p[i]) }
    }
    let geometry = GridGeometry(lower: lower, upper: upper, count: n, neighbors: settings.neighbors)
    let labeler = Labeler(data: block, geometry: geometry, normalisation: norm, settings: settings)
    let rng = CounterRNG(seed: seed)
    let rows = rng.distinctIndices(queries, below: n, .queryChoice)
    var q = QueryBlock(d: d, dMu: dMu)
    for (i, r) in rows.enumerated() {
        q.ids.append(Int64(i))
        q.x += point?.x ?? Array(block.x[(r * d)..<((r + 1) * d)])
        q.mu += point?.mu ?? Array(block.mu[(r * dMu)..<((r + 1) * dMu)])
        var z = [Double](repeating: 0, count: d)
        z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .queryNoise, id: UInt64(i), index: 0) }
        q.z += z
    }
    let r = labeler.label(q)
    return (r.labels, r.ess)
}
