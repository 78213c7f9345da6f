/// A quadratic model of the labels' conditional mean and spread in (x, μ), which the network
/// works relative to: G = m̂(x, μ) + ŝ(x, μ) ⊙ H(x, μ, z), the network giving H (docs/METHOD.md §3).
///
/// Why: a network's error is about the same size everywhere in its output units. Where the
/// diffusion is small against the drift's range (CIR or geometric Brownian motion near 0) the
/// noise part of G is a small slope in z on top of a large mean, and the network flattened it:
/// trained on exact labels, CIR's variance from the data's 5 % state came out 1.4 % low. H has
/// mean ≈ 0 and spread ≈ 1 at every (x, μ), so its error is relative to the local spread.
///
/// Units: everything is in the network's standardised units (`Standardizer`): `u` is the
/// standardised (x, μ), the first d + dμ network inputs; m̂ and ŝ are in standardised output
/// units. `u` is clamped to the training rows' box before the polynomial is evaluated, so
/// rollouts that leave the data see m̂ and ŝ of its edge, never a quadratic's growth. ŝ² is a
/// quadratic fitted to the squared residuals, clamped to within `spreadRange` of the component's
/// root-mean-square residual: unweighted, it went ≤ 0 on 373 of gbm's 45 000 rows and put H at up to
/// 36 sd there; refitted with weights 1/ŝ² it misses by a few per cent where the noise is smallest.
/// The network does not correct that, so by default the prior is used only where
/// `OutputPriorCheck` finds it fits (docs/METHOD.md §6.9).
public struct OutputPrior: Codable, Sendable, Equatable {
    /// d + dμ, the polynomial's variables.
    public var dims: Int
    /// Per variable, the training rows' range of u.
    public var lower: [Double], upper: [Double]
    /// d × `termCount` coefficients of m̂ and of ŝ², and per component the bounds of ŝ.
    public var mean: [Double], variance: [Double]
    public var minSpread: [Double], maxSpread: [Double]

    /// ŝ stays within this factor of the component's root-mean-square residual.
    public static let spreadRange = 10.0
    /// Fitted only for d + dμ up to this: its terms grow as (d + dμ)²/2.
    public static let maxDims = 6

    public var outputs: Int { mean.count / Self.termCount(dims) }

    /// 1, u_i, u_i u_j (i ≤ j).
    public static func termCount(_ dims: Int) -> Int { 1 + dims + dims * (dims + 1) / 2 }

    /// The terms at `u` (clamped into the box) into `out` (`termCount` values).
    func terms(_ u: UnsafeBufferPointer<Float>, into out: inout [Double]) {
        out[0] = 1
        var k = 1
        for i in 0..<dims { out[k] = min(max(Double(u[i]), lower[i]), upper[i]); k += 1 }
        for i in 0..<dims { for j in i..<dims { out[k] = out[1 + i] * out[1 + j]; k += 1 } }
    }

    /// Least squares of the targets (`rows` × d, standardised) on the terms of `inputs` (`rows`
    /// rows of `width` standardised network inputs, u = the first `dims`), then of the squared
    /// residuals on the same terms. Nil when there are too few rows or too many variables.
    public static func fit(inputs: [Float], width: Int, dims: Int, targets: [Float], d: Int) -> OutputPrior? {
        let rows = targets.count / d, p = termCount(dims)
        guard dims <= maxDims, rows >= 4 * p else { return nil }
        var lower = [Double](repeating: .infinity, count: dims), upper = [Double](repeating: -.infinity, count: dims)
        for r in 0..<rows { for i in 0..<dims { let v = Double(inputs[r * width + i]); lower[i] = min(lower[i], v); upper[i] = max(upper[i], v) } }
        var prior = OutputPrior(dims: dims, lower: lower, upper: upper, mean: [], variance: [],
                                minSpread: [Double](repeating: 0, count: d), maxSpread: [Double](repeating: .infinity, count: d))
        let design = prior.design(inputs, width: width, rows: rows)
        // Twice: unweighted, then weighted by 1/ŝ² (m̂) and 1/ŝ⁴ (ŝ²) of the first fit, so that both
        // are right relative to the spread where the spread is small.
        var weights: [Double]? = nil
        for _ in 0..<2 {
            var squares = [Double](repeating: 0, count: rows * d)
            prior.mean = leastSquares(design, p: p, rows: rows, targets: targets.map(Double.init), d: d, weights: weights)
            for r in 0..<rows {
                for o in 0..<d {
                    let e = Double(targets[r * d + o]) - component(prior.mean, o, at: design[r * p ..< (r + 1) * p])
                    squares[r * d + o] = e * e
                }
            }
            prior.variance = leastSquares(design, p: p, rows: rows, targets: squares, d: d, weights: weights.map { $0.map { $0 * $0 } })
            for o in 0..<d {
                let rms = (stride(from: o, to: squares.count, by: d).reduce(0.0) { $0 + squares[$1] } / Double(rows)).squareRoot()
                guard rms > 0, rms.isFinite else { return nil }
                prior.minSpread[o] = rms / spreadRange; prior.maxSpread[o] = rms * spreadRange
            }
            let spread = inputs.withUnsafeBufferPointer { prior.evaluate($0, width: width, rows: rows).spread }
            weights = spread.map { 1 / ($0 * $0) }
        }
        return prior
    }

