import CKernels
import Foundation

/// Stage 1 of the method (docs/METHOD.md §2) on one rank: for each query, the exact K nearest data
/// pairs in the normalised space (`NeighbourIndex`), the joint (x, μ) kernel, the estimator's
/// adjustment (`LocalLinearFit`) and the probability-flow ODE from z to the label (`ODESolver`).
///
/// Per query it fills K-long, float32, component-major buffers (c·(y − x), |·|², log kernel) and
/// hands them to the C kernel, which fuses softmax, posterior mean and ODE step: no
/// (labels × K × d) temporary ever exists. Queries are searched in blocks of `searchBlock`, so an
/// index can batch its distance computations.
public struct Labeler {
    public let settings: LabelSettings
    public let normalisation: Normalisation
    /// Dimensions of x and μ.
    public let d: Int, dMu: Int
    /// The local search (nil for a labeler fed neighbour rows from elsewhere: `NeighbourExchange`).
    public let index: (any NeighbourIndex)?
    /// The shard in the index's slot order (`NeighbourIndex.slotOrder`). A query's K neighbours
    /// are then a few runs of consecutive slots for the cell list, so reading them streams
    /// memory. The only copy of the shard the labeler keeps.
    private let slots: NeighbourRows
    /// The global trend the neighbours' displacements were residualised against
    /// (`LabelTrend.global`; the rows hold c·(y − x − g)), added back per query. A var: the
    /// full basis's shrinkage is set after its pilot (`TrendPilot`).
    public var trend: GlobalTrend?

    /// A labeler without a shard of its own: only `label(_:found:rows:)`.
    public init(d: Int, dMu: Int, normalisation: Normalisation, settings: LabelSettings, trend: GlobalTrend? = nil) {
        self.settings = settings; self.normalisation = normalisation; self.d = d; self.dMu = dMu
        index = nil; slots = NeighbourRows(d: d, dMu: dMu); self.trend = trend
    }

    /// Queries searched at once.
    static let searchBlock = 32

    /// The compilation of the C kernel this CPU runs: "avx512", "avx2+fma" or "baseline".
    public static var kernelISA: String { String(cString: sdeflow_kernel_isa()) }

    /// `data` is the shard this rank holds, in ascending global id; `index` was built over its
    /// normalised points in that order.
    public init(data: PairBlock, index: any NeighbourIndex, normalisation: Normalisation, settings: LabelSettings,
                trend: GlobalTrend? = nil) {
        precondition(index.count == data.count)
        self.settings = settings; self.normalisation = normalisation; self.d = data.d; self.dMu = data.dMu
        self.index = index; self.trend = trend
        slots = NeighbourRows(data, rows: index.slotOrder.map(Int.init), scale: settings.scale)
    }

    /// Labels (count × d, scaled displacements) and the effective sample size of the kernel
    /// weights at the last ODE step (count), in query order, and the seconds spent in the
    /// neighbour search (the rest is the ODE). `progress(done)` is called now and then. When
    /// `stop()` turns true (asked between groups of `searchBlock` queries) the first `done`
    /// queries are labelled and the rest of the arrays is zero.
    public func label(_ queries: QueryBlock, progress: (Int) -> Void = { _ in }, stop: () -> Bool = { false })
        -> (labels: [Double], ess: [Double], searchSeconds: Double, done: Int)
    {
        precondition(d <= Int(SDEFLOW_MAX_DIM), "d = \(d) exceeds the kernel's limit \(SDEFLOW_MAX_DIM)")
        guard let index else { preconditionFailure("label(_:) needs a labeler built over a shard") }
        let k = settings.neighbors
        var work = QueryWork(settings: settings, d: d, dMu: dMu, trend: trend)
        var labels = [Double](repeating: 0, count: queries.count * d)
        var ess = [Double](repeating: 0, count: queries.count)
        var found = [Int32](repeating: 0, count: Self.searchBlock * k)
        let every = max(1, queries.count / 20)
        var searchNanos: UInt64 = 0, reported = 0, done = queries.count
        for start in stride(from: 0, to: queries.count, by: Self.searchBlock) {
            if stop() { done = start; break }
            let block = start..<min(start + Self.searchBlock, queries.count)
            let part = queries.slice(block)
            let t0 = DispatchTime.now().uptimeNanoseconds
            search(index, part, into: &found)
            searchNanos += DispatchTime.now().uptimeNanoseconds - t0
            let r = label(part, found: found, rows: slots, work: &work)
            labels.replaceSubrange(block.lowerBound * d ..< block.upperBound * d, with: r.labels)
            ess.replaceSubrange(block, with: r.ess)
            if block.upperBound / every > reported { reported = block.upperBound / every; progress(block.upperBound) }
        }
        return (labels, ess, Double(searchNanos) * 1e-9, done)
    }

