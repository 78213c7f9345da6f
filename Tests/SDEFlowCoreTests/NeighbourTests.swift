import Foundation
import SDEFlowCore
import Testing

// MARK: Point clouds and the brute-force reference

/// All point indices by brute force, sorted by (dist², index): the exact k nearest are the first k.
private func bruteForceOrder(_ points: [Double], dims: Int, _ q: [Double]) -> [Int32] {
    let n = points.count / dims
    var c: [(Double, Int)] = (0..<n).map { j in
        var d2 = 0.0
        for i in 0..<dims { let t = points[j * dims + i] - q[i]; d2 += t * t }
        return (d2, j)
    }
    c.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
    return c.map { Int32($0.1) }
}

private func boundingBox(_ points: [Double], dims: Int) -> (lower: [Double], upper: [Double]) {
    var lo = [Double](repeating: .infinity, count: dims), hi = [Double](repeating: -.infinity, count: dims)
    for j in 0..<(points.count / dims) {
        for i in 0..<dims { lo[i] = min(lo[i], points[j * dims + i]); hi[i] = max(hi[i], points[j * dims + i]) }
    }
    return (lo, hi)
}

private enum Cloud: CaseIterable {
    case uniform, gaussian, muSlices, duplicates, lattice
}

/// `n` points in `dims` dimensions of the given kind, from the counter RNG.
private func cloud(_ kind: Cloud, n: Int, dims: Int, seed: UInt64) -> [Double] {
    let rng = CounterRNG(seed: seed)
    var p = [Double](repeating: 0, count: n * dims)
    for j in 0..<n {
        for i in 0..<dims {
            let (u, g) = (rng.uniforms(.initialState, id: UInt64(j), index: UInt32(i)).0,
                          rng.normals(.pathNoise, id: UInt64(j), index: UInt32(i)).0)
            switch kind {
            case .uniform: p[j * dims + i] = -3 + 6 * u
            case .gaussian: p[j * dims + i] = (i == 0 ? 2.0 : 0.5) * g
            case .muSlices:
                // x Gaussian, last coordinate one of 5 discrete values (observed μ, normalised).
                p[j * dims + i] = i == dims - 1 ? Double(Int(u * 5)) * 1.3 : g
            case .duplicates:
                // 1/4 distinct points, each repeated: many exact ties in distance.
                p[j * dims + i] = -2 + 4 * rng.uniforms(.initialState, id: UInt64(j / 4), index: UInt32(i)).0
            case .lattice:
                // Integer lattice: ties at equal distance from lattice queries, points on cell faces.
                p[j * dims + i] = Double(Int(u * 8))
            }
        }
    }
    return p
}

/// Queries: inside the box, outside it, on lattice points and half-lattice points, on data points.
private func queries(_ points: [Double], dims: Int, seed: UInt64) -> [[Double]] {
    let (lo, hi) = boundingBox(points, dims: dims)
    let rng = CounterRNG(seed: seed)
    var qs: [[Double]] = []
    for i in 0..<50 {
        qs.append((0..<dims).map { c in
            let u = rng.uniforms(.queryNoise, id: UInt64(i), index: UInt32(c)).0
            let w = hi[c] - lo[c]
            return i < 40 ? lo[c] + w * u : lo[c] - w + 3 * w * u  // most of the last 10 fall outside
        })
    }
    for i in 0..<12 { qs.append((0..<dims).map { c in Double(Int(rng.uniforms(.split, id: UInt64(i), index: UInt32(c)).0 * 9)) - 0.5 * Double(i % 2) }) }
    let n = points.count / dims
    for i in 0..<6 { let j = (i * 7919) % n; qs.append(Array(points[(j * dims)..<((j + 1) * dims)])) }
    qs.append(hi.map { $0 + 100 })
    qs.append(lo.map { $0 - 1e-9 })
    return qs
}

