import Foundation
import SDEFlowCore
import Testing

/// n standard normals from the counter RNG (a stream the evaluation itself does not use this way).
private func normals(_ n: Int, seed: UInt64) -> [Double] {
    let rng = CounterRNG(seed: seed)
    return (0..<n).map { i in
        let (a, b) = rng.normals(.pathNoise, id: UInt64(i / 2), index: 7)
        return i % 2 == 0 ? a : b
    }
}

@Test func normalQuantileInvertsTheCDF() {
    for p in [1e-12, 1e-6, 0.001, 0.02425, 0.1, 0.3, 0.5, 0.7, 0.97575, 0.999, 1 - 1e-9] {
        let x = StandardNormal.quantile(p)
        let back = p < 0.5 ? StandardNormal.cdf(x) : 1 - StandardNormal.cdf(x)
        let target = p < 0.5 ? p : 1 - p
        #expect(abs(back - target) <= 1e-13 * max(target, 1e-300) + 1e-17, "p = \(p)")
    }
    #expect(abs(StandardNormal.quantile(0.975) - 1.959963984540054) < 1e-14)
}

@Test func w1OfOnePointIsTheMeanAbsoluteDeviation() {
    // W1(δ_s, N(m, σ²)) = E|X − s| = σ (u (2Φ(u) − 1) + 2φ(u)), u = (s − m)/σ.
    for (s, m, sd) in [(0.0, 0.0, 1.0), (0.7, 0.2, 2.0), (-3.0, 1.0, 0.5)] {
        let u = (s - m) / sd
        let expected = sd * (u * (2 * StandardNormal.cdf(u) - 1) + 2 * StandardNormal.pdf(u))
        #expect(abs(Wasserstein.toGaussian([s], mean: m, std: sd) - expected) < 1e-12)
    }
}

@Test func w1MatchesNumericalIntegrationOfTheCDFGap() {
    let xs = [0.3, -1.2, 2.5, 0.31, -0.05, 1.7, -2.2]
    let (m, sd) = (0.4, 1.3)
    // ∫ |F_n(x) − Φ((x − m)/σ)| dx by the midpoint rule on each interval between sample points
    // (F_n is constant there, so the only error is the kink where Φ crosses it: O(h²)).
    let cuts = [-12.0] + xs.sorted() + [12.0]
    var integral = 0.0
    for k in 0..<(cuts.count - 1) {
        let (lo, hi) = (cuts[k], cuts[k + 1]), steps = 100_000, h = (hi - lo) / Double(steps)
        let fn = Double(k) / Double(xs.count)
        for j in 0..<steps {
            integral += abs(fn - StandardNormal.cdf((lo + (Double(j) + 0.5) * h - m) / sd)) * h
        }
    }
    #expect(abs(Wasserstein.toGaussian(xs, mean: m, std: sd) - integral) < 1e-8)
}

@Test func w1IsSmallForExactSamplesAndTheShiftForShiftedOnes() {
    let n = 20_000, sd = 1.5, m = -0.5
    let exact = normals(n, seed: 3).map { m + sd * $0 }
    let w = Wasserstein.toGaussian(exact, mean: m, std: sd)
    #expect(w < 0.03 * sd)
    // The noise floor of the same size is of the same order.
    let floor = Wasserstein.noiseFloor(n: n, seed: 5)
    #expect(floor > 0.003 && floor < 0.02)
    for shift in [0.3, -0.8] {
        let moved = Wasserstein.toGaussian(exact.map { $0 + shift }, mean: m, std: sd)
        #expect(abs(moved - abs(shift)) < 0.03 * sd, "shift \(shift): W1 = \(moved)")
    }
    // Too wide a sample: W1 between N(0, 2²) and N(0, 1) is (2 − 1) E|Z| = √(2/π).
    let wide = Wasserstein.toGaussian(normals(n, seed: 4).map { 2 * $0 }, mean: 0, std: 1)
    #expect(abs(wide - (2 / Double.pi).squareRoot()) < 0.04)
}

