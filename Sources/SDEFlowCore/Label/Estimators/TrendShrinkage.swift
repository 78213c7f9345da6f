import Foundation

/// How much of a query's local deviation m from the global trend its label keeps: the factor λ
/// in c·g + λ·m (`GlobalTrend.shift`), a function of χ² = mᵀS⁻¹m, S the deviation's own sampling
/// covariance.
///
/// Why two rules: a local mean over K noisy displacements carries noise that every nearby
/// label shares, and the network learns it as bias; where the trend is right, m is that noise
/// and should go, where the drift departs from the trend, m is the signal.
/// - From d = 3 on, the positive-part James–Stein factor 1 − (d − 2)/χ² is better than either
///   choice for every query at once (its dominance result), and it needs nothing but the query.
/// - Below, James–Stein has no such result, and 1 − 1/χ² keeps most of the noise: where m is
///   pure noise, λ is 0 only when χ² < 1, 68 % of the time. There the data decide instead
///   (`fitTwoGroups`): a pilot over a sample of the queries fits how many deviations are noise
///   alone and how large the others are, and each label keeps the posterior mean of its
///   deviation under that fitted law. For bm, whose drift the trend holds exactly, the fit
///   finds no signal and the labels keep the trend; for a drift the trend misses, it finds the
///   deviations and keeps them (docs/METHOD.md §7).
public enum TrendShrinkage: Sendable, Equatable {
    case jamesStein
    /// A deviation is noise alone (δ = 0) with probability `nullShare`, otherwise δ ~ N(0, κ·S)
    /// with κ = `slabVariance`, in units of the deviation's own sampling covariance S.
    case twoGroups(nullShare: Double, slabVariance: Double)

    /// λ for a deviation with χ² = `chiSquare` (nil: no usable sampling covariance, λ = 1) in d
    /// components.
    public func factor(chiSquare t: Double?, d: Int) -> Double {
        guard let t else { return 1 }
        switch self {
        case .jamesStein:
            return t > 0 ? max(0, 1 - Double(max(d - 2, 1)) / t) : 0
        case let .twoGroups(pi, kappa):
            return Self.slabProbability(t, d: d, nullShare: pi, slabVariance: kappa) * kappa / (1 + kappa)
        }
    }

    /// Whether the fit found no deviation to be noise alone (π = 0) and the rest larger than
    /// `kappa` times their sampling variance: the model the deviations are taken from is off
    /// everywhere the pilot looked.
    func findsNoNoise(beyond kappa: Double) -> Bool {
        guard case let .twoGroups(pi, slab) = self else { return false }
        return pi == 0 && slab >= kappa
    }

    /// P(δ ≠ 0 | χ²): under the null χ² ~ χ²_d, under the slab χ² ~ (1 + κ) χ²_d, whose density
    /// ratio is (1 + κ)^(−d/2) exp(χ² κ / (2(1 + κ))). In logs, so no χ² overflows.
    static func slabProbability(_ t: Double, d: Int, nullShare pi: Double, slabVariance kappa: Double) -> Double {
        guard pi < 1 else { return 0 }
        guard pi > 0 else { return 1 }
        let logRatio = -0.5 * Double(d) * log1p(kappa) + 0.5 * t * kappa / (1 + kappa)
        let a = log(pi), b = log1p(-pi) + logRatio
        return exp(b - logAddExp(a, b))
    }

    /// The maximum-likelihood (π, κ) on fixed grids: a coarse one (π in steps of 0.05 up to 0.95,
    /// then 0.99 and 0.995; log κ from −2 to 8 in steps of 0.5), then a fine one around its best
    /// (±0.05 in π by 0.005, ±0.5 in log κ by 0.05, within the coarse ranges). Deterministic, so
    /// every rank finds the same bits from the same χ² (given in global query order); about
    /// 900 likelihoods, 0.1 s for the pilot's 2 000 χ². The χ² of neighbouring queries are
    /// correlated (they share neighbours); the likelihood treats them as independent, which
    /// leaves the estimate's centre where it is and only understates its spread.
    public static func fitTwoGroups(_ chiSquares: [Double], d: Int) -> TrendShrinkage {
        let t = chiSquares.filter(\.isFinite)
        guard !t.isEmpty else { return .jamesStein }
        var best = (logLikelihood: -Double.infinity, pi: 1.0, logKappa: 0.0)
        func search(_ shares: [Double], _ logKappas: [Double]) {
            for lk in logKappas {
                let kappa = exp(lk), scale = -0.5 * Double(d) * log1p(kappa), rate = 0.5 * kappa / (1 + kappa)
                for pi in shares {
                    let a = log(pi), b0 = log1p(-pi) + scale
                    var ll = 0.0
                    for x in t { ll += logAddExp(a, b0 + rate * x) }
                    if ll > best.logLikelihood { best = (ll, pi, lk) }
                }
            }
        }
        search((0..<20).map { 0.05 * Double($0) } + [0.99, 0.995], (0...20).map { -2 + 0.5 * Double($0) })
        let (pi0, lk0) = (best.pi, best.logKappa)
        search((-10...10).map { pi0 + 0.005 * Double($0) }.filter { $0 >= 0 && $0 <= 0.995 },
               (-10...10).map { lk0 + 0.05 * Double($0) }.filter { $0 >= -2 && $0 <= 8 })
        return .twoGroups(nullShare: best.pi, slabVariance: exp(best.logKappa))
    }

    /// log(eᵃ + eᵇ), exact for a = −∞.
    private static func logAddExp(_ a: Double, _ b: Double) -> Double {
        let m = max(a, b)
        return m == -.infinity ? m : m + log(exp(a - m) + exp(b - m))
    }
}
