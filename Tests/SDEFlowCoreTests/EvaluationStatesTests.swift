import Foundation
import SDEFlowCore
import Testing

// `evaluate` from many start states (quantiles of the data's x at each μ, `DataQuantiles`), its
// comparison with a non-Gaussian exact law (two-sample W1 and its first-order floor), and the
// evaluation at any rank count.

@Test func quantilesInterpolateLikeNumPy() {
    // numpy.quantile([1, 2, 3, 4], [0.25, 0.5, 0.9]) = [1.75, 2.5, 3.7]; type 7 hits the ends exactly.
    #expect(DataQuantiles.quantile(sorted: [1, 2, 3, 4], 0.25) == 1.75)
    #expect(DataQuantiles.quantile(sorted: [1, 2, 3, 4], 0.5) == 2.5)
    #expect(abs(DataQuantiles.quantile(sorted: [1, 2, 3, 4], 0.9) - 3.7) < 1e-15)
    #expect(DataQuantiles.quantile(sorted: [1, 2, 3], 0) == 1 && DataQuantiles.quantile(sorted: [1, 2, 3], 1) == 3)
    #expect(DataQuantiles.quantile(sorted: [5], 0.3) == 5)
    #expect(StartState.name(level: 0.05) == "q05" && StartState.name(level: 0.5) == "q50" && StartState.name(level: 0.025) == "q02.5")
}

/// Catches: states taken from the wrong law (the initial law only, another μ, a Gaussian for
/// cir): where the data design is stationary the quantiles are those of the stationary law —
/// N(0, (1+μ²)/(2μ)) for ou, Gamma(2μθ/σ², σ²/(2μ)) for cir (values from scipy.stats.gamma.ppf)
/// — within 5 standard errors √(q(1 − q)/n)/f(x_q) of a quantile of n = 5 000 paths (as if the
/// 10 states of a path were one: an upper bound on the error).
@Test func dataQuantilesAreThoseOfTheStationaryLaws() {
    let levels = [0.05, 0.25, 0.5, 0.75, 0.95], paths = 5000
    func bound(_ q: Double, density f: Double) -> Double { 5 * (q * (1 - q) / Double(paths)).squareRoot() / f }
    let cirExact: [Double: [Double]] = [0.5: [0.1822, 0.4857, 0.8423, 1.3445, 2.3569], 2.0: [0.5018, 0.7472, 0.9595, 1.2088, 1.6365]]
    let cir = DataQuantiles.states(of: .cir, at: [[0.5], [2.0]], levels: levels, paths: paths)
    for (k, mu) in [0.5, 2.0].enumerated() {
        let law = CIR.stationary(mu: mu), logGamma: Double = lgamma(law.shape)
        for (j, q) in levels.enumerated() {
            let x = cirExact[mu]![j]
            let f = exp((law.shape - 1) * log(x) - x / law.scale - logGamma - law.shape * log(law.scale))
            #expect(abs(cir[k][j][0] - x) < bound(q, density: f), "cir μ = \(mu), q = \(q): \(cir[k][j][0]) vs \(x)")
        }
    }
    let ou = DataQuantiles.states(of: .ornsteinUhlenbeck, at: [[0.5], [1.7]], levels: levels, paths: paths)
    for (k, mu) in [0.5, 1.7].enumerated() {
        let sd = ((1 + mu * mu) / (2 * mu)).squareRoot()
        for (j, q) in levels.enumerated() {
            let z = StandardNormal.quantile(q)
            #expect(abs(ou[k][j][0] - sd * z) < bound(q, density: StandardNormal.pdf(z) / sd), "ou μ = \(mu), q = \(q): \(ou[k][j][0]) vs \(sd * z)")
        }
    }
}

