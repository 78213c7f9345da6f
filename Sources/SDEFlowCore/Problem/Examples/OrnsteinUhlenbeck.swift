import Foundation

extension SDEExample {
    /// Example 2: `dX = −μX dt + √(1+μ²) dW`, μ ∈ [0.5, 2], started in the stationary law.
    ///
    /// The multi-step law (50 steps from 0, variance up to 1.25) takes 150 000 samples (the
    /// paper's 50 000 left a mean-error floor of 0.005): floor √(1.25/150 000) = 0.0029, at 9 μ
    /// (every fifth of the observed μ and midpoints), 67.5 M network evaluations where the
    /// paper's size at all 41 μ took 102.5 M.
    public static let ornsteinUhlenbeck = SDEExample(
        name: "ou", summary: "dX = -mu X dt + sqrt(1 + mu^2) dW (d = 1), mu in [0.5, 2]",
        d: 1, dMu: 1, observedMu: grid(0.5...2, count: 21), muRange: 0.5...2,
        simulation: SimulationSettings(pathsPerMu: 5000, dt: 0.1, horizon: 1, fineStep: 1e-3),
        labels: wideLabels(nuX: 1.0, nuMu: 0.3),
        paperLabels: LabelSettings(labels: 20_000, neighbors: 1000, odeSteps: 500, nuX: 1.0, nuMu: 0.3,
                                   estimator: .paper, solver: .euler),
        evaluation: EvaluationPlan(oneStepStart: [1], oneStepSamples: 20_000,
                                   lawStart: StartLaw(mean: [0]), lawSteps: 50, lawSamples: 150_000, stationary: true,
                                   lawMuStride: 5),
        hidden: [128, 128, 128], patience: 50,
        coefficients: { x, mu, a, b in a[0] = -mu[0] * x[0]; b[0] = (1 + mu[0] * mu[0]).squareRoot() },
        initialState: { mu, rng, path in
            let m = mu[0]
            return [((1 + m * m) / (2 * m)).squareRoot() * rng.normals(.initialState, id: path, index: 0).0]
        },
        exactTransition: { x, mu, h in
            let m = mu[0]
            return ([x[0] * exp(-m * h)], [(1 + m * m) / (2 * m) * (1 - exp(-2 * m * h))])
        })
}
