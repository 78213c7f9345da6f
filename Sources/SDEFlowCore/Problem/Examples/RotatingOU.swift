import Foundation

extension SDEExample {
    /// Example 3: `dX = −A X dt + σ dW`, A = [[μ, −ω], [ω, μ]], ω = 1, σ = 0.5, μ ∈ [0.5, 2].
    /// The drift −AX = (−μx₁ + ωx₂, −ωx₁ − μx₂) turns clockwise, so the exact one-step mean is
    /// e^{−Ah}x = e^{−μh} (x₁ cos ωh + x₂ sin ωh, −x₁ sin ωh + x₂ cos ωh); simulation and ground
    /// truth both use this (a test pins it against an Euler–Maruyama step of the drift).
    /// The multi-step law (20 steps from (2, 0), trace of the covariance up to 0.43) takes 50 000
    /// samples: mean-error noise floor √(0.43/50 000) = 0.0029 (the paper's 10 000: 0.0066).
    public static let rotatingOU = SDEExample(
        name: "ou2d", summary: "dX = -A X dt + 0.5 dW, A = [[mu, -1], [1, mu]] (d = 2), mu in [0.5, 2]",
        d: 2, dMu: 1, observedMu: grid(0.5...2, count: 16), muRange: 0.5...2,
        simulation: SimulationSettings(pathsPerMu: 3000, dt: 0.1, horizon: 2, fineStep: nil),
        labels: wideLabels(nuX: 1.6, nuMu: 0.6, neighbors: 80_000, labels: 25_000),
        paperLabels: LabelSettings(labels: 50_000, neighbors: 2000, odeSteps: 500, nuX: 0.8, nuMu: 0.3,
                                   estimator: .paper, solver: .euler),
        evaluation: EvaluationPlan(oneStepStart: [1.5, 0.5], oneStepSamples: 20_000,
                                   lawStart: StartLaw(mean: [2, 0]), lawSteps: 20, lawSamples: 50_000,
                                   paperMu: [[0.5], [1], [2]], lawAtPaperMuAndMidpoints: true),
        hidden: [256, 256, 256, 256], patience: 100,
        coefficients: { x, mu, a, b in
            let omega = 1.0
            a[0] = -mu[0] * x[0] + omega * x[1]
            a[1] = -omega * x[0] - mu[0] * x[1]
            b[0] = 0.5; b[1] = 0.5
        },
        initialState: { _, rng, path in
            let (u, v) = rng.uniforms(.initialState, id: path, index: 0)
            return [-3 + 6 * u, -3 + 6 * v]
        },
        exactTransition: { x, mu, h in
            let omega = 1.0, sigma = 0.5, m = mu[0]
            let decay = exp(-m * h), c = cos(omega * h), s = sin(omega * h)
            let mean = [decay * (x[0] * c + x[1] * s), decay * (-x[0] * s + x[1] * c)]
            let v = sigma * sigma / (2 * m) * (1 - exp(-2 * m * h))
            return (mean, [v, 0, 0, v])
        })
}
