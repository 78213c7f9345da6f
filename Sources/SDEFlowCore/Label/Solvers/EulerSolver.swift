import CKernels

/// The paper's solver: explicit Euler on N_τ uniform steps with shifted coefficients
/// (`sdeflow_label_ode`). Its O(h) bias inflates the label variance (about +1 % at 500 steps,
/// +5 % at 100, measured on Gaussian atoms) — as large as the accuracy one wants from the
/// whole method; kept for `--paper-method`.
public struct EulerSolver: LabelODEIntegrator {
    let steps: Int
    public var needsWeights: Bool { false }

    public mutating func prepare(delta: [Double], weights: [Double], count: Int, d: Int) {}

    public mutating func integrate(d: Int, kPad: Int, deltaT: [Float], norm2: [Float], kern: [Float],
                            z: inout [Float], scratch: inout [Float]) -> Float {
        sdeflow_label_ode(Int32(d), Int32(kPad), deltaT, norm2, kern, &z, Int32(steps), &scratch)
    }
}
