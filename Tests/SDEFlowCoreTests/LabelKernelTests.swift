import CKernels
import Foundation
import SDEFlowCore
import Testing

// MARK: Helpers

/// The kernel's input layout for K neighbours in d dimensions, padded to a multiple of 16 with
/// kern = -infinity, norm2 = 0, delta = 0 (as the Labeler does).
private struct KernelInput {
    let d: Int, k: Int, kPad: Int
    var deltaT: [Float]   // d × kPad, component-major
    var norm2: [Float]
    var kern: [Float]

    /// `delta` is K × d row-major, `kern` K values.
    init(d: Int, delta: [Double], kern: [Double]) {
        let k = kern.count
        self.d = d; self.k = k; kPad = (k + 15) / 16 * 16
        deltaT = [Float](repeating: 0, count: d * kPad)
        norm2 = [Float](repeating: 0, count: kPad)
        self.kern = [Float](repeating: -.infinity, count: kPad)
        for j in 0..<k {
            var n2 = 0.0
            for c in 0..<d {
                let v = Float(delta[j * d + c])
                deltaT[c * kPad + j] = v
                n2 += Double(v) * Double(v)
            }
            norm2[j] = Float(n2)
            self.kern[j] = Float(kern[j])
        }
    }

    /// The float32 deltas the kernel sees, as Double (K × d).
    var deltaRows: [Double] {
        var r = [Double](repeating: 0, count: k * d)
        for j in 0..<k { for c in 0..<d { r[j * d + c] = Double(deltaT[c * kPad + j]) } }
        return r
    }

    func score(z: [Double], alpha: Double, beta2: Double) -> [Double] {
        var scratch = [Float](repeating: 0, count: kPad)
        var out = [Float](repeating: .nan, count: d)
        let zf = z.map { Float($0) }
        sdeflow_kernel_score(Int32(d), Int32(kPad), deltaT, norm2, kern, zf, Float(alpha), Float(beta2), &scratch, &out)
        return out.map(Double.init)
    }

    func label(z: [Double], steps: Int) -> (label: [Double], ess: Double) {
        var scratch = [Float](repeating: 0, count: kPad)
        var zf = z.map { Float($0) }
        let ess = sdeflow_label_ode(Int32(d), Int32(kPad), deltaT, norm2, kern, &zf, Int32(steps), &scratch)
        return (zf.map(Double.init), Double(ess))
    }
}

/// ∇ log p(z) for p(z) = Σ_j e^{kern_j} N(z; α Δ_j, β² I), in Double with logsumexp: written from
/// the mixture density directly (full |z − αΔ_j|², not the kernel's expanded form).
private func mixtureScore(delta: [Double], kern: [Double], d: Int, z: [Double], alpha: Double, beta2: Double) -> [Double] {
    let k = kern.count
    var logw = [Double](repeating: 0, count: k)
    for j in 0..<k {
        var r2 = 0.0
        for c in 0..<d { let t = z[c] - alpha * delta[j * d + c]; r2 += t * t }
        logw[j] = kern[j] - r2 / (2 * beta2) - Double(d) / 2 * log(2 * Double.pi * beta2)
    }
    let m = logw.max()!
    let w = logw.map { exp($0 - m) }
    let total = w.reduce(0, +)
    var s = [Double](repeating: 0, count: d)
    for j in 0..<k { for c in 0..<d { s[c] += w[j] / total * -(z[c] - alpha * delta[j * d + c]) / beta2 } }
    return s
}

private func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

// MARK: Score

