import Foundation

extension GlobalTrend {
    /// Fits the trend to every pair, collectively. Each rank sums over its rows in blocks of
    /// `blockRows` (`BlockSums`), and the per-block sums are added in block order, as for σ_x
    /// and σ_μ: the coefficients are the same bits for any rank count.
    /// - d ≥ 3 (the separable basis): ordinary least squares on all columns, from the normal
    ///   equations FᵀF and Fᵀ(y − x): N × (p²/2 + p·d) multiply-adds, p = `columns` (42 at
    ///   d = 10: about a second per 10⁶ pairs).
    /// - d ≤ 2 (the full basis): `fitFullBasis`, three such passes of p ≤ 35 columns.
    /// Between blocks the ranks agree on `stop` (`BlockSums`), which throws `StopAgreed`.
    static func fit(_ comm: any Collective, _ block: PairBlock, normalisation norm: Normalisation,
                    blockRows: Int, blockCount: Int, stop: StopRequest = .never) throws -> GlobalTrend {
        let d = block.d, dMu = block.dMu
        let sums = try BlockSums(comm: comm, block: block, blockRows: blockRows, blockCount: blockCount, stop: stop)
        let n = Double(try comm.allreduce(Int64(block.count), .sum))
        let means = try sums.total(width: d + dMu) { j, s in
            for i in 0..<d { s[i] += block.x[j * d + i] }
            for a in 0..<dMu { s[d + a] += block.mu[j * dMu + a] }
        }.map { $0 / max(n, 1) }
        let meanX = Array(means.prefix(d)), meanMu = Array(means.suffix(dMu))
        let shape = GlobalTrend(d: d, dMu: dMu, meanX: meanX, meanMu: meanMu, sigmaX: norm.sigmaX, sigmaMu: norm.sigmaMu,
                                coefficients: [])  // the columns, before the coefficients exist
        let (coefficients, noise): ([Double], NoiseTrend?) = shape.monomials == nil
            ? (solveNormal(try shape.normalEquations(sums), p: shape.columns, d: d), nil) : try shape.fitFullBasis(sums, n: n)
        return GlobalTrend(d: d, dMu: dMu, meanX: meanX, meanMu: meanMu, sigmaX: norm.sigmaX, sigmaMu: norm.sigmaMu,
                           coefficients: coefficients, noise: noise)
    }

    /// Packed FᵀF (row a holds columns 0…a) and Fᵀ(y − x) (p × d) over every pair.
    private func normalEquations(_ sums: BlockSums) throws -> [Double] {
        let p = columns, tri = p * (p + 1) / 2, block = sums.block
        return try sums.total(width: tri + p * d, features: self) { j, f, s in
            for a in 0..<p {
                let fa = f[a], row = a * (a + 1) / 2
                for c in 0...a { s[row + c] += fa * f[c] }
                for o in 0..<d { s[tri + a * d + o] += fa * (block.y[j * d + o] - block.x[j * d + o]) }
            }
        }
    }