    /// rows × termCount.
    private func design(_ inputs: [Float], width: Int, rows: Int) -> [Double] {
        let p = Self.termCount(dims)
        var design = [Double](repeating: 0, count: rows * p), t = [Double](repeating: 0, count: p)
        inputs.withUnsafeBufferPointer { all in
            for r in 0..<rows {
                terms(UnsafeBufferPointer(rebasing: all[r * width ..< r * width + dims]), into: &t)
                design.replaceSubrange(r * p ..< (r + 1) * p, with: t)
            }
        }
        return design
    }

    /// Coefficients (d × p) of the normal equations per output, rows weighted by `weights`
    /// (rows × d; nil: alike), with a ridge of 1e-10 of the diagonal's mean so that a constant
    /// column (one observed μ) does not make them singular.
    private static func leastSquares(_ design: [Double], p: Int, rows: Int, targets: [Double], d: Int, weights: [Double]?) -> [Double] {
        (0..<d).flatMap { o -> [Double] in
            var gram = [Double](repeating: 0, count: p * p), rhs = [Double](repeating: 0, count: p)
            for r in 0..<rows {
                let w = weights?[r * d + o] ?? 1, y = targets[r * d + o]
                for a in 0..<p {
                    let xa = w * design[r * p + a]
                    for b in 0..<p { gram[a * p + b] += xa * design[r * p + b] }
                    rhs[a] += xa * y
                }
            }
            let ridge = 1e-10 * (0..<p).reduce(0.0) { $0 + gram[$1 * p + $1] } / Double(p)
            for a in 0..<p { gram[a * p + a] += ridge }
            return MatrixFunctions.solve(gram, rhs, n: p, columns: 1)
        }
    }

    /// The unclamped quadratic ŝ² of every component (d values) at one row's u (the first `dims`
    /// standardised inputs; u itself clamped into the box), for `OutputPriorCheck`.
    func rawVariance(_ u: UnsafeBufferPointer<Float>) -> [Double] {
        let p = Self.termCount(dims)
        var t = [Double](repeating: 0, count: p)
        terms(u, into: &t)
        return (0..<outputs).map { Self.component(variance, $0, at: t[...]) }
    }

    /// Output `o` of a polynomial with these coefficients (outputs × termCount) at `terms`, summed
    /// in term order.
    @inline(__always)
    static func component(_ coefficients: [Double], _ o: Int, at terms: ArraySlice<Double>) -> Double {
        var v = 0.0, k = o * terms.count
        for t in terms { v += t * coefficients[k]; k += 1 }
        return v
    }

    /// m̂ and ŝ (each rows × d) at the rows' standardised inputs (`rows` × `width`).
    public func evaluate(_ inputs: UnsafeBufferPointer<Float>, width: Int, rows: Int) -> (mean: [Double], spread: [Double]) {
        let p = Self.termCount(dims), d = outputs
        var t = [Double](repeating: 0, count: p), m = [Double](repeating: 0, count: rows * d), s = m
        for r in 0..<rows {
            terms(UnsafeBufferPointer(rebasing: inputs[r * width ..< r * width + dims]), into: &t)
            for o in 0..<d {
                m[r * d + o] = Self.component(mean, o, at: t[...])
                s[r * d + o] = min(max(max(Self.component(variance, o, at: t[...]), 0).squareRoot(), minSpread[o]), maxSpread[o])
            }
        }
        return (m, s)
    }

    /// Network targets from standardised outputs: H = (y − m̂) / ŝ, in place.
    public func residuals(_ targets: inout [Float], inputs: [Float], width: Int) {
        let d = outputs, rows = targets.count / d
        let (m, s) = inputs.withUnsafeBufferPointer { evaluate($0, width: width, rows: rows) }
        for k in 0..<targets.count { targets[k] = Float((Double(targets[k]) - m[k]) / s[k]) }
    }

    /// Standardised outputs from network outputs: y = m̂ + ŝ ⊙ H (rows × d, in place).
    public func restore(_ values: inout [Float], inputs: [Float], width: Int) {
        let rows = values.count / outputs
        let (m, s) = inputs.withUnsafeBufferPointer { evaluate($0, width: width, rows: rows) }
        for k in 0..<values.count { values[k] = Float(m[k] + s[k] * Double(values[k])) }
    }
}
