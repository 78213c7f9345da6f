import Foundation

/// The one path from a pair source to a ready `Labeler`, used by `label`, `bench` and the tests:
/// 1. every rank reads one block of rows, and the ranks agree on σ_x, σ_μ (`Normalisation`);
/// 2. the shard plan is built over the normalised rows (`ShardPlan`);
/// 3. rank 0 draws the queries (x_n, μ, z) and the plan gives each to a rank;
/// 4. each rank receives, from the block owners, the pairs the plan says it holds (its shard),
///    in ascending global row, the order K-NN ties are broken by.
/// Every number depends on global ids only, so the result is the same for any rank count.
/// Between these steps, and between the blocks of the trend's passes, the ranks agree on `stop`
/// (`StopRequest.check`, which throws `StopAgreed`): at 4·10⁷ pairs the set-up took a minute, and a
/// stop signal was answered only after it, later than a scheduler's grace period.
public struct LabelSetup {
    public let normalisation: Normalisation
    public let plan: any ShardPlan
    /// The neighbour index labelling uses (`NeighbourSearch.resolved`): grid and brute force find
    /// the same neighbours in other orders, so their float sums, hence labels, differ in rounding.
    public let index: NeighbourSearch
    /// This rank's queries, and the pairs it holds (ascending global row).
    public let queries: QueryBlock
    public let shard: PairBlock
    /// The global trend (`LabelTrend.global`), taken out of the shard's displacements.
    public let trend: GlobalTrend?
    /// Global id of this rank's first row read (the first row of its block).
    public let firstRow: Int
    /// Σ y and Σ y² over every pair, in block order (the same bits for any -n): with σ_x and σ_μ
    /// what binds a label checkpoint to the data, so one made before y.npy changed is not used.
    public let ySums: [Double]

    /// Rows are handed out in blocks of this many, so per-block sums (hence σ_x, σ_μ) are the
    /// same for any number of ranks.
    static let blockRows = 1 << 16

    /// `info`: the data's dataset.json, whose μ keys are checked against mu.npy.
    public init(_ comm: any Collective, source: any PairSource, settings: LabelSettings, seed: UInt64, log: Log,
                search: NeighbourSearch = .auto, shards: ShardLayout = .auto, info: DatasetInfo? = nil,
                stop: StopRequest = .never) throws {
        let n = source.count, dims = source.d + source.dMu
        let blocks = (n + Self.blockRows - 1) / Self.blockRows
        let myBlocks = blocks * comm.rank / comm.size ..< blocks * (comm.rank + 1) / comm.size
        let rows = min(myBlocks.lowerBound * Self.blockRows, n) ..< min(myBlocks.upperBound * Self.blockRows, n)
        try comm.everyRank { try Self.checkSize(source, blocks: blocks, ranks: comm.size) }
        // A bad value found in one rank's rows (one x of 1e160) is said once and every rank ends
        // with its status; it ended the job by MPI_Abort from that rank, leaving the output's lock.
        var block = try comm.everyRank { try source.read(rows: rows) }
        try stop.check(comm)
        ySums = try Self.blockTotals(comm, (0..<myBlocks.count).flatMap { b in
            let values = block.y[min(b * Self.blockRows * block.d, block.y.count) ..< min((b + 1) * Self.blockRows * block.d, block.y.count)]
            return [values.reduce(0, +), values.reduce(0) { $0 + $1 * $1 }]
        }, width: 2)
        // Verdicts every rank reaches alike: said once, by rank 0.
        try comm.alike { try StepOutliers.check(comm, block, firstRow: rows.lowerBound, total: n, source: source.name, log: log) }
        try comm.alike {
            try MetadataAgainstData.check(comm, mu: block.mu, dMu: block.dMu, firstRow: rows.lowerBound, info: info, path: filePath(source.name, "dataset.json"))
        }
        let norm = try Self.normalisation(comm, block, blockCount: myBlocks.count, log: log)
        try comm.alike { try Self.checkScales(comm, block, norm, settings) }
        try stop.check(comm)
        let trendFits = GlobalTrend.fits(d: source.d, dMu: source.dMu, pairs: n)
        if settings.trend == .global && !trendFits {
            log.info("labels: no global trend: its \(GlobalTrend.columns(d: source.d, dMu: source.dMu)) columns need at least 20 pairs each (at most 4 096 columns); the data have \(n) pairs")
        }
        let trend = settings.trend == .global && trendFits
            ? try GlobalTrend.fit(comm, block, normalisation: norm, blockRows: Self.blockRows, blockCount: myBlocks.count, stop: stop) : nil
        if let trend {
            block = trend.residualised(block)
            log.info("labels: global trend fitted (\(trend.keptSummary ?? "\(trend.columns) columns per component")); the local fits start from it")
            if trend.noise != nil {
                log.info("labels: the noise model varies by \(fmt(100 * trend.noiseStateVariation, 3)) % over a spread of x")
            }
        }
        let points = norm.points(x: block.x, mu: block.mu)
        let all = comm.isRoot ? try Self.drawQueries(source, count: settings.labels, seed: seed) : QueryBlock(d: source.d, dMu: source.dMu)
        let queryPoints = norm.points(x: all.x, mu: all.mu)
        let index = search.resolved(dims: dims)
        let (plan, owners, holders) = try Self.plan(comm, index: index, shards: shards, points: points, queryPoints: queryPoints,
                                                    firstRead: rows.lowerBound, source: source, settings: settings, log: log)
        try stop.check(comm)
        log.info("neighbours: \(index.rawValue) index\(search == .auto ? " (auto at D = \(dims))" : ""); \(plan.summary)")
        log.info(String(format: "normalised space: σ_x = %.4g, σ_μ = %.4g", norm.sigmaX, norm.sigmaMu))
        queries = try Self.scatter(comm, all, owners: owners)
        shard = try Self.exchange(comm, block, holders: holders)
        try stop.check(comm)
        normalisation = norm; self.plan = plan; self.index = index; self.trend = trend; firstRow = (plan as? BlockShardPlan)?.firstRow ?? rows.lowerBound
    }