/// Catches: a wrong softmax (missing max subtraction → overflow/NaN at small β², missing |Δ|²
/// or kernel term, wrong α/β² scaling, sign errors), padded entries leaking into the sums
/// (K not a multiple of 16), wrong component-major indexing for d > 1, and lane-reduction
/// errors in the 16-wide accumulators.
@Test(arguments: [(1, 37), (1, 200), (3, 37), (3, 200)])
func kernelScoreMatchesGaussianMixtureScore(d: Int, k: Int) {
    let rng = CounterRNG(seed: UInt64(100 * d + k))
    var delta = [Double](repeating: 0, count: k * d)
    var kern = [Double](repeating: 0, count: k)
    for j in 0..<k {
        for c in 0..<d { delta[j * d + c] = 1.5 * rng.normals(.evaluationNoise, id: UInt64(j), index: UInt32(c)).0 + 0.3 }
        kern[j] = -4 * rng.uniforms(.evaluationNoise, id: UInt64(j), index: 1000).0
    }
    let input = KernelInput(d: d, delta: delta, kern: kern)
    let exactDelta = input.deltaRows  // the float32 values the kernel uses
    var worst = 0.0
    for (alpha, beta2) in [(0.001, 0.999), (0.3, 0.7), (0.5, 0.5), (0.9, 0.1), (0.999, 1e-3)] {
        for q in 0..<6 {
            // z near the data at α (typical) and farther out (weights dominated by one atom).
            var z = [Double](repeating: 0, count: d)
            for c in 0..<d {
                let n = rng.normals(.queryNoise, id: UInt64(q), index: UInt32(c)).0
                z[c] = alpha * 0.3 + (q < 4 ? 1.0 : 3.0) * n * (alpha * 1.5 + beta2.squareRoot())
            }
            let got = input.score(z: z, alpha: alpha, beta2: beta2)
            let want = mixtureScore(delta: exactDelta, kern: kern.map { Double(Float($0)) }, d: d, z: z, alpha: alpha, beta2: beta2)
            // Relative to the score's natural scale: |S| and |z|/β² (cancellation in z − α·mean).
            // Observed float32 errors are below 2e-6 of that scale.
            let scale = max(norm(want), norm(z) / beta2, 1)
            let err = norm(zip(got, want).map { $0 - $1 }) / scale
            worst = max(worst, err)
            #expect(err < 2e-4, "d=\(d) K=\(k) α=\(alpha) β²=\(beta2) z=\(z): got \(got), want \(want)")
        }
    }
    #expect(worst.isFinite)
}

/// Catches: padding handled as a real neighbour (a zero delta with weight), even when every real
/// kernel weight is very small (kern ≈ −80, near float32's exp underflow).
@Test func kernelScoreIgnoresPaddingWithTinyKernelWeights() {
    let delta = [2.0, 2.5, 3.0]
    let input = KernelInput(d: 1, delta: delta, kern: [-80, -81, -80.5])
    let got = input.score(z: [0.1], alpha: 0.5, beta2: 0.5)
    let want = mixtureScore(delta: delta, kern: [-80, -81, -80.5], d: 1, z: [0.1], alpha: 0.5, beta2: 0.5)
    #expect(abs(got[0] - want[0]) < 1e-3 * max(abs(want[0]), 1))
}

// MARK: Probability-flow ODE

/// Labels for `n` queries z ~ N(0, I_d) from the counter RNG.
private func labels(_ input: KernelInput, n: Int, steps: Int, seed: UInt64) -> [[Double]] {
    let rng = CounterRNG(seed: seed)
    return (0..<n).map { i in
        var z = [Double](repeating: 0, count: input.d)
        z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .queryNoise, id: UInt64(i), index: 0) }
        return input.label(z: z, steps: steps).label
    }
}

/// The Euler scheme of METHOD.md §2 in Double, written from the text: backwards from τ = 1 on
/// a uniform grid, coefficients at α = 1 − t + h, β² = t + h for the step with lower end t.
private func referenceLabel(delta: [Double], kern: [Double], d: Int, z z0: [Double], steps: Int) -> [Double] {
    var z = z0
    let h = 1 / Double(steps)
    for s in 0..<steps {
        let t = 1 - Double(s + 1) * h
        let alpha = 1 - t + h, beta2 = t + h
        let f = -1 / alpha, g2 = 1 - 2 * f * beta2
        let score = mixtureScore(delta: delta, kern: kern, d: d, z: z, alpha: alpha, beta2: beta2)
        for c in 0..<d { z[c] -= (f * z[c] - 0.5 * g2 * score[c]) * h }
    }
    return z
}

/// Catches: any deviation of the C kernel's ODE from the scheme in METHOD.md §2 — unshifted or
/// differently shifted α/β², wrong f or g², a forward instead of backward step, a missing
/// factor ½, an off-by-one in the step grid — by comparing labels with a Double re-implementation.
@Test(arguments: [1, 3])
func labelODEMatchesDoubleReferenceScheme(d: Int) {
    let k = 37
    let rng = CounterRNG(seed: UInt64(500 + d))
    var delta = [Double](repeating: 0, count: k * d), kern = [Double](repeating: 0, count: k)
    for j in 0..<k {
        for c in 0..<d { delta[j * d + c] = 0.8 * rng.normals(.evaluationNoise, id: UInt64(j), index: UInt32(c)).0 }
        kern[j] = -2 * rng.uniforms(.evaluationNoise, id: UInt64(j), index: 99).0
    }
    let input = KernelInput(d: d, delta: delta, kern: kern)
    let exactDelta = input.deltaRows, exactKern = kern.map { Double(Float($0)) }
    var errors: [Double] = []
    for steps in [20, 100] {
        for q in 0..<40 {
            var z = [Double](repeating: 0, count: d)
            z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .queryNoise, id: UInt64(q), index: 0) }
            z = z.map { Double(Float($0)) }
            let got = input.label(z: z, steps: steps).label
            let want = referenceLabel(delta: exactDelta, kern: exactKern, d: d, z: z, steps: steps)
            errors.append(norm(zip(got, want).map { $0 - $1 }))
        }
    }
    // float32 against Double: observed errors are below 4e-6; a scheme change moves labels by O(h).
    #expect(errors.allSatisfy { $0 < 1e-4 }, "largest errors: \(errors.sorted().suffix(5))")
}

