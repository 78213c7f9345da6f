import Foundation

/// One-step accuracy at one μ: sample mean and variance of X_{n+1} | X_n = x0 against the
/// exact law (METHOD.md §4's statistics).
public struct AccuracyRow: Codable, Sendable {
    public var mu: [Double]
    public var observed: Bool
    public var mean: [Double]
    public var exactMean: [Double]
    public var variance: [Double]
    public var exactVariance: [Double]
    /// |mean − exact| (Euclidean norm for d > 1).
    public var meanError: Double
    /// max over components of |var − exact| / exact.
    public var varianceRelativeError: Double

    public init(mu: [Double], observed: Bool, samples: [Double], d: Int, exactMean: [Double], exactCov: [Double]) {
        let n = samples.count / d
        var mean = [Double](repeating: 0, count: d), variance = mean
        for s in 0..<n { for i in 0..<d { mean[i] += samples[s * d + i] } }
        for i in 0..<d { mean[i] /= Double(n) }
        for s in 0..<n { for i in 0..<d { let t = samples[s * d + i] - mean[i]; variance[i] += t * t } }
        for i in 0..<d { variance[i] /= Double(max(n - 1, 1)) }
        let exactVar = (0..<d).map { exactCov[$0 * d + $0] }
        self.mu = mu; self.observed = observed; self.mean = mean; self.exactMean = exactMean
        self.variance = variance; self.exactVariance = exactVar
        self.meanError = zip(mean, exactMean).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        self.varianceRelativeError = zip(variance, exactVar).map { abs($0 - $1) / $1 }.max() ?? 0
    }

    /// A plain-text table, one line per μ, with the worst errors over observed and in-between μ.
    public static func table(_ rows: [AccuracyRow], x0: [Double], samples: Int) -> String {
        var out = "one-step accuracy from x0 = \(x0), \(samples) samples per μ\n"
        out += "        μ  kind       mean error   var rel error\n"
        for r in rows {
            out += String(format: "%9.4f  ", r.mu[0]) + (r.observed ? "observed" : "between ")
                + String(format: "  %11.5f   %12.4f%%\n", r.meanError, 100 * r.varianceRelativeError)
        }
        for (name, pick) in [("observed", true), ("between", false)] {
            let s = rows.filter { $0.observed == pick }
            guard !s.isEmpty else { continue }
            out += "\(name) μ " + String(format: "(%d): max mean error %.5f (avg %.5f), max var rel error %.3f%% (avg %.3f%%)\n",
                          s.count, s.map(\.meanError).max()!, s.map(\.meanError).reduce(0, +) / Double(s.count),
                          100 * s.map(\.varianceRelativeError).max()!,
                          100 * s.map(\.varianceRelativeError).reduce(0, +) / Double(s.count))
        }
        return out
    }

    /// The observed grid and the midpoints between neighbouring values (1-D μ).
    public static func gridAndMidpoints(_ observed: [[Double]]) -> [(mu: [Double], observed: Bool)] {
        var out: [(mu: [Double], observed: Bool)] = []
        for (i, m) in observed.enumerated() {
            out.append((m, true))
            if i + 1 < observed.count { out.append((zip(m, observed[i + 1]).map { ($0 + $1) / 2 }, false)) }
        }
        return out
    }
}