    /// The shard plan (`NeighbourSearch`, `ShardLayout`), the owners of rank 0's queries and, for
    /// each rank, the rows of mine it holds. Collective. Halo shards with the grid while the
    /// largest fits; block shards otherwise, checked against the node's memory first.
    static func plan(_ comm: any Collective, index: NeighbourSearch, shards: ShardLayout, points: [Double], queryPoints: [Double],
                     firstRead: Int, source: any PairSource, settings: LabelSettings, log: Log) throws -> (any ShardPlan, [Int], [[Int]]) {
        let n = source.count, dims = source.d + source.dMu, width = 2 * source.d + source.dMu
        if index == .grid && shards != .blocks {
            let grid = try GridShardPlan(comm, points: points, dims: dims, total: n, neighbors: settings.neighbors)
            let owners = try grid.assignQueries(comm, points: queryPoints), holders = grid.holders(of: points)
            var incoming = holders.map { Int64($0.count) }
            try comm.allreduce(&incoming, .sum)
            let largest = Int(incoming.max() ?? 0)
            if ShardLayout.fits(pairs: largest, width: width) { return (grid, owners, holders) }
            guard shards == .auto else {
                throw SDEFlowError.option("--shards halo", "the largest halo shard holds \(largest) of \(n) pairs, more than this node's memory takes per rank: use --shards blocks (or auto)")
            }
            log.info("shards: the largest halo shard would hold \(largest) of \(n) pairs: blocks instead")
        } else {
            guard shards != .halo else { throw SDEFlowError.option("--shards halo", "halo shards need the grid index (D = \(dims) uses \(index.rawValue)): use --shards blocks or auto") }
        }
        let held = n / comm.size + 1
        let indexBytes = index == .bruteForce ? BruteForceIndex.bytesNeeded(count: held, dims: dims, k: settings.neighbors) : 0
        try comm.everyRank {
            try Limits.checkMemory(bytes: held * width * 8 * 3 + indexBytes, what: "holding \(held) pairs and their neighbour index",
                                   fix: "use more ranks (on more nodes)", location: .file(source.name))
        }
        let blocks = try BlockShardPlan(comm, points: points, dims: dims, total: n, firstRead: firstRead, neighbors: settings.neighbors,
                                        grid: index == .grid)
        return (blocks, try blocks.assignQueries(comm, points: queryPoints), blocks.holders(of: points))
    }

    /// The data's dimensions against the label kernel's, and the largest block of rows a rank
    /// reads against the node's memory, before reading: 3e9 pairs filled a 23.5 GiB node until
    /// the kernel killed the job. About three copies of a block live at once (the rows, their
    /// steps or normalised points, the trend's residuals).
    static func checkSize(_ source: any PairSource, blocks: Int, ranks: Int) throws {
        guard source.d <= Limits.maxStateDimension else {
            throw SDEFlowError.file(source.name, "has states of d = \(source.d) components; the label kernel supports at most d = \(Limits.maxStateDimension)")
        }
        guard source.dMu <= Limits.maxStateDimension else {
            throw SDEFlowError.file(source.name, "has parameters of dμ = \(source.dMu) components (mu.npy); the labels support at most dμ = \(Limits.maxStateDimension)")
        }
        let n = source.count, largest = min(n, (blocks + ranks - 1) / ranks * blockRows)
        try Limits.checkMemory(bytes: largest * (2 * source.d + source.dMu) * 8 * 3, what: "reading \(largest) of the \(n) pairs on each rank",
                               fix: "use more ranks (on more nodes)", location: .file(source.name), ranks: ranks)
    }

