import Foundation
import CKernels
@testable import SDEFlowCore
import Testing

// MARK: Data and the naive reference

/// n × dims uniform coordinates in [offset, offset + 1), from the counter RNG.
private func uniformPoints(_ n: Int, dims: Int, seed: UInt64, offset: Double = 0) -> [Double] {
    let rng = CounterRNG(seed: seed)
    return (0..<(n * dims)).map { e in offset + rng.uniforms(.initialState, id: UInt64(e / dims), index: UInt32(e % dims)).0 }
}

/// Queries, m × dims row-major: on data points, inside the data's box, and well outside it.
private func mixedQueries(_ points: [Double], dims: Int, m: Int, seed: UInt64) -> [Double] {
    let n = points.count / dims, rng = CounterRNG(seed: seed)
    var q: [Double] = []
    for j in 0..<m {
        let on = (j * 7919) % n
        for i in 0..<dims {
            let u = rng.uniforms(.queryNoise, id: UInt64(j), index: UInt32(i)).0
            switch j % 3 {
            case 0: q.append(points[on * dims + i])
            case 1: q.append(points[on * dims + i] + 0.2 * (u - 0.5))
            default: q.append(points[on * dims + i] + 3 * (u - 0.5))
            }
        }
    }
    return q
}

/// The exact k nearest of query q by a plain double loop: (distance, index) order, the first
/// k, then sorted by index (the index's canonical order).
private func naiveNearest(_ points: [Double], dims: Int, _ q: ArraySlice<Double>, k: Int) -> [Int32] {
    let q = Array(q)
    var all: [(Double, Int32)] = (0..<(points.count / dims)).map { j in
        var d2 = 0.0
        for i in 0..<dims { let t = points[j * dims + i] - q[i]; d2 += t * t }
        return (d2, Int32(j))
    }
    all.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
    return all.prefix(k).map(\.1).sorted()
}

/// All queries' neighbours from one `nearest` call, one array per query.
private func search(_ index: BruteForceIndex, _ queries: [Double], k: Int) -> [[Int32]] {
    let m = queries.count / index.dims
    var out = [Int32](repeating: -1, count: m * k)
    queries.withUnsafeBufferPointer { q in
        out.withUnsafeMutableBufferPointer { index.nearest(q.baseAddress!, count: m, k: k, into: $0.baseAddress!) }
    }
    return (0..<m).map { Array(out[($0 * k)..<(($0 + 1) * k)]) }
}

/// Checks every query's neighbours against the naive reference, for default sizes and for
/// small tiles and blocks (tile and block edges inside the data); returns the queries checked.
@discardableResult
private func expectExact(_ points: [Double], dims: Int, queries: [Double], ks: [Int],
                         sizes: [(tile: Int?, block: Int?)] = [(nil, nil), (48, 7)],
                         _ label: String) -> Int {
    var checked = 0
    for (tile, block) in sizes {
        let index = BruteForceIndex(points: points, dims: dims, tilePoints: tile, queryBlock: block)
        for k in ks {
            let got = search(index, queries, k: k)
            for (j, g) in got.enumerated() {
                let want = naiveNearest(points, dims: dims, queries[(j * dims)..<((j + 1) * dims)], k: k)
                #expect(g == want, "\(label) dims=\(dims) k=\(k) tile=\(String(describing: tile)) block=\(String(describing: block)) query \(j)")
                checked += 1
            }
        }
    }
    return checked
}

// MARK: Exactness

/// Catches: a margin too small for the float keys at high D, a wrong bound after a buffer cut,
/// lost points at tile or group edges, and padding lanes returned as neighbours — every result
/// must equal the naive double brute force, indices and all (n is not a multiple of 16).
@Test(arguments: [1, 2, 11, 21, 51, 101])
func bruteForceIndexEqualsNaive(dims: Int) {
    let points = uniformPoints(1500 + dims, dims: dims, seed: UInt64(dims))
    let queries = mixedQueries(points, dims: dims, m: 23, seed: 3)
    #expect(expectExact(points, dims: dims, queries: queries, ks: [1, 9, 200], "uniform") == 2 * 3 * 23)
}