/// Geometries: sized by the library for k, a coarse one (single cell along some axes), a
/// hand-made tiny cell size (many empty rings), and a tiny-cell grid that covers only the middle
/// of the data (points outside are clamped into the edge cells).
private func geometries(_ points: [Double], dims: Int, k: Int) -> [GridGeometry] {
    let (lo, hi) = boundingBox(points, dims: dims)
    let n = points.count / dims
    let extent = zip(lo, hi).map { $1 - $0 }.max()!
    let tiny = extent / 20
    let middleLo = zip(lo, hi).map { $0 + 0.3 * ($1 - $0) }
    return [
        GridGeometry(lower: lo, upper: hi, count: n, neighbors: k),
        GridGeometry(lower: lo, upper: hi, count: n, neighbors: n),
        GridGeometry(lower: lo, cellSize: tiny, shape: zip(lo, hi).map { max(1, Int((($1 - $0) / tiny).rounded(.up))) }),
        GridGeometry(lower: middleLo, cellSize: tiny, shape: zip(lo, hi).map { max(1, Int(0.4 * ($1 - $0) / tiny)) }),
    ]
}

// MARK: Exactness

/// Catches: a search that stops too early (wrong ring-gap bound, missed shell cells, clamped
/// points or out-of-box queries mishandled), a broken quickselect, and tie-breaking that is not
/// by ascending index — every result must equal brute force exactly, indices and all.
@Test(arguments: [1, 2, 3])
func nearestEqualsBruteForce(dims: Int) {
    var checked = 0
    for (ci, kind) in Cloud.allCases.enumerated() {
        let n = kind == .lattice ? 600 : 1200
        let points = cloud(kind, n: n, dims: dims, seed: UInt64(10 * dims + ci))
        let qs = queries(points, dims: dims, seed: UInt64(ci))
        let orders = qs.map { bruteForceOrder(points, dims: dims, $0) }
        for k in [1, 7, 64] {
            // On the lattice also cells aligned with it: points sit exactly on cell faces, so
            // ties between searched and unsearched cells occur.
            let aligned = kind == .lattice
                ? [GridGeometry(lower: [Double](repeating: 0, count: dims), cellSize: 1, shape: [Int](repeating: 8, count: dims)),
                   GridGeometry(lower: [Double](repeating: 0, count: dims), cellSize: 2, shape: [Int](repeating: 4, count: dims))]
                : []
            for (gi, g) in (geometries(points, dims: dims, k: k) + aligned).enumerated() {
                let nn = CellListIndex(points: points, geometry: g)
                var scratch = CellListIndex.Scratch()
                for (qi, q) in qs.enumerated() {
                    // `nearest` returns (cell, index) order; the set must equal brute force's.
                    let got = q.withUnsafeBufferPointer { nn.nearest($0.baseAddress!, k: k, scratch: &scratch) }.sorted()
                    let want = orders[qi].prefix(k).sorted()
                    #expect(got == want, "\(kind) dims=\(dims) k=\(k) geometry \(gi) query \(qi) \(q)")
                    checked += 1
                }
            }
        }
    }
    #expect(checked > 1000)
}

/// Catches: a wrong k-th distance at the scale of the label stage, where the search takes cells
/// whole inside the k-th distance and many points share a histogram bin: every result must
/// equal brute force, and come in (cell, index) order.
@Test func nearestEqualsBruteForceAtScale() {
    for kind in [Cloud.muSlices, .duplicates] {
        let points = cloud(kind, n: 20000, dims: 2, seed: 5)
        let (lo, hi) = boundingBox(points, dims: 2)
        let g = GridGeometry(lower: lo, upper: hi, count: 20000, neighbors: 500)
        let nn = CellListIndex(points: points, geometry: g)
        var scratch = CellListIndex.Scratch()
        for q in queries(points, dims: 2, seed: 8) {
            let got = q.withUnsafeBufferPointer { nn.nearest($0.baseAddress!, k: 500, scratch: &scratch) }
            let want = bruteForceOrder(points, dims: 2, q).prefix(500)
            let cellOf = { (j: Int32) in points.withUnsafeBufferPointer { g.cell(of: $0.baseAddress! + 2 * Int(j)) } }
            #expect(got.sorted() == want.sorted(), "\(kind) query \(q)")
            #expect(got == want.sorted { (cellOf($0), $0) < (cellOf($1), $1) }, "\(kind) query \(q): not in (cell, index) order")
        }
    }
}