/// Catches: states that depend on the evaluation seed or the call, levels out of order, a
/// state per μ that is not at its μ, the point missing, and multi-step μ that skip a kind.
@Test func specStatesAreDeterministicOrderedAndComplete() {
    let a = EvaluationSpec(example: .brownianMotion, dt: 0.1, observedMu: nil, muRange: nil, seed: 1)
    let b = EvaluationSpec(example: .brownianMotion, dt: 0.1, observedMu: nil, muRange: nil, seed: 99)
    #expect(a.quantileStates == b.quantileStates)
    #expect(a.states.count == 6 && a.states.last!.name == "point" && a.states.last!.x.allSatisfy { $0 == [2] })
    for k in a.oneStepMu.indices {
        let xs = a.quantileStates.map { $0.x[k][0] }
        #expect(zip(xs, xs.dropFirst()).allSatisfy { $0 < $1 }, "μ index \(k): \(xs)")
        #expect(xs.first! > -5.5 && xs.last! < 5.5)  // bm's data: x0 ~ U(−5, 5) plus drift and noise over T = 1
    }
    // The 5 % state moves with μ as the data do (drift μ over the horizon).
    #expect(a.quantileStates[0].x.last![0] > a.quantileStates[0].x.first![0] + 0.5)
    // Multi-step law at every fifth grid point: 9 μ, observed and midpoints alternating, both ends.
    let lawMu = a.lawMu.map { $0.mu[0] }, expected = [-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1.0]
    #expect(lawMu.count == 9 && zip(lawMu, expected).allSatisfy { abs($0 - $1) < 1e-12 } && a.lawSamples == 150_000)
    #expect(a.lawMu.map(\.observed) == [true, false, true, false, true, false, true, false, true])
    // One job per (state, μ), keys distinct, starts at the state's x.
    let jobs = a.jobs
    #expect(jobs.count == 41 + 9 + 1 + 5 * 41 && Set(jobs.map(\.key)).count == jobs.count)
    #expect(jobs[51].start.mean == a.quantileStates[0].x[0] && jobs[51].mu == a.oneStepMu[0].mu && jobs[51].steps == 1)
    #expect(jobs.last!.start.mean == a.quantileStates[4].x[40] && jobs.last!.count == a.oneStepSamples)
}

@Test func w1BetweenSamplesIsExact() {
    // Equal sizes: the mean distance between order statistics.
    let a = [0.3, -1.2, 2.5, 0.31, -0.05], b = [1.0, 0.2, -0.4, 3.0, 0.0]
    let pairs = zip(a.sorted(), b.sorted()).map { abs($0 - $1) }.reduce(0, +) / 5
    #expect(abs(Wasserstein.betweenSamples(a, b) - pairs) < 1e-15)
    // A shift moves W1 by exactly the shift; ties and unequal sizes against ∫|F_a − F_b| on a fine grid.
    #expect(abs(Wasserstein.betweenSamples(a, a.map { $0 + 0.7 }) - 0.7) < 1e-14)
    let c = [0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 3.5], e = [0.5, 1.0, 1.0, 4.0]
    var integral = 0.0
    let h = 1e-5
    for k in 0..<Int(5 / h) {
        let x = -0.5 + (Double(k) + 0.5) * h
        let fc = Double(c.filter { $0 <= x }.count) / 7, fe = Double(e.filter { $0 <= x }.count) / 4
        integral += abs(fc - fe) * h
    }
    #expect(abs(Wasserstein.betweenSamples(c, e) - integral) < 1e-6)
    #expect(Wasserstein.betweenSamples(c, c) == 0)
}