/// Catches: ties at the k-th distance split by anything but the smaller index, and a cut that
/// keeps too many or too few of a run of equal keys: every point repeated 5 times on a lattice
/// (many exactly equal distances), queried on lattice and half-lattice points with k that cut
/// through runs of ties; and all points identical, where every key is a close call.
@Test(arguments: [3, 21])
func bruteForceIndexBreaksTiesBySmallerIndex(dims: Int) {
    let distinct = uniformPoints(400, dims: dims, seed: 9).map { ($0 * 4).rounded(.down) }
    var points: [Double] = []
    for j in 0..<(5 * 400) {
        let row = j % 400
        points += distinct[(row * dims)..<((row + 1) * dims)]
    }
    var queries = Array(points[0..<(6 * dims)])
    queries += queries.map { $0 + 0.5 }
    expectExact(points, dims: dims, queries: queries, ks: [1, 3, 7, 64, 333], "duplicates")
    let same = [Double](repeating: 0.25, count: 300 * dims)
    let sameQueries = Array(same[0..<dims]) + [Double](repeating: 2, count: dims)
    expectExact(same, dims: dims, queries: sameQueries, ks: [1, 10, 299], "identical")
}

/// Catches: k = 1 and k = count mishandled (a cut with nothing to cut, a buffer that must hold
/// every point), and a single-point index.
@Test func bruteForceIndexWithKOneAndKEqualToCount() {
    let points = uniformPoints(300, dims: 11, seed: 4)
    let queries = mixedQueries(points, dims: 11, m: 5, seed: 5)
    expectExact(points, dims: 11, queries: queries, ks: [1, 299, 300], "k extremes")
    let single = BruteForceIndex(points: [1, 2, 3], dims: 3)
    #expect(search(single, [9, 9, 9, 1, 2, 3], k: 1) == [[0], [0]])
    #expect(single.slotOrder == [0])
}

/// Catches: float cancellation in |p|² − 2 q·p on data far from the origin (offset 1e4: the
/// centring must remove it), and a margin that ignores the spread of the data (two clusters
/// 1e4 apart: the mean is far from both, so the float screen is coarse and the exact distances
/// must decide).
@Test(arguments: [2, 21])
func bruteForceIndexFarFromTheOrigin(dims: Int) {
    let far = uniformPoints(700, dims: dims, seed: 6, offset: 1e4)
    expectExact(far, dims: dims, queries: mixedQueries(far, dims: dims, m: 9, seed: 7), ks: [1, 20], "offset 1e4")
    let near = uniformPoints(600, dims: dims, seed: 8)
    let split = near + uniformPoints(600, dims: dims, seed: 10, offset: 1e4)
    expectExact(split, dims: dims, queries: mixedQueries(split, dims: dims, m: 9, seed: 11), ks: [1, 20, 700], "two clusters")
}

/// Catches: a float screen that breaks down when the points nearly coincide — keys in float's
/// underflow range (spread 1e-19) and points a few Double steps apart at 1e4 (exact ties in
/// distance) — where the histogram's key range is tiny and every call must fall to the exact
/// distances.
@Test func bruteForceIndexOnNearlyCoincidentPoints() {
    for (offset, spread) in [(0.25, 1e-19), (1e4, 1e-11)] {
        let points = uniformPoints(500, dims: 4, seed: 14).map { offset + spread * $0 }
        let queries = mixedQueries(points, dims: 4, m: 9, seed: 15)
        expectExact(points, dims: 4, queries: queries, ks: [1, 30, 333], "spread \(spread) at \(offset)")
    }
}

