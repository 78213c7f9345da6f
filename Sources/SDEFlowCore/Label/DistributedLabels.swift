import Foundation

/// Stage 1 across ranks (the heart of the product): `LabelSetup` gives every rank its queries
/// and shard, each rank labels its queries in blocks handed to the label sinks as they finish,
/// and the labels are gathered on every rank in query-id order. Every number depends on global
/// ids only, so the result is bitwise the same for any `-n`. With a `LabelCheckpoint`, the queries
/// an earlier run saved are taken from it and every finished block is saved; between blocks the
/// ranks agree on `stop` and, if any rank was asked to stop, end with `JobInterrupted`.
public enum DistributedLabels {
    public static func run(_ comm: any Collective, source: any PairSource, info: DatasetInfo?, settings: LabelSettings,
                           seed: UInt64, log: Log, sink: (any LabelSink)? = nil, search: NeighbourSearch = .auto,
                           shards: ShardLayout = .auto, checkpoint: LabelCheckpoint? = nil, stop: StopRequest = .never,
                           block: Int? = nil) throws -> LabelSet {
        try comm.everyRank { try check(source, settings) }
        let setup: LabelSetup
        do {
            setup = try LabelSetup(comm, source: source, settings: settings, seed: seed, log: log, search: search, shards: shards,
                                   info: info, stop: stop)
        } catch let stopped as StopAgreed {
            throw JobInterrupted(signal: stopped.signal, saved: "labels: stopped while setting up (reading the pairs, the global trend, the shards), before labelling; "
                                 + (checkpoint.map { saved in
                                     // A stop before the first job saved anything named a folder that did not exist.
                                     FileManager.default.fileExists(atPath: saved.folder)
                                        ? "nothing new is saved, and \(saved.folder) is as it was (the same command resumes from what it holds, at any -n)"
                                        : "nothing was saved yet; run the same command again" }
                                    ?? "nothing saved (no checkpoint)"))
        }
        let shard = setup.shard
        let bytes = shard.count * (2 * source.d + source.dMu) * 8
        log.all("shard: \(shard.count) of \(source.count) pairs (\(String(format: "%.1f", Double(bytes) / 1_048_576)) MiB), \(setup.queries.count) queries")
        let kept = MemoryLabelSink(d: source.d, dMu: source.dMu)
        var sinks: [any LabelSink] = [kept] + (sink.map { [$0] } ?? []), todo = setup.queries
        var file: LabelCheckpointFile? = nil
        if let checkpoint {
            let binding = try LabelCheckpoint.Binding(source: source, settings: settings, seed: seed, setup: setup, info: info)
            let restored = try checkpoint.restore(comm, binding: binding, settings: settings, queries: setup.queries, log: log)
            try kept.accept(restored.done, labels: restored.labels, ess: restored.ess)
            todo = restored.remaining
            file = checkpoint.sink(comm, binding: binding, settings: settings, attempt: restored.attempt)
            sinks.append(file!)
        }
        let block = block ?? blockSize(settings, d: source.d, dMu: source.dMu), exchange = setup.neighbourExchange(comm, settings)
        var labeler = exchange == nil ? setup.labeler(settings)
            : Labeler(d: source.d, dMu: source.dMu, normalisation: setup.normalisation, settings: settings, trend: setup.trend)
        var signal = try TrendPilot.run(comm, &labeler, queries: setup.queries, labels: settings.labels, block: block,
                                        exchange: exchange, stop: stop, log: log)
        if signal == 0 {
            signal = try exchange.map { try label(comm, $0, labeler, todo, sinks: sinks, stop: stop, log: log) }
                ?? label(comm, labeler, todo, sinks: sinks, block: block, stop: stop, log: log)
        }
        file?.close()
        if let file { log.all(String(format: "labels: checkpoint writes took %.3f s", file.seconds)) }
        if signal != 0 {
            let saved = try comm.allreduce(Int64(kept.queries.count), .sum)
            throw JobInterrupted(signal: signal, saved: checkpoint.map {
                "labels: \(saved) of \(settings.labels) queries are saved in \($0.folder); the same command resumes from them, at any -n"
            } ?? "labels: nothing saved (no checkpoint)")
        }
        let shardPairs = try comm.allgatherv([Int64(shard.count)]).map(Int.init)
        let ids = try comm.allgatherv(kept.queries.ids)
        let gathered = try [kept.queries.x, kept.queries.mu, kept.queries.z, kept.labels, kept.ess].map { try comm.allgatherv($0) }
        return assemble(ids: ids, gathered, d: source.d, dMu: source.dMu, info: LabelInfo(
            settings: settings, seed: seed, dt: info?.dt, example: info?.example, observedMu: info?.observedMu,
            muRange: info?.muRange, dataCount: source.count, normalisation: setup.normalisation, meanEffectiveSampleSize: 0,
            data: try LabelInfo.dataFingerprint(info: info, count: source.count), index: setup.index),
            shardPairs: shardPairs)
    }

