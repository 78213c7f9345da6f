import CKernels
import Foundation

/// Stage 1 of the method (METHOD.md §2): for each query, the exact K nearest data pairs in the
/// normalised space, the joint (x, μ) kernel, and the probability-flow ODE from z to the label.
///
/// Per query it fills K-long, float32, component-major buffers (c·(y − x), |·|², log kernel) —
/// with the local estimators the displacements first moved to the query (`LocalLinear.swift`) — and
/// hands them to the C kernel, which fuses softmax, posterior mean and ODE step (`ODESolver`:
/// the paper's Euler or the exponential integrator): no (labels × K × d) temporary ever exists.
public struct Labeler {
    public let settings: LabelSettings
    public let normalisation: Normalisation
    /// Dimensions of x and μ.
    public let d: Int, dMu: Int
    public let index: NearestNeighbours
    /// The shard in the index's slot order (`NearestNeighbours.slotOrder`): c·(y − x) (n × d),
    /// x (n × d), μ (n × dMu). A query's K neighbours are a few runs of consecutive slots, so
    /// reading them streams memory; in the shard's own order they are K cache misses. The only
    /// copy of the shard the labeler keeps.
    private let slotDelta: [Double], slotX: [Double], slotMu: [Double]

    /// The compilation of the C kernel this CPU runs: "avx512", "avx2+fma" or "baseline".
    public static var kernelISA: String { String(cString: sdeflow_kernel_isa()) }

    /// `data` is the shard this rank holds, in ascending global id.
    public init(data: PairBlock, geometry: GridGeometry, normalisation: Normalisation, settings: LabelSettings) {
        let dims = normalisation.dims, n = data.count
        var points = [Double](repeating: 0, count: n * dims)
        data.x.withUnsafeBufferPointer { x in
            data.mu.withUnsafeBufferPointer { mu in
                points.withUnsafeMutableBufferPointer { p in
                    for j in 0..<n {
                        normalisation.point(x: x.baseAddress! + j * data.d, mu: mu.baseAddress! + j * data.dMu,
                                            into: p.baseAddress! + j * dims)
                    }
                }
            }
        }
        self.settings = settings; self.normalisation = normalisation; self.d = data.d; self.dMu = data.dMu
        let index = NearestNeighbours(points: points, geometry: geometry)
        self.index = index
        let d = data.d, dMu = data.dMu, c = settings.scale, order = index.slotOrder
        var delta = [Double](repeating: 0, count: n * d), x = delta, mu = [Double](repeating: 0, count: n * dMu)
        for (slot, j32) in order.enumerated() {
            let j = Int(j32)
            for i in 0..<d {
                delta[slot * d + i] = c * (data.y[j * d + i] - data.x[j * d + i])
                x[slot * d + i] = data.x[j * d + i]
            }
            for i in 0..<dMu { mu[slot * dMu + i] = data.mu[j * dMu + i] }
        }
        slotDelta = delta; slotX = x; slotMu = mu
    }

