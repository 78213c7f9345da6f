import CKernels
import Foundation
import SDEFlowCore
import Testing

// MARK: Double-precision reference (plain loops, independent of the BLAS implementation)

/// Forward pass of one row in Double, reading the documented flat layout
/// (per layer: W out×in row-major, then b) and using exact tanh.
private func referenceForward(_ p: [Double], _ shape: MLPShape, _ x: ArraySlice<Double>) -> [Double] {
    let sizes = shape.layerSizes
    var a = Array(x)
    var offset = 0
    for l in 0..<(sizes.count - 1) {
        let dIn = sizes[l], dOut = sizes[l + 1]
        var z = [Double](repeating: 0, count: dOut)
        for j in 0..<dOut {
            var s = p[offset + dOut * dIn + j]
            for k in 0..<dIn { s += p[offset + j * dIn + k] * a[k] }
            z[j] = l < sizes.count - 2 ? tanh(s) : s
        }
        offset += dOut * dIn + dOut
        a = z
    }
    return a
}

/// Σ_rows Σ_k (out − target)² in Double.
private func referenceSSE(_ p: [Double], _ shape: MLPShape, _ x: [Double], _ t: [Double], rows: Int) -> Double {
    var sum = 0.0
    for r in 0..<rows {
        let y = referenceForward(p, shape, x[(r * shape.input)..<((r + 1) * shape.input)])
        for k in 0..<shape.output {
            let e = y[k] - t[r * shape.output + k]
            sum += e * e
        }
    }
    return sum
}

/// Reproducible test data: uniforms in (−2, 2) from the counter RNG.
private func randomFloats(_ count: Int, id: UInt64) -> [Float] {
    let rng = CounterRNG(seed: 99)
    return (0..<count).map { Float(4 * rng.uniforms(.queryNoise, id: id, index: UInt32($0)).0 - 2) }
}

// MARK: Shape and initialisation

@Test func mlpShapeLayout() {
    let s = MLPShape(input: 3, hidden: [5, 4], output: 2)
    #expect(s.layerSizes == [3, 5, 4, 2])
    #expect(s.parameterCount == (5 * 3 + 5) + (4 * 5 + 4) + (2 * 4 + 2))
    #expect(s.weightOffset(layer: 1) == 20 && s.biasOffset(layer: 1) == 40)
    #expect(s.biasOffset(layer: 2) == s.parameterCount - 2)
}

@Test func mlpInitMatchesPyTorchBoundsAndIsSeeded() {
    let s = MLPShape(input: 4, hidden: [16, 9], output: 2)
    let a = MLP(shape: s, seed: 7), b = MLP(shape: s, seed: 7), c = MLP(shape: s, seed: 8)
    #expect(a.parameters == b.parameters && a.parameters != c.parameters)
    let sizes = s.layerSizes
    for l in 0..<s.layerCount {
        let bound = Float(1 / Double(sizes[l]).squareRoot())
        let layer = a.parameters[s.weightOffset(layer: l)..<s.weightOffset(layer: l + 1)]
        #expect(layer.allSatisfy { abs($0) <= bound })
        // Roughly uniform: the largest magnitude is close to the bound.
        #expect(layer.map { abs($0) }.max()! > 0.8 * bound)
    }
}

// MARK: Forward and gradient

@Test func mlpForwardMatchesNaiveReference() {
    let s = MLPShape(input: 3, hidden: [7, 6, 5], output: 2)
    let net = MLP(shape: s, seed: 1)
    let rows = MLP.chunkRows + 37  // crosses a chunk boundary
    let x = randomFloats(rows * s.input, id: 1)
    let y = net.forward(x, rows: rows)
    let p = net.parameters.map(Double.init), xd = x.map(Double.init)
    var maxErr = 0.0
    for r in stride(from: 0, to: rows, by: 13) {
        let ref = referenceForward(p, s, xd[(r * s.input)..<((r + 1) * s.input)])
        for k in 0..<s.output { maxErr = max(maxErr, abs(ref[k] - Double(y[r * s.output + k]))) }
    }
    #expect(maxErr < 1e-5)
}

/// tanh of each value by the MLP's activation kernel.
private func kernelTanh(_ x: [Float]) -> [Float] {
    var z = x
    sdeflow_mlp_tanh(&z, Int64(z.count))
    return z
}

