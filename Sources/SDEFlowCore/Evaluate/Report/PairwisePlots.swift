import Foundation

extension EvaluationReport {
    /// Scatter plots of pairs of components of the one-step samples at the middle density μ,
    /// with the exact law's 1σ and 2σ ellipses: what a per-component figure cannot show
    /// (wrong correlations). Pairs (0, 1), (1, 2) and (0, d − 1), those that exist.
    static func pairwisePlots(_ r: EvaluationResult) -> [SVGPlot] {
        let spec = r.spec, d = spec.example.d
        let k = spec.densityMu.count / 2, p = spec.densityMu[k], samples = r.densitySamples[k]
        let law = spec.exactOneStep(p.mu)
        var pairs = [(0, 1)]
        if d > 2 { pairs += [(1, 2), (0, d - 1)] }
        let n = min(samples.count / d, 1500)
        return pairs.map { (i, j) in
            let xs = (0..<n).map { samples[$0 * d + i] }, ys = (0..<n).map { samples[$0 * d + j] }
            let (si, sj) = (law.std[i], law.std[j])
            var plot = SVGPlot(title: "one step, \(muText(p)): \(component(i, d)) vs \(component(j, d))",
                               xLabel: component(i, d), yLabel: component(j, d),
                               x: (law.mean[i] - 3.5 * si)...(law.mean[i] + 3.5 * si), y: (law.mean[j] - 3.5 * sj)...(law.mean[j] + 3.5 * sj))
            plot.points(xs, ys, color: learned, radius: 1.2, label: "learned")
            for level in [1.0, 2.0] {
                let e = ellipse(law, i, j, level)
                plot.line(e.x, e.y, color: exact, width: 1.6, label: level == 1 ? "exact 1σ, 2σ" : nil)
            }
            return plot
        }
    }

    /// The `level`-σ ellipse of the (i, j) marginal of `law`: mean + level · C^{1/2} (cos t, sin t)
    /// with C^{1/2} the Cholesky factor of the 2 × 2 marginal covariance.
    static func ellipse(_ law: GaussianLaw, _ i: Int, _ j: Int, _ level: Double) -> (x: [Double], y: [Double]) {
        let d = law.d, a = law.cov[i * d + i], b = law.cov[i * d + j], c = law.cov[j * d + j]
        let l11 = a.squareRoot(), l21 = l11 > 0 ? b / l11 : 0, l22 = max(c - l21 * l21, 0).squareRoot()
        let t = (0...96).map { 2 * Double.pi * Double($0) / 96 }
        return (t.map { law.mean[i] + level * l11 * cos($0) },
                t.map { law.mean[j] + level * (l21 * cos($0) + l22 * sin($0)) })
    }
}
