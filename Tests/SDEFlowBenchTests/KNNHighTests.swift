import Foundation
@testable import SDEFlowBench
import SDEFlowCore
import Testing

// The knn-high section's pure parts: its options, its data, the plain-sort reference of its
// exact check, the FAISS tolerance and the parsing of knn_faiss.py's output. The section itself
// runs in SDEFlowCLITests/BenchTests (Swift side; FAISS is not installed for the test suite).

// MARK: Options

/// Catches: a comma list parsed wrongly (spaces, order) or a bad item let through.
@Test func positiveListsParseInOrderAndRejectBadItems() throws {
    #expect(try parsePositiveList("11, 21,51", option: "--knn-dims") == [11, 21, 51])
    #expect(try parsePositiveList("2000", option: "--knn-ks") == [2000])
    for bad in ["", "11,,21", "0", "-3", "x", "11,11", "2.5", "11,"] {
        #expect(throws: (any Error).self, "'\(bad)'") { try parsePositiveList(bad, option: "--knn-dims") }
    }
}

/// Catches: the section switched on without --knn-dims, wrong defaults, or its options
/// accepted (and silently ignored) without --knn-dims.
@Test func knnHighIsOffUnlessDimsAreGiven() throws {
    #expect(try KNNHighOptions.parse([]).settings() == nil)
    let s = try #require(try KNNHighOptions.parse(["--knn-dims", "11,21"]).settings())
    #expect(s == KNNHighSettings(dims: [11, 21], points: 1_000_000, ks: [2000, 20_000], queries: 32, rounds: 3,
                                 faissPython: nil, faissScript: nil))
    #expect(s.checkedQueries == 4)
    #expect(throws: (any Error).self) { try KNNHighOptions.parse(["--knn-ks", "10"]) }
    #expect(throws: (any Error).self) { try KNNHighOptions.parse(["--rounds", "2"]) }
}

/// Catches: out-of-range values reaching the section (K > N, zero counts, more queries than
/// points, a missing FAISS interpreter, sizes beyond the node's memory).
@Test func knnHighOptionsAreRangeChecked() throws {
    let base = ["--knn-dims", "5", "--knn-points", "100"]
    for extra in [["--knn-ks", "101"], ["--knn-ks", "10,0"], ["--knn-queries", "0"], ["--knn-queries", "101", "--knn-ks", "5"],
                  ["--rounds", "0", "--knn-ks", "5"], ["--knn-ks", "5", "--faiss-python", "/nonexistent/python"],
                  ["--knn-ks", "5", "--knn-points", "0"]] {
        #expect(throws: (any Error).self, "\(extra)") { try KNNHighOptions.parse(base + extra) }
    }
    #expect(throws: (any Error).self) { try KNNHighOptions.parse(["--knn-dims", "100000", "--knn-points", "1000000000"]) }
    let ok = try #require(try KNNHighOptions.parse(base + ["--knn-ks", "100", "--knn-queries", "100"]).settings())
    #expect(ok.ks == [100] && ok.queries == 100)
}

/// Catches: a memory estimate that ignores D, K or the FAISS process, or overflows silently.
@Test func knnHighMemoryEstimateGrowsWithTheWork() throws {
    func bytes(_ d: Int, _ k: Int, faiss: Bool, n: Int = 1_000_000) -> Int? {
        KNNHighSettings(dims: [d], points: n, ks: [k], queries: 32, rounds: 1, faissPython: faiss ? "/py" : nil,
                        faissScript: nil).bytesNeeded
    }
    let small = try #require(bytes(11, 2000, faiss: false))
    #expect(small >= 1_000_000 * 11 * 8 + 1_000_000 * 12 * 4)  // Doubles + the index's packed floats
    #expect(try #require(bytes(51, 2000, faiss: false)) > small)
    #expect(try #require(bytes(11, 20_000, faiss: false)) > small)
    #expect(try #require(bytes(11, 2000, faiss: true)) >= small + 1_000_000 * 11 * 8)
    #expect(bytes(1 << 20, 1, faiss: true, n: Int(Int32.max) - 1) != nil)
    #expect(KNNHighSettings(dims: [Int.max / 4], points: 1 << 40, ks: [1], queries: 1, rounds: 1, faissPython: nil,
                            faissScript: nil).bytesNeeded == nil)
}

// MARK: Data

