import Foundation

/// Stage 1 across ranks (the heart of the product):
/// 1. every rank reads one block of rows and the ranks agree on σ_x, σ_μ, the grid and its
///    per-cell counts (the replicated neighbour grid);
/// 2. rank 0 draws the queries (x_n, μ, z) and gives each rank the queries of a contiguous
///    range of cells, balanced by query count, so queries that share neighbours share a rank;
/// 3. each rank receives, from the block owners, only the pairs in its cells plus the halo its
///    exact K-NN can reach (its shard);
/// 4. each rank labels its queries; labels are gathered on every rank, ordered by query id.
/// Every number depends on global ids only, so the result is bitwise the same for any `-n`.
public enum DistributedLabels {
    /// Rows are handed out in blocks of this many, so per-block sums (hence σ_x, σ_μ) are the
    /// same for any number of ranks.
    static let blockRows = 1 << 16

    public static func run(_ comm: any Collective, dataset: Dataset, settings: LabelSettings, seed: UInt64, log: Log) throws -> LabelSet {
        let d = dataset.d, dMu = dataset.dMu, n = dataset.count
        guard settings.neighbors <= n else {
            throw SDEFlowError.file(dataset.directory, "has \(n) pairs, fewer than --neighbors \(settings.neighbors) (K); pass --neighbors with at most \(n), or more data")
        }
        guard settings.labels <= n else {
            throw SDEFlowError.file(dataset.directory, "has \(n) pairs, fewer than --labels \(settings.labels) (queries are distinct data pairs)")
        }

        // 1. My block, global statistics, grid and counts.
        let blocks = (n + blockRows - 1) / blockRows
        let myBlocks = blocks * comm.rank / comm.size ..< blocks * (comm.rank + 1) / comm.size
        let rows = min(myBlocks.lowerBound * blockRows, n) ..< min(myBlocks.upperBound * blockRows, n)
        let block = try dataset.read(rows: rows)
        let norm = try normalisation(comm, block, blockCount: myBlocks.count)
        let dims = d + dMu
        var points = [Double](repeating: 0, count: block.count * dims)  // my block, normalised
        var lower = [Double](repeating: .infinity, count: dims)
        var upper = [Double](repeating: -.infinity, count: dims)
        var p = [Double](repeating: 0, count: dims)
        for j in 0..<block.count {
            point(norm, block.x, block.mu, j, into: &p)
            points.replaceSubrange(j * dims ..< (j + 1) * dims, with: p)
            for i in 0..<dims { lower[i] = min(lower[i], p[i]); upper[i] = max(upper[i], p[i]) }
        }
        try comm.allreduce(&lower, .min)
        try comm.allreduce(&upper, .max)
        let geometry = GridGeometry(lower: lower, upper: upper, count: n, neighbors: settings.neighbors)
        var counts = [Int64](repeating: 0, count: geometry.cellCount)
        let cells = points.withUnsafeBufferPointer { pts in
            (0..<block.count).map { geometry.cell(of: pts.baseAddress! + $0 * dims) }
        }
        points = []
        for c in cells { counts[c] += 1 }
        try comm.allreduce(&counts, .sum)
        log.info("grid: \(geometry.shape.map(String.init).joined(separator: "×")) cells of \(String(format: "%.4f", geometry.cellSize)) (normalised units), σ_x = \(String(format: "%.4g", norm.sigmaX)), σ_μ = \(String(format: "%.4g", norm.sigmaMu))")

        // 2. Queries, drawn by rank 0; every rank derives the same partition from their counts.
        var queryCounts = [Int32](repeating: 0, count: geometry.cellCount)
        var all = QueryBlock(d: d, dMu: dMu), qCells: [Int] = []
        if comm.isRoot {
            all = try drawQueries(dataset, settings: settings, seed: seed)
            var q = [Double](repeating: 0, count: dims)
            for j in 0..<all.count {
                point(norm, all.x, all.mu, j, into: &q)
                qCells.append(q.withUnsafeBufferPointer { geometry.cell(of: $0.baseAddress!) })
                queryCounts[qCells[j]] += 1
            }
        }
        queryCounts = try comm.broadcast(queryCounts)
        let partition = QueryPartition(geometry: geometry, queryCounts: queryCounts.map(Int.init), counts: counts,
                                       neighbors: settings.neighbors, ranks: comm.size)
        var parts = [[Double]](repeating: [], count: comm.size)
        var partIds = [[Int64]](repeating: [], count: comm.size)
        for (j, r) in partition.owners(cells: qCells).enumerated() {  // rank 0 only
            partIds[r].append(all.ids[j])
            parts[r].append(contentsOf: all.x[j * d ..< (j + 1) * d])
            parts[r].append(contentsOf: all.mu[j * dMu ..< (j + 1) * dMu])
            parts[r].append(contentsOf: all.z[j * d ..< (j + 1) * d])
        }
        let mine = try unpackQueries(ids: comm.scatterv(partIds), values: comm.scatterv(parts), d: d, dMu: dMu)

        // 3. Shards: send each row of my block to every rank whose queries can need it.
        var sendValues = [[Double]](repeating: [], count: comm.size)
        for r in 0..<comm.size {
            let needed = partition.neededCells(rank: r, geometry: geometry)
            for j in 0..<block.count where needed[cells[j]] {
                sendValues[r].append(contentsOf: block.x[j * d ..< (j + 1) * d])
                sendValues[r].append(contentsOf: block.mu[j * dMu ..< (j + 1) * dMu])
                sendValues[r].append(contentsOf: block.y[j * d ..< (j + 1) * d])
            }
        }
        // Sources arrive in rank order, each in row order: the shard is in ascending global
        // row, the order K-NN ties are broken by.
        let shardValues = try comm.alltoallv(sendValues)
        sendValues = []
        let shard = unpackPairs(shardValues, d: d, dMu: dMu)
        let bytes = shard.count * (2 * d + dMu) * 8
        log.all("shard: \(shard.count) of \(n) pairs (\(String(format: "%.1f", Double(bytes) / 1_048_576)) MiB), \(mine.count) queries")

        // 4. Label, then gather on every rank in query-id order.
        let labeler = Labeler(data: shard, geometry: geometry, normalisation: norm, settings: settings)
        let started = Date()
        let result = labeler.label(mine) { done in
            let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
            log.info("labels: rank 0 has done \(done)/\(mine.count) queries (\(String(format: "%.0f", rate))/s)")
        }
        let seconds = Date().timeIntervalSince(started)
        log.all(String(format: "labels: %d queries in %.1f s, of which neighbour search %.1f s (%.0f µs/query)", mine.count,
                       seconds, result.searchSeconds, 1e6 * result.searchSeconds / Double(max(mine.count, 1))))
        let shardPairs = try comm.allgatherv([Int64(shard.count)]).map(Int.init)
        let ids = try comm.allgatherv(mine.ids)
        let gathered = try [mine.x, mine.mu, mine.z, result.labels, result.ess].map { try comm.allgatherv($0) }
        return assemble(ids: ids, gathered, d: d, dMu: dMu, info: LabelInfo(
            settings: settings, seed: seed, dt: dataset.info?.dt, example: dataset.info?.example,
            observedMu: dataset.info?.observedMu, muRange: dataset.info?.muRange, dataCount: n,
            normalisation: norm, meanEffectiveSampleSize: 0), shardPairs: shardPairs)
    }