/// Catches: k = count (every point must come back once) and k = 1 on a single point.
@Test func nearestWithKEqualToCount() {
    let points = cloud(.duplicates, n: 200, dims: 2, seed: 4)
    for g in geometries(points, dims: 2, k: 200) {
        let nn = CellListIndex(points: points, geometry: g)
        var scratch = CellListIndex.Scratch()
        for q in [[0.0, 0.0], [50.0, -50.0]] {
            let got = q.withUnsafeBufferPointer { nn.nearest($0.baseAddress!, k: 200, scratch: &scratch) }.sorted()
            #expect(got == (0..<200).map { Int32($0) })
        }
    }
    let single = CellListIndex(points: [1.0, 2.0], geometry: GridGeometry(lower: [1, 2], upper: [1, 2], count: 1, neighbors: 1))
    var scratch = CellListIndex.Scratch()
    #expect([5.0, 5.0].withUnsafeBufferPointer { single.nearest($0.baseAddress!, k: 1, scratch: &scratch) } == [0])
}

/// Catches: stopping when the k-th distance only equals (rather than is below) the distance to
/// the unsearched cells — a tied point there with a smaller index is then missed. Hand-made 1-D
/// case: query 1.5 in cell 1, point #1 at 0 (searched), point #0 at 3 (unsearched cell 3), both
/// at distance 1.5; the tie must go to the smaller index, #0.
@Test func tieOnTheSearchBoundaryGoesToTheSmallerIndex() {
    let g = GridGeometry(lower: [0], cellSize: 1, shape: [4])
    let nn = CellListIndex(points: [3.0, 0.0], geometry: g)
    var scratch = CellListIndex.Scratch()
    let got = [1.5].withUnsafeBufferPointer { nn.nearest($0.baseAddress!, k: 1, scratch: &scratch) }
    #expect(got == [0])
}

// MARK: Halo

/// Catches: a halo radius too small for the exact K nearest neighbours of a query in the cell
/// (ring count, the √D corner factor, or the counts-based ring search wrong), i.e. a rank that
/// holds only the halo of its query cells would get different neighbours than a single rank.
@Test(arguments: [2, 3])
func haloHoldsTheExactNeighbours(dims: Int) {
    var checkedCells = 0, partial = 0
    for kind in [Cloud.uniform, .gaussian, .muSlices] {
        let points = cloud(kind, n: 3000, dims: dims, seed: UInt64(77 + dims))
        let n = points.count / dims
        let (lo, hi) = boundingBox(points, dims: dims)
        for k in [10, 40] {
            // Small cells so the halo is a real subset of the grid.
            let g = GridGeometry(lower: lo, upper: hi, count: n, neighbors: max(1, k / 8))
            var counts = [Int64](repeating: 0, count: g.cellCount)
            var cellOf = [Int](repeating: 0, count: n)
            points.withUnsafeBufferPointer { p in
                for j in 0..<n { cellOf[j] = g.cell(of: p.baseAddress! + j * dims); counts[cellOf[j]] += 1 }
            }
            let full = CellListIndex(points: points, geometry: g)
            var scratch = CellListIndex.Scratch()
            let rng = CounterRNG(seed: UInt64(k))
            // A spread of cells: dense, sparse and empty ones.
            let cells = stride(from: 0, to: g.cellCount, by: max(1, g.cellCount / 25)).map { $0 }
            for cell in cells {
                let r = g.haloRadius(aroundCell: cell, counts: counts, neighbors: k)
                var inHalo = Set<Int>()
                g.forEachCell(around: g.coordinates(ofCell: cell), radius: r) { inHalo.insert($0) }
                let keep = (0..<n).filter { inHalo.contains(cellOf[$0]) }  // ascending global index
                #expect(keep.count >= k)
                if keep.count < k { continue }
                if keep.count < n { partial += 1 }
                var sub = [Double](); sub.reserveCapacity(keep.count * dims)
                for j in keep { sub += points[(j * dims)..<((j + 1) * dims)] }
                let local = CellListIndex(points: sub, geometry: g)
                var localScratch = CellListIndex.Scratch()
                let coords = g.coordinates(ofCell: cell)
                for qi in 0..<8 {
                    let q = (0..<dims).map { i in
                        g.lower[i] + (Double(coords[i]) + rng.uniforms(.queryNoise, id: UInt64(cell), index: UInt32(qi * dims + i)).0) * g.cellSize
                    }
                    let want = q.withUnsafeBufferPointer { full.nearest($0.baseAddress!, k: k, scratch: &scratch) }
                    let got = q.withUnsafeBufferPointer { local.nearest($0.baseAddress!, k: k, scratch: &localScratch) }
                        .map { Int32(keep[Int($0)]) }
                    #expect(got == want, "\(kind) dims=\(dims) k=\(k) cell \(cell) radius \(r)")
                }
                checkedCells += 1
            }
        }
    }
    #expect(checkedCells > 50)
    #expect(partial > 10, "the halo never excluded anything: the test would not test it")
}