/// Final states of `paths` Euler–Maruyama paths of `example` over `steps` observation steps
/// from `start` (the simulator of the data, with its initial law replaced).
private func simulateFinal(_ example: SDEExample, start: StartLaw, mu: [Double], steps: Int, paths: Int,
                           fineStep: Double) -> [Double] {
    let e = example
    var started = e
    started.observedMu = [mu]
    started.initialState = { _, rng, path in
        var z = [Double](repeating: 0, count: e.d)
        z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .initialState, id: path, index: 0) }
        return (0..<e.d).map { start.mean[$0] + start.std[$0] * z[$0] }
    }
    var settings = e.simulation
    settings.pathsPerMu = paths
    settings.horizon = Double(steps) * settings.dt
    settings.fineStep = fineStep
    let block = Simulator.simulate(started, settings: settings, observedMu: [mu], paths: 0..<paths, seed: 11)
    let d = e.d
    var out: [Double] = []
    for p in 0..<paths {
        let last = (p + 1) * steps - 1
        out += block.y[last * d ..< (last + 1) * d]
    }
    return out
}

/// Sample mean and variance per component are within `k` standard errors (plus `bias`, relative,
/// for the variance) of the law's.
private func expectMatches(_ samples: [Double], _ law: GaussianLaw, k: Double = 4.5, varianceBias: Double = 0,
                           _ what: String) {
    let d = law.d, n = samples.count / d
    for i in 0..<d {
        let v = (0..<n).map { samples[$0 * d + i] }
        let mean = v.reduce(0, +) / Double(n)
        let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
        let ev = law.variance[i]
        #expect(abs(mean - law.mean[i]) < k * (ev / Double(n)).squareRoot(), "\(what): mean[\(i)] \(mean) vs \(law.mean[i])")
        #expect(abs(variance - ev) < k * ev * (2 / Double(n)).squareRoot() + varianceBias * ev,
                "\(what): var[\(i)] \(variance) vs \(ev)")
    }
}

@Test func exactMultiStepLawsMatchAMonteCarloOfTheSimulator() {
    // bm: T = 1 (10 steps) from N(0, 0.5²): N(μT, 0.25 + T).
    let bm = SDEExample.brownianMotion
    let bmStart = StartLaw(mean: [0], std: [0.5])
    let bmLaw = GaussianLaw.exact(bm, start: bmStart, mu: [0.7], time: 1)!
    #expect(abs(bmLaw.mean[0] - 0.7) < 1e-12 && abs(bmLaw.cov[0] - 1.25) < 1e-12)
    expectMatches(simulateFinal(bm, start: bmStart, mu: [0.7], steps: 10, paths: 4000, fineStep: 1e-2), bmLaw, "bm")

    // ou: 50 steps from 0: N(0, (1+μ²)/(2μ)(1 − e^{−2μT})); Euler–Maruyama at h = 0.01 biases the
    // variance by about μh/2 (relative).
    let ou = SDEExample.ornsteinUhlenbeck
    for mu in [0.5, 1.7] {
        let law = GaussianLaw.exact(ou, start: StartLaw(mean: [0]), mu: [mu], time: 5)!
        #expect(abs(law.cov[0] - (1 + mu * mu) / (2 * mu) * (1 - exp(-10 * mu))) < 1e-12)
        expectMatches(simulateFinal(ou, start: StartLaw(mean: [0]), mu: [mu], steps: 50, paths: 3000, fineStep: 1e-2), law,
                      varianceBias: mu * 0.01, "ou μ = \(mu)")
    }

    // ou2d: X after 20 steps from (2, 0): mean e^{−AT} x0, covariance σ²/(2μ)(1 − e^{−2μT}) I. Euler–Maruyama
    // of the drift checks the rotation convention of the exact law as well.
    let rot = SDEExample.rotatingOU
    for mu in [0.5, 2.0] {
        let law = GaussianLaw.exact(rot, start: StartLaw(mean: [2, 0]), mu: [mu], time: 2)!
        let decay = exp(-2 * mu), v = 0.25 / (2 * mu) * (1 - exp(-4 * mu))
        #expect(abs(law.mean[0] - 2 * decay * cos(2.0)) < 1e-12 && abs(law.mean[1] + 2 * decay * sin(2.0)) < 1e-12)
        #expect(abs(law.cov[0] - v) < 1e-12 && abs(law.cov[1]) < 1e-12 && abs(law.cov[3] - v) < 1e-12)
        expectMatches(simulateFinal(rot, start: StartLaw(mean: [2, 0]), mu: [mu], steps: 20, paths: 3000, fineStep: 1e-3), law,
                      varianceBias: mu * 1e-3, "ou2d μ = \(mu)")
    }
}

