import Foundation
import SDEFlowCore
import Testing

// MARK: Reference Philox4x32-10, written independently in Random123's array form

/// Philox4x32-10 exactly as in Random123 (`philox4x32round` + `philox4x32bumpkey`).
private func referencePhilox(_ ctr: [UInt32], _ key: [UInt32]) -> [UInt32] {
    var c = ctr, k = key
    for round in 0..<10 {
        if round > 0 { k[0] &+= 0x9E37_79B9; k[1] &+= 0xBB67_AE85 }
        let p0 = UInt64(c[0]) * 0xD251_1F53, p1 = UInt64(c[2]) * 0xCD9E_8D57
        let hi0 = UInt32(p0 >> 32), lo0 = UInt32(p0 & 0xFFFF_FFFF)
        let hi1 = UInt32(p1 >> 32), lo1 = UInt32(p1 & 0xFFFF_FFFF)
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0]
    }
    return c
}

/// Catches: a reference implementation that is itself wrong (it is pinned to Random123's
/// published known-answer vectors before it is used to check `CounterRNG`).
@Test func referencePhiloxMatchesRandom123KnownAnswers() {
    #expect(referencePhilox([0, 0, 0, 0], [0, 0]) == [0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8])
    #expect(referencePhilox([0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], [0xFFFF_FFFF, 0xFFFF_FFFF])
        == [0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD])
    #expect(referencePhilox([0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344], [0xA409_3822, 0x299F_31D0])
        == [0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1])
}

/// Catches: a wrong Philox round (multipliers, word shuffle, key schedule, round count) and a
/// changed counter layout (stream | lane << 8, index, id low, id high; key = seed low, high),
/// which would silently change every data set, label and sample made with a given seed.
@Test func counterRNGBlockIsPhilox4x32With10Rounds() {
    let seeds: [UInt64] = [0, 1, 0xDEAD_BEEF_0123_4567, UInt64.max]
    let ids: [UInt64] = [0, 7, 1 << 32 | 5, UInt64.max]
    for seed in seeds {
        let rng = CounterRNG(seed: seed)
        let key = [UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)]
        for stream in [RandomStream.initialState, .pathNoise, .evaluationNoise] {
            for id in ids {
                for (index, lane) in [(UInt32(0), UInt32(0)), (3, 1), (UInt32.max, 77)] {
                    let b = rng.block(stream, id: id, index: index, lane: lane)
                    let ctr = [stream.rawValue | lane << 8, index,
                               UInt32(truncatingIfNeeded: id), UInt32(truncatingIfNeeded: id >> 32)]
                    #expect([b.0, b.1, b.2, b.3] == referencePhilox(ctr, key))
                }
            }
        }
    }
}

// MARK: Determinism and independence

/// Catches: hidden state (a draw depending on earlier draws or on the instance), i.e. anything
/// that would make a number depend on which rank draws it or in which order.
@Test func sameKeyGivesSameNumbers() {
    let a = CounterRNG(seed: 42), b = CounterRNG(seed: 42)
    let forward = (0..<100).map { a.normals(.pathNoise, id: UInt64($0), index: 3).0 }
    let backward = (0..<100).reversed().map { b.normals(.pathNoise, id: UInt64($0), index: 3).0 }
    #expect(forward == Array(backward.reversed()))
    #expect(a.uniforms(.split, id: 9, index: 1, lane: 2) == b.uniforms(.split, id: 9, index: 1, lane: 2))
    #expect(a.permutation(50, .batchOrder, id: 3) == b.permutation(50, .batchOrder, id: 3))
}