    /// A labeler over this rank's shard, with the neighbour index built over it (halo shards).
    public func labeler(_ settings: LabelSettings) -> Labeler {
        let index = NeighbourSearch.index(points: normalisation.points(x: shard.x, mu: shard.mu), dims: normalisation.dims, plan: plan)
        return Labeler(data: shard, index: index, normalisation: normalisation, settings: settings, trend: trend)
    }

    /// Under block shards, the search across every rank's block (nil under halo shards).
    func neighbourExchange(_ comm: any Collective, _ settings: LabelSettings) -> NeighbourExchange? {
        guard let blocks = plan as? BlockShardPlan else { return nil }
        let points = normalisation.points(x: shard.x, mu: shard.mu)
        return NeighbourExchange(comm: comm, block: shard, firstRow: firstRow,
                                 index: NeighbourSearch.index(points: points, dims: normalisation.dims, plan: plan),
                                 points: points, normalisation: normalisation, k: settings.neighbors, scale: settings.scale,
                                 geometry: blocks.geometry)
    }

    /// σ_x and σ_μ from per-block sums combined in block order (the same bits for any -n).
    static func normalisation(_ comm: any Collective, _ block: PairBlock, blockCount: Int, log: Log) throws -> Normalisation {
        var sums = [Double]()
        for b in 0..<blockCount {
            var s = [Double](repeating: 0, count: 4)
            for j in b * blockRows ..< min((b + 1) * blockRows, block.count) {
                for i in 0..<block.d { let v = block.x[j * block.d + i]; s[0] += v; s[1] += v * v }
                for i in 0..<block.dMu { let v = block.mu[j * block.dMu + i]; s[2] += v; s[3] += v * v }
            }
            sums += s
        }
        let t = try blockTotals(comm, sums, width: 4)
        let n = Double(try comm.allreduce(Int64(block.count), .sum))
        let nx = n * Double(block.d), nm = n * Double(block.dMu)
        func std(_ s: Double, _ s2: Double, _ c: Double) -> Double { max(s2 / c - (s / c) * (s / c), 0).squareRoot() }
        var sigmaX = std(t[0], t[1], nx), sigmaMu = std(t[2], t[3], nm)
        // The one-pass formula loses log10(mean²/variance) of its 16 digits: data offset by 1e9
        // from a spread of 1 read σ = 49. Past 4 digits lost, a second pass about the mean.
        let (meanX, meanMu) = (t[0] / nx, t[2] / nm)
        if meanX * meanX > 1e4 * sigmaX * sigmaX || meanMu * meanMu > 1e4 * sigmaMu * sigmaMu {
            var squares = [Double]()
            for b in 0..<blockCount {
                var s = [0.0, 0.0]
                for j in b * blockRows ..< min((b + 1) * blockRows, block.count) {
                    for i in 0..<block.d { let v = block.x[j * block.d + i] - meanX; s[0] += v * v }
                    for i in 0..<block.dMu { let v = block.mu[j * block.dMu + i] - meanMu; s[1] += v * v }
                }
                squares += s
            }
            let u = try blockTotals(comm, squares, width: 2)
            sigmaX = (u[0] / nx).squareRoot(); sigmaMu = (u[1] / nm).squareRoot()
        }
        // Legitimate (one start state, one μ), but the model then knows nothing off it: say so.
        if sigmaX < 1e-8 { log.info("labels: warning: x is the same on every row: the model learns the step from that one state only (σ_x taken as 1)") }
        if sigmaMu < 1e-8 { log.info("labels: warning: μ is the same on every row: the model learns that one μ only (σ_μ taken as 1)") }
        return Normalisation(d: block.d, dMu: block.dMu, sigmaX: sigmaX, sigmaMu: sigmaMu)
    }

    /// Sums of per-block rows of `width` values over every rank's blocks, in global block order
    /// (the same bits at any rank count).
    static func blockTotals(_ comm: any Collective, _ rows: [Double], width: Int) throws -> [Double] {
        let all = try comm.allgatherv(rows)
        var t = [Double](repeating: 0, count: width)
        for b in 0..<all.count / width { for i in 0..<width { t[i] += all[b * width + i] } }
        return t
    }

