/// An unbounded sequence of uniforms and normals behind one counter key (seed, stream, id,
/// index): the k-th pair the sequence hands out is lane k of the Philox counter.
///
/// Why: a rejection sampler (Gamma, Poisson: `Variates`) needs a number of draws that is not
/// known in advance. Taking them from consecutive lanes of one key keeps every variate a pure
/// function of (seed, stream, global id, step) — the same value on any rank and in any order,
/// as the Gaussian draws of `CounterRNG.fillNormals` are.
///
/// Uniforms (in (0, 1), 53 bits) and standard normals (Box–Muller) come two per lane; each kind
/// keeps its spare, and a lane serves one kind only, so the sequence a sampler sees depends only
/// on the order of its own calls. Lanes are 24-bit in the counter (`CounterRNG.block`): after
/// 2^24 lanes (8 million rejections in one variate, which does not happen) the sequence repeats.
public struct RandomDraws {
    public let rng: CounterRNG
    public let stream: RandomStream
    public let id: UInt64
    public let index: UInt32
    /// The next unused lane.
    public private(set) var lane: UInt32 = 0
    private var spareUniform: Double? = nil
    private var spareNormal: Double? = nil

    public init(_ rng: CounterRNG, _ stream: RandomStream, id: UInt64, index: UInt32) {
        self.rng = rng; self.stream = stream; self.id = id; self.index = index
    }

    /// The next uniform in (0, 1) (never 0 or 1: safe for log).
    public mutating func uniform() -> Double {
        if let u = spareUniform { spareUniform = nil; return u }
        let (u, v) = rng.uniforms(stream, id: id, index: index, lane: nextLane())
        spareUniform = v
        return u
    }

    /// The next standard normal.
    public mutating func normal() -> Double {
        if let z = spareNormal { spareNormal = nil; return z }
        let (a, b) = rng.normals(stream, id: id, index: index, lane: nextLane())
        spareNormal = b
        return a
    }

    private mutating func nextLane() -> UInt32 {
        defer { lane = (lane &+ 1) & 0x00FF_FFFF }
        return lane
    }
}