    /// Labels (count × d, scaled displacements) and the effective sample size of the kernel
    /// weights at the last ODE step (count), in query order, and the seconds spent in the
    /// neighbour search (the rest is the ODE). `progress(done)` is called now and then.
    public func label(_ queries: QueryBlock, progress: (Int) -> Void = { _ in })
        -> (labels: [Double], ess: [Double], searchSeconds: Double)
    {
        let k = settings.neighbors
        precondition(d <= Int(SDEFLOW_MAX_DIM), "d = \(d) exceeds the kernel's limit \(SDEFLOW_MAX_DIM)")
        let kPad = (k + 15) / 16 * 16
        var deltaT = [Float](repeating: 0, count: d * kPad)
        var norm2 = [Float](repeating: 0, count: kPad)
        var kern = [Float](repeating: -.infinity, count: kPad)
        var scratch = [Float](repeating: 0, count: kPad)
        var z = [Float](repeating: 0, count: d)
        // Per-neighbour values in Double before the float32 kernel buffers: c·(y − x) (K × d),
        // offsets from the query (K × p), log kernel and weights (K).
        let p = settings.estimator.fitColumns(d: d, dMu: dMu), crossTerms = p > d + dMu
        var tauGrid = ODESolver.tauGrid(steps: settings.odeSteps)
        var kappa = [Float](repeating: 0.5, count: d)
        var delta = [Double](repeating: 0, count: k * d), offsets = [Double](repeating: 0, count: k * p)
        var logKernel = [Double](repeating: 0, count: k), weights = [Double](repeating: 0, count: k)
        var fit = LocalLinearFit(p: p, d: d)
        var q = [Double](repeating: 0, count: normalisation.dims)
        var search = NearestNeighbours.Scratch()
        var labels = [Double](repeating: 0, count: queries.count * d)
        var ess = [Double](repeating: 0, count: queries.count)
        let ix = 1 / (2 * settings.nuX * settings.nuX), imu = 1 / (2 * settings.nuMu * settings.nuMu)
        let every = max(1, queries.count / 20)
        var searchNanos: UInt64 = 0

        for n in 0..<queries.count {
            let searchStart = DispatchTime.now().uptimeNanoseconds
            let neighbours = queries.x.withUnsafeBufferPointer { qx in
                queries.mu.withUnsafeBufferPointer { qmu in
                    q.withUnsafeMutableBufferPointer {
                        normalisation.point(x: qx.baseAddress! + n * d, mu: qmu.baseAddress! + n * dMu, into: $0.baseAddress!)
                    }
                    return q.withUnsafeBufferPointer { index.nearest($0.baseAddress!, k: k, scratch: &search, slots: true) }
                }
            }
            searchNanos += DispatchTime.now().uptimeNanoseconds - searchStart
            let kn = neighbours.count
            var maxLogK = -Double.infinity
            slotDelta.withUnsafeBufferPointer { sd in
                slotX.withUnsafeBufferPointer { sx in
                    slotMu.withUnsafeBufferPointer { smu in
                        for (slot, j32) in neighbours.enumerated() {
                            let j = Int(j32)
                            var logK = 0.0
                            for i in 0..<d {
                                delta[slot * d + i] = sd[j * d + i]
                                let dx = sx[j * d + i] - queries.x[n * d + i]
                                offsets[slot * p + i] = dx
                                logK -= dx * dx * ix
                            }
                            for i in 0..<dMu {
                                let dm = smu[j * dMu + i] - queries.mu[n * dMu + i]
                                offsets[slot * p + d + i] = dm
                                logK -= dm * dm * imu
                                if crossTerms { for a in 0..<d { offsets[slot * p + d + dMu + i * d + a] = dm * offsets[slot * p + a] } }
                            }
                            logKernel[slot] = logK
                            maxLogK = max(maxLogK, logK)
                        }
                    }
                }
            }
            let stops = settings.solver == .exponential && settings.odeStop > 0
            if settings.estimator.fitsLocally || stops {
                for slot in 0..<kn { weights[slot] = exp(logKernel[slot] - maxLogK) }
            }
            if settings.estimator.fitsLocally {
                fit.adjust(offsets: offsets, deltas: &delta, weights: weights, count: kn)
            }
            if stops {
                let spread = Self.weightedSpread(delta, weights, count: kn, d: d)
                let sigma = settings.odeStop * (spread.reduce(0) { $0 + $1 * $1 } / Double(d)).squareRoot()
                tauGrid = ODESolver.tauGrid(steps: settings.odeSteps, stop: sigma)
                for i in 0..<d { kappa[i] = Float(ODESolver.kappa(spread: spread[i], sigma: sigma)) }
            }
            for slot in 0..<kn {
                var n2 = 0.0
                for i in 0..<d {
                    let f = Float(delta[slot * d + i])
                    deltaT[i * kPad + slot] = f
                    n2 += f.squaredDouble
                }
                norm2[slot] = Float(n2)
                kern[slot] = Float(logKernel[slot])
            }
            for i in 0..<d { z[i] = Float(queries.z[n * d + i]) }
            let e = settings.solver == .euler
                ? sdeflow_label_ode(Int32(d), Int32(kPad), deltaT, norm2, kern, &z, Int32(settings.odeSteps), &scratch)
                : sdeflow_label_ode_grid(Int32(d), Int32(kPad), deltaT, norm2, kern, &z, Int32(settings.odeSteps), tauGrid, kappa, &scratch)
            for i in 0..<d { labels[n * d + i] = Double(z[i]) }
            ess[n] = Double(e)
            if (n + 1) % every == 0 { progress(n + 1) }
        }
        return (labels, ess, Double(searchNanos) * 1e-9)
    }
}

extension Labeler {
    /// Per component, the weighted standard deviation of the displacements (K × d).
    static func weightedSpread(_ delta: [Double], _ w: [Double], count k: Int, d: Int) -> [Double] {
        (0..<d).map { i in
            var sw = 0.0, s1 = 0.0, s2 = 0.0
            for j in 0..<k { sw += w[j]; s1 += w[j] * delta[j * d + i] }
            let m = s1 / sw
            for j in 0..<k { s2 += w[j] * (delta[j * d + i] - m) * (delta[j * d + i] - m) }
            return (s2 / sw).squareRoot()
        }
    }
}

extension Float {
    /// The square of the float32 value in double, so |Δ|² matches the float32 Δ the kernel uses.
    @inlinable var squaredDouble: Double { Double(self) * Double(self) }
}