@Test func specCoversTheObservedGridTheMidpointsAndThePaperMu() {
    let bm = EvaluationSpec(example: .brownianMotion, dt: 0.1, observedMu: nil, muRange: nil)
    #expect(bm.oneStepMu.count == 41 && bm.oneStepMu.filter { !$0.observed }.count == 20)
    #expect(bm.oneStepSamples == 10_000 && bm.lawSteps == 10 && bm.lawStart == StartLaw(mean: [0], std: [0.5]))
    let ou2d = EvaluationSpec(example: .rotatingOU, dt: 0.1, observedMu: nil, muRange: nil, samples: 50, pathSamples: 40)
    #expect(ou2d.oneStepMu.filter { !$0.observed }.count == 15)
    #expect(ou2d.oneStepStart == [1.5, 0.5] && ou2d.lawStart.mean == [2, 0] && ou2d.lawSteps == 20)
    #expect(ou2d.lawMu.filter(\.observed).map { $0.mu[0] } == [0.5, 1, 2])
    #expect(ou2d.jobs.count == 31 + ou2d.lawMu.count + 1 + 5 * 31 && ou2d.jobs.first!.count == 50)
    let ou = EvaluationSpec(example: .ornsteinUhlenbeck, dt: 0.1, observedMu: nil, muRange: nil)
    #expect(ou.stationary && ou.lawSamples == 150_000 && ou.lawSteps == 50)
}

/// Jobs' results drawn from the exact law instead of a model: every error is sampling noise.
private func exactResults(_ spec: EvaluationSpec) -> [[Double]] {
    let d = spec.example.d, rng = CounterRNG(seed: 21)
    return spec.jobs.enumerated().map { j, job in
        var out: [Double] = []
        for s in 0..<job.count {
            var z = [Double](repeating: 0, count: d)
            z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .pathNoise, id: UInt64(s), index: UInt32(j)) }
            var x = (0..<d).map { job.start.mean[$0] + job.start.std[$0] * z[$0] }
            if job.keepPath { out += x }
            for n in 0..<job.steps {
                if let sampler = spec.example.exactSampler {  // a law that is not Gaussian (cir)
                    var draws = RandomDraws(rng, .pathNoise, id: UInt64(s), index: UInt32(1000 * j + n + 1))
                    x = sampler(x, job.mu, spec.dt, &draws)
                    if job.keepPath { out += x }
                    continue
                }
                let law = spec.example.exactTransition!(x, job.mu, spec.dt)
                z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .pathNoise, id: UInt64(s), index: UInt32(1000 * j + n + 1)) }
                let l = Simulator.cholesky(law.cov, d)
                for i in 0..<d {
                    var v = law.mean[i]
                    for j in 0...i { v += l[i * d + j] * z[j] }
                    x[i] = v
                }
                if job.keepPath { out += x }
            }
            if !job.keepPath { out += x }
        }
        return out
    }
}

