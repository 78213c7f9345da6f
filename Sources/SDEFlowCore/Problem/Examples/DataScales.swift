import Foundation

/// The spreads of a data set that the label lengths of data of no known example follow, so that
/// `label` gives the same labels (in the data's units) whatever units the data are in.
///
/// Why: ν_x, ν_μ and the displacement scale c are lengths in the data's units. bm's values (1.0,
/// 0.5, 3), taken as they are, fitted data whose spread is near bm's; the held-out logistic SDE
/// of BENCHMARKS.md ("twelfth session") multiplied by 100 — the same law in other units — went
/// from a worst variance error of 1.5 % to 18.7 % (20 of 25 rows over 2 %): c = 3 made its scaled
/// displacements 30 times wider than the probability-flow ODE's unit noise, so the noise-to-data
/// transition fell where the solver's grid is coarse. With ν_x, ν_μ and c scaled to the data it
/// gave the unscaled labels to float rounding, and 1.5 % again.
public struct DataScales: Sendable, Equatable {
    /// One standard deviation over all entries of x, of μ, and of y − x (data units).
    public var x: Double, mu: Double, displacement: Double

    /// bm's default data set (`simulate --example bm`): the spreads its label settings were
    /// measured at.
    public static let brownianMotion = DataScales(x: 2.983, mu: 0.6055, displacement: 0.3222)
    /// `ou-nd`'s default data set at d = 10 (`simulate --example ou-nd`), where the
    /// high-dimensional label settings were measured (at d = 5 and 20 the spreads are within 1 %:
    /// 1.099 / 0.4743 / 0.5381 and 1.113 / 0.4743 / 0.5507).
    public static let highDimensional = DataScales(x: 1.108, mu: 0.4743, displacement: 0.5467)
    /// Rows read to estimate the spreads: evenly spaced over the data set (same rows on every rank).
    public static let sampleRows = 65_536

    public init(x: Double, mu: Double, displacement: Double) {
        self.x = x; self.mu = mu; self.displacement = displacement
    }

    /// The spreads of x and of y − x that the defaults can be carried to: c ∝ 1/σ_Δ stays inside
    /// `Limits.scale`, and the normalisation and the network's standardisation read spreads
    /// below 1e-8 as constant columns. Outside it the labels were nonsense with exit 0 (the same
    /// data × 1e10: the model's spread 25× too narrow, c clamped; × 1e-20: every label NaN).
    public static let supported = 1e-5...1e5

    /// The spreads of `sampleRows` evenly spaced rows of the data set in `folder` (all rows if
    /// fewer); nil if a spread is not a positive finite number (the label stage then reports the
    /// bad row, or uses its own fallbacks for constant columns). Throws for spreads of x or y − x
    /// outside `supported`, naming the factor that would bring the data into it.
    public static func of(_ folder: String) throws -> DataScales? {
        let data = try Dataset(directory: folder)
        let n = data.count, m = min(n, sampleRows)
        let block = try data.read(indices: (0..<m).map { $0 * n / m })
        let displacement = zip(block.y, block.x).map { $0 - $1 }
        // A wild row would set the spreads (and the advice below); the label stage names it.
        for (what, values) in [("a step y − x", displacement), ("x", block.x)] {
            let (median, sigma) = StepOutliers.scale(values, d: data.d)
            if let wild = StepOutliers.find(values, d: data.d, median: median, sigma: sigma, beyond: StepOutliers.refused, row: { $0 * n / m }) {
                throw SDEFlowError.file(folder, StepOutliers.describe(what, wild.first, median: median, sigma: sigma) + " over the \(m) rows read" + StepOutliers.refusal)
            }
        }
        let s = DataScales(x: spread(block.x), mu: spread(block.mu), displacement: spread(displacement))
        // Rounding of one value's mean is ~1e-16 of it; anything within 1e-9 of the largest is constant.
        if s.displacement <= 1e-9 * (displacement.map(\.magnitude).max() ?? 0) {
            let mean = displacement.reduce(0, +) / Double(displacement.count)
            let how = s.displacement == 0 ? "is \(fmt(mean)) on every one of the \(m) rows read"
                : "varies by only σ = \(fmt(s.displacement, 2)) around \(fmt(mean)) over the \(m) rows read, \(fmt(s.displacement / abs(mean), 2)) of its size"
            throw SDEFlowError.file(folder, "y − x (y.npy − x.npy) \(how): the steps do not vary, so there is no noise to learn; y must hold the state Δt after x on paths of the SDE")
        }
        if [s.x, s.displacement].contains(where: { $0.isFinite && $0 > 0 && !supported.contains($0) }) {
            throw SDEFlowError.file(folder, "the spreads of x (x.npy) and of y − x are \(fmt(s.x, 3)) and \(fmt(s.displacement, 3)): the label defaults are carried to spreads within \(Limits.text(supported)) only; " + rescaling(s))
        }
        return [s.x, s.mu, s.displacement].allSatisfy({ $0.isFinite && $0 > 1e-12 }) ? s : nil
    }

    /// The advice for spreads outside `supported`: one power of ten to divide x and y by that
    /// brings both inside (the probe, told to divide by 1e-9, was then told to divide by 1e+09),
    /// or why none does.
    static func rescaling(_ s: DataScales) -> String {
        let low = max(s.x, s.displacement) / supported.upperBound, high = min(s.x, s.displacement) / supported.lowerBound
        guard low <= high else {
            return "they are \(fmt(max(s.x, s.displacement) / min(s.x, s.displacement), 2)) apart, more than the \(fmt(supported.upperBound / supported.lowerBound, 2)) that one change of units can bring inside; give the steps y − x a spread nearer that of x (a shorter Δt, or x measured from a reference state)"
        }
        var f = pow(10, log10((s.x * s.displacement).squareRoot()).rounded())
        if f < low { f = pow(10, log10(low).rounded(.up)) }
        if f > high { f = pow(10, log10(high).rounded(.down)) }
        if f < low { f = (low * high).squareRoot() }  // no power of ten in between
        return "express the data in other units (divide x.npy and y.npy by \(String(format: "%g", f)))"
    }

    static func spread(_ v: [Double]) -> Double {
        let mean = v.reduce(0, +) / Double(v.count)
        return (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)).squareRoot()
    }

    /// `settings` (measured at `reference`'s spreads) with ν_x, ν_μ and c carried to these
    /// spreads: ν_x ∝ σ_x, ν_μ ∝ σ_μ, c ∝ 1/σ_Δ (within `Limits.scale`). At the reference's own
    /// spreads they are its settings.
    public func scaled(_ settings: LabelSettings, from reference: DataScales) -> LabelSettings {
        var s = settings
        s.nuX *= x / reference.x
        s.nuMu *= mu / reference.mu
        s.scale = min(max(s.scale * reference.displacement / displacement, Limits.scale.lowerBound), Limits.scale.upperBound)
        return s
    }
}