    /// Labels and effective sample sizes of `queries`, given each query's K neighbours as rows
    /// of `rows`: `found[q·K ..< (q + 1)·K]`, in the index's canonical order (the order the
    /// sums run in, so it fixes the bits). The one per-query path of every search.
    public func label(_ queries: QueryBlock, found: [Int32], rows: NeighbourRows) -> (labels: [Double], ess: [Double]) {
        var work = QueryWork(settings: settings, d: d, dMu: dMu, trend: trend)
        return label(queries, found: found, rows: rows, work: &work)
    }

    /// The same with the caller's buffers (sized for K neighbours), reused across calls.
    private func label(_ queries: QueryBlock, found: [Int32], rows: NeighbourRows,
                       work: inout QueryWork) -> (labels: [Double], ess: [Double]) {
        let k = settings.neighbors
        var labels = [Double](repeating: 0, count: queries.count * d), ess = [Double](repeating: 0, count: queries.count)
        found.withUnsafeBufferPointer { f in
            for n in 0..<queries.count {
                let e = labelOne(queries, n, neighbours: UnsafeBufferPointer(rebasing: f[n * k ..< (n + 1) * k]), rows: rows,
                                 work: &work, into: &labels)
                ess[n] = Double(e)
            }
        }
        return (labels, ess)
    }

    /// One query: gather its neighbours, adjust them (estimator, trend), set up and run the solver;
    /// writes the label into `labels[n·d ..< (n + 1)·d]` and returns the effective sample size.
    private func labelOne(_ queries: QueryBlock, _ n: Int, neighbours: UnsafeBufferPointer<Int32>, rows: NeighbourRows,
                          work: inout QueryWork, into labels: inout [Double]) -> Float {
        let kn = neighbours.count
        if let v = adjust(queries, n, neighbours, rows, &work)?.meanFactor, let trend {
            queries.x.withUnsafeBufferPointer { x in queries.mu.withUnsafeBufferPointer { mu in
                _ = trend.shift(deltas: &work.delta, weights: work.weights, count: kn, varianceFactor: v,
                                x: x.baseAddress! + n * d, mu: mu.baseAddress! + n * dMu, scale: settings.scale)
            } }
        }
        work.solver.prepare(delta: work.delta, weights: work.weights, count: kn, d: d)
        work.fillKernelBuffers(count: kn, d: d)
        for i in 0..<d { work.z[i] = Float(queries.z[n * d + i]) }
        let e = work.solver.integrate(d: d, kPad: work.kPad, deltaT: work.deltaT, norm2: work.norm2, kern: work.kern,
                                      z: &work.z, scratch: &work.scratch)
        for i in 0..<d { labels[n * d + i] = Double(work.z[i]) }
        return e
    }

    /// Gathers query n's neighbours into `work` with their kernel weights and moves them to the
    /// query (the estimator's local fit), their noise scale drawn toward the trend's noise model.
    /// With a trend, returns the variance factor of their mean, the local deviation
    /// (`GlobalTrend.deviation`), and the χ² of the noise scale's deviation (`noiseDeviation`).
    private func adjust(_ queries: QueryBlock, _ n: Int, _ neighbours: UnsafeBufferPointer<Int32>, _ rows: NeighbourRows,
                        _ work: inout QueryWork) -> (meanFactor: Double, noiseChiSquare: Double?)? {
        let kn = neighbours.count
        let maxLogK = gather(queries, n, neighbours, rows, &work)
        if settings.estimator.fitsLocally || work.solver.needsWeights || trend != nil {
            for slot in 0..<kn { work.weights[slot] = exp(work.logKernel[slot] - maxLogK) }
        }
        if settings.estimator.fitsLocally {
            work.fit.adjust(offsets: work.offsets, deltas: &work.delta, weights: work.weights, count: kn)
        }
        guard trend != nil else { return nil }
        // Of the offsets and weights alone, so the noise step below does not change it.
        let v = settings.estimator.fitsLocally
            ? work.fit.interceptVarianceFactor(offsets: work.offsets, weights: work.weights, count: kn)
            : LocalLinearFit.weightedMeanVarianceFactor(weights: work.weights, count: kn)
        return (v, drawNoiseTowardTrend(queries, n, meanFactor: v, &work))
    }