    /// The full basis, by feasible weighted least squares and backward elimination. Why weighted: with
    /// state-dependent noise, ordinary least squares lets the noisiest pairs set the
    /// high-degree columns (gbm, noise ∝ x: x̃³ came out with t = −17 for a drift linear in x,
    /// and the trend was 0.0024 off at the median state; weighted, 0.0008). So:
    /// 1. ordinary least squares on the columns up to degree 3, residuals r;
    /// 2. the noise variance v_o(x, μ) of each component: r_o² regressed on the monomials up to
    ///    degree 2, floored at 5 % of the mean r_o² (a fit that dips toward 0 or below);
    /// 3. per component, least squares weighted by 1/v_o, then backward elimination: while some
    ///    column other than the constant has t² = β²/(s²·[(F_SᵀWF_S)⁻¹]_jj) below 4, the weakest
    ///    goes; the higher powers of x (d = 1) only under a stricter test
    ///    (`selectWithHigherPowers`, which needs the sums over half the pairs too).
    /// 4. the noise model (`NoiseTrend`): |r|² of the weighted fit's residuals over all d
    ///    components, on every column, weighted by 1/v̂² (a squared residual's variance is 2v²
    ///    for Gaussian noise), selected as in step 3; twice: v̂ = Σ_o v_o of step 2,
    ///    then the first fit itself. Step 2's degree-2 model is far off where the noise is small
    ///    (gbm's 5 % state at μ = −0.5: +150 %), and weighted by it the model read that state's
    ///    noise 3 % low; refitted with its own weights, 0.4 % (numpy, gbm's data).
    private func fitFullBasis(_ sums: BlockSums, n: Double) throws -> (mean: [Double], noise: NoiseTrend) {
        let p = columns, tri = p * (p + 1) / 2, width = tri + p + 1, block = sums.block, cubic = cubicColumns, split = p > cubic
        let normal = try normalEquations(sums)
        let ols = Self.solveNormal(Array(normal.prefix(cubic * (cubic + 1) / 2)) + normal[tri ..< tri + cubic * d], p: cubic, d: d)
        // The variance model's columns are the first q monomials (those up to degree 2), so its
        // Gram matrix is the leading block of the packed FᵀF already summed; this pass adds
        // Fᵀr² and Σr² per component.
        let q = monomials!.prefix { $0.reduce(0, +) <= 2 }.count, qt = q * (q + 1) / 2
        let v = try sums.total(width: q * d + d, features: self) { j, f, s in
            for o in 0..<d {
                var g = 0.0
                for a in 0..<cubic { g += f[a] * ols[a * d + o] }
                let r = block.y[j * d + o] - block.x[j * d + o] - g, r2 = r * r
                for a in 0..<q { s[a * d + o] += f[a] * r2 }
                s[q * d + o] += r2
            }
        }
        let variance = Self.solveNormal(Array(normal.prefix(qt)) + v.prefix(q * d), p: q, d: d)
        let floor = (0..<d).map { 0.05 * v[q * d + $0] / max(n, 1) }
        // Per component: the weighted normal equations over all pairs, then over the even half
        // (summed only where higher powers are offered, `split`: d = 1).
        let weighted = try sums.total(width: 2 * d * width, features: self) { j, f, s in
            for o in 0..<d {
                var vo = 0.0
                for a in 0..<q { vo += f[a] * variance[a * d + o] }
                let w = 1 / max(vo, floor[o], .leastNormalMagnitude), y = block.y[j * d + o] - block.x[j * d + o]
                for base in sums.halves(j, 2 * o * width, width, split: split) {
                    for a in 0..<p {
                        let wf = w * f[a], row = base + a * (a + 1) / 2
                        for c in 0...a { s[row + c] += wf * f[c] }
                        s[base + tri + a] += wf * y
                    }
                    s[base + tri + p] += w * y * y
                }
            }
        }
        var out = [Double](repeating: 0, count: p * d)
        for o in 0..<d {
            let beta = Self.selectWithHigherPowers(Array(weighted[2 * o * width ..< 2 * (o + 1) * width]), p: p, cubic: cubic, n: n)
            for a in 0..<p { out[a * d + o] = beta[a] }
        }
        // A fifth of step 2's floor: the noise model is read relative to the local noise, and
        // where that is small (gbm near 0: 6 % of the mean) a floor at 5 % would set it.
        let noiseFloor = floor.reduce(0, +) / 5
        let first = try noiseModel(sums, mean: out, n: n) { f in
            var vHat = 0.0
            for o in 0..<d {
                var vo = 0.0
                for a in 0..<q { vo += f[a] * variance[a * d + o] }
                vHat += max(vo, floor[o] / 5)
            }
            return vHat
        }
        let second = try noiseModel(sums, mean: out, n: n) { f in
            var s = 0.0
            for a in 0..<p { s += f[a] * first[a] }
            return max(s, noiseFloor)
        }
        return (out, NoiseTrend(coefficients: second, floor: noiseFloor))
    }

