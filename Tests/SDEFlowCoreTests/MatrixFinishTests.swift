import Foundation
import SDEFlowCore
import Testing

/// The matrix finish of a stopped solve (`ODEFinish.matrix`) against the exact covariance of a
/// Gaussian law with correlated components; the diagonal finish must miss it.
/// Catches: a κ matrix built from the wrong eigenvectors (or transposed), the finish applied
/// with the diagonal κ, or the C kernel's matrix product reading κ in the wrong order.
@Test func matrixFinishKeepsTheCovarianceOfCorrelatedNoise() {
    let d = 3, n = 20_000
    let l = [1.0, 0, 0, 0.8, 0.6, 0, -0.5, 0.5, 0.7]  // lower triangular: correlations ±0.4–0.8
    let rng = CounterRNG(seed: 9)
    var block = PairBlock(d: d, dMu: 1)
    for j in 0..<n {
        var z = [Double](repeating: 0, count: d)
        z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .pathNoise, id: UInt64(j), index: 0) }
        let x = (0..<d).map { _ in 0.0 }
        block.x += x; block.mu.append(Double(j % 2))
        block.y += (0..<d).map { i in (0...i).reduce(0.0) { $0 + l[i * d + $1] * z[$1] } * 0.3 }
    }
    var exact = [Double](repeating: 0, count: d * d)
    for a in 0..<d { for b in 0..<d { for e in 0..<d { exact[a * d + b] += 0.09 * 9 * l[a * d + e] * l[b * d + e] } } }
    func frobeniusError(_ finish: ODEFinish) -> Double {
        let settings = LabelSettings(labels: 3000, neighbors: 4000, odeSteps: 30, nuX: 1, nuMu: 10, scale: 3,
                                     estimator: .paper, solver: .exponential, odeStop: 1, finish: finish)
        let (labels, _) = runLabeler(block, settings: settings, queries: 3000, seed: 3)
        let m = labels.count / d
        var mean = [Double](repeating: 0, count: d), cov = [Double](repeating: 0, count: d * d)
        for s in 0..<m { for i in 0..<d { mean[i] += labels[s * d + i] / Double(m) } }
        for s in 0..<m { for a in 0..<d { for b in 0..<d { cov[a * d + b] += (labels[s * d + a] - mean[a]) * (labels[s * d + b] - mean[b]) / Double(m - 1) } } }
        let diff = zip(cov, exact).map { ($0 - $1) * ($0 - $1) }.reduce(0, +), norm = exact.map { $0 * $0 }.reduce(0, +)
        return (diff / norm).squareRoot()
    }
    let matrix = frobeniusError(.matrix), diagonal = frobeniusError(.diagonal)
    // 3000 labels: the Frobenius error of a sample covariance is about √(2/3000) ≈ 2.6 %.
    #expect(matrix < 0.05, "matrix finish: \(matrix)")
    #expect(diagonal > matrix + 0.02, "diagonal finish \(diagonal) should miss the correlations (matrix \(matrix))")
}