/// Catches: a wrong ODE (sign of the drift or score term, wrong f or g², integrating forwards,
/// wrong shifted α/β²) — labels then do not end on the data atoms — and kernel weights that are
/// ignored or misapplied (the fraction at +1 must follow e^{kern}); also an order-breaking map
/// (a 1-D flow preserves order, so every z sent to +1 is larger than every z sent to −1).
/// The scheme leaves labels O(√h) from the atoms (β² = h at the last step), ≈ 0.03 |ε| here.
@Test(arguments: [(0.5, 0.5), (0.25, 0.75)])
func labelODEOnTwoPointsLandsOnAtomsWithKernelWeights(wMinus: Double, wPlus: Double) {
    let input = KernelInput(d: 1, delta: [-1, 1], kern: [log(wMinus), log(wPlus)])
    let out = labels(input, n: 4000, steps: 1000, seed: 11)
    var plus = 0, rss = 0.0
    for l in out {
        let r = min(abs(l[0] - 1), abs(l[0] + 1))
        rss += r * r
        #expect(r < 0.12, "label \(l[0]) is not at ±1")
        if l[0] > 0 { plus += 1 }
    }
    #expect((rss / Double(out.count)).squareRoot() < 0.05)
    let fraction = Double(plus) / Double(out.count)
    #expect(abs(fraction - wPlus) < 0.03, "fraction at +1 is \(fraction), expected \(wPlus)")
    let zs = (0..<4000).map { CounterRNG(seed: 11).normals(.queryNoise, id: UInt64($0), index: 0).0 }
    let toMinus = zip(zs, out).filter { $0.1[0] < 0 }.map(\.0), toPlus = zip(zs, out).filter { $0.1[0] > 0 }.map(\.0)
    #expect(toMinus.max()! < toPlus.min()!)
}

/// Catches: cross-component errors in d = 2 (component-major layout, z·Δ over all components)
/// and weight handling with three atoms: labels land on the atoms with frequencies e^{kern}.
@Test func labelODEThreeAtomsInTwoDimensions() {
    let atoms = [1.0, 0.0, -1.0, 1.0, 0.0, -1.5]
    let weights = [0.2, 0.3, 0.5]
    let input = KernelInput(d: 2, delta: atoms, kern: weights.map { log($0) })
    let out = labels(input, n: 4000, steps: 1000, seed: 12)
    var counts = [0, 0, 0], rss = 0.0
    for l in out {
        let dists = (0..<3).map { j in hypot(l[0] - atoms[2 * j], l[1] - atoms[2 * j + 1]) }
        let j = dists.firstIndex(of: dists.min()!)!
        rss += dists[j] * dists[j]
        #expect(dists[j] < 0.15, "label \(l) is not at an atom")
        counts[j] += 1
    }
    #expect((rss / Double(out.count)).squareRoot() < 0.07)
    for j in 0..<3 {
        let f = Double(counts[j]) / Double(out.count)
        #expect(abs(f - weights[j]) < 0.03, "atom \(j): frequency \(f), weight \(weights[j])")
    }
}

/// Catches: an ESS that is not (Σw)²/Σw² of the final weights (one atom: 1; two identical atoms
/// of equal weight: 2; padding never counts), and duplicated atoms changing the label.
@Test func labelODEEffectiveSampleSize() {
    let one = KernelInput(d: 1, delta: [0.7], kern: [0])
    #expect(abs(one.label(z: [0.3], steps: 50).ess - 1) < 1e-5)
    let single = KernelInput(d: 2, delta: [0.5, -0.5], kern: [-1])
    let twins = KernelInput(d: 2, delta: [0.5, -0.5, 0.5, -0.5], kern: [-1, -1])
    let r = twins.label(z: [0.3, -1.2], steps: 50)
    #expect(abs(r.ess - 2) < 1e-4)
    let s = single.label(z: [0.3, -1.2], steps: 50).label
    #expect(abs(r.label[0] - s[0]) < 1e-5 && abs(r.label[1] - s[1]) < 1e-5)
    // Two atoms far apart, z at the far side of one: the weights collapse to one atom, ESS → 1.
    let apart = KernelInput(d: 1, delta: [-3, 3], kern: [0, 0])
    #expect(abs(apart.label(z: [2.5], steps: 200).ess - 1) < 1e-3)
}