/// Catches: state leaking between blocks or groups of queries, and a last block or group
/// handled wrongly when the query count is not a multiple of the block size: the neighbours
/// of each query must not depend on the block size nor on the other queries in the call.
@Test func bruteForceIndexBlocksDoNotChangeResults() {
    let dims = 5, k = 40
    let points = uniformPoints(2000, dims: dims, seed: 12)
    let queries = mixedQueries(points, dims: dims, m: 45, seed: 13)
    let alone = BruteForceIndex(points: points, dims: dims)
    var oneByOne: [[Int32]] = []
    for j in 0..<45 { oneByOne += search(alone, Array(queries[(j * dims)..<((j + 1) * dims)]), k: k) }
    for block in [1, 2, 13, 16, 44, 128] {
        let index = BruteForceIndex(points: points, dims: dims, tilePoints: 100, queryBlock: block)
        #expect(search(index, queries, k: k) == oneByOne, "block \(block)")
    }
    for (j, got) in oneByOne.enumerated() {
        #expect(got == naiveNearest(points, dims: dims, queries[(j * dims)..<((j + 1) * dims)], k: k), "query \(j)")
    }
}

/// Catches: a disagreement with the grid index on the neighbour set (the two implement one
/// contract; their canonical orders differ, their sets must not).
@Test(arguments: [2, 3])
func bruteForceIndexMatchesTheGridIndex(dims: Int) {
    let points = uniformPoints(5000, dims: dims, seed: UInt64(20 + dims)).map { ($0 * 64).rounded(.down) / 16 }
    let queries = mixedQueries(points, dims: dims, m: 30, seed: 21)
    var lo = [Double](repeating: .infinity, count: dims), hi = [Double](repeating: -.infinity, count: dims)
    for (e, v) in points.enumerated() { lo[e % dims] = min(lo[e % dims], v); hi[e % dims] = max(hi[e % dims], v) }
    let index = BruteForceIndex(points: points, dims: dims)
    for k in [1, 50, 700] {
        let grid = CellListIndex(points: points, geometry: GridGeometry(lower: lo, upper: hi, count: 5000, neighbors: k))
        var scratch = CellListIndex.Scratch()
        for (j, got) in search(index, queries, k: k).enumerated() {
            let want = queries[(j * dims)..<((j + 1) * dims)].withUnsafeBufferPointer { grid.nearest($0.baseAddress!, k: k, scratch: &scratch) }
            #expect(got == want.sorted(), "dims=\(dims) k=\(k) query \(j)")
        }
    }
}

/// Catches: a memory estimate that misses the packed copy or grows with the query count.
@Test func bruteForceIndexBytesNeeded() {
    let packed = 1_000_000 * 22 * 4
    let bytes = BruteForceIndex.bytesNeeded(count: 1_000_000, dims: 21, k: 2000)
    #expect(bytes > packed && bytes < packed + (16 << 20))
    #expect(BruteForceIndex.bytesNeeded(count: 1_000_000, dims: 21, k: 1_000_000) < packed + (96 << 20))
}

/// The exchange's selection of the K-th best candidate by (distance, row) equals a full sort's,
/// with many equal distances (ties go to the smaller row) and at every rank from first to last.
@Test func selectPairMatchesASort() {
    let rng = CounterRNG(seed: 12)
    for n in [1, 2, 7, 100, 1_000] {
        let pairs = (0..<n).map { j in
            sdeflow_knn_pair(dist: Double(Int(rng.uniforms(.initialState, id: UInt64(j), index: 0).0 * 20)), index: Int64((j * 7_919) % 10_007))
        }
        let sorted = pairs.sorted { $0.dist < $1.dist || ($0.dist == $1.dist && $0.index < $1.index) }
        for rank in Set([0, n / 3, n / 2, n - 1]) {
            var work = pairs
            let got = sdeflow_knn_select_pair(&work, Int64(n), Int64(rank))
            #expect(got.dist == sorted[rank].dist && got.index == sorted[rank].index, "n \(n), rank \(rank)")
        }
    }
}