/// Catches: a key component that is ignored (seed, stream, id high/low word, index, lane), which
/// would make supposedly independent random numbers identical.
@Test func differentKeysGiveDifferentNumbers() {
    let rng = CounterRNG(seed: 42)
    let base = rng.block(.pathNoise, id: 5, index: 2, lane: 0)
    func same(_ b: (UInt32, UInt32, UInt32, UInt32)) -> Bool { b == base }
    #expect(!same(CounterRNG(seed: 43).block(.pathNoise, id: 5, index: 2, lane: 0)))
    #expect(!same(CounterRNG(seed: 42 | 1 << 40).block(.pathNoise, id: 5, index: 2, lane: 0)))
    #expect(!same(rng.block(.queryNoise, id: 5, index: 2, lane: 0)))
    #expect(!same(rng.block(.pathNoise, id: 6, index: 2, lane: 0)))
    #expect(!same(rng.block(.pathNoise, id: 5 | 1 << 32, index: 2, lane: 0)))
    #expect(!same(rng.block(.pathNoise, id: 5, index: 3, lane: 0)))
    #expect(!same(rng.block(.pathNoise, id: 5, index: 2, lane: 1)))
    // All streams differ from each other at the same (id, index).
    let streams: [RandomStream] = [.initialState, .pathNoise, .queryChoice, .queryNoise, .split, .batchOrder,
                                   .weightInit, .sampleNoise, .evaluationNoise]
    let firsts = Set(streams.map { rng.block($0, id: 1, index: 0).0 })
    #expect(firsts.count == streams.count)
    // Many ids: no collisions among 10 000 first words (a collision has probability ~1e-2).
    let words = Set((0..<10_000).map { rng.block(.sampleNoise, id: UInt64($0), index: 0).0 })
    #expect(words.count >= 9_990)
}

// MARK: Distributions

/// Catches: a biased or mis-scaled Box–Muller (mean 0, variance 1, kurtosis 3 checked to about
/// five standard errors on 200 000 draws), correlated pair outputs, and uniforms outside (0, 1).
@Test func normalsAreStandardAndUniformsAreOpenUnit() {
    let rng = CounterRNG(seed: 2024)
    let pairs = 100_000
    var s1 = 0.0, s2 = 0.0, s4 = 0.0, cross = 0.0, tail = 0
    var uMin = 1.0, uMax = 0.0, uSum = 0.0, uSum2 = 0.0
    for i in 0..<pairs {
        let (a, b) = rng.normals(.evaluationNoise, id: UInt64(i), index: 0)
        for v in [a, b] {
            s1 += v; s2 += v * v; s4 += v * v * v * v
            if abs(v) > 2 { tail += 1 }
        }
        cross += a * b
        let (u, w) = rng.uniforms(.queryChoice, id: UInt64(i), index: 1)
        for v in [u, w] {
            uMin = min(uMin, v); uMax = max(uMax, v); uSum += v; uSum2 += v * v
        }
        let u32 = CounterRNG.unit(rng.block(.split, id: UInt64(i), index: 0).0)
        uMin = min(uMin, u32); uMax = max(uMax, u32)
    }
    let n = Double(2 * pairs)
    let mean = s1 / n, variance = s2 / n - mean * mean, m4 = s4 / n
    #expect(abs(mean) < 5 / n.squareRoot())                       // se 0.0022
    #expect(abs(variance - 1) < 5 * (2 / n).squareRoot())          // se 0.0032
    #expect(abs(m4 - 3) < 5 * (96 / n).squareRoot())               // se 0.022
    #expect(abs(cross / Double(pairs)) < 5 / Double(pairs).squareRoot())
    // P(|Z| > 2) = 0.0455, se 0.00047.
    #expect(abs(Double(tail) / n - 0.0455) < 5 * (0.0455 * 0.9545 / n).squareRoot())
    #expect(uMin > 0 && uMax < 1)
    #expect(abs(uSum / n - 0.5) < 5 * (1.0 / 12 / n).squareRoot())
    #expect(abs(uSum2 / n - 1.0 / 3) < 5 * (4.0 / 45 / n).squareRoot())
    #expect(CounterRNG.unit(0) > 0 && CounterRNG.unit(UInt32.max) < 1)
}

/// Catches: `fillNormals` taking component c from the wrong lane (component values must not
/// depend on the dimension, and an odd tail must still be filled).
@Test func fillNormalsIsDimensionIndependent() {
    let rng = CounterRNG(seed: 5)
    func fill(_ n: Int) -> [Double] {
        var v = [Double](repeating: .nan, count: n)
        v.withUnsafeMutableBufferPointer { rng.fillNormals($0, .sampleNoise, id: 12, index: 4) }
        return v
    }
    let five = fill(5), two = fill(2), three = fill(3)
    #expect(five.allSatisfy { $0.isFinite })
    #expect(Array(five.prefix(2)) == two)
    #expect(Array(five.prefix(3)) == three)
    let l0 = rng.normals(.sampleNoise, id: 12, index: 4, lane: 0)
    let l2 = rng.normals(.sampleNoise, id: 12, index: 4, lane: 2)
    #expect(five[0] == l0.0 && five[1] == l0.1 && five[4] == l2.0)
    #expect(Set(five).count == 5)
}