// MARK: Labeler end to end

/// Catches: any error between data and labels in `Labeler` — the displacement scale c, the
/// sign of y − x, neighbour buffers filled from the wrong rows or components, kernel terms,
/// z handed over wrongly: labels/c must be samples of the known law of y − x.
@Test func labelerRecoversKnownDisplacementLaw() {
    let n = 20_000, d = 2
    let m = [0.2, -0.1], s = [0.3, 0.15]
    let rng = CounterRNG(seed: 99)
    var block = PairBlock(d: d, dMu: 1)
    for j in 0..<n {
        let (u0, u1) = rng.uniforms(.initialState, id: UInt64(j), index: 0)
        let x = [-2 + 4 * u0, -1 + 2 * u1]
        let (e0, e1) = rng.normals(.pathNoise, id: UInt64(j), index: 0)
        block.x += x
        block.mu += [0.7]
        block.y += [x[0] + m[0] + s[0] * e0, x[1] + m[1] + s[1] * e1]
    }
    let settings = LabelSettings(labels: 2000, neighbors: 500, odeSteps: 200, nuX: 1.0, nuMu: 0.5, scale: 3)
    let (labels, ess) = runLabeler(block, settings: settings, queries: 2000, seed: 5)
    let c = settings.scale
    for comp in 0..<d {
        let v = stride(from: comp, to: labels.count, by: d).map { labels[$0] / c }
        let mean = v.reduce(0, +) / Double(v.count)
        let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count - 1)
        // se of the mean ≈ s·√(1/2000 + 1/20000) (queries + shared data); of the variance ≈ s²·√(2/2000).
        #expect(abs(mean - m[comp]) < 5 * s[comp] * (1.0 / 2000 + 1.0 / 20000).squareRoot(),
                "component \(comp): mean \(mean), expected \(m[comp])")
        #expect(abs(variance / (s[comp] * s[comp]) - 1) < 0.16,
                "component \(comp): variance \(variance), expected \(s[comp] * s[comp])")
    }
    #expect(ess.allSatisfy { $0 >= 1 && $0 <= Double(settings.neighbors) + 1e-3 })
}

/// Catches: labels that ignore the query's x (neighbours or x-kernel not local): with
/// y − x ~ N(0.5 x, 0.2²) the labels/c regressed on the query x must give slope 0.5.
@Test func labelerFollowsLocalConditionalMean() {
    let n = 20_000
    let rng = CounterRNG(seed: 123)
    var block = PairBlock(d: 1, dMu: 1)
    for j in 0..<n {
        let x = -1 + 2 * rng.uniforms(.initialState, id: UInt64(j), index: 0).0
        block.x.append(x)
        block.mu.append(1.0)
        block.y.append(x + 0.5 * x + 0.2 * rng.normals(.pathNoise, id: UInt64(j), index: 0).0)
    }
    let settings = LabelSettings(labels: 1000, neighbors: 200, odeSteps: 200, nuX: 0.05, nuMu: 0.5, scale: 3)
    let queries = 1000
    let (labels, _) = runLabeler(block, settings: settings, queries: queries, seed: 6)
    let qx = queryX(block, queries: queries, seed: 6)
    let v = labels.map { $0 / settings.scale }
    let mx = qx.reduce(0, +) / Double(queries), my = v.reduce(0, +) / Double(queries)
    var sxy = 0.0, sxx = 0.0
    for i in 0..<queries { sxy += (qx[i] - mx) * (v[i] - my); sxx += (qx[i] - mx) * (qx[i] - mx) }
    let slope = sxy / sxx
    // se of the slope ≈ 0.2 / √(1000 · 1/3) ≈ 0.011.
    #expect(abs(slope - 0.5) < 0.06, "slope \(slope)")
    #expect(abs(my) < 0.05)
}