    /// The neighbours' weighted mean square about their weighted mean m, V = Σ w_j |Δ_j − m|² / Σ w_j,
    /// and its deviation from the trend's noise model s_g: the χ² (V − s_g)²/Var(V), Var(V) from
    /// the spread of the |Δ_j − m|² times the scale fit's variance factor (`meanFactor`, the mean
    /// fit's, when the scale is fitted on the same columns). Nil without a model.
    private func noiseDeviation(_ queries: QueryBlock, _ n: Int, meanFactor: Double, _ work: inout QueryWork)
        -> (mean: [Double], local: Double, global: Double, chiSquare: Double?)? {
        guard let trend, trend.noise != nil, settings.estimator.fitsLocally, work.fit.fitted else { return nil }
        let global = queries.x.withUnsafeBufferPointer { x in queries.mu.withUnsafeBufferPointer { mu in
            trend.noiseScale(x: x.baseAddress! + n * d, mu: mu.baseAddress! + n * dMu, scale: settings.scale) ?? 0
        } }
        let kn = settings.neighbors
        var total = 0.0, m = [Double](repeating: 0, count: d), local = 0.0, spread = 0.0
        for j in 0..<kn { total += work.weights[j]; for o in 0..<d { m[o] += work.weights[j] * work.delta[j * d + o] } }
        guard total > 0 else { return nil }
        for o in 0..<d { m[o] /= total }
        func square(_ j: Int) -> Double { (0..<d).reduce(0.0) { let r = work.delta[j * d + $1] - m[$1]; return $0 + r * r } }
        for j in 0..<kn { local += work.weights[j] * square(j) }
        local /= total
        for j in 0..<kn { let e = square(j) - local; spread += work.weights[j] * e * e }
        let factor = work.fit.scaleVarianceFactor(weights: work.weights, count: kn) ?? meanFactor
        let variance = factor * spread / total
        return (m, local, global, variance > 0 ? (local - global) * (local - global) / variance : nil)
    }

    /// Stretches the neighbours' residuals about their weighted mean so that their mean square
    /// goes from the local V to the one the trend's noise model keeps (`NoiseTrend.stretch`).
    /// Returns the deviation's χ² (nil: none).
    private func drawNoiseTowardTrend(_ queries: QueryBlock, _ n: Int, meanFactor: Double, _ work: inout QueryWork) -> Double? {
        guard let noise = trend?.noise, let (m, local, global, chi2) = noiseDeviation(queries, n, meanFactor: meanFactor, &work)
        else { return nil }
        let f = noise.stretch(local: local, global: global, chiSquare: chi2)
        if f != 1 {
            for j in 0..<settings.neighbors { for o in 0..<d { work.delta[j * d + o] = m[o] + f * (work.delta[j * d + o] - m[o]) } }
        }
        return chi2
    }

    /// χ² of each query's local deviation from the trend and of its noise scale's deviation from
    /// the noise model, two per query (NaN where there is none): the label's steps up to the
    /// shrinkage, no ODE. The pilot's input (`TrendPilot`); the neighbours as in
    /// `label(_:found:rows:)`.
    public func deviationChiSquares(_ queries: QueryBlock, found: [Int32], rows: NeighbourRows) -> [Double] {
        guard let trend else { return [] }
        let k = settings.neighbors
        var work = QueryWork(settings: settings, d: d, dMu: dMu, trend: trend)
        return found.withUnsafeBufferPointer { f in
            (0..<queries.count).flatMap { n in
                let a = adjust(queries, n, UnsafeBufferPointer(rebasing: f[n * k ..< (n + 1) * k]), rows, &work)
                let mean = trend.deviation(deltas: work.delta, weights: work.weights, count: k, varianceFactor: a?.meanFactor ?? 0)
                return [mean.chiSquare ?? .nan, a?.noiseChiSquare ?? .nan]
            }
        }
    }

    /// The same over this labeler's own shard and index (halo shards).
    public func deviationChiSquares(_ queries: QueryBlock) -> [Double] {
        guard let index else { preconditionFailure("deviationChiSquares(_:) needs a labeler built over a shard") }
        var out = [Double](), found = [Int32](repeating: 0, count: Self.searchBlock * settings.neighbors)
        for start in stride(from: 0, to: queries.count, by: Self.searchBlock) {
            let part = queries.slice(start..<min(start + Self.searchBlock, queries.count))
            search(index, part, into: &found)
            out += deviationChiSquares(part, found: found, rows: slots)
        }
        return out
    }

