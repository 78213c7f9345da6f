/// Training-side helpers for the data-parallel MLP fit: the Adam optimiser, per-column
/// standardisation of inputs/targets, and the split of a global batch over ranks.
import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

/// One data-parallel training step, identical on every rank (docs/METHOD.md §3): the rank takes its
/// `batchSlice` of the global batch, adds its gradient of the batch's mean squared error (PyTorch
/// MSELoss: mean over rows and outputs) and its share of that loss into one buffer, `allreduce`
/// sums the buffer over ranks, and every rank applies the same Adam update. Holds the reusable
/// buffers, so a step allocates nothing.
public struct DataParallelStep {
    private var workspace = MLPWorkspace()
    private var batchX: [Float] = [], batchY: [Float] = [], batchW: [Float] = []
    /// Gradient (parameterCount values), then the batch loss: one allreduce per step.
    private var reduced: [Float]

    public init(parameterCount: Int) { reduced = [Float](repeating: 0, count: parameterCount + 1) }

    /// `batch`: the global batch as row indices into `xs` (rows × input) and `ys` (rows × output).
    /// Returns the batch's mean loss (the same on every rank).
    public mutating func run(_ mlp: inout MLP, _ adam: inout Adam, xs: [Float], ys: [Float], weights: [Float]? = nil, batch: ArraySlice<Int>,
                             rank: Int, size: Int, allreduce: (inout [Float]) throws -> Void) rethrows -> Double {
        let w = mlp.shape.input, d = mlp.shape.output, n = mlp.shape.parameterCount
        let mine = batchSlice(batchSize: batch.count, rank: rank, size: size)
        batchX.removeAll(keepingCapacity: true); batchY.removeAll(keepingCapacity: true); batchW.removeAll(keepingCapacity: true)
        for k in mine {
            let r = batch[batch.startIndex + k]
            batchX += xs[r * w ..< (r + 1) * w]; batchY += ys[r * d ..< (r + 1) * d]
            if let weights { batchW.append(weights[r]) }
        }
        for i in reduced.indices { reduced[i] = 0 }
        let scale = 1 / Float(batch.count * d)
        let loss = batchX.withUnsafeBufferPointer { bx in
            batchY.withUnsafeBufferPointer { by in
                batchW.withUnsafeBufferPointer { bw in
                    mlp.accumulateGradient(inputs: bx, targets: by, rows: mine.count, scale: scale, weights: weights == nil ? nil : bw.baseAddress,
                                           into: &reduced, workspace: &workspace)
                }
            }
        }
        reduced[n] = Float(loss)
        try allreduce(&reduced)
        adam.update(&mlp.parameters, gradient: reduced)
        return Double(reduced[n])
    }
}