/// Catches: a floor of the wrong size (missing √(2/π), the 1/m term, the square root of
/// F(1 − F)): for a large N(0, 1) reference it must be √(2/π) ∫ √(Φ(1 − Φ)) √(1/n + 1/m) =
/// 1.28838 √(1/n + 1/m); and for cir's skewed one-step law it must match the mean W1 that
/// exact draws score against the same reference (Monte Carlo, 100 replicates).
@Test func samplingFloorMatchesTheMeanW1OfExactDraws() {
    let rng = CounterRNG(seed: 12), m = 200_000
    let normal = (0..<m).map { i -> Double in var d = RandomDraws(rng, .exactReference, id: UInt64(i), index: 0); return d.normal() }.sorted()
    for n in [1000, 20_000] {
        let expected = 1.2883791903 * (1 / Double(n) + 1 / Double(m)).squareRoot()
        #expect(abs(Wasserstein.samplingFloor(reference: normal, n: n) / expected - 1) < 0.01, "n = \(n)")
    }
    // The Monte Carlo floor of the Gaussian W1 (exact law, no reference) agrees with the first
    // order one evaluate uses (400 replicates: the Monte Carlo mean is within 1.8 % of its own).
    let mc = Wasserstein.noiseFloor(n: 2000, seed: 3, replicates: 400), first = Wasserstein.gaussianFloor(n: 2000)
    #expect(abs(first - 1.2883791903 / 2000.0.squareRoot()) < 1e-12)
    #expect(abs(mc / first - 1) < 0.07, "Monte Carlo \(mc), first order \(first)")

    let (x, mu, n) = (0.19, 0.5, 4000)
    let reference = ExactReference.draws(.cir, start: StartLaw(mean: [x]), mu: [mu], time: 0.1, count: 4 * n, seed: 1, key: 0).sorted()
    let floor = Wasserstein.samplingFloor(reference: reference, n: n)
    var total = 0.0
    for r in 0..<100 {
        let draws = ExactReference.draws(.cir, start: StartLaw(mean: [x]), mu: [mu], time: 0.1, count: n, seed: 2, key: r + 1)
        total += Wasserstein.betweenSamples(draws, reference)
    }
    #expect(abs(total / 100 / floor - 1) < 0.15, "mean W1 of exact draws \(total / 100), floor \(floor)")
}

/// Catches: an evaluation that depends on the rank count (references or start states drawn per
/// rank, rows gathered out of order): cir evaluated by a small random network on 1 and 3
/// in-process ranks writes byte-identical metrics.json and report.html.
@Test func cirEvaluationIsTheSameAtOneAndThreeRanks() throws {
    let shape = MLPShape(input: 3, hidden: [8], output: 1), rng = CounterRNG(seed: 4)
    let weights = (0..<shape.parameterCount).map { Float(0.3 * rng.normals(.weightInit, id: UInt64($0), index: 0).0) }
    let info = ModelInfo(shape: shape, d: 1, dMu: 1, scale: 3, dt: 0.1, example: "cir", observedMu: nil, muRange: nil,
                         training: TrainSettings(hidden: [8]), epochs: 0, bestEpoch: 0, bestValidationLoss: 0)
    let model = FlowModel(info: info, mlp: MLP(shape: shape, parameters: weights),
                          input: Standardizer(mean: [1, 1.25, 0], std: [0.5, 0.5, 1]), output: Standardizer(mean: [0], std: [0.6]))
    let spec = EvaluationSpec(example: .cir, dt: 0.1, observedMu: nil, muRange: nil, samples: 600, pathSamples: 300)
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("cir-eval-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    var outputs: [[Data]] = []
    for ranks in [1, 3] {
        let out = root.appendingPathComponent("r\(ranks)").path
        _ = try LocalCollective.run(ranks: ranks) { comm in
            try Pipeline.evaluate(comm, model: model, spec: spec, output: out, modelPath: nil, log: Log(rank: 1))
        }
        outputs.append(try ["metrics.json", "report.html"].map { try Data(contentsOf: URL(fileURLWithPath: out).appendingPathComponent($0)) })
    }
    #expect(outputs[0] == outputs[1], "cir evaluation differs between 1 and 3 ranks")
    let metrics = try JSONDecoder().decode(EvaluationMetrics.self, from: outputs[0][0])
    #expect(metrics.oneStepStates.states.count == 6 && metrics.oneStepStates.states.allSatisfy { $0.rows.count == 21 })
    #expect(metrics.oneStepStates.states[0].rows.allSatisfy { $0.state == "q05" && ($0.start?[0] ?? 0) > 0 })
    for key in ["oneStepStates.observed.maxMeanError", "oneStepStates.between.maxW1OverFloor", "oneStepStates.varianceRelativeErrorNoiseFloor"] {
        #expect(metrics.headline.contains { $0.key == key }, "headline lacks \(key)")
    }
}