    /// Settings the data's scales rule out, refused before any work (every rank reaches the same
    /// verdict): a bandwidth so narrow against the data's spread that every kernel weight but a
    /// query's own underflows to 0, and a scale c that takes c·(y − x) out of float32's range.
    static func checkScales(_ comm: any Collective, _ block: PairBlock, _ norm: Normalisation, _ s: LabelSettings) throws {
        for (option, nu, sigma) in [("--nu-x", s.nuX, norm.sigmaX), ("--nu-mu", s.nuMu, norm.sigmaMu)]
        where !(nu >= Limits.minRelativeBandwidth * sigma) {
            throw SDEFlowError.option(option, "ν = \(nu) is below 1e-6 × the data's spread σ = \(String(format: "%.4g", sigma)): the kernel weight exp(−Δ²/(2ν²)) of every neighbour farther than 1e-4 σ underflows to 0, so each label would copy its own data pair; use ν ≥ \(String(format: "%.3g", Limits.minRelativeBandwidth * sigma))")
        }
        var largest = 0.0
        for j in 0..<min(block.x.count, block.y.count) { largest = max(largest, abs(block.y[j] - block.x[j])) }
        largest = try comm.allreduce(largest, .max)
        guard s.scale * largest <= Limits.maxScaledDisplacement else {
            throw SDEFlowError.option("--scale", "c = \(s.scale) times the largest |y − x| = \(String(format: "%.4g", largest)) puts the scaled displacements c·(y − x) beyond 1e15: the label kernel's float32 squares of them overflow and every kernel weight becomes NaN; lower --scale or rescale the data")
        }
    }

    /// The paper's queries: `count` distinct data pairs (x_j, μ_j), query id = rank in
    /// ascending data index, z keyed by the query id.
    static func drawQueries(_ source: any PairSource, count: Int, seed: UInt64) throws -> QueryBlock {
        let rng = CounterRNG(seed: seed)
        let picks = rng.distinctIndices(count, below: source.count, .queryChoice)
        let rows = try source.read(indices: picks)
        var q = QueryBlock(d: source.d, dMu: source.dMu)
        q.ids = (0..<Int64(picks.count)).map { $0 }; q.x = rows.x; q.mu = rows.mu
        q.z = [Double](repeating: 0, count: picks.count * source.d)
        q.z.withUnsafeMutableBufferPointer { z in
            for id in 0..<picks.count {
                rng.fillNormals(UnsafeMutableBufferPointer(rebasing: z[id * source.d ..< (id + 1) * source.d]), .queryNoise, id: UInt64(id), index: 0)
            }
        }
        return q
    }

    /// Root's queries to their owners.
    static func scatter(_ comm: any Collective, _ all: QueryBlock, owners: [Int]) throws -> QueryBlock {
        let d = all.d, dMu = all.dMu
        var parts = [[Double]](repeating: [], count: comm.size), ids = [[Int64]](repeating: [], count: comm.size)
        for (j, r) in owners.enumerated() {  // rank 0 only
            ids[r].append(all.ids[j])
            parts[r] += all.x[j * d ..< (j + 1) * d]; parts[r] += all.mu[j * dMu ..< (j + 1) * dMu]; parts[r] += all.z[j * d ..< (j + 1) * d]
        }
        var q = QueryBlock(d: d, dMu: dMu)
        q.ids = try comm.scatterv(ids)
        let values = try comm.scatterv(parts), w = 2 * d + dMu
        for i in 0..<q.ids.count {
            let r = values[i * w ..< (i + 1) * w]
            q.x += r.prefix(d); q.mu += r.dropFirst(d).prefix(dMu); q.z += r.suffix(d)
        }
        return q
    }

    /// Sends each row of my block to every rank that holds it; sources arrive in rank order,
    /// each in row order, so the shard is in ascending global row.
    static func exchange(_ comm: any Collective, _ block: PairBlock, holders: [[Int]]) throws -> PairBlock {
        let d = block.d, dMu = block.dMu, w = 2 * d + dMu
        let send: [[Double]] = holders.map { rows in
            var part: [Double] = []
            part.reserveCapacity(rows.count * w)
            for j in rows {
                part += block.x[j * d ..< (j + 1) * d]; part += block.mu[j * dMu ..< (j + 1) * dMu]; part += block.y[j * d ..< (j + 1) * d]
            }
            return part
        }
        let values = try comm.alltoallv(send)
        var shard = PairBlock(d: d, dMu: dMu)
        for i in 0..<values.count / w {
            let r = values[i * w ..< (i + 1) * w]
            shard.x += r.prefix(d); shard.mu += r.dropFirst(d).prefix(dMu); shard.y += r.suffix(d)
        }
        return shard
    }
}
