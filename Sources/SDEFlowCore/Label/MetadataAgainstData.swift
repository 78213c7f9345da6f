import Foundation

/// dataset.json's `example`, `observedMu` and `muRange` against the μ column they describe. They
/// travel into labels.json and model.json, where `evaluate` simulates at the observed μ and
/// `sample` warns outside the range; the probe labelled bm data (μ in [−1, 1]) called "ou"
/// (μ in [0.5, 2]), with `"muRange": [0, 0.5]` or `"observedMu": [[0.5]]`, with exit 0, and
/// `evaluate` then compared the model at μ it never saw. Checked once every rank has its block
/// of rows (no extra read), refused before any labelling.
enum MetadataAgainstData {
    /// Listed μ and data μ are the same value within this relative distance (float32 data).
    static let tolerance = 1e-6

    /// Collective: every rank passes its rows of μ (`mu`, rows of `dMu`, the first global row
    /// `firstRow`); all reach the same verdict.
    static func check(_ comm: any Collective, mu: [Double], dMu: Int, firstRow: Int, info: DatasetInfo?, path: String) throws {
        guard let info, info.example != nil || info.observedMu != nil || info.muRange != nil else { return }
        var lo = [Double](repeating: .infinity, count: dMu), hi = [Double](repeating: -.infinity, count: dMu)
        for (k, v) in mu.enumerated() { lo[k % dMu] = min(lo[k % dMu], v); hi[k % dMu] = max(hi[k % dMu], v) }
        try comm.allreduce(&lo, .min); try comm.allreduce(&hi, .max)
        let span = lo == hi ? "is \(lo.map { fmt($0) }.joined(separator: ", "))" : "span [\(lo.map { fmt($0) }.joined(separator: ", ")), \(hi.map { fmt($0) }.joined(separator: ", "))]"
        if let name = info.example, let ex = SDEExample.all.first(where: { $0.name == name }),
           let why = ex.muOutsideRange([lo, hi], what: "the μ of mu.npy") {
            throw SDEFlowError.file(path, "\"example\": \(why): name the example these data are of, or remove the key (data of no known example)")
        }
        if let r = info.muRange, dMu == 1, lo[0] < r[0] - tolerance * abs(r[0]) || hi[0] > r[1] + tolerance * abs(r[1]) {
            throw SDEFlowError.file(path, "\"muRange\" = \(r) does not hold the μ of mu.npy, which \(span): widen it or remove the key")
        }
        if let listed = info.observedMu { try checkListed(comm, listed, mu: mu, dMu: dMu, firstRow: firstRow, path: path) }
    }

    /// Every row's μ is one of `listed`, and every listed μ is on some row (a list of at most
    /// 10 000 μ; longer lists are not checked).
    static func checkListed(_ comm: any Collective, _ listed: [[Double]], mu: [Double], dMu: Int, firstRow: Int, path: String) throws {
        guard listed.count <= 10_000 else { return }
        func same(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= tolerance * max(abs(a), abs(b)) }
        var rows = [Int64](repeating: 0, count: listed.count), unlisted = Int64.max
        for j in 0..<mu.count / dMu {
            let row = mu[j * dMu ..< (j + 1) * dMu]
            if let k = listed.firstIndex(where: { zip($0, row).allSatisfy(same) }) { rows[k] += 1 } else { unlisted = min(unlisted, Int64(firstRow + j)) }
        }
        try comm.allreduce(&rows, .sum)
        let first = try comm.allreduce(unlisted, .min)
        if first != Int64.max {
            let values = try comm.allreduce(mu.isEmpty || unlisted != first ? -Double.infinity : mu[(Int(first) - firstRow) * dMu], .max)
            throw SDEFlowError.file(path, "\"observedMu\" does not list the μ of mu.npy row \(first)\(dMu == 1 ? " (\(fmt(values)))" : ""): list every μ the data were observed at, or remove the key")
        }
        if let k = rows.firstIndex(of: 0) {
            throw SDEFlowError.file(path, "\"observedMu\"[\(k)] = [\(listed[k].map { fmt($0) }.joined(separator: ", "))] is on no row of mu.npy: list only the μ the data were observed at, or remove the key")
        }
    }
}
