import Foundation

/// Rows far outside the bulk of the data (steps y − x, states x, parameters μ): a unit or fill
/// error in a row, never a step of a path. One y of 1e6 among 42 000 steps of about 0.3 went through label and train with exit
/// 0; the global trend's least squares and the noise model carried it into every label (labels
/// −3 234…18 345 instead of ±3.3; the model's one-step mean error 1.22 instead of 0.008). With
/// y = 1e50 the job was refused, but blaming `--scale`.
///
/// The yardstick is robust: per component, the median of the steps and σ = 1.4826 × their
/// median absolute deviation (σ for Gaussian steps), over at most `sampleRows` rows evenly
/// spaced by global row (the same rows, hence the same bits, for any -n). A step more than
/// `refused` σ from the median is refused, naming its row; more than `warned` σ, a warning.
/// Components whose deviation is 0 on most rows are not checked.
enum StepOutliers {
    /// σ multiples beyond which the job is refused: 1e4 σ is far beyond any diffusion step the
    /// labels can learn (a log-normal state spread over 9 e-folds stays inside).
    static let refused = 1e4
    /// σ multiples beyond which a warning names the rows (Gaussian steps: never in 1e15 draws).
    static let warned = 100.0

    /// The sampled rows' values (rows of `d`), at most 2²⁰ of them.
    static func sampleRows(total n: Int, d: Int) -> Int { min(n, max(2_048, (1 << 20) / max(d, 1))) }

    /// Per component: the median and σ (1.4826 MAD) of `v` (rows of `d`).
    static func scale(_ v: [Double], d: Int) -> (median: [Double], sigma: [Double]) {
        let m = v.count / d
        var median = [Double](repeating: 0, count: d), sigma = median
        for i in 0..<d {
            let column = (0..<m).map { v[$0 * d + i] }.sorted()
            median[i] = column.isEmpty ? 0 : column[m / 2]
            let deviations = column.map { abs($0 - median[i]) }.sorted()
            sigma[i] = deviations.isEmpty ? 0 : 1.4826 * deviations[m / 2]
        }
        return (median, sigma)
    }

    /// Rows of `v` more than `beyond` σ from the median in some component: how many, and the
    /// first (row number from `row`, component, value, σ multiple).
    static func find(_ v: [Double], d: Int, median: [Double], sigma: [Double], beyond: Double,
                     row: (Int) -> Int) -> (count: Int, first: [Double])? {
        var count = 0, first: [Double] = []
        for j in 0..<v.count / d {
            var worst = 0.0, column = 0
            for i in 0..<d where sigma[i] > 0 {
                let r = abs(v[j * d + i] - median[i]) / sigma[i]
                if r > worst { worst = r; column = i }
            }
            guard worst > beyond else { continue }
            if count == 0 { first = [Double(row(j)), Double(column), v[j * d + column], worst] }
            count += 1
        }
        return count > 0 ? (count, first) : nil
    }

    /// "row R has W = V (component c), … typical spreads from the median …" for `find`'s `first`.
    static func describe(_ what: String, _ first: [Double], median: [Double], sigma: [Double]) -> String {
        let c = Int(first[1])
        return "row \(Int(first[0])) has \(what) = \(fmt(first[2])) (component \(c)), \(fmt(first[3], 3)) typical spreads from the median \(fmt(median[c])) (σ = \(fmt(sigma[c])), 1.4826 × the median absolute deviation)"
    }

    /// What a refused row's message ends with.
    static let refusal = ": no row of a data set is that far from the rest (a unit or fill error?); fix or drop such rows"

    /// Checks the steps, states and parameters of every rank's `block` (its rows start at global
    /// `firstRow`; `n` rows in all) against the sampled rows' median and σ; collective, every rank
    /// reaches the same verdict. x and μ are only refused (their spread is the design of the data
    /// set, heavy-tailed by right, e.g. gbm's x reaches 28 σ); one μ typed as 1e9 had widened the μ
    /// bandwidth 8·10⁶ times, one x of 1e9 was blamed on `--nu-x`.
    static func check(_ comm: any Collective, _ block: PairBlock, firstRow: Int, total n: Int, source: String, log: Log) throws {
        let steps = zip(block.y, block.x).map { $0 - $1 }
        for (what, values, width, warns) in [("y − x", steps, block.d, true), ("x (x.npy)", block.x, block.d, false), ("μ (mu.npy)", block.mu, block.dMu, false)] {
            try check(comm, what, values, width: width, firstRow: firstRow, total: n, source: source, log: warns ? log : nil)
        }
    }

    /// One quantity (`values`, rows of `width`); warnings only with `log`.
    static func check(_ comm: any Collective, _ what: String, _ values: [Double], width d: Int, firstRow: Int, total n: Int,
                      source: String, log: Log?) throws {
        let stride = max(1, n / sampleRows(total: n, d: d))
        var sample = [Double]()
        for j in 0..<values.count / d where (firstRow + j) % stride == 0 { sample += values[j * d ..< (j + 1) * d] }
        let all = try comm.allgatherv(sample)
        let (median, sigma) = scale(all, d: d)
        if log != nil { try checkComponents(all, d: d, source: source) }
        for (beyond, fatal) in [(refused, true), (warned, false)] where fatal || log != nil {
            let found = find(values, d: d, median: median, sigma: sigma, beyond: beyond) { firstRow + $0 }
            let total = try comm.allreduce(Int64(found?.count ?? 0), .sum)
            let first = try comm.allgatherv(found?.first ?? [])  // rank order: the first is the lowest row
            guard total > 0, first.count >= 4 else { continue }
            let text = describe(what, first, median: median, sigma: sigma) + (total > 1 ? "; \(total) of the \(n) rows are over \(fmt(beyond, 3)) σ" : "")
            if fatal { throw SDEFlowError.file(source, text + refusal) }
            log?.info("labels: warning: \(source): " + text + ": if such rows are errors, drop them; the global trend and the labels near them follow them")
            return
        }
    }

    /// Each component of the steps (`sample`, rows of `d`) must vary by at least 1e-6 of the
    /// widest: the labels and the network resolve a component only to a fraction of the widest
    /// spread, so a component moving by 1e-9 beside one moving by 0.3 was sampled with a spread
    /// of 1e-3, and one that never moves with 0.07 (exit 0).
    static func checkComponents(_ sample: [Double], d: Int, source: String) throws {
        guard d > 1 else { return }
        let spreads = (0..<d).map { i in DataScales.spread(stride(from: i, to: sample.count, by: d).map { sample[$0] }) }
        let widest = spreads.max() ?? 0
        guard widest > 0, let c = spreads.firstIndex(where: { !($0 >= 1e-6 * widest) }) else { return }
        let how = spreads[c] == 0 ? "does not vary (component \(c) of y never differs from x)" : "varies by only σ = \(fmt(spreads[c], 3)), \(fmt(spreads[c] / widest, 2)) of the widest component's \(fmt(widest, 3))"
        let fix = spreads[c] == 0 ? "leave that component out of x.npy and y.npy (it does not move)" : "express it in units \(fmt(pow(10, log10(widest / spreads[c]).rounded()), 2)) times smaller (multiply column \(c) of x.npy and y.npy by that), or leave it out"
        throw SDEFlowError.file(source, "component \(c) of y − x \(how): the labels and the model resolve each component only to a small fraction of the widest spread, so its motion would be lost in their error; \(fix)")
    }
}
