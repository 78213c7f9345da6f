import Foundation

/// The pieces of the geometric Brownian motion example `gbm` (`SDEExample.geometricBM`):
///
///     dX = μ X dt + σ X dW,   σ = 0.5, μ ∈ [−0.5, 0.5],
///
/// multiplicative noise (finance, population dynamics): the one-step standard deviation is
/// proportional to the state, so the *variance* is quadratic in x, where CIR's is linear.
///
/// - Exact transition: X_{t+h} = x · exp((μ − σ²/2) h + σ √h ξ), ξ ~ N(0, 1): a log-normal law
///   with mean x e^{μh} and variance x² e^{2μh} (e^{σ²h} − 1).
/// - Why these values: paths start log-normal around 1 (log-sd 0.4) and the data of 10 steps
///   reach from about 0.45 to 2.2 (5 %–95 %), a factor 5 in the noise's size across the data.
public enum GeometricBM {
    public static let sigma = 0.5
    public static let muRange: ClosedRange<Double> = -0.5...0.5
    /// Standard deviation of log X at the start of a path.
    public static let startLogSD = 0.4

    /// Exact conditional mean and variance of X_{t+h} given X_t = x.
    public static func moments(x: Double, mu: Double, h: Double) -> (mean: Double, variance: Double) {
        let m = x * Foundation.exp(mu * h)
        return (m, m * m * Foundation.expm1(sigma * sigma * h))
    }

    /// One exact draw of X_{t+h} given X_t = x.
    public static func sample(x: Double, mu: Double, h: Double, _ draws: inout RandomDraws) -> Double {
        x * Foundation.exp((mu - sigma * sigma / 2) * h + sigma * h.squareRoot() * draws.normal())
    }
}

extension SDEExample {
    /// `gbm`: geometric Brownian motion (`GeometricBM`), simulated and evaluated with its exact
    /// log-normal law: the built-in case of noise whose variance grows like x².
    ///
    /// - Observed μ: 11 equally spaced values in [−0.5, 0.5]; Δt = 0.1, horizon 1, 9 100 paths per
    ///   μ (1 001 000 pairs, like the other 1-D examples), exact steps.
    /// - Evaluation: one-step law from x = 0.6 (small noise) and the data's quantiles; the law after
    ///   10 steps from 1 at every fifth μ, 100 000 samples: its variance is at most e (e^{0.25} − 1)
    ///   = 0.77 (μ = 0.5), a mean-error noise floor of 0.0028.
    /// - Labels: the wide defaults with ν_x = 0.5 (the data's x spread is about 0.5) and ν_μ = 0.3.
    public static let geometricBM = SDEExample(
        name: "gbm", summary: "dX = mu X dt + 0.5 X dW (d = 1), mu in [-0.5, 0.5]",
        d: 1, dMu: 1, observedMu: grid(GeometricBM.muRange, count: 11), muRange: GeometricBM.muRange,
        simulation: SimulationSettings(pathsPerMu: 9100, dt: 0.1, horizon: 1, fineStep: nil),
        labels: wideLabels(nuX: 0.5, nuMu: 0.3),
        paperLabels: LabelSettings(labels: 20_000, neighbors: 1000, odeSteps: 500, nuX: 0.5, nuMu: 0.3,
                                   estimator: .paper, solver: .euler),
        evaluation: EvaluationPlan(oneStepStart: [0.6], oneStepSamples: 20_000,
                                   lawStart: StartLaw(mean: [1]), lawSteps: 10, lawSamples: 100_000, lawMuStride: 5),
        hidden: [128, 128, 128], patience: 50,
        coefficients: { x, mu, a, b in a[0] = mu[0] * x[0]; b[0] = GeometricBM.sigma * x[0] },
        initialState: { _, rng, path in
            var draws = RandomDraws(rng, .initialState, id: path, index: 0)
            return [Foundation.exp(GeometricBM.startLogSD * draws.normal())]
        },
        exactTransition: { x, mu, h in
            let m = GeometricBM.moments(x: x[0], mu: mu[0], h: h)
            return ([m.mean], [m.variance])
        },
        exactSampler: { x, mu, h, draws in [GeometricBM.sample(x: x[0], mu: mu[0], h: h, &draws)] })
}