@Test func fastTanhAccuracy() {
    // Every float step of 1/1024 over [−10, 10], plus a row length that leaves a partial vector.
    let x = (0..<(20 * 1024 + 3)).map { Float(-10 + Double($0) / 1024) }
    let y = kernelTanh(x)
    let maxErr = zip(x, y).map { abs(Double($1) - tanh(Double($0))) }.max()!
    #expect(maxErr < 1e-6, "max |error| \(maxErr) on \(String(cString: sdeflow_kernel_isa()))")
    // Saturates within float rounding of ±1 (exactly ±1 without FMA), odd, exact near 0.
    let big = kernelTanh([100, -100, .infinity, -.infinity])
    #expect(big.allSatisfy { abs(abs($0) - 1) < 3e-7 } && big[0] == -big[1] && big[2] == -big[3])
    #expect(kernelTanh([0, 1e-5, -1e-5]) == [0, 1e-5, -1e-5])
    #expect(kernelTanh([.nan])[0].isNaN)
}

@Test func mlpGradientMatchesFiniteDifferences() {
    let s = MLPShape(input: 3, hidden: [5, 4], output: 2)
    let net = MLP(shape: s, seed: 3)
    let rows = 11
    let x = randomFloats(rows * s.input, id: 2), t = randomFloats(rows * s.output, id: 3)
    let scale: Float = 0.37
    var grad = [Float](repeating: 0, count: s.parameterCount)
    var ws = MLPWorkspace()
    let loss = net.accumulateGradient(inputs: x, targets: t, rows: rows, scale: scale, into: &grad, workspace: &ws)

    let p = net.parameters.map(Double.init), xd = x.map(Double.init), td = t.map(Double.init)
    let refLoss = Double(scale) * referenceSSE(p, s, xd, td, rows: rows)
    #expect(abs(loss - refLoss) < 1e-5 * refLoss)
    #expect(abs(net.loss(inputs: x, targets: t, rows: rows) - refLoss / Double(scale)) < 1e-5 * refLoss)

    // Central differences of the exact Double loss, for EVERY parameter (all layers, W and b).
    let h = 1e-5
    let gmax = grad.map { abs(Double($0)) }.max()!
    var worst = 0.0
    for i in 0..<p.count {
        var pp = p, pm = p
        pp[i] += h
        pm[i] -= h
        let fd = Double(scale) * (referenceSSE(pp, s, xd, td, rows: rows) - referenceSSE(pm, s, xd, td, rows: rows)) / (2 * h)
        worst = max(worst, abs(Double(grad[i]) - fd) / (abs(fd) + 1e-2 * gmax))
    }
    #expect(worst < 1e-3)
}

/// Catches: row weights applied to the wrong rows, not to the bias gradient, or not to the
/// loss: with weights (w_r) the gradient and loss are Σ_r w_r × those of row r alone, and
/// `loss(weights:)` agrees.
@Test func weightedGradientIsTheWeightedSumOfRowGradients() {
    let s = MLPShape(input: 3, hidden: [6, 5], output: 2)
    let net = MLP(shape: s, seed: 5)
    let rows = 7
    let x = randomFloats(rows * s.input, id: 6), t = randomFloats(rows * s.output, id: 7)
    let weights: [Float] = [0.5, 2, 0, 1, 3.25, 0.125, 1]
    var ws = MLPWorkspace(), weighted = [Float](repeating: 0, count: s.parameterCount)
    let loss = weights.withUnsafeBufferPointer { w in
        x.withUnsafeBufferPointer { xb in
            t.withUnsafeBufferPointer { tb in
                net.accumulateGradient(inputs: xb, targets: tb, rows: rows, scale: 0.3, weights: w.baseAddress, into: &weighted, workspace: &ws)
            }
        }
    }
    var summed = [Float](repeating: 0, count: s.parameterCount), summedLoss = 0.0
    for r in 0..<rows {
        var g = [Float](repeating: 0, count: s.parameterCount)
        let l = net.accumulateGradient(inputs: Array(x[r * s.input ..< (r + 1) * s.input]), targets: Array(t[r * s.output ..< (r + 1) * s.output]),
                                       rows: 1, scale: 0.3, into: &g, workspace: &ws)
        summedLoss += Double(weights[r]) * l
        for i in g.indices { summed[i] += weights[r] * g[i] }
    }
    let gmax = summed.map { abs($0) }.max()!
    #expect(zip(weighted, summed).allSatisfy { abs($0 - $1) <= 1e-5 * gmax })
    #expect(abs(loss - summedLoss) <= 1e-5 * summedLoss)
    #expect(abs(net.loss(inputs: x, targets: t, rows: rows, weights: weights) * 0.3 - summedLoss) <= 1e-5 * summedLoss)
}