/// Catches: `forEachCell` visiting a wrong or duplicate set (clipping at the edges) and
/// `cell(of:)`/`coordinates(ofCell:)` disagreeing on the linear order.
@Test func gridCellIndexingRoundTrips() {
    let g = GridGeometry(lower: [0, -1, 2], cellSize: 0.5, shape: [4, 3, 5])
    for cell in 0..<g.cellCount {
        let c = g.coordinates(ofCell: cell)
        let p = (0..<3).map { g.lower[$0] + (Double(c[$0]) + 0.5) * g.cellSize }
        #expect(p.withUnsafeBufferPointer { g.cell(of: $0.baseAddress!) } == cell)
    }
    var visited: [Int] = []
    g.forEachCell(around: [0, 2, 4], radius: 1) { visited.append($0) }
    let expected = (0..<g.cellCount).filter { cell in
        let c = g.coordinates(ofCell: cell)
        return abs(c[0] - 0) <= 1 && abs(c[1] - 2) <= 1 && abs(c[2] - 4) <= 1
    }
    #expect(visited.sorted() == expected)
    #expect(Set(visited).count == visited.count)
    // Values outside the grid clamp to the edge cells.
    #expect(g.coordinate(-5, 0) == 0 && g.coordinate(99, 2) == 4)
}

/// Catches: the label stage's work split going back to whole cells (one dense cell then decides
/// a rank's load) or a rank not holding the cells its queries lie in. Queries crowd into a few
/// cells; for 2, 3 and 7 ranks the ranks' query counts must differ by at most one, and each
/// query's cell must be among the cells its rank holds.
@Test func queryPartitionBalancesQueriesNotCells() {
    let rng = CounterRNG(seed: 21)
    let g = GridGeometry(lower: [0, 0], upper: [1, 1], count: 4000, neighbors: 400)
    var counts = [Int64](repeating: 0, count: g.cellCount), queryCells = [Int]()
    for j in 0..<4000 {
        let (a, b) = rng.uniforms(.initialState, id: UInt64(j), index: 0)
        let p = j < 1000 ? [0.05 * a, 0.05 * b] : [a, b]  // a quarter of the points in one corner
        counts[p.withUnsafeBufferPointer { g.cell(of: $0.baseAddress!) }] += 1
        if j % 4 == 0 { queryCells.append(p.withUnsafeBufferPointer { g.cell(of: $0.baseAddress!) }) }
    }
    var queryCounts = [Int](repeating: 0, count: g.cellCount)
    for c in queryCells { queryCounts[c] += 1 }
    for ranks in [2, 3, 7] {
        let partition = QueryPartition(geometry: g, queryCounts: queryCounts, counts: counts, neighbors: 400, ranks: ranks)
        let owners = partition.owners(cells: queryCells)
        let perRank = (0..<ranks).map { r in owners.filter { $0 == r }.count }
        #expect(perRank.max()! - perRank.min()! <= 1, "\(ranks) ranks: \(perRank)")
        let needed = (0..<ranks).map { partition.neededCells(rank: $0, geometry: g) }
        for (c, r) in zip(queryCells, owners) { #expect(needed[r][c], "rank \(r) lacks cell \(c)") }
    }
}