    /// Step 4's fit: |y − x − g|² (g from the `mean` coefficients, p × d) on every column,
    /// weighted by 1/v², v = `variance(features)`, selected as the mean is (`selectWithHigherPowers`).
    private func noiseModel(_ sums: BlockSums, mean: [Double], n: Double,
                            variance: (UnsafeMutablePointer<Double>) -> Double) throws -> [Double] {
        let p = columns, tri = p * (p + 1) / 2, block = sums.block
        let width = tri + p + 1
        let squares = try sums.total(width: 2 * width, features: self) { j, f, s in
            var r2 = 0.0
            for o in 0..<d {
                var g = 0.0
                for a in 0..<p { g += f[a] * mean[a * d + o] }
                let r = block.y[j * d + o] - block.x[j * d + o] - g
                r2 += r * r
            }
            let v = variance(f), w = 1 / max(v * v, .leastNormalMagnitude)
            for base in sums.halves(j, 0, width, split: p > cubicColumns) {
                for a in 0..<p {
                    let wf = w * f[a], row = base + a * (a + 1) / 2
                    for c in 0...a { s[row + c] += wf * f[c] }
                    s[base + tri + a] += wf * r2
                }
                s[base + tri + p] += w * r2 * r2
            }
        }
        return Self.selectWithHigherPowers(squares, p: p, cubic: cubicColumns, n: n)
    }
}

/// Per-block sums over a rank's rows, combined across ranks in block order: the one way the
/// trend's fit adds over pairs, so every sum has the same bits for any rank count. Before every
/// block the ranks agree on `stop`, as the label loop does between its blocks: the fit's passes
/// took 50 s at 4·10⁷ pairs, and a stop signal was answered only after them.
struct BlockSums {
    let comm: any Collective
    let block: PairBlock
    let blockRows: Int, blockCount: Int
    let stop: StopRequest
    /// The most blocks any rank holds: every rank agrees on `stop` this many times per pass.
    let rounds: Int

    init(comm: any Collective, block: PairBlock, blockRows: Int, blockCount: Int, stop: StopRequest = .never) throws {
        self.comm = comm; self.block = block; self.blockRows = blockRows; self.blockCount = blockCount; self.stop = stop
        rounds = Int(try comm.allreduce(Int64(blockCount), .max))
    }

    /// Where row `j`'s terms go in sums laid out as [all pairs | the even half], each `width`
    /// long from `start`: the first, and the second too for a row at an even offset in its
    /// block, when `split` (the second stays 0 otherwise: only the higher powers' selection reads
    /// it). Blocks are global (a rank's rows start at a block), so the halves are the same pairs
    /// on any rank count.
    func halves(_ j: Int, _ start: Int, _ width: Int, split: Bool) -> StrideThrough<Int> {
        stride(from: start, through: split && (j % blockRows) % 2 == 0 ? start + width : start, by: width)
    }

    /// Σ over every pair of what `add(row, sums)` adds, `width` values.
    func total(width: Int, _ add: (Int, inout [Double]) -> Void) throws -> [Double] {
        var all = [Double]()
        all.reserveCapacity(blockCount * width)
        for b in 0..<rounds {
            try stop.check(comm)
            guard b < blockCount else { continue }
            var s = [Double](repeating: 0, count: width)
            for j in b * blockRows ..< min((b + 1) * blockRows, block.count) { add(j, &s) }
            all += s
        }
        let gathered = try comm.allgatherv(all)
        var t = [Double](repeating: 0, count: width)
        for b in 0..<(gathered.count / max(width, 1)) { for i in 0..<width { t[i] += gathered[b * width + i] } }
        return t
    }

    /// The same with each row's trend features `f` at hand: `add(row, f, sums)`.
    func total(width: Int, features trend: GlobalTrend,
               _ add: (Int, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>) -> Void) throws -> [Double] {
        var f = [Double](repeating: 0, count: trend.columns)
        let d = block.d, dMu = block.dMu
        return try block.x.withUnsafeBufferPointer { x in try block.mu.withUnsafeBufferPointer { mu in
            try f.withUnsafeMutableBufferPointer { f in
                try total(width: width) { j, s in
                    trend.features(x: x.baseAddress! + j * d, mu: mu.baseAddress! + j * dMu, into: f.baseAddress!)
                    s.withUnsafeMutableBufferPointer { add(j, f.baseAddress!, $0.baseAddress!) }
                }
            }
        } }
    }
}