@Test func batchSliceTilesTheBatch() {
    for batch in [0, 1, 5, 37, 1024] {
        for size in 1...7 {
            let slices = (0..<size).map { batchSlice(batchSize: batch, rank: $0, size: size) }
            #expect(slices.first!.lowerBound == 0 && slices.last!.upperBound == batch)
            for r in 1..<size { #expect(slices[r].lowerBound == slices[r - 1].upperBound) }
            let counts = slices.map(\.count)
            #expect(counts.max()! - counts.min()! <= 1)
        }
    }
}

@Test(arguments: [2, 3])
func slicedGradientsSumToFullBatch(ranks: Int) {
    let s = MLPShape(input: 5, hidden: [16, 16], output: 2)
    let net = MLP(shape: s, seed: 4)
    let rows = 37
    let x = randomFloats(rows * s.input, id: 4), t = randomFloats(rows * s.output, id: 5)
    let scale = 1 / Float(rows * s.output)
    var ws = MLPWorkspace()
    var full = [Float](repeating: 0, count: s.parameterCount)
    let fullLoss = net.accumulateGradient(inputs: x, targets: t, rows: rows, scale: scale, into: &full, workspace: &ws)

    // What the allreduce computes: the sum over ranks of each rank's slice gradient.
    var summed = [Float](repeating: 0, count: s.parameterCount)
    var summedLoss = 0.0
    for rank in 0..<ranks {
        let r = batchSlice(batchSize: rows, rank: rank, size: ranks)
        var g = [Float](repeating: 0, count: s.parameterCount)
        var rankWs = MLPWorkspace()
        summedLoss += net.accumulateGradient(
            inputs: Array(x[(r.lowerBound * s.input)..<(r.upperBound * s.input)]),
            targets: Array(t[(r.lowerBound * s.output)..<(r.upperBound * s.output)]),
            rows: r.count, scale: scale, into: &g, workspace: &rankWs)
        for i in 0..<g.count { summed[i] += g[i] }
    }
    let gmax = full.map { abs($0) }.max()!
    let maxDiff = zip(full, summed).map { abs($0 - $1) }.max()!
    #expect(maxDiff <= 1e-5 * gmax)
    #expect(abs(summedLoss - fullLoss) <= 1e-6 * fullLoss)
}

// MARK: Adam

@Test func adamMatchesHandComputedPyTorchSteps() {
    // Same numbers as torch.optim.Adam([p], lr=0.1, weight_decay=0.01) with the PyTorch formula,
    // evaluated in Double (p after step 1 and step 2).
    var adam = Adam(parameterCount: 3, learningRate: 0.1, weightDecay: 0.01)
    var p: [Float] = [1.0, -2.0, 0.5]
    adam.update(&p, gradient: [0.5, -0.1, 0.0])
    #expect(adam.step == 1)
    let step1 = [0.9000000019607843, -1.9000000083333326, 0.4000001999996]
    for i in 0..<3 { #expect(abs(Double(p[i]) - step1[i]) < 1e-6) }
    #expect(abs(Double(adam.firstMoment[0]) - 0.051) < 1e-8)
    #expect(abs(Double(adam.secondMoment[0]) - 0.0002601) < 1e-10)
    adam.update(&p, gradient: [0.2, 0.3, -0.4])
    let step2 = [0.8097733282941708, -1.9421356514540897, 0.4735624120595431]
    for i in 0..<3 { #expect(abs(Double(p[i]) - step2[i]) < 2e-6) }
}

@Test func adamTrainsSine() {
    // 1 → 32 → 32 → 1 on y = sin(x), x ∈ [−π, π], full batch, mean-squared-error gradient.
    let s = MLPShape(input: 1, hidden: [32, 32], output: 1)
    var net = MLP(shape: s, seed: 5)
    let rows = 256
    let x = (0..<rows).map { Float(-Double.pi + 2 * Double.pi * (Double($0) + 0.5) / Double(rows)) }
    let y = x.map { sin($0) }
    var adam = Adam(parameterCount: s.parameterCount, learningRate: 1e-2)
    var ws = MLPWorkspace()
    var grad = [Float](repeating: 0, count: s.parameterCount)
    let initial = net.loss(inputs: x, targets: y, rows: rows) / Double(rows)
    for _ in 0..<400 {
        for i in 0..<grad.count { grad[i] = 0 }
        _ = net.accumulateGradient(inputs: x, targets: y, rows: rows, scale: 1 / Float(rows), into: &grad, workspace: &ws)
        adam.update(&net.parameters, gradient: grad)
    }
    let final = net.loss(inputs: x, targets: y, rows: rows) / Double(rows)
    #expect(final < initial / 100, "MSE \(initial) -> \(final)")
}

// MARK: Standardizer

@Test func standardizerZeroStdAndRoundTrip() {
    let rows = 50, width = 3
    var v = [Double]()
    for r in 0..<rows { v += [Double(r) * 0.3 - 4, 5.0, 1e3 + sin(Double(r))] }
    let st = Standardizer(fitting: v, rows: rows, width: width)
    #expect(abs(st.mean[1] - 5) < 1e-12 && st.std[1] == 1)
    let z = st.apply(v)
    for c in 0..<width {
        let col = (0..<rows).map { Double(z[$0 * width + c]) }
        let m = col.reduce(0, +) / Double(rows)
        let sd = (col.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(rows - 1)).squareRoot()
        #expect(abs(m) < 1e-6)
        #expect(abs(sd - (c == 1 ? 0 : 1)) < 1e-5)
    }
    let back = st.invert(z)
    for i in 0..<v.count { #expect(abs(back[i] - v[i]) <= 1e-6 * max(1, abs(v[i]))) }
    let data = try! JSONEncoder().encode(st)
    #expect(try! JSONDecoder().decode(Standardizer.self, from: data) == st)
}

// MARK: Throughput (opt-in: SDEFLOW_BENCH=1 OPENBLAS_NUM_THREADS=1 swift test -c release --filter Bench)

@Test(.enabled(if: ProcessInfo.processInfo.environment["SDEFLOW_BENCH"] != nil))
func mlpBenchmarkForwardBackward() {
    for (s, label) in [
        (MLPShape(input: 3, hidden: [128, 128, 128], output: 1), "3x128 in3 out1"),
        (MLPShape(input: 5, hidden: [256, 256, 256, 256], output: 2), "4x256 in5 out2"),
    ] {
        let net = MLP(shape: s, seed: 1), rows = 1024
        let x = randomFloats(rows * s.input, id: 6), t = randomFloats(rows * s.output, id: 7)
        var g = [Float](repeating: 0, count: s.parameterCount)
        var ws = MLPWorkspace()
        var sink = 0.0
        for _ in 0..<5 { sink += net.accumulateGradient(inputs: x, targets: t, rows: rows, into: &g, workspace: &ws) }
        let iters = 200
        let start = Date()
        for _ in 0..<iters { sink += net.accumulateGradient(inputs: x, targets: t, rows: rows, into: &g, workspace: &ws) }
        let sec = Date().timeIntervalSince(start)
        let fStart = Date()
        for _ in 0..<iters { sink += Double(net.forward(x, rows: rows)[0]) }
        let fSec = Date().timeIntervalSince(fStart)
        print("bench \(label) batch \(rows): fwd+bwd \(Int(Double(iters * rows) / sec)) samples/s, fwd \(Int(Double(iters * rows) / fSec)) samples/s (\(sink.isFinite))")
    }
}

// MARK: Loss weights

/// Catches: weights that do not follow the local noise (neighbours taken in the wrong space,
/// variance over the wrong rows or components, not inverted), or a degenerate neighbourhood
/// that takes the whole loss: rows on x ∈ [0.2, 2] with noise of sd ∝ x must get weights ∝ 1/x²
/// (x = 0.4 against x = 1.6: 16×); equal noise gives nearly equal weights; rows whose labels are
/// identical are clamped to `clampFactor` × the median weight.
@Test func lossWeightsFollowTheInverseLocalVariance() throws {
    let n = 6000, rng = CounterRNG(seed: 8)
    let xs = (0..<n).map { 0.2 + 1.8 * Double($0) / Double(n - 1) }
    let noise = (0..<n).map { rng.normals(.initialState, id: UInt64($0), index: 0).0 }
    func weights(_ sd: (Double) -> Double, d: Int = 1) throws -> [Double] {
        var points = [Double](), targets = [Double]()
        for r in 0..<n {
            points += [xs[r], 0.3]
            for o in 0..<d { targets.append(0.1 * xs[r] + sd(xs[r]) * (o == 0 ? noise[r] : noise[(r * 7 + o) % n])) }
        }
        return try #require(LossWeights.inverseLocalVariance(points: points, dims: 2, targets: targets, d: d))
    }
    func average(_ w: [Double], near x: Double) -> Double {
        let rows = (0..<n).filter { abs(xs[$0] - x) < 0.05 }
        return rows.reduce(0) { $0 + w[$1] } / Double(rows.count)
    }
    let multiplicative = try weights { $0 }
    let ratio = average(multiplicative, near: 0.4) / average(multiplicative, near: 1.6)
    #expect(abs(ratio / 16 - 1) < 0.2, "weight ratio \(ratio), expected 16")
    for d in [1, 3] {
        let additive = try weights({ _ in 0.5 }, d: d)
        let mean = additive.reduce(0, +) / Double(n)
        #expect(abs(mean * 0.25 - 1) < 0.1, "d = \(d): mean weight \(mean), expected about 4")
        #expect(additive.max()! / additive.min()! < 4)
    }
    let flat = try weights { $0 < 1.7 ? 0.5 : 0 }  // the top rows' labels lie on a line
    let sorted = flat.sorted(), medianWeight = sorted[n - 1 - n / 2]  // 1 / the median variance
    #expect(abs(sorted.last! / (LossWeights.clampFactor * medianWeight) - 1) < 1e-12)
    #expect((0..<n).filter { xs[$0] > 1.75 }.allSatisfy { flat[$0] == sorted.last! })
}