/// Catches: `index(below:)` out of range or visibly non-uniform (chi-square on 7 bins).
@Test func indexBelowIsInRangeAndUniform() {
    let rng = CounterRNG(seed: 77)
    var bins = [Int](repeating: 0, count: 7)
    let n = 70_000
    for i in 0..<n {
        let v = rng.index(below: 7, .queryChoice, id: UInt64(i), index: 0)
        #expect(v < 7)
        if v < 7 { bins[Int(v)] += 1 }
    }
    let e = Double(n) / 7
    let chi2 = bins.reduce(0.0) { $0 + (Double($1) - e) * (Double($1) - e) / e }
    #expect(chi2 < 30)  // 6 degrees of freedom: P(chi2 > 30) ≈ 4e-5
    #expect(rng.index(below: 1, .split, id: 3, index: 9) == 0)
    let big = UInt64(1) << 40 + 3
    #expect((0..<100).allSatisfy { rng.index(below: big, .split, id: UInt64($0), index: 0) < big })
}

// MARK: Permutations and subsets

/// Catches: a shuffle that loses or duplicates elements, one that is the identity, one that
/// ignores its id, and a biased shuffle (position of element 0 over many ids).
@Test func permutationIsAPermutation() {
    let rng = CounterRNG(seed: 3)
    for n in [0, 1, 2, 17, 1000] {
        let p = rng.permutation(n, .batchOrder, id: 1)
        #expect(p.count == n)
        #expect(p.sorted() == Array(0..<n))
    }
    let p = rng.permutation(1000, .batchOrder, id: 1), q = rng.permutation(1000, .batchOrder, id: 2)
    #expect(p != Array(0..<1000))
    #expect(p != q)
    #expect(p == CounterRNG(seed: 3).permutation(1000, .batchOrder, id: 1))
    // Uniformity: where does element 0 land in a permutation of 5, over 5000 ids?
    var positions = [Int](repeating: 0, count: 5)
    for id in 0..<5000 {
        let r = rng.permutation(5, .split, id: UInt64(id))
        positions[r.firstIndex(of: 0)!] += 1
    }
    let chi2 = positions.reduce(0.0) { $0 + (Double($1) - 1000) * (Double($1) - 1000) / 1000 }
    #expect(chi2 < 25)  // 4 degrees of freedom
}

/// Catches: Floyd's algorithm returning duplicates, unsorted or out-of-range indices, the wrong
/// count, a non-deterministic result, or a subset that is not uniform (each index's inclusion
/// frequency over many seeds).
@Test func distinctIndicesAreSortedDistinctInRangeAndDeterministic() {
    for (count, n) in [(0, 10), (1, 1), (10, 10), (37, 100), (500, 100_000), (999, 1000)] {
        let rng = CounterRNG(seed: UInt64(count * 31 + n))
        let s = rng.distinctIndices(count, below: n, .queryChoice)
        #expect(s.count == count)
        #expect(zip(s, s.dropFirst()).allSatisfy { $0 < $1 })
        #expect(s.allSatisfy { (0..<n).contains($0) })
        #expect(s == CounterRNG(seed: UInt64(count * 31 + n)).distinctIndices(count, below: n, .queryChoice))
    }
    #expect(CounterRNG(seed: 1).distinctIndices(50, below: 1000, .queryChoice)
        != CounterRNG(seed: 2).distinctIndices(50, below: 1000, .queryChoice))
    #expect(CounterRNG(seed: 1).distinctIndices(50, below: 1000, .queryChoice)
        != CounterRNG(seed: 1).distinctIndices(50, below: 1000, .split))
    // Inclusion frequency of each of 10 indices when choosing 3: 0.3 each over 4000 seeds.
    var hits = [Int](repeating: 0, count: 10)
    for seed in 0..<4000 {
        for i in CounterRNG(seed: UInt64(seed)).distinctIndices(3, below: 10, .queryChoice) { hits[i] += 1 }
    }
    let se = (4000 * 0.3 * 0.7).squareRoot()
    #expect(hits.allSatisfy { abs(Double($0) - 1200) < 5 * se })
}
