import CKernels

/// Exact K-nearest-neighbour search by scanning every point, for any D (the grid of
/// `CellListIndex` stops paying off beyond a few dimensions).
///
/// A float screen decides almost every point, and exact Double arithmetic the few close calls.
/// The points are kept twice: as given (Double, for the contract's distance) and as a packed
/// float copy centred on their mean (centring keeps |p|² − 2 q·p from cancelling badly on data
/// far from the origin). The scan (C, `knn_kernel.c`) takes blocks of queries against tiles of
/// points that stay in cache and computes each key |p − m|² − 2 (q − m)·(p − m) in registers,
/// one vector FMA per coordinate for 16 points and a query; a key within its rounding bound of
/// the k-th best is settled on the exact distance, so results are exact whatever the rounding.
///
/// Canonical order: ascending point index (`slotOrder` is the identity).
/// `nearest` keeps no state between calls: its scratch is allocated per call and sized per
/// block of queries (`bytesNeeded`).
public final class BruteForceIndex: NeighbourIndex {
    public let count: Int
    public let dims: Int
    /// The points as given, count × dims row-major: exact distances are computed from these.
    private let points: [Double]
    /// Mean of the points (dims values): the origin of the packed coordinates.
    private let mean: [Double]
    /// Largest |p − mean| over the points (normalised units): with a query's own |q − mean|,
    /// it bounds the rounding error of that query's keys.
    private let radius: Double
    /// Packed float copy: ⌈count / 16⌉ groups of (dims + 1) × 16 floats, 64-byte aligned. Row i
    /// of a group holds coordinate i − mean_i of its 16 points, row `dims` their squared norms
    /// (+inf in the padding lanes of the last group, so padding never passes a bound).
    private let packed: UnsafeMutablePointer<Float>
    /// Points per tile of the scan (a multiple of 16) and queries per block (nil: sized by k).
    let tilePoints: Int
    let queryBlock: Int?

    /// Points are n × dims normalised coordinates, row-major, in ascending global id.
    public convenience init(points: [Double], dims: Int) {
        self.init(points: points, dims: dims, tilePoints: nil, queryBlock: nil)
    }

