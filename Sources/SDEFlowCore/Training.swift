/// Training-side helpers for the data-parallel MLP fit: the Adam optimiser, per-column
/// standardisation of inputs/targets, and the split of a global batch over ranks.

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

/// Per-column affine standardisation z = (v − mean) / std, fitted in Double.
/// `std` is the unbiased (n − 1) sample standard deviation, as `torch.Tensor.std(dim=0)`;
/// a column whose std is below 1e-8 (e.g. constant) is stored with std 1, so it is only
/// centred and never divided by ~0.
public struct Standardizer: Codable, Sendable, Equatable {
    public var mean: [Double]
    public var std: [Double]

    /// Values at or below this std count as 1.
    public static let minimumStd = 1e-8

    public var width: Int { mean.count }

    public init(mean: [Double], std: [Double]) {
        precondition(mean.count == std.count)
        self.mean = mean
        self.std = std.map { $0 < Self.minimumStd ? 1 : $0 }
    }

    /// Fits mean and std per column of `values` (rows × width, row-major), two-pass in Double.
    public init(fitting values: [Double], rows: Int, width: Int) {
        precondition(values.count == rows * width && rows > 0)
        var mean = [Double](repeating: 0, count: width)
        for r in 0..<rows { for c in 0..<width { mean[c] += values[r * width + c] } }
        for c in 0..<width { mean[c] /= Double(rows) }
        var ss = [Double](repeating: 0, count: width)
        for r in 0..<rows {
            for c in 0..<width {
                let d = values[r * width + c] - mean[c]
                ss[c] += d * d
            }
        }
        let dof = Double(Swift.max(rows - 1, 1))
        self.init(mean: mean, std: ss.map { ($0 / dof).squareRoot() })
    }

    @inline(__always) private func divisor(_ c: Int) -> Double {
        std[c] < Self.minimumStd ? 1 : std[c]
    }

    /// Standardises rows × width values into Float32 network inputs/targets.
    public func apply(_ values: [Double]) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { apply(v, into: $0) }
        }
        return out
    }

    /// Allocation-free `apply`: `values.count` must be a multiple of `width`.
    public func apply(_ values: UnsafeBufferPointer<Double>, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(values.count % width == 0 && out.count >= values.count)
        let w = width
        for c in 0..<w {
            let m = mean[c], s = 1 / divisor(c)
            var i = c
            while i < values.count {
                out[i] = Float((values[i] - m) * s)
                i += w
            }
        }
    }

    /// Maps standardised values (rows × width) back to original units: v = z·std + mean.
    public func invert(_ values: [Float]) -> [Double] {
        var out = [Double](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { invert(v, into: $0) }
        }
        return out
    }

    /// Allocation-free `invert`.
    public func invert(_ values: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Double>) {
        precondition(values.count % width == 0 && out.count >= values.count)
        let w = width
        for c in 0..<w {
            let m = mean[c], s = divisor(c)
            var i = c
            while i < values.count {
                out[i] = Double(values[i]) * s + m
                i += w
            }
        }
    }
}

/// Rows of the global batch that rank `rank` of `size` takes: a contiguous slice, sizes
/// differing by at most 1 (the first `batchSize % size` ranks take one extra row). The
/// slices of ranks 0..<size tile 0..<batchSize in order, so summed slice gradients equal
/// the full-batch gradient.
public func batchSlice(batchSize: Int, rank: Int, size: Int) -> Range<Int> {
    precondition(size > 0 && rank >= 0 && rank < size && batchSize >= 0)
    let base = batchSize / size, extra = batchSize % size
    let start = rank * base + Swift.min(rank, extra)
    return start..<(start + base + (rank < extra ? 1 : 0))
}

/// One data-parallel training step, identical on every rank (METHOD.md §3): the rank takes its
/// `batchSlice` of the global batch, adds its gradient of the batch's mean squared error (PyTorch
/// MSELoss: mean over rows and outputs) and its share of that loss into one buffer, `allreduce`
/// sums the buffer over ranks, and every rank applies the same Adam update. Holds the reusable
/// buffers, so a step allocates nothing.
public struct DataParallelStep {
    private var workspace = MLPWorkspace()
    private var batchX: [Float] = [], batchY: [Float] = []
    /// Gradient (parameterCount values), then the batch loss: one allreduce per step.
    private var reduced: [Float]

    public init(parameterCount: Int) { reduced = [Float](repeating: 0, count: parameterCount + 1) }

    /// `batch`: the global batch as row indices into `xs` (rows × input) and `ys` (rows × output).
    /// Returns the batch's mean loss (the same on every rank).
    public mutating func run(_ mlp: inout MLP, _ adam: inout Adam, xs: [Float], ys: [Float], batch: ArraySlice<Int>,
                             rank: Int, size: Int, allreduce: (inout [Float]) throws -> Void) rethrows -> Double {
        let w = mlp.shape.input, d = mlp.shape.output, n = mlp.shape.parameterCount
        let mine = batchSlice(batchSize: batch.count, rank: rank, size: size)
        batchX.removeAll(keepingCapacity: true); batchY.removeAll(keepingCapacity: true)
        for k in mine {
            let r = batch[batch.startIndex + k]
            batchX += xs[r * w ..< (r + 1) * w]; batchY += ys[r * d ..< (r + 1) * d]
        }
        for i in reduced.indices { reduced[i] = 0 }
        let scale = 1 / Float(batch.count * d)
        let loss = batchX.withUnsafeBufferPointer { bx in
            batchY.withUnsafeBufferPointer { by in
                mlp.accumulateGradient(inputs: bx, targets: by, rows: mine.count, scale: scale, into: &reduced, workspace: &workspace)
            }
        }
        reduced[n] = Float(loss)
        try allreduce(&reduced)
        adam.update(&mlp.parameters, gradient: reduced)
        return Double(reduced[n])
    }
}
