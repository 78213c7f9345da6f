/// Per-row weights of the training loss for `LossWeighting.relative`: the inverse of the label
/// variance among each row's nearest labels in (x, μ).
///
/// Why: with the plain mean squared error a network's absolute error is about the same
/// everywhere, so where the noise is small (geometric Brownian motion or CIR near 0) its error
/// relative to the one-step spread is largest: trained on gbm's labels, its variance from the
/// data's 5 % quantile was 7.5 % off, 2.1 % with these weights. Additive noise gives nearly equal
/// weights, so the plain loss is recovered.
///
/// How: the rows' (x, μ) in standardised input units, their `neighbours` nearest rows by exact
/// search (`BruteForceIndex`: ties by row, the same on every rank), the mean over output
/// components of the targets' variance among them (standardised output units), inverted. The
/// neighbours are close enough that the mean's change across them is small beside the noise,
/// and 64 keep a weight's own sampling error near 18 %. Weights are clamped to within a factor
/// 100 of their median (a neighbourhood of identical labels must not take the whole loss) and
/// scaled to mean 1 over the training rows by the caller.
public enum LossWeights {
    public static let neighbours = 64
    public static let clampFactor = 100.0

    /// `points`: n × dims (standardised x and μ), `targets`: n × d. Returns n weights (nil if n < 2).
    public static func inverseLocalVariance(points: [Double], dims: Int, targets: [Double], d: Int) -> [Double]? {
        let n = points.count / dims, k = min(neighbours, n)
        guard n >= 2 else { return nil }
        let index = BruteForceIndex(points: points, dims: dims)
        var found = [Int32](repeating: 0, count: n * k), weights = [Double](repeating: 0, count: n)
        points.withUnsafeBufferPointer { p in
            found.withUnsafeMutableBufferPointer { index.nearest(p.baseAddress!, count: n, k: k, into: $0.baseAddress!) }
        }
        for r in 0..<n {
            var variance = 0.0
            for o in 0..<d {
                var sum = 0.0, sum2 = 0.0
                for j in 0..<k { let t = targets[Int(found[r * k + j]) * d + o]; sum += t; sum2 += t * t }
                let mean = sum / Double(k)
                variance += max(sum2 / Double(k) - mean * mean, 0)
            }
            weights[r] = variance / Double(d)
        }
        let positive = weights.filter { $0 > 0 && $0.isFinite }.sorted()
        guard !positive.isEmpty else { return nil }
        let median = positive[positive.count / 2]
        return weights.map { v in
            let ok = v > 0 && v.isFinite ? v : median
            return 1 / min(max(ok, median / clampFactor), median * clampFactor)
        }
    }
}