    /// With `tilePoints` (rounded up to 16) and `queryBlock` to override the cache-sized
    /// defaults: tests use small ones to exercise the tile and block edges.
    init(points: [Double], dims: Int, tilePoints: Int?, queryBlock: Int?) {
        precondition(dims >= 1 && points.count % dims == 0, "points must be n × \(dims) values")
        let n = points.count / dims
        precondition(n < Int(Int32.max), "an index is limited to 2^31 − 1 points")
        precondition(points.allSatisfy { $0.isFinite }, "points must be finite")
        var mean = [Double](repeating: 0, count: dims)
        for j in 0..<n { for i in 0..<dims { mean[i] += points[j * dims + i] } }
        for i in 0..<dims { mean[i] /= Double(max(n, 1)) }
        let layout = Layout(count: n, dims: dims)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: layout.packedBytes, alignment: 64)
        let packed = raw.initializeMemory(as: Float.self, repeating: 0, count: layout.packedFloats)
        let radius = Self.pack(points, dims: dims, mean: mean, into: packed)
        precondition(radius < 1e15, "points too far apart for the float screen")
        for l in n..<(layout.groups * 16) { packed[(l / 16 * (dims + 1) + dims) * 16 + l % 16] = .infinity }
        self.count = n; self.dims = dims; self.points = points; self.mean = mean
        self.packed = packed; self.radius = radius
        self.tilePoints = ((tilePoints ?? layout.defaultTilePoints) + 15) / 16 * 16
        self.queryBlock = queryBlock
    }

    deinit { packed.deallocate() }

    /// Writes the packed centred coordinates and squared norms of the points; returns the
    /// largest |p − mean|.
    private static func pack(_ points: [Double], dims: Int, mean: [Double], into packed: UnsafeMutablePointer<Float>) -> Double {
        var largest = 0.0
        points.withUnsafeBufferPointer { p in
            for j in 0..<(p.count / dims) {
                let group = packed + j / 16 * (dims + 1) * 16 + j % 16
                var exact = 0.0, rounded = 0.0
                for i in 0..<dims {
                    let c = p[j * dims + i] - mean[i], f = Float(c)
                    group[i * 16] = f
                    exact += c * c; rounded += Double(f) * Double(f)
                }
                group[dims * 16] = Float(rounded)
                largest = max(largest, exact)
            }
        }
        return largest.squareRoot()
    }

    /// The identity: neighbours are reported as point indices. Built on each access.
    public var slotOrder: [Int32] { Array(0..<Int32(count)) }

    /// Bytes an index of `count` points in `dims` dimensions allocates (the packed copy; the
    /// given points are shared, not copied) plus the scratch of one `nearest` call for `k`
    /// neighbours, so a caller can refuse a size up front. The scratch is per block of queries:
    /// it does not grow with the number of queries.
    public static func bytesNeeded(count: Int, dims: Int, k: Int) -> Int {
        let layout = Layout(count: count, dims: dims), cap = layout.capacity(k: k)
        return layout.packedBytes + dims * MemoryLayout<Double>.stride
            + Scratch.bytes(block: layout.defaultBlock(capacity: cap), capacity: cap, dims: dims)
    }

    public func nearest(_ queries: UnsafePointer<Double>, count m: Int, k: Int, into out: UnsafeMutablePointer<Int32>) {
        precondition(k >= 1 && k <= count, "asked for \(k) neighbours among \(count) points")
        if m <= 0 { return }
        let layout = Layout(count: count, dims: dims), cap = layout.capacity(k: k)
        let block = min(m, queryBlock ?? layout.defaultBlock(capacity: cap))
        let scratch = Scratch(block: block, capacity: cap, dims: dims)
        defer { scratch.deallocate() }
        points.withUnsafeBufferPointer { p in
            var shared = sdeflow_knn_shared(
                points: p.baseAddress, dims: Int64(dims), k: Int64(k), cap: Int64(cap),
                keys: scratch.sharedKeys, dists: scratch.dists, order: scratch.order)
            for start in stride(from: 0, to: m, by: block) {
                let b = min(block, m - start)
                let groups = prepare(queries + start * dims, count: b, scratch: scratch)
                scan(groups, layout: layout, scratch: scratch, shared: &shared)
                for j in 0..<b {
                    sdeflow_knn_finish(scratch.states + j, &shared)
                    (out + (start + j) * k).update(from: scratch.states[j].index, count: k)
                }
            }
        }
    }

    /// Sets up the states and float weights of `b` queries, and splits them into groups the
    /// scan takes together (group sizes are powers of two, largest first). Returns the groups
    /// as (first query, size); group g's weights are dims × size floats at `weights + first · dims`.
    private func prepare(_ queries: UnsafePointer<Double>, count b: Int, scratch: Scratch) -> [(first: Int, size: Int)] {
        var groups: [(first: Int, size: Int)] = [], size = Int(sdeflow_knn_group_max()), first = 0
        while first < b {
            while size > b - first { size /= 2 }
            groups.append((first, size)); first += size
        }
        for (first, size) in groups {
            for j in 0..<size {
                let q = queries + (first + j) * dims
                var norm2 = 0.0
                for i in 0..<dims {
                    let c = q[i] - mean[i]
                    norm2 += c * c
                    scratch.weights[first * dims + i * size + j] = -2 * Float(c)
                }
                precondition(norm2.isFinite && norm2 < 1e30, "query \(first + j) is not finite or too far from the points")
                scratch.states[first + j] = sdeflow_knn_query(
                    query: q, norm2: norm2, margin: margin(norm2: norm2), bound: .infinity, len: 0,
                    keys: scratch.keys + (first + j) * scratch.capacity,
                    index: scratch.index + (first + j) * scratch.capacity)
            }
        }
        return groups
    }

    /// A bound on |key − (exact distance − |q − m|²)| for every point, for the query with
    /// |q − m|² = `norm2` (squared normalised units). With u = 2^-24: the key is a float dot
    /// product of D + 1 terms (the norm, then −2 q_i p_i), off by at most γ_{D+1} (|p|² + 2|q||p|)
    /// with γ_n = n u / (1 − n u); rounding the coordinates and the norm to float adds at most
    /// 3u |p|² + 4u |q||p|. Together ≤ (D + 4) u (|q| + |p|)², and |p| ≤ `radius`. Taken twice
    /// over, which also covers the Double roundings (centring, the exact sum, norm2: relative
    /// O(D 2^-53)), plus (D + 8) 2^-140 for float underflow.
    private func margin(norm2: Double) -> Double {
        let reach = norm2.squareRoot() + radius, slack = Double(dims + 8)
        return slack * 0x1p-23 * reach * reach + slack * 0x1p-140
    }

    /// Every tile of points against every group of queries, tile by tile, so a tile is read
    /// from memory once per block of queries and from cache for each group.
    private func scan(_ groups: [(first: Int, size: Int)], layout: Layout, scratch: Scratch, shared: inout sdeflow_knn_shared) {
        let tileGroups = tilePoints / 16, stride = (dims + 1) * 16
        for t in Swift.stride(from: 0, to: layout.groups, by: tileGroups) {
            let n = min(tileGroups, layout.groups - t)
            for (first, size) in groups {
                sdeflow_knn_scan(packed + t * stride, Int64(n), Int64(t * 16), scratch.weights + first * dims,
                                 Int64(size), scratch.states + first, &shared)
            }
        }
    }
}