/// Catches: rows compared with the wrong law or start (a state's rows against the point's law,
/// cir's against a Gaussian), floors that do not fit the errors of exact draws, and a report
/// that is not self-contained or not well-formed.
@Test(arguments: ["ou", "ou2d", "cir", "gbm"])
func exactSamplesGiveSmallErrorsAndAWellFormedSelfContainedReport(name: String) throws {
    let example = SDEExample.named(name)!
    let spec = EvaluationSpec(example: example, dt: 0.1, observedMu: nil, muRange: nil, samples: 4000, pathSamples: 300)
    let result = EvaluationResult(spec: spec, results: exactResults(spec))
    let m = result.metrics
    #expect(m.oneStep.rows.count == spec.oneStepMu.count)
    #expect(m.oneStepStates.states.map(\.name) == ["q05", "q25", "q50", "q75", "q95", "point"])
    for r in m.oneStep.rows + m.oneStepStates.states.flatMap(\.rows) + m.multiStep.rows {
        #expect(r.meanError < 5 * r.meanErrorFloor, "\(name) \(r.state ?? "") μ = \(r.mu): mean error \(r.meanError)")
        #expect(r.varianceRelativeError < 5 * r.varianceErrorFloor, "\(name) \(r.state ?? "") μ = \(r.mu)")
        #expect(r.w1OverFloor < 3, "\(name) \(r.state ?? "") μ = \(r.mu): W1 \(r.maxW1), floor \(r.w1Reference)")
    }
    // Exact draws score W1 at their floor on average over rows and components (the floor is a
    // mean, to first order; W1 varies by about 35 % from sample to sample).
    let ratios = m.oneStepStates.states.flatMap(\.rows).flatMap { r in zip(r.w1, r.w1Reference).map { $0 / $1 } }
    let average = ratios.reduce(0, +) / Double(ratios.count)
    #expect(average > 0.8 && average < 1.25, "\(name): mean W1 / floor of exact draws \(average)")
    #expect((result.densityReferences != nil) == ["cir", "gbm"].contains(name))
    #expect((m.stationary != nil) == (example.name == "ou"))
    #expect(!result.table.isEmpty && m.headline.contains { $0.key == "oneStep.between.maxMeanError" })
    let html = EvaluationReport.html(result, modelPath: "/tmp/model & <test>")
    #expect(html.hasPrefix("<!DOCTYPE html>"))
    #expect(html.components(separatedBy: "<svg").count - 1 >= 10)
    for banned in ["http://", "https://", "<script", "src=", "href=", "@import", "url("] {
        #expect(!html.contains(banned), "report contains \(banned)")
    }
    #expect(html.contains("/tmp/model &amp; &lt;test&gt;"))
    // Well-formed as XML (the page is written as XHTML-compatible HTML): python's parser.
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString).html").path
    try writeFileAtomically(file, contents: html)
    defer { try? FileManager.default.removeItem(atPath: file) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", """
        import sys, xml.etree.ElementTree as ET
        root = ET.parse(sys.argv[1]).getroot()
        assert root.tag == 'html', root.tag
        svgs = [e for e in root.iter() if e.tag == 'svg']
        assert len(svgs) >= 10, len(svgs)
        assert sum(1 for e in root.iter() if e.tag in ('polyline', 'circle', 'rect')) > 100
        """, file]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0, "report.html is not well-formed XML")
    #expect(html.contains("One-step law from every start state") && html.contains("q95"))
}

/// Catches: antithetic noise that is not exactly mirrored or pairs samples across the wrong ids:
/// for a network linear in z (no hidden layer), each pair (2k, 2k + 1) of one-step samples must
/// average to the z-free part exactly, and the two members must differ.
@Test func antitheticRolloutMirrorsNoiseInPairs() {
    let shape = MLPShape(input: 3, hidden: [], output: 1)
    let weights: [Float] = [0.5, -0.25, 2.0, 0.1]  // W (1 × 3: x, μ, z), then b
    let info = ModelInfo(shape: shape, d: 1, dMu: 1, scale: 3, dt: 0.1, example: nil, observedMu: nil, muRange: nil,
                         training: TrainSettings(hidden: []), epochs: 0, bestEpoch: 0, bestValidationLoss: 0)
    let model = FlowModel(info: info, mlp: MLP(shape: shape, parameters: weights),
                          input: Standardizer(mean: [0, 0, 0], std: [1, 1, 1]), output: Standardizer(mean: [0], std: [1]))
    let out = model.rollout(starts: [Double](repeating: 1, count: 6), mu: [0.4], steps: 1, ids: 4..<10, seed: 9,
                            stream: .evaluationNoise, keepPath: false, antithetic: true)
    let driftOnly = 1 + (0.5 * 1 - 0.25 * 0.4 + 0.1) / 3
    for k in 0..<3 {
        #expect(abs((out[2 * k] + out[2 * k + 1]) / 2 - driftOnly) < 1e-6)
        #expect(abs(out[2 * k] - out[2 * k + 1]) > 1e-3)
    }
}

/// Catches: moment-matching scales computed over the wrong ids, pairs or steps: with the scales,
/// the noise of every step of a job (all `count` ids, antithetic, odd count) must have mean
/// square exactly 1 per component, and the scales must not depend on which ids a rank runs.
@Test func momentMatchedNoiseHasUnitMeanSquare() {
    let job = SamplingJob(key: 3, start: StartLaw(mean: [0, 0]), mu: [1], steps: 2, count: 1001, keepPath: false)
    let seed: UInt64 = 77, d = 2
    let scale = job.noiseScales(d: d, seed: seed)
    #expect(scale.count == 4 && scale.allSatisfy { abs($0 - 1) > 1e-6 && abs($0 - 1) < 0.1 })
    let rng = CounterRNG(seed: seed &+ 4 &* 0x9E37_79B9_7F4A_7C15)  // the job's noise seed (key 3)
    var z = [Double](repeating: 0, count: d)
    for n in 0..<2 {
        var sum = [0.0, 0.0]
        for id in 0..<1001 {
            z.withUnsafeMutableBufferPointer { rng.fillNormals($0, .evaluationNoise, id: UInt64(id / 2), index: UInt32(n)) }
            for i in 0..<d { let v = (id % 2 == 1 ? -z[i] : z[i]) * scale[n * d + i]; sum[i] += v * v }
        }
        for i in 0..<d { #expect(abs(sum[i] / 1001 - 1) < 1e-12, "step \(n) component \(i): \(sum[i] / 1001)") }
    }
}
