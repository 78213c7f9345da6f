import CKernels

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
    /// The index's slot order (slot → block row), read once; nil when slots are rows.
    private let slotRows: [Int32]?

    init(comm: any Collective, block: PairBlock, firstRow: Int, index: any NeighbourIndex, points: [Double],
         normalisation: Normalisation, k: Int, scale: Double, geometry: GridGeometry?) {
        self.comm = comm; self.block = block; self.firstRow = firstRow; self.index = index; self.points = points
        self.normalisation = normalisation; self.k = k; self.scale = scale; self.geometry = geometry
        slotRows = index is BruteForceIndex ? nil : index.slotOrder
    }

    /// Queries per rank per round: the round's candidate buffers (ranks × round × K entries of
    /// 3 + 2d + dμ values) stay under 2^23 values (64 MiB), so a rank's memory follows its N/P
    /// pairs and not the round (at -n 64 with K = 20 000, 2^28 values per round took 700 MiB per
    /// rank and the node's memory with them); at most 256 queries.
    static func roundSize(ranks: Int, k: Int, width: Int) -> Int {
        max(1, min(256, (1 << 23) / max(ranks * k * (3 + width), 1)))
    }

    /// This rank's round of queries → their neighbours: `found` (m × K rows of `rows`, canonical order).
    func round(_ mine: QueryBlock) throws -> (found: [Int32], rows: NeighbourRows) {
        let dims = normalisation.dims
        let counts = try comm.allgatherv([Int64(mine.count)]).map(Int.init)
        let all = try comm.allgatherv(normalisation.points(x: mine.x, mu: mine.mu))
        var (dist, rowsFound, kl, bound) = localCandidates(all, count: all.count / dims)
        if block.count < k { bound = [Double](repeating: .infinity, count: bound.count) }
        try comm.allreduce(&bound, .min)
        let (ids, values) = pack(dist, rowsFound, kl: kl, bound: bound, counts: counts)
        return merge(ids: try comm.alltoallv(ids), values: try comm.alltoallv(values), queries: mine.count)
    }

    /// Local exact top min(K, n) of each query: squared distances and block rows, m × kl each
    /// (in the index's order), and each query's largest distance among them (its local K-th).
    private func localCandidates(_ queries: [Double], count m: Int) -> (dist: [Double], rows: [Int32], kl: Int, kth: [Double]) {
        let dims = normalisation.dims, kl = min(k, block.count)
        var slots = [Int32](repeating: 0, count: m * kl)
        if kl > 0 && m > 0 {
            queries.withUnsafeBufferPointer { q in slots.withUnsafeMutableBufferPointer { index.nearest(q.baseAddress!, count: m, k: kl, into: $0.baseAddress!) } }
        }
        var dist = [Double](repeating: 0, count: m * kl), kth = [Double](repeating: -.infinity, count: m)
        points.withUnsafeBufferPointer { p in queries.withUnsafeBufferPointer { qs in
            slots.withUnsafeMutableBufferPointer { s in dist.withUnsafeMutableBufferPointer { out in
                for q in 0..<m {
                    let query = qs.baseAddress! + q * dims
                    for j in 0..<kl {
                        let row = slotRows.map { Int($0[Int(s[q * kl + j])]) } ?? Int(s[q * kl + j])
                        s[q * kl + j] = Int32(row)
                        var sum = 0.0
                        for i in 0..<dims { let t = p[row * dims + i] - query[i]; sum += t * t }
                        out[q * kl + j] = sum
                        kth[q] = max(kth[q], sum)
                    }
                }
            } }
        } }
        return (dist, slots, kl, kth)
    }

    /// Per owner rank, the candidates within the bound: (query index in the owner's round,
    /// global row) pairs and (distance, c·(y − x), x, μ) values, in flat arrays sized first.
    private func pack(_ dist: [Double], _ rows: [Int32], kl: Int, bound: [Double], counts: [Int]) -> ([[Int64]], [[Double]]) {
        let d = block.d, dMu = block.dMu, w = 1 + 2 * d + dMu
        var owners = [Int](repeating: 0, count: bound.count), first = [Int](repeating: 0, count: bound.count)
        var sizes = [Int](repeating: 0, count: comm.size), o = 0, f = 0
        for q in 0..<bound.count {
            while q >= f + counts[o] { f += counts[o]; o += 1 }
            owners[q] = o; first[q] = f
            for j in 0..<kl where dist[q * kl + j] <= bound[q] { sizes[o] += 1 }
        }
        var ids = sizes.map { size in [Int64](unsafeUninitializedCapacity: 2 * size) { _, n in n = 2 * size } }
        var values = sizes.map { size in [Double](unsafeUninitializedCapacity: w * size) { _, n in n = w * size } }
        var at = [Int](repeating: 0, count: comm.size)
        block.x.withUnsafeBufferPointer { x in block.y.withUnsafeBufferPointer { y in block.mu.withUnsafeBufferPointer { mu in
            for q in 0..<bound.count {
                let o = owners[q]
                ids[o].withUnsafeMutableBufferPointer { id in values[o].withUnsafeMutableBufferPointer { v in
                    for j in 0..<kl where dist[q * kl + j] <= bound[q] {
                        let row = Int(rows[q * kl + j]), c = at[o], out = v.baseAddress! + c * w
                        id[2 * c] = Int64(q - first[q]); id[2 * c + 1] = Int64(firstRow + row)
                        out[0] = dist[q * kl + j]
                        for i in 0..<d { out[1 + i] = scale * (y[row * d + i] - x[row * d + i]); out[1 + d + i] = x[row * d + i] }
                        for i in 0..<dMu { out[1 + 2 * d + i] = mu[row * dMu + i] }
                        at[o] += 1
                    }
                } }
            }
        } } }
        return (ids, values)
    }

    /// The K best of the received candidates of each of this rank's `queries`, in canonical
    /// order: a query's candidates are grouped in the order received (ascending rank, and in
    /// each rank's index order), the K-th best by (distance, global row) is selected, and the
    /// candidates up to it keep their order, which `canonical` completes.
    private func merge(ids: [Int64], values: [Double], queries: Int) -> (found: [Int32], rows: NeighbourRows) {
        let d = block.d, dMu = block.dMu, w = 1 + 2 * d + dMu, n = ids.count / 2
        var start = [Int](repeating: 0, count: queries + 1)
        for c in 0..<n { start[Int(ids[2 * c]) + 1] += 1 }
        for q in 0..<queries { start[q + 1] += start[q] }
        var grouped = [Int](repeating: 0, count: n), next = start
        for c in 0..<n { let q = Int(ids[2 * c]); grouped[next[q]] = c; next[q] += 1 }
        var rows = NeighbourRows(d: d, dMu: dMu)
        rows.delta = [Double](repeating: 0, count: queries * k * d); rows.x = rows.delta
        rows.mu = [Double](repeating: 0, count: queries * k * dMu)
        var found = [Int32](repeating: 0, count: queries * k)
        var pairs = [sdeflow_knn_pair](repeating: sdeflow_knn_pair(), count: (0..<queries).map { start[$0 + 1] - start[$0] }.max() ?? 0)
        for q in 0..<queries {
            let list = grouped[start[q]..<start[q + 1]]
            precondition(list.count >= k, "the exchange found \(list.count) of \(k) neighbours")
            for (i, c) in list.enumerated() { pairs[i] = sdeflow_knn_pair(dist: values[c * w], index: ids[2 * c + 1]) }
            let cut = sdeflow_knn_select_pair(&pairs, Int64(list.count), Int64(k - 1))
            let best = list.filter { c in values[c * w] < cut.dist || (values[c * w] == cut.dist && ids[2 * c + 1] <= cut.index) }
            for (j, c) in canonical(best, ids: ids, values: values, width: w).enumerated() {
                let r = q * k + j
                found[r] = Int32(r)
                for i in 0..<d { rows.delta[r * d + i] = values[c * w + 1 + i]; rows.x[r * d + i] = values[c * w + 1 + d + i] }
                for i in 0..<dMu { rows.mu[r * dMu + i] = values[c * w + 1 + 2 * d + i] }
            }
        }
        return (found, rows)
    }

    /// The index's canonical order of candidates `c` (indices into the received arrays): global
    /// row, or (cell, global row) on the replicated grid.
    private func canonical(_ c: [Int], ids: [Int64], values: [Double], width w: Int) -> [Int] {
        guard let geometry else {
            // Brute force: each rank's candidates come in ascending row, the ranks' blocks in order.
            let ascending = zip(c, c.dropFirst()).allSatisfy { ids[2 * $0 + 1] < ids[2 * $1 + 1] }
            return ascending ? c : c.sorted { ids[2 * $0 + 1] < ids[2 * $1 + 1] }
        }
        let d = block.d
        var p = [Double](repeating: 0, count: normalisation.dims)
        let cells: [Int] = c.map { e in
            values.withUnsafeBufferPointer { v in
                p.withUnsafeMutableBufferPointer { out in
                    normalisation.point(x: v.baseAddress! + e * w + 1 + d, mu: v.baseAddress! + e * w + 1 + 2 * d, into: out.baseAddress!)
                }
            }
            return p.withUnsafeBufferPointer { geometry.cell(of: $0.baseAddress!) }
        }
        return c.indices.sorted { cells[$0] < cells[$1] || (cells[$0] == cells[$1] && ids[2 * c[$0] + 1] < ids[2 * c[$1] + 1]) }.map { c[$0] }
    }
}
