/// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
///
/// Every draw is a pure function of (seed, stream, id, index, lane), so a number does not
/// depend on which rank draws it or in which order: this is what keeps data, labels and
/// samples identical for any `mpirun -n`.
public enum RandomStream: UInt32, Sendable {
    case initialState = 1, pathNoise, queryChoice, queryNoise, split, batchOrder,
        weightInit, sampleNoise, evaluationNoise,
        /// Initial states of evaluation samples drawn from a law; exact-law reference samples.
        evaluationStart, evaluationReference,
        /// `evaluate`'s reference samples of an exact law that is not Gaussian (an example's
        /// `exactSampler`, drawn through `RandomDraws`).
        exactReference
}

public struct CounterRNG: Sendable {
    public let seed: UInt64
    public init(seed: UInt64) { self.seed = seed }

    /// One Philox block: four independent 32-bit words for counter (stream, id, index, lane).
    /// - `id`: a global id (path, query, sample, parameter); `index`: a step or position;
    /// - `lane`: which block of four words within that (id, index) (for d > 2 components).
    @inlinable
    public func block(_ stream: RandomStream, id: UInt64, index: UInt32, lane: UInt32 = 0)
        -> (UInt32, UInt32, UInt32, UInt32)
    {
        var c0 = stream.rawValue | (lane << 8)
        var c1 = index
        var c2 = UInt32(truncatingIfNeeded: id)
        var c3 = UInt32(truncatingIfNeeded: id >> 32)
        var k0 = UInt32(truncatingIfNeeded: seed)
        var k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// Uniform in the open interval (0, 1) from a 32-bit word (never 0: safe for log).
    @inlinable
    public static func unit(_ w: UInt32) -> Double { (Double(w) + 0.5) * 0x1p-32 }

    /// Two uniforms in (0, 1) for (stream, id, index, lane).
    @inlinable
    public func uniforms(_ stream: RandomStream, id: UInt64, index: UInt32, lane: UInt32 = 0)
        -> (Double, Double)
    {
        let b = block(stream, id: id, index: index, lane: lane)
        // 53-bit uniforms from pairs of words.
        let u = (Double((UInt64(b.0) << 21) ^ UInt64(b.1 >> 11)) + 0.5) * 0x1p-53
        let v = (Double((UInt64(b.2) << 21) ^ UInt64(b.3 >> 11)) + 0.5) * 0x1p-53
        return (u, v)
    }

    /// Two independent standard normals (Box–Muller) for (stream, id, index, lane).
    @inlinable
    public func normals(_ stream: RandomStream, id: UInt64, index: UInt32, lane: UInt32 = 0)
        -> (Double, Double)
    {
        let (u, v) = uniforms(stream, id: id, index: index, lane: lane)
        let r = (-2 * _log(u)).squareRoot()
        let a = 2 * Double.pi * v
        return (r * _cos(a), r * _sin(a))
    }

    /// Fills `out` with `out.count` standard normals for (stream, id, index): component c comes
    /// from lane c/2, so the value of component c does not depend on the dimension.
    @inlinable
    public func fillNormals(
        _ out: UnsafeMutableBufferPointer<Double>, _ stream: RandomStream, id: UInt64,
        index: UInt32
    ) {
        var c = 0
        while c < out.count {
            let (a, b) = normals(stream, id: id, index: index, lane: UInt32(c / 2))
            out[c] = a
            if c + 1 < out.count { out[c + 1] = b }
            c += 2
        }
    }

    /// Uniform integer in 0..<n (n ≥ 1), by 64-bit multiply-shift (bias < n / 2^64).
    @inlinable
    public func index(below n: UInt64, _ stream: RandomStream, id: UInt64, index: UInt32) -> UInt64 {
        let b = block(stream, id: id, index: index)
        let r = (UInt64(b.0) << 32) | UInt64(b.1)
        return r.multipliedFullWidth(by: n).high
    }

    /// A permutation of 0..<n (Fisher–Yates), keyed by (stream, id) only.
    public func permutation(_ n: Int, _ stream: RandomStream, id: UInt64) -> [Int] {
        var p = Array(0..<n)
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int(index(below: UInt64(i + 1), stream, id: id, index: UInt32(truncatingIfNeeded: i)))
            p.swapAt(i, j)
        }
        return p
    }

    /// `count` distinct indices from 0..<n in ascending order (Floyd's algorithm: O(count)
    /// memory, so a query set can be drawn from a data set larger than memory).
    public func distinctIndices(_ count: Int, below n: Int, _ stream: RandomStream) -> [Int] {
        precondition(count <= n)
        var chosen = Set<Int>(minimumCapacity: count)
        for j in (n - count)..<n {
            let t = Int(index(below: UInt64(j + 1), stream, id: UInt64(j), index: 0))
            chosen.insert(chosen.contains(t) ? j : t)
        }
        return chosen.sorted()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@usableFromInline func _log(_ x: Double) -> Double { log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { cos(x) }
@usableFromInline func _sin(_ x: Double) -> Double { sin(x) }
