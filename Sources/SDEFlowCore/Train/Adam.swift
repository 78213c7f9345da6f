import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `torch.optim.Adam` (non-AMSGrad, single-tensor CPU path) with `weight_decay` as an L2 term
/// added to the gradient. Per parameter, with step t ≥ 1:
///
///     g += wd·p;  m = m + (1−β1)(g − m);  v = β2·v + (1−β2)·g²
///     p -= (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
///
/// Every rank applies the same update to the same allreduced gradient, so parameters stay
/// bit-identical across ranks. Scalars derived from β, lr and t are computed in Double and
/// rounded to Float once, like PyTorch's Python-float arithmetic.
public struct Adam: Codable, Sendable, Equatable {
    public var learningRate: Float
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float
    /// Number of updates applied so far (PyTorch's `state['step']`).
    public var step: Int = 0
    /// First and second moment estimates m, v (same layout as the parameters).
    public var firstMoment: [Float]
    public var secondMoment: [Float]

    public init(parameterCount: Int, learningRate: Float = 1e-3, weightDecay: Float = 1e-6) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = [Float](repeating: 0, count: parameterCount)
    }

    /// One Adam step: `gradient` is the gradient of the (mean) loss w.r.t. `parameters`
    /// (entries past `parameters.count` are ignored).
    public mutating func update(_ parameters: inout [Float], gradient: [Float]) {
        precondition(parameters.count == firstMoment.count && gradient.count >= firstMoment.count)
        step += 1
        let t = Double(step)
        let bc1 = 1 - pow(beta1, t)
        let bc2 = 1 - pow(beta2, t)
        let scalars = sdeflow_adam_step(
            first_weight: Float(1 - beta1), second_decay: Float(beta2), second_weight: Float(1 - beta2),
            step_size: Float(Double(learningRate) / bc1), bias_sqrt: Float(bc2.squareRoot()),
            epsilon: epsilon, weight_decay: weightDecay)
        // One vectorised pass in CKernels (the same arithmetic on every CPU, so ranks agree).
        guard !parameters.isEmpty else { return }
        parameters.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeBufferPointer { g in
                firstMoment.withUnsafeMutableBufferPointer { m in
                    secondMoment.withUnsafeMutableBufferPointer { v in
                        sdeflow_adam_update(p.baseAddress!, g.baseAddress!, m.baseAddress!, v.baseAddress!,
                                            Int64(p.count), scalars)
                    }
                }
            }
        }
    }
}