/// Catches: wrong kernel terms in `Labeler` — an x-kernel using the wrong component or data
/// row, a missing or mis-scaled μ-kernel. All pairs are neighbours (K = N), so only the kernel
/// can select the right data: component 0 of y − x is +0.3 where x₁ > 0 and −0.3 where x₁ < 0
/// (a step, which a flat or misplaced kernel would blur), component 1 is +0.4 at μ = 1 and −0.4
/// at μ = 0 (mixed, if the μ-kernel is ignored).
@Test func labelerKernelSelectsDataByXAndMu() {
    let n = 4000, d = 2
    let rng = CounterRNG(seed: 321)
    var block = PairBlock(d: d, dMu: 1)
    for j in 0..<n {
        let (u0, u1) = rng.uniforms(.initialState, id: UInt64(j), index: 0)
        let x = [-1 + 2 * u0, -1 + 2 * u1], mu = Double(j % 2)
        let (e0, e1) = rng.normals(.pathNoise, id: UInt64(j), index: 0)
        block.x += x
        block.mu.append(mu)
        block.y += [x[0] + (x[1] > 0 ? 0.3 : -0.3) + 0.05 * e0, x[1] + (mu == 1 ? 0.4 : -0.4) + 0.05 * e1]
    }
    let settings = LabelSettings(labels: 250, neighbors: n, odeSteps: 100, nuX: 0.03, nuMu: 0.1, scale: 3)
    let queries = 250
    let (labels, _) = runLabeler(block, settings: settings, queries: queries, seed: 8)
    let rows = CounterRNG(seed: 8).distinctIndices(queries, below: n, .queryChoice)
    var stepChecked = 0, stepRight = 0, muRight = 0
    for (i, r) in rows.enumerated() {
        let qx1 = block.x[r * d + 1], qmu = block.mu[r]
        if abs(qx1) > 0.1 {
            stepChecked += 1
            if (labels[i * d] > 0) == (qx1 > 0) { stepRight += 1 }
        }
        if (labels[i * d + 1] > 0) == (qmu == 1) { muRight += 1 }
    }
    #expect(stepChecked > 150)
    #expect(Double(stepRight) >= 0.97 * Double(stepChecked), "x-kernel: \(stepRight) of \(stepChecked) on the right side of the step")
    #expect(Double(muRight) >= 0.97 * Double(queries), "μ-kernel: \(muRight) of \(queries) from the right μ")
}

/// Catches: a wrong x- or μ-kernel formula in `Labeler` (missing ½, ν not squared, x and μ
/// bandwidths swapped, distances in normalised instead of data units, the kernel applied to
/// the wrong rows): with every pair a neighbour and four tight groups of data at
/// (x, μ) ∈ {−0.2, 0.2} × {0, 1}, a query at (0.1, 0.3) must draw labels from each group with
/// probability ∝ 250·exp(−(x − x_g)²/(2ν_x²) − (μ − μ_g)²/(2ν_μ²)) (METHOD.md §2).
@Test func labelerKernelWeightsFollowTheFormula() {
    let groups: [(x: Double, mu: Double, delta: Double)] = [(-0.2, 0, -0.6), (0.2, 0, -0.2), (-0.2, 1, 0.2), (0.2, 1, 0.6)]
    let perGroup = 250
    let rng = CounterRNG(seed: 44)
    var block = PairBlock(d: 1, dMu: 1)
    for j in 0..<(4 * perGroup) {
        let g = groups[j % 4]
        block.x.append(g.x)
        block.mu.append(g.mu)
        block.y.append(g.x + g.delta + 0.01 * rng.normals(.pathNoise, id: UInt64(j), index: 0).0)
    }
    // The paper's estimator: local-linear would (rightly) move the four groups onto one line.
    let settings = LabelSettings(labels: 800, neighbors: 4 * perGroup, odeSteps: 100, nuX: 0.2, nuMu: 0.6, scale: 3,
                                 estimator: .paper, solver: .euler)
    let (qx, qmu) = (0.1, 0.3)
    let queries = 800
    let (labels, _) = runLabeler(block, settings: settings, queries: queries, seed: 9, at: (x: [qx], mu: [qmu]))
    let w = groups.map { exp(-(qx - $0.x) * (qx - $0.x) / (2 * 0.2 * 0.2) - (qmu - $0.mu) * (qmu - $0.mu) / (2 * 0.6 * 0.6)) }
    let total = w.reduce(0, +)
    var counts = [0, 0, 0, 0]
    for l in labels {
        let dist = groups.map { abs(l / settings.scale - $0.delta) }
        let g = dist.firstIndex(of: dist.min()!)!
        #expect(dist[g] < 0.15)  // labels end O(√h) from the data (h = 1/100 here)
        counts[g] += 1
    }
    for g in 0..<4 {
        let p = w[g] / total, f = Double(counts[g]) / Double(queries)
        // se ≤ 0.018 at 800 queries.
        #expect(abs(f - p) < 0.05, "group \(g): frequency \(f), kernel probability \(p)")
    }
}