/// Sizes derived from the number of points and dimensions.
private struct Layout {
    let count: Int, dims: Int
    /// Groups of 16 points, and the floats and bytes of the packed copy.
    var groups: Int { (count + 15) / 16 }
    var packedFloats: Int { groups * (dims + 1) * 16 }
    var packedBytes: Int { packedFloats * MemoryLayout<Float>.stride }
    /// A tile of about 512 KiB: it stays in a core's L2 while every group of queries scans it.
    var defaultTilePoints: Int { max(16, (512 << 10) / ((dims + 1) * 4) / 16 * 16) }

    /// Candidates a query's buffer holds: k, as many again (so a cut comes once per k + 256
    /// passing points), and one group of 16; never more than all the points plus a group, so
    /// a k near `count` never cuts during the scan.
    func capacity(k: Int) -> Int { min(2 * k + 256, groups * 16) + 16 }

    /// Queries per block: 128 (each tile read from memory once per 128 queries), fewer if
    /// their candidate buffers would pass 64 MiB (large k).
    func defaultBlock(capacity: Int) -> Int { max(1, min(128, (64 << 20) / (capacity * 8))) }
}

/// Buffers of one `nearest` call: per query of a block its state, candidate buffer (keys and
/// point indices, `capacity` each) and dims float weights; shared by the block, the workspace
/// of a buffer cut (keys, exact distances, (distance, index) pairs; `capacity` each).
private struct Scratch {
    let capacity: Int
    let states: UnsafeMutablePointer<sdeflow_knn_query>
    let keys: UnsafeMutablePointer<Float>, index: UnsafeMutablePointer<Int32>
    let weights: UnsafeMutablePointer<Float>
    let sharedKeys: UnsafeMutablePointer<Float>, dists: UnsafeMutablePointer<Double>
    let order: UnsafeMutablePointer<sdeflow_knn_pair>

    init(block: Int, capacity: Int, dims: Int) {
        self.capacity = capacity
        states = .allocate(capacity: block)
        keys = .allocate(capacity: block * capacity); index = .allocate(capacity: block * capacity)
        weights = .allocate(capacity: block * dims)
        sharedKeys = .allocate(capacity: capacity); dists = .allocate(capacity: capacity)
        order = .allocate(capacity: capacity)
    }

    static func bytes(block: Int, capacity: Int, dims: Int) -> Int {
        block * (MemoryLayout<sdeflow_knn_query>.stride + capacity * 8 + dims * 4)
            + capacity * (4 + 8 + MemoryLayout<sdeflow_knn_pair>.stride)
    }

    func deallocate() {
        states.deallocate(); keys.deallocate(); index.deallocate(); weights.deallocate()
        sharedKeys.deallocate(); dists.deallocate(); order.deallocate()
    }
}
