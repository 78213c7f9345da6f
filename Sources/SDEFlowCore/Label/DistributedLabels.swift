import Foundation

/// Stage 1 across ranks (the heart of the product): `LabelSetup` gives every rank its queries
/// and shard, each rank labels its queries in blocks handed to the label sinks as they finish,
/// and the labels are gathered on every rank in query-id order. Every number depends on global
/// ids only, so the result is bitwise the same for any `-n`.
public enum DistributedLabels {
    /// Queries labelled between two hand-overs to the sinks (and two progress lines).
    static let sinkBlock = 1024

    public static func run(_ comm: any Collective, source: any PairSource, info: DatasetInfo?, settings: LabelSettings,
                           seed: UInt64, log: Log, sink: (any LabelSink)? = nil,
                           search: NeighbourSearch = .auto, shards: ShardLayout = .auto) throws -> LabelSet {
        try check(source, settings)
        let setup = try LabelSetup(comm, source: source, settings: settings, seed: seed, log: log, search: search, shards: shards)
        let shard = setup.shard, mine = setup.queries
        let bytes = shard.count * (2 * source.d + source.dMu) * 8
        log.all("shard: \(shard.count) of \(source.count) pairs (\(String(format: "%.1f", Double(bytes) / 1_048_576)) MiB), \(mine.count) queries")
        let kept = MemoryLabelSink(d: source.d, dMu: source.dMu)
        let sinks: [any LabelSink] = [kept] + (sink.map { [$0] } ?? [])
        if let exchange = setup.neighbourExchange(comm, settings) {
            let labeler = Labeler(d: source.d, dMu: source.dMu, normalisation: setup.normalisation, settings: settings)
            try label(comm, exchange, labeler, mine, sinks: sinks, log: log)
        } else {
            try label(setup.labeler(settings), mine, sinks: sinks, log: log)
        }
        let shardPairs = try comm.allgatherv([Int64(shard.count)]).map(Int.init)
        let ids = try comm.allgatherv(kept.queries.ids)
        let gathered = try [kept.queries.x, kept.queries.mu, kept.queries.z, kept.labels, kept.ess].map { try comm.allgatherv($0) }
        return assemble(ids: ids, gathered, d: source.d, dMu: source.dMu, info: LabelInfo(
            settings: settings, seed: seed, dt: info?.dt, example: info?.example, observedMu: info?.observedMu,
            muRange: info?.muRange, dataCount: source.count, normalisation: setup.normalisation, meanEffectiveSampleSize: 0),
            shardPairs: shardPairs)
    }

    /// Too little data for the settings, said before any work.
    static func check(_ source: any PairSource, _ settings: LabelSettings) throws {
        let n = source.count
        guard settings.neighbors <= n else {
            throw SDEFlowError.file(source.name, "has \(n) pairs, fewer than --neighbors \(settings.neighbors) (K); pass --neighbors with at most \(n), or more data")
        }
        guard settings.labels <= n else {
            throw SDEFlowError.file(source.name, "has \(n) pairs, fewer than --labels \(settings.labels) (queries are distinct data pairs)")
        }
    }

    /// Labels `queries` in blocks of `sinkBlock`, each handed to every sink when done.
    static func label(_ labeler: Labeler, _ queries: QueryBlock, sinks: [any LabelSink], log: Log) throws {
        let started = Date()
        var search = 0.0
        for start in stride(from: 0, to: queries.count, by: sinkBlock) {
            let block = queries.slice(start ..< min(start + sinkBlock, queries.count))
            let r = labeler.label(block)
            search += r.searchSeconds
            for sink in sinks { try sink.accept(block, labels: r.labels, ess: r.ess) }
            let done = start + block.count, rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
            log.info("labels: rank 0 has done \(done)/\(queries.count) queries (\(String(format: "%.0f", rate))/s)")
        }
        let seconds = Date().timeIntervalSince(started)
        log.all(String(format: "labels: %d queries in %.1f s, of which neighbour search %.1f s (%.0f µs/query)", queries.count,
                       seconds, search, 1e6 * search / Double(max(queries.count, 1))))
    }

    /// Labels `queries` in rounds of the neighbour exchange (every rank takes part in every
    /// round, with an empty block when its own queries are done), each round handed to the sinks.
    static func label(_ comm: any Collective, _ exchange: NeighbourExchange, _ labeler: Labeler, _ queries: QueryBlock,
                      sinks: [any LabelSink], log: Log) throws {
        let size = NeighbourExchange.roundSize(ranks: comm.size, k: exchange.k, width: 2 * labeler.d + labeler.dMu)
        let rounds = Int(try comm.allreduce(Int64((queries.count + size - 1) / size), .max))
        let started = Date()
        var search = 0.0
        for r in 0..<rounds {
            let block = queries.slice(min(r * size, queries.count) ..< min((r + 1) * size, queries.count))
            let t0 = Date()
            let (found, rows) = try exchange.round(block)
            search += Date().timeIntervalSince(t0)
            let result = labeler.label(block, found: found, rows: rows)
            for sink in sinks { try sink.accept(block, labels: result.labels, ess: result.ess) }
            if (r + 1) % max(1, rounds / 20) == 0 || r + 1 == rounds {
                let done = min((r + 1) * size, queries.count), rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
                log.info("labels: rank 0 has done \(done)/\(queries.count) queries (\(String(format: "%.0f", rate))/s)")
            }
        }
        log.all(String(format: "labels: %d queries in %.1f s, of which neighbour search and exchange %.1f s, in %d rounds of %d",
                       queries.count, Date().timeIntervalSince(started), search, rounds, size))
    }

    /// Puts gathered per-query arrays [x, mu, z, label, ess] in query-id order.
    static func assemble(ids: [Int64], _ g: [[Double]], d: Int, dMu: Int, info: LabelInfo, shardPairs: [Int]) -> LabelSet {
        let order = ids.indices.sorted { ids[$0] < ids[$1] }
        func take(_ a: [Double], _ w: Int) -> [Double] { order.flatMap { a[$0 * w ..< ($0 + 1) * w] } }
        var info = info
        let ess = take(g[4], 1)
        // Over finite values: a non-finite label (reported by the label stage) must not make
        // labels.json unwritable.
        let finite = ess.filter(\.isFinite)
        info.meanEffectiveSampleSize = finite.reduce(0, +) / Double(max(finite.count, 1))
        var set = LabelSet(d: d, dMu: dMu, x: take(g[0], d), mu: take(g[1], dMu), z: take(g[2], d),
                           label: take(g[3], d), ess: ess, info: info)
        set.shardPairs = shardPairs
        return set
    }
}