    /// Work of one block, in neighbour-operations (K × (N_τ · d + (1 + p + d)² + d²) per query: the
    /// ODE, the fit's moments of (1, offsets, Δ), the covariance), above which `blockSize` halves
    /// the block: about 8 s on one core of the test VM (measured: bm's defaults, 1024 queries =
    /// 1.7e9 in 2.8 s; ou2d's, 256 queries = 3.8e9 in 4.8 s).
    static let blockBudget = 4e9

    /// Queries per block handed to the sinks (a checkpoint record, the most a kill loses per rank,
    /// and how often a stop signal is read): 1024, halved (down to 1) while a block is more than
    /// `blockBudget` of work. With K · p² alone and a floor of 16, a block at d = 256 took 150 s,
    /// so a stop signal was read 90 s late.
    public static func blockSize(_ s: LabelSettings, d: Int, dMu: Int) -> Int {
        let p = s.estimator.fitColumns(d: d, dMu: dMu)
        let perQuery = Double(s.neighbors) * Double(s.odeSteps * d + (1 + p + d) * (1 + p + d) + d * d)
        var b = 1024
        while b > 1 && Double(b) * perQuery > blockBudget { b /= 2 }
        return b
    }

    /// Too little data for the settings, said before any work.
    static func check(_ source: any PairSource, _ settings: LabelSettings) throws {
        let n = source.count
        guard settings.neighbors <= n else {
            throw SDEFlowError.option("--neighbors", "\(settings.neighbors) (K) is more than the \(n) pairs of \(source.name); pass --neighbors with at most \(n), or more data")
        }
        guard settings.labels <= n else {
            throw SDEFlowError.option("--labels", "\(settings.labels) is more than the \(n) pairs of \(source.name) (queries are distinct data pairs); pass --labels with at most \(n), or more data")
        }
    }

    /// Labels `queries` in blocks of `block`, each handed to every sink when done. Before every
    /// block and after the last, the ranks agree on `stop` (one allreduce, so all ranks make the
    /// same number of calls); a rank asked to stop ends its block early (the finished part goes
    /// to the sinks). Returns the agreed stop signal, 0 when every query is labelled.
    static func label(_ comm: any Collective, _ labeler: Labeler, _ queries: QueryBlock, sinks: [any LabelSink], block: Int,
                      stop: StopRequest, log: Log) throws -> Int32 {
        let started = Date(), d = queries.d
        var search = 0.0, done = 0
        let blocks = Int(try comm.allreduce(Int64((queries.count + block - 1) / block), .max))
        for b in 0...blocks {
            let signal = try stop.agreed(comm)
            if signal != 0 { return signal }
            if b == blocks || b * block >= queries.count { continue }
            let part = queries.slice(b * block ..< min((b + 1) * block, queries.count))
            let r = labeler.label(part, stop: { stop.local() != 0 })
            search += r.searchSeconds
            let finished = r.done < part.count ? part.slice(0 ..< r.done) : part
            for sink in sinks { try sink.accept(finished, labels: Array(r.labels.prefix(r.done * d)), ess: Array(r.ess.prefix(r.done))) }
            done += r.done
            let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
            log.info("labels: rank 0 has done \(done)/\(queries.count) queries (\(String(format: "%.0f", rate))/s)")
        }
        let seconds = Date().timeIntervalSince(started)
        log.all(String(format: "labels: %d queries in %.1f s, of which neighbour search %.1f s (%.0f µs/query)", done,
                       seconds, search, 1e6 * search / Double(max(done, 1))))
        return 0
    }

    /// Labels `queries` in rounds of the neighbour exchange (block shards): every rank takes part
    /// in every round, with an empty block when its own queries are done; before every round and
    /// after the last the ranks agree on `stop`. Each round goes to the sinks when done.
    static func label(_ comm: any Collective, _ exchange: NeighbourExchange, _ labeler: Labeler, _ queries: QueryBlock,
                      sinks: [any LabelSink], stop: StopRequest, log: Log) throws -> Int32 {
        let size = NeighbourExchange.roundSize(ranks: comm.size, k: exchange.k, width: 2 * labeler.d + labeler.dMu)
        let rounds = Int(try comm.allreduce(Int64((queries.count + size - 1) / size), .max))
        let started = Date()
        var search = 0.0
        for r in 0...rounds {
            let signal = try stop.agreed(comm)
            if signal != 0 { return signal }
            if r == rounds { break }
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
        return 0
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
