extension GlobalTrend {
    /// Fits the trend to every pair, collectively. Each rank sums over its rows in blocks of
    /// `blockRows` (first the means, then the normal equations FᵀF and Fᵀ(y − x)), and the
    /// per-block sums are added in block order, as for σ_x and σ_μ: the coefficients are the same
    /// bits for any rank count. Cost: N × (p²/2 + p·d) multiply-adds, p = `columns` (42 at d = 10:
    /// about a second per 10⁶ pairs), and one allgather of p(p + 1)/2 + p·d values per block.
    static func fit(_ comm: any Collective, _ block: PairBlock, normalisation norm: Normalisation,
                    blockRows: Int, blockCount: Int) throws -> GlobalTrend {
        let d = block.d, dMu = block.dMu
        func rows(_ b: Int) -> Range<Int> { b * blockRows ..< min((b + 1) * blockRows, block.count) }
        let n = Double(try comm.allreduce(Int64(block.count), .sum))
        var sums = [Double]()
        for b in 0..<blockCount {
            var s = [Double](repeating: 0, count: d + dMu)
            for j in rows(b) {
                for i in 0..<d { s[i] += block.x[j * d + i] }
                for a in 0..<dMu { s[d + a] += block.mu[j * dMu + a] }
            }
            sums += s
        }
        let means = inBlockOrder(try comm.allgatherv(sums), width: d + dMu).map { $0 / max(n, 1) }
        let meanX = Array(means.prefix(d)), meanMu = Array(means.suffix(dMu))
        let shape = GlobalTrend(d: d, dMu: dMu, meanX: meanX, meanMu: meanMu, sigmaX: norm.sigmaX, sigmaMu: norm.sigmaMu,
                                coefficients: [])  // the columns, before the coefficients exist
        let p = shape.columns, tri = p * (p + 1) / 2
        var normal = [Double]()
        normal.reserveCapacity(blockCount * (tri + p * d))
        var f = [Double](repeating: 0, count: p)
        for b in 0..<blockCount {
            var s = [Double](repeating: 0, count: tri + p * d)
            block.x.withUnsafeBufferPointer { x in block.mu.withUnsafeBufferPointer { mu in block.y.withUnsafeBufferPointer { y in
                f.withUnsafeMutableBufferPointer { f in s.withUnsafeMutableBufferPointer { s in
                    for j in rows(b) {
                        shape.features(x: x.baseAddress! + j * d, mu: mu.baseAddress! + j * dMu, into: f.baseAddress!)
                        for a in 0..<p {
                            let fa = f[a], row = a * (a + 1) / 2
                            for c in 0...a { s[row + c] += fa * f[c] }
                            for o in 0..<d { s[tri + a * d + o] += fa * (y[j * d + o] - x[j * d + o]) }
                        }
                    }
                } }
            } } }
            normal += s
        }
        let total = inBlockOrder(try comm.allgatherv(normal), width: tri + p * d)
        return GlobalTrend(d: d, dMu: dMu, meanX: meanX, meanMu: meanMu, sigmaX: norm.sigmaX, sigmaMu: norm.sigmaMu,
                           coefficients: solveNormal(total, p: p, d: d))
    }

    /// The sum of consecutive `width`-long block vectors, added in block order.
    private static func inBlockOrder(_ all: [Double], width: Int) -> [Double] {
        var t = [Double](repeating: 0, count: width)
        for b in 0..<(all.count / max(width, 1)) { for i in 0..<width { t[i] += all[b * width + i] } }
        return t
    }

    /// Solves (FᵀF + ε I) B = Fᵀ(y − x) by Cholesky, FᵀF packed lower-triangular (row a holds
    /// columns 0…a) followed by Fᵀ(y − x), p × d. ε = 1e-10 × the largest diagonal keeps a
    /// column without spread (a constant μ, say) from breaking the factorisation; its
    /// coefficient comes out 0. All zero if the system is degenerate.
    static func solveNormal(_ t: [Double], p: Int, d: Int) -> [Double] {
        let tri = p * (p + 1) / 2
        var g = [Double](repeating: 0, count: p * p), largest = 0.0
        for a in 0..<p { largest = max(largest, t[a * (a + 1) / 2 + a]) }
        for a in 0..<p { for c in 0...a { g[a * p + c] = t[a * (a + 1) / 2 + c] }; g[a * p + a] += 1e-10 * largest }
        let l = Simulator.cholesky(g, p)
        guard (0..<p).allSatisfy({ l[$0 * p + $0] > 0 }) else { return [Double](repeating: 0, count: p * d) }
        var b = Array(t[tri ..< tri + p * d])
        for o in 0..<d {
            for a in 0..<p {
                var s = b[a * d + o]
                for m in 0..<a { s -= l[a * p + m] * b[m * d + o] }
                b[a * d + o] = s / l[a * p + a]
            }
            for a in stride(from: p - 1, through: 0, by: -1) {
                var s = b[a * d + o]
                for m in (a + 1)..<p { s -= l[m * p + a] * b[m * d + o] }
                b[a * d + o] = s / l[a * p + a]
            }
        }
        return b
    }
}
