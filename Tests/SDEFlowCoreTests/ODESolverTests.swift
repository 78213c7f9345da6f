import CKernels
import Foundation
import SDEFlowCore
import Testing

/// Catches: a grid that does not run from 1 to 0, is not strictly decreasing, or maps σ to τ
/// wrongly (the solver's steps would then not cover the noise levels they claim).
@Test func exponentialGridRunsFromNoiseToData() {
    for steps in [1, 2, 10, 500] {
        let tau = ExponentialSolver.tauGrid(steps: steps)
        #expect(tau.count == steps + 1 && tau.first == 1 && tau.last == 0)
        for i in 1..<tau.count { #expect(tau[i] < tau[i - 1]) }
    }
    let tau = ExponentialSolver.tauGrid(steps: 50)
    func sigma(_ t: Float) -> Double { Double(t).squareRoot() / (1 - Double(t)) }
    #expect(abs(sigma(tau[1]) / ExponentialSolver.sigmaMax - 1) < 1e-3)
    #expect(abs(sigma(tau[49]) / ExponentialSolver.sigmaMin - 1) < 1e-3)
}

/// Labels of K Gaussian atoms (1-D, equal kernel weights) from stratified z = Φ⁻¹((i + ½)/q):
/// the exact flow is a monotone transport of N(0, 1) onto the atoms, so the labels must sit on
/// atoms and have the atoms' variance. Returns that variance ratio and the mean distance from
/// a label to its nearest atom (atoms are ~0.005 apart).
private func atomLabels(solver: ODESolver, steps: Int, stop: Double = 0, q: Int = 4000) -> (varRatio: Double, offAtom: Double) {
    let k = 200, kPad = 208, s = 0.46
    let rng = CounterRNG(seed: 17)
    var deltaT = [Float](repeating: 0, count: kPad), norm2 = [Float](repeating: 0, count: kPad)
    var kern = [Float](repeating: -.infinity, count: kPad)
    for j in 0..<k {
        deltaT[j] = Float(s * rng.normals(.pathNoise, id: UInt64(j), index: 0).0)
        norm2[j] = deltaT[j] * deltaT[j]; kern[j] = 0
    }
    let atoms = deltaT[0..<k].map(Double.init)
    let grid = ExponentialSolver.tauGrid(steps: steps, stop: stop * s)
    let kappa = [Float(ExponentialSolver.kappa(spread: s, sigma: stop * s))]
    var scratch = [Float](repeating: 0, count: kPad), labels = [Double]()
    for i in 0..<q {
        var z = [Float(StandardNormal.quantile((Double(i) + 0.5) / Double(q)))]
        _ = solver == .euler
            ? sdeflow_label_ode(1, Int32(kPad), deltaT, norm2, kern, &z, Int32(steps), &scratch)
            : sdeflow_label_ode_grid(1, Int32(kPad), deltaT, norm2, kern, &z, Int32(steps), grid, kappa, &scratch)
        labels.append(Double(z[0]))
    }
    func variance(_ v: [Double]) -> Double {
        let m = v.reduce(0, +) / Double(v.count)
        return v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count)
    }
    let offAtom = labels.map { l in atoms.map { abs($0 - l) }.min()! }.reduce(0, +) / Double(q)
    return (variance(labels) / variance(atoms), offAtom)
}

/// Catches: a wrong exponential-integrator step (coefficients, the multistep extrapolation,
/// the first or last step) in `sdeflow_label_ode_grid`: labels must land on the atoms and, at
/// 100 steps, reproduce their variance to 1 %; the paper's Euler is shown for contrast.
@Test func exponentialSolverTransportsNoiseOntoAtoms() {
    let exp100 = atomLabels(solver: .exponential, steps: 100)
    #expect(exp100.offAtom < 2e-4, "labels on average \(exp100.offAtom) from the nearest atom")
    #expect(abs(exp100.varRatio - 1) < 0.01, "label/atom variance \(exp100.varRatio)")
    let exp500 = atomLabels(solver: .exponential, steps: 500)
    #expect(abs(exp500.varRatio - 1) < 0.005, "label/atom variance \(exp500.varRatio) at 500 steps")
    let euler100 = atomLabels(solver: .euler, steps: 100)
    print("label/atom variance − 1 at 100 steps: exponential \(exp100.varRatio - 1), Euler \(euler100.varRatio - 1); 500 exponential \(exp500.varRatio - 1)")
}

/// Catches: a wrong final step when the solver stops above the data (`odeStop`): the
/// posterior mean plus κ·(remaining noise) must keep the variance of the (near-Gaussian) atoms
/// to 1 %, while the labels now lie between atoms (a smooth map of z).
@Test func stoppedSolverKeepsTheVariance() {
    let stopped = atomLabels(solver: .exponential, steps: 100, stop: 0.2)
    #expect(abs(stopped.varRatio - 1) < 0.01, "label/atom variance \(stopped.varRatio)")
    #expect(stopped.offAtom > 1e-3)
    #expect(abs(ExponentialSolver.kappa(spread: 1, sigma: 1e-3) - 0.5) < 1e-3)
    let grid = ExponentialSolver.tauGrid(steps: 20, stop: 0.1)
    #expect(grid.count == 21 && abs(Double(grid[20]).squareRoot() / (1 - Double(grid[20])) - 0.1) < 1e-4)
}
