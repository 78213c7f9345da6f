/// Exact K nearest neighbours over every rank's block (`BlockShardPlan`), one round of queries
/// at a time, all ranks in step:
/// 1. the round's queries of every rank are shared (m × D normalised points each);
/// 2. every rank finds its own exact top K of each among the rows it holds (its local index)
///    and the exact distances of those;
/// 3. the smallest local K-th distance over ranks bounds the global K-th from above (one rank
///    alone has K rows within it): only candidates within the bound travel, with their rows,
///    to the query's rank;
/// 4. there the K smallest by (distance, global row) are the exact global neighbours, put in
///    the index's canonical order (global row, or (cell, row) on the replicated grid).
/// A label then reads exactly the rows, in exactly the order, it would read from one shard
/// holding everything: the labels are the same bits for any rank count.
struct NeighbourExchange {
    let comm: any Collective
    let block: PairBlock
    let firstRow: Int
    let index: any NeighbourIndex
    /// The block's normalised points (n × D), for the exact distances.
    let points: [Double]
    let normalisation: Normalisation
    let k: Int, scale: Double
    let geometry: GridGeometry?

    /// Queries per rank per round: the round's candidate buffers (ranks × round × K entries of
    /// 3 + 2d + dμ values) stay under 2^28 values, and at most 256.
    static func roundSize(ranks: Int, k: Int, width: Int) -> Int {
        max(1, min(256, (1 << 28) / max(ranks * k * (3 + width), 1)))
    }

    /// This rank's round of queries → their neighbours: `found` (m × K rows of `rows`, canonical order).
    func round(_ mine: QueryBlock) throws -> (found: [Int32], rows: NeighbourRows) {
        let dims = normalisation.dims
        let counts = try comm.allgatherv([Int64(mine.count)]).map(Int.init)
        let all = try comm.allgatherv(normalisation.points(x: mine.x, mu: mine.mu))
        let (dist, rowsFound, kl) = localCandidates(all, count: all.count / dims)
        var bound = (0..<all.count / dims).map { q in block.count >= k ? dist[q * kl + kl - 1] : .infinity }
        try comm.allreduce(&bound, .min)
        var ids = [[Int64]](repeating: [], count: comm.size), values = [[Double]](repeating: [], count: comm.size)
        var owner = 0, first = 0
        for q in 0..<bound.count {
            while q >= first + counts[owner] { first += counts[owner]; owner += 1 }
            for j in 0..<kl where dist[q * kl + j] <= bound[q] {
                let row = rowsFound[q * kl + j]
                ids[owner] += [Int64(q - first), Int64(firstRow + row)]
                values[owner].append(dist[q * kl + j])
                appendRow(row, to: &values[owner])
            }
        }
        return merge(ids: try comm.alltoallv(ids), values: try comm.alltoallv(values), queries: mine.count)
    }

    /// Local exact top min(K, n) of each query: squared distances (ascending by (distance, row))
    /// and block rows, m × kl each.
    private func localCandidates(_ queries: [Double], count m: Int) -> (dist: [Double], rows: [Int], kl: Int) {
        let dims = normalisation.dims, kl = min(k, block.count)
        var slots = [Int32](repeating: 0, count: m * kl)
        if kl > 0 && m > 0 {
            queries.withUnsafeBufferPointer { q in slots.withUnsafeMutableBufferPointer { index.nearest(q.baseAddress!, count: m, k: kl, into: $0.baseAddress!) } }
        }
        let order = index.slotOrder
        var dist = [Double](repeating: 0, count: m * kl), rows = [Int](repeating: 0, count: m * kl)
        for q in 0..<m {
            var pairs: [(Double, Int)] = (0..<kl).map { j in
                let row = Int(order[Int(slots[q * kl + j])])
                var s = 0.0
                for i in 0..<dims { let t = points[row * dims + i] - queries[q * dims + i]; s += t * t }
                return (s, row)
            }
            pairs.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            for j in 0..<kl { dist[q * kl + j] = pairs[j].0; rows[q * kl + j] = pairs[j].1 }
        }
        return (dist, rows, kl)
    }

    /// c·(y − x), x and μ of block row `row`, appended.
    private func appendRow(_ row: Int, to out: inout [Double]) {
        let d = block.d, dMu = block.dMu
        for i in 0..<d { out.append(scale * (block.y[row * d + i] - block.x[row * d + i])) }
        out += block.x[row * d ..< (row + 1) * d]
        out += block.mu[row * dMu ..< (row + 1) * dMu]
    }

    /// The K best of the received candidates of each of this rank's `queries`, in canonical order.
    private func merge(ids: [Int64], values: [Double], queries: Int) -> (found: [Int32], rows: NeighbourRows) {
        let d = block.d, dMu = block.dMu, w = 1 + 2 * d + dMu
        var byQuery = [[(dist: Double, row: Int64, at: Int)]](repeating: [], count: queries)
        for c in 0..<ids.count / 2 { byQuery[Int(ids[2 * c])].append((values[c * w], ids[2 * c + 1], c)) }
        var rows = NeighbourRows(d: d, dMu: dMu)
        var found = [Int32](repeating: 0, count: queries * k)
        for q in 0..<queries {
            var best = byQuery[q].sorted { $0.dist < $1.dist || ($0.dist == $1.dist && $0.row < $1.row) }.prefix(k)
            precondition(best.count == k, "the exchange found \(best.count) of \(k) neighbours")
            best = ArraySlice(canonical(Array(best), values: values, width: w))
            for (j, c) in best.enumerated() {
                let v = values[c.at * w + 1 ..< (c.at + 1) * w]
                found[q * k + j] = Int32(rows.count)
                rows.delta += v.prefix(d); rows.x += v.dropFirst(d).prefix(d); rows.mu += v.suffix(dMu)
            }
        }
        return (found, rows)
    }

    /// The index's canonical order: global row, or (cell, global row) on the replicated grid.
    private func canonical(_ c: [(dist: Double, row: Int64, at: Int)], values: [Double], width w: Int) -> [(dist: Double, row: Int64, at: Int)] {
        guard let geometry else { return c.sorted { $0.row < $1.row } }
        let d = block.d, dMu = block.dMu
        var p = [Double](repeating: 0, count: d + dMu)
        let cells: [Int] = c.map { e in
            values.withUnsafeBufferPointer { v in
                p.withUnsafeMutableBufferPointer { out in
                    normalisation.point(x: v.baseAddress! + e.at * w + 1 + d, mu: v.baseAddress! + e.at * w + 1 + 2 * d, into: out.baseAddress!)
                }
            }
            return p.withUnsafeBufferPointer { geometry.cell(of: $0.baseAddress!) }
        }
        return c.indices.sorted { cells[$0] < cells[$1] || (cells[$0] == cells[$1] && c[$0].row < c[$1].row) }.map { c[$0] }
    }
}