/// Catches: data that depends on anything but (seed, row, coordinate), leaves [0, 1], or is not
/// exactly float32 (FAISS would then search other points than the index).
@Test func uniformCubeIsDeterministicFloat32AndNested() {
    let a = uniformCube(count: 500, dims: 11, seed: 1)
    #expect(a == uniformCube(count: 500, dims: 11, seed: 1))
    #expect(a != uniformCube(count: 500, dims: 11, seed: 2))
    #expect(a.allSatisfy { $0 >= 0 && $0 <= 1 && Double(Float($0)) == $0 })
    let wide = uniformCube(count: 500, dims: 21, seed: 1)
    for j in [0, 1, 250, 499] { #expect(Array(a[(j * 11)..<(j * 11 + 11)]) == Array(wide[(j * 21)..<(j * 21 + 11)])) }
    let mean = a.reduce(0, +) / Double(a.count)
    #expect(abs(mean - 0.5) < 0.02, "mean \(mean)")
    #expect(Set(a).count > a.count * 99 / 100, "coordinates repeat")
}

/// Catches: repeated, unsorted, out-of-range or non-deterministic query rows, or rows copied wrongly.
@Test func queryRowsAreDistinctSortedAndDeterministic() {
    let rows = queryRows(count: 1000, queries: 32, seed: 2)
    #expect(rows.count == 32 && Set(rows).count == 32 && rows == rows.sorted())
    #expect(rows.allSatisfy { (0..<1000).contains($0) })
    #expect(rows == queryRows(count: 1000, queries: 32, seed: 2))
    #expect(queryRows(count: 5, queries: 5, seed: 2) == [0, 1, 2, 3, 4])
    let points = uniformCube(count: 1000, dims: 3, seed: 1)
    let q = gatherRows(points, dims: 3, [rows[0], rows[5]])
    #expect(q == Array(points[(rows[0] * 3)..<(rows[0] * 3 + 3)]) + Array(points[(rows[5] * 3)..<(rows[5] * 3 + 3)]))
}

// MARK: Reference distances

/// Catches: an index whose K-th neighbour is not the K-th of a plain sort of every exact
/// distance (the section's exact check), or a reference that reads the wrong element.
@Test func bruteForceKthNeighbourEqualsAPlainSort() {
    let dims = 11, n = 3000, ks = [1, 2, 100, 3000]
    let points = uniformCube(count: n, dims: dims, seed: 1)
    let index = BruteForceIndex(points: points, dims: dims)
    for row in queryRows(count: n, queries: 2, seed: 2) {
        let q = Array(points[(row * dims)..<((row + 1) * dims)])
        let sorted = kthSmallestSquaredDistances(points, dims: dims, query: q, ks: ks)
        #expect(sorted[0] == 0, "a query drawn from the points is its own nearest")
        for (k, reference) in zip(ks, sorted) {
            var found = [Int32](repeating: -1, count: k)
            q.withUnsafeBufferPointer { qp in found.withUnsafeMutableBufferPointer { index.nearest(qp.baseAddress!, count: 1, k: k, into: $0.baseAddress!) } }
            #expect(largestSquaredDistance(points, dims: dims, query: q[...], rows: found[...]) == reference, "row \(row), K = \(k)")
        }
    }
    // Three points on a line: squared distances 0, 9, 1 from the first.
    #expect(kthSmallestSquaredDistances([0, 0, 3, 0, 1, 0], dims: 2, query: [0, 0], ks: [1, 2, 3]) == [0, 1, 9])
}

/// Catches: a FAISS tolerance that rejects float32 rounding or accepts a neighbour off by one
/// rank (at these sizes consecutive K-th distances differ by far more than 1e-4 relative).
@Test func faissToleranceTakesFloatRoundingOnly() {
    let exact = 0.565570426163692
    #expect(faissAgrees(exact: exact, faiss: Double(Float(exact)), dims: 11))
    #expect(faissAgrees(exact: exact, faiss: exact * (1 + 5e-5), dims: 11))
    #expect(!faissAgrees(exact: exact, faiss: exact * (1 + 1e-3), dims: 11))
    #expect(faissAgrees(exact: 0, faiss: 3e-6, dims: 11))  // a self-match: float cancellation only
    #expect(!faissAgrees(exact: 0, faiss: 1e-3, dims: 11))
}

/// Catches: a wrong median for even counts or an unsorted input.
@Test func medianOfOddEvenAndEmpty() {
    #expect(median([3, 1, 2]) == 2)
    #expect(median([4, 1, 3, 2]) == 2.5)
    #expect(median([7]) == 7)
    #expect(median([]) == 0)
}

// MARK: FAISS output

/// Catches: knn_faiss.py's JSON line not found behind warnings, keys read wrongly, or a run
/// that printed no result taken for one.
@Test func faissOutputIsParsedFromItsLastJSONLine() throws {
    let out = """
        some warning from a library
        {"ms_per_query": 5.6, "dims": 11, "n": 1000000, "k": 2000, "queries": 32, "threads": 1, "faiss_version": "1.15.1", "kth_distance2": [0.25, 0.5]}

        """
    #expect(try FAISSSearch.parse(out) == FAISSSearch(msPerQuery: 5.6, kthDistance2: [0.25, 0.5], faissVersion: "1.15.1"))
    #expect(throws: (any Error).self) { try FAISSSearch.parse("Traceback (most recent call last):\n  ...\n") }
    #expect(throws: (any Error).self) { try FAISSSearch.parse("{\"ms_per_query\": 0, \"kth_distance2\": [], \"faiss_version\": \"x\"}") }
}