    /// σ_x and σ_μ from per-block sums combined in block order (the same bits for any -n).
    static func normalisation(_ comm: any Collective, _ block: PairBlock, blockCount: Int) throws -> Normalisation {
        var sums = [Double]()
        let rowsPer = blockRows
        for b in 0..<blockCount {
            let r = b * rowsPer ..< min((b + 1) * rowsPer, block.count)
            var s = [Double](repeating: 0, count: 4)
            for j in r {
                for i in 0..<block.d { let v = block.x[j * block.d + i]; s[0] += v; s[1] += v * v }
                for i in 0..<block.dMu { let v = block.mu[j * block.dMu + i]; s[2] += v; s[3] += v * v }
            }
            sums += s
        }
        let all = try comm.allgatherv(sums)
        var t = [Double](repeating: 0, count: 4)
        for b in 0..<all.count / 4 { for i in 0..<4 { t[i] += all[b * 4 + i] } }
        let n = Double(try comm.allreduce(Int64(block.count), .sum))
        let nx = n * Double(block.d), nm = n * Double(block.dMu)
        func std(_ s: Double, _ s2: Double, _ c: Double) -> Double { max(s2 / c - (s / c) * (s / c), 0).squareRoot() }
        return Normalisation(d: block.d, dMu: block.dMu, sigmaX: std(t[0], t[1], nx), sigmaMu: std(t[2], t[3], nm))
    }

    static func point(_ norm: Normalisation, _ x: [Double], _ mu: [Double], _ j: Int, into p: inout [Double]) {
        x.withUnsafeBufferPointer { xs in
            mu.withUnsafeBufferPointer { ms in
                p.withUnsafeMutableBufferPointer {
                    norm.point(x: xs.baseAddress! + j * norm.d, mu: ms.baseAddress! + j * norm.dMu, into: $0.baseAddress!)
                }
            }
        }
    }

    /// The paper's queries: `labels` distinct data pairs (x_j, μ_j), query id = rank in
    /// ascending data index, z keyed by the query id.
    static func drawQueries(_ dataset: Dataset, settings: LabelSettings, seed: UInt64) throws -> QueryBlock {
        let rng = CounterRNG(seed: seed)
        let picks = rng.distinctIndices(settings.labels, below: dataset.count, .queryChoice)
        var q = QueryBlock(d: dataset.d, dMu: dataset.dMu)
        var z = [Double](repeating: 0, count: dataset.d)
        for (id, j) in picks.enumerated() {
            let row = try dataset.read(rows: j ..< j + 1)
            q.ids.append(Int64(id)); q.x += row.x; q.mu += row.mu
            z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .queryNoise, id: UInt64(id), index: 0) }
            q.z += z
        }
        return q
    }

    static func unpackQueries(ids: [Int64], values: [Double], d: Int, dMu: Int) -> QueryBlock {
        var q = QueryBlock(d: d, dMu: dMu)
        q.ids = ids
        let w = 2 * d + dMu
        for i in 0..<ids.count {
            let r = values[i * w ..< (i + 1) * w]
            q.x += r.prefix(d); q.mu += r.dropFirst(d).prefix(dMu); q.z += r.suffix(d)
        }
        return q
    }

    static func unpackPairs(_ values: [Double], d: Int, dMu: Int) -> PairBlock {
        var b = PairBlock(d: d, dMu: dMu)
        let w = 2 * d + dMu
        for i in 0..<values.count / w {
            let r = values[i * w ..< (i + 1) * w]
            b.x += r.prefix(d); b.mu += r.dropFirst(d).prefix(dMu); b.y += r.suffix(d)
        }
        return b
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
