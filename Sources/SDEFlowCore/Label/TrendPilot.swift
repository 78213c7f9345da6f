import Foundation

/// The pilot that fits the full-basis trend's shrinkage (`TrendShrinkage.fitTwoGroups`) before any
/// label: the local deviations from the trend of every `stride`-th query by global id (about
/// `size` of them), each computed where the query is labelled, gathered in global-id order.
/// The same queries, neighbours and sums as their labels, so the fit has the same bits for any
/// `-n` and on a resumed run. Costs the search and local fit of `size` queries, no ODE: about
/// 2 % of bm's label stage.
public enum TrendPilot {
    /// Queries the pilot looks at (at most; fewer when there are fewer labels).
    public static let size = 2_048

    /// Every `stride(labels:)`-th query id is in the pilot.
    static func stride(labels: Int) -> Int64 { Int64(max(1, labels / size)) }

    /// Fits and sets `labeler.trend.shrinkage` when the trend needs it; collective (every rank
    /// calls it). `queries` are all of this rank's queries (not only those a resumed run has
    /// left), `exchange` the block shards' search (nil under halo shards, which go in groups of
    /// `block`). Before every group or round the ranks agree on `stop`, as the label loop does
    /// (so a signal is answered, and the stall watchdog sees progress); returns the agreed
    /// signal, 0 when the pilot is done.
    static func run(_ comm: any Collective, _ labeler: inout Labeler, queries: QueryBlock, labels: Int, block: Int,
                    exchange: NeighbourExchange?, stop: StopRequest, log: Log) throws -> Int32 {
        guard let trend = labeler.trend, trend.needsPilot else { return 0 }
        let started = Date(), every = stride(labels: labels)
        let mine = queries.filtered { $0 % every == 0 }
        let size = exchange.map { NeighbourExchange.roundSize(ranks: comm.size, k: $0.k, width: 2 * labeler.d + labeler.dMu) } ?? block
        let rounds = Int(try comm.allreduce(Int64((mine.count + size - 1) / size), .max))
        var chi2 = [Double]()
        for r in 0..<rounds {
            let signal = try stop.agreed(comm)
            if signal != 0 { return signal }
            let part = mine.slice(min(r * size, mine.count) ..< min((r + 1) * size, mine.count))
            if let exchange {
                let (found, rows) = try exchange.round(part)
                chi2 += labeler.deviationChiSquares(part, found: found, rows: rows)
            } else {
                chi2 += labeler.deviationChiSquares(part)
            }
        }
        let ids = try comm.allgatherv(mine.ids), all = try comm.allgatherv(chi2)
        let order = ids.indices.sorted { ids[$0] < ids[$1] }
        let ordered = order.map { all[2 * $0] }, noise = order.map { all[2 * $0 + 1] }
        let fitted = TrendShrinkage.fitTwoGroups(ordered, d: labeler.d)
        labeler.trend?.shrinkage = fitted
        if let summary = summary(fitted, ordered, d: labeler.d) {
            log.info(String(format: "labels: trend pilot over %d queries in %.1f s: ", ordered.count, Date().timeIntervalSince(started)) + summary)
        }
        if labeler.trend?.noise != nil {
            let noiseFit = TrendShrinkage.fitTwoGroups(noise, d: 1)
            let offEverywhere = noiseFit.findsNoNoise(beyond: NoiseTrend.offEverywhere)
            labeler.trend?.noise?.shrinkage = offEverywhere ? nil : noiseFit
            if let summary = summary(noiseFit, noise, d: 1) {
                log.info("labels: noise model, local noise scales: " + summary
                         + (offEverywhere ? "; the model is off everywhere, so the labels keep their local scales whole" : ""))
            }
        }
        return 0
    }
}

extension TrendPilot {
    /// What a fitted two-groups model says of the deviations with these χ² (NaN: none, kept whole),
    /// for the log; nil for James–Stein.
    static func summary(_ fit: TrendShrinkage, _ chiSquares: [Double], d: Int) -> String? {
        guard case let .twoGroups(pi, kappa) = fit else { return nil }
        let kept = chiSquares.map { fit.factor(chiSquare: $0.isFinite ? $0 : nil, d: d) }
        return String(format: "%.1f %% of the deviations are noise, the rest have %.2f × its variance; labels keep %.1f %% of theirs on average",
                      100 * pi, kappa, 100 * kept.reduce(0, +) / Double(max(kept.count, 1)))
    }
}

extension QueryBlock {
    /// The queries whose global id passes `keep`, in order.
    func filtered(_ keep: (Int64) -> Bool) -> QueryBlock {
        var q = QueryBlock(d: d, dMu: dMu)
        for (n, id) in ids.enumerated() where keep(id) {
            q.ids.append(id); q.x += x[n * d ..< (n + 1) * d]; q.mu += mu[n * dMu ..< (n + 1) * dMu]; q.z += z[n * d ..< (n + 1) * d]
        }
        return q
    }
}