    /// The K nearest shard slots of each query of `part` (at most `searchBlock`) into `found`.
    private func search(_ index: any NeighbourIndex, _ part: QueryBlock, into found: inout [Int32]) {
        let points = normalisation.points(x: part.x, mu: part.mu)
        points.withUnsafeBufferPointer { p in
            found.withUnsafeMutableBufferPointer { index.nearest(p.baseAddress!, count: part.count, k: settings.neighbors, into: $0.baseAddress!) }
        }
    }

    /// Copies the neighbours' displacements, their offsets from the query (x, μ and any cross
    /// terms) and log kernel weights into `work`; returns the largest log kernel weight.
    private func gather(_ queries: QueryBlock, _ n: Int, _ neighbours: UnsafeBufferPointer<Int32>, _ rows: NeighbourRows,
                        _ work: inout QueryWork) -> Double {
        let p = work.p, crossTerms = p > d + dMu
        let ix = 1 / (2 * settings.nuX * settings.nuX), imu = 1 / (2 * settings.nuMu * settings.nuMu)
        var maxLogK = -Double.infinity
        rows.delta.withUnsafeBufferPointer { sd in
            rows.x.withUnsafeBufferPointer { sx in
                rows.mu.withUnsafeBufferPointer { smu in
                    for (slot, j32) in neighbours.enumerated() {
                        let j = Int(j32)
                        var logK = 0.0
                        for i in 0..<d {
                            work.delta[slot * d + i] = sd[j * d + i]
                            let dx = sx[j * d + i] - queries.x[n * d + i]
                            work.offsets[slot * p + i] = dx
                            logK -= dx * dx * ix
                        }
                        for i in 0..<dMu {
                            let dm = smu[j * dMu + i] - queries.mu[n * dMu + i]
                            work.offsets[slot * p + d + i] = dm
                            logK -= dm * dm * imu
                            if crossTerms { for a in 0..<d { work.offsets[slot * p + d + dMu + i * d + a] = dm * work.offsets[slot * p + a] } }
                        }
                        work.logKernel[slot] = logK
                        maxLogK = max(maxLogK, logK)
                    }
                }
            }
        }
        return maxLogK
    }
}

/// The reusable buffers of one query's label, sized once per `label` call: per-neighbour
/// values in Double (c·(y − x), K × d; offsets, K × p; log kernel and weights, K) and the
/// float32 kernel buffers (K padded to 16; padded entries keep kern = −∞).
struct QueryWork {
    let p: Int, kPad: Int
    var delta: [Double], offsets: [Double], logKernel: [Double], weights: [Double]
    var deltaT: [Float], norm2: [Float], kern: [Float], scratch: [Float], z: [Float]
    var fit: LocalLinearFit
    var solver: any LabelODEIntegrator

    init(settings: LabelSettings, d: Int, dMu: Int, trend: GlobalTrend?) {
        let k = settings.neighbors
        p = settings.estimator.fitColumns(d: d, dMu: dMu)
        kPad = (k + 15) / 16 * 16
        delta = [Double](repeating: 0, count: k * d); offsets = [Double](repeating: 0, count: k * p)
        logKernel = [Double](repeating: 0, count: k); weights = logKernel
        deltaT = [Float](repeating: 0, count: d * kPad); norm2 = [Float](repeating: 0, count: kPad)
        kern = [Float](repeating: -.infinity, count: kPad); scratch = norm2; z = [Float](repeating: 0, count: d)
        let varies = (trend?.noiseStateVariation ?? 0) >= LabelEstimator.stateNoiseThreshold
        fit = LocalLinearFit(p: p, d: d, curvatureBase: settings.estimator.curvatureColumns(d: d, dMu: dMu, stateDependentNoise: varies))
        solver = settings.solver.integrator(settings, d: d)
    }

    /// The float32 component-major copies the C kernel reads (|Δ|² from the float32 values).
    mutating func fillKernelBuffers(count kn: Int, d: Int) {
        for slot in 0..<kn {
            var n2 = 0.0
            for i in 0..<d {
                let f = Float(delta[slot * d + i])
                deltaT[i * kPad + slot] = f
                n2 += Double(f) * Double(f)
            }
            norm2[slot] = Float(n2)
            kern[slot] = Float(logKernel[slot])
        }
    }
}
