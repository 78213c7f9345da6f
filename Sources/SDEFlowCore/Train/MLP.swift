import CBLAS
import CKernels

/// Widths of a fully connected network: `input` → `hidden[0]` → … → `output`.
/// Hidden layers use tanh, the output layer is linear.
public struct MLPShape: Codable, Sendable, Equatable {
    public var input: Int
    public var hidden: [Int]
    public var output: Int

    public init(input: Int, hidden: [Int], output: Int) {
        precondition(input > 0 && output > 0 && hidden.allSatisfy { $0 > 0 })
        self.input = input
        self.hidden = hidden
        self.output = output
    }

    /// `[input] + hidden + [output]`: layer `l` maps `layerSizes[l]` → `layerSizes[l + 1]`.
    public var layerSizes: [Int] { [input] + hidden + [output] }

    /// Number of affine layers (`hidden.count + 1`).
    public var layerCount: Int { hidden.count + 1 }

    /// Offset in the flat parameter buffer of layer `l`'s weight matrix W_l (out × in, row-major);
    /// its bias b_l (out) follows directly at `weightOffset(layer: l) + out * in`.
    public func weightOffset(layer l: Int) -> Int {
        let s = layerSizes
        var offset = 0
        for k in 0..<l { offset += s[k + 1] * s[k] + s[k + 1] }
        return offset
    }

    /// Offset of layer `l`'s bias b_l in the flat parameter buffer.
    public func biasOffset(layer l: Int) -> Int {
        let s = layerSizes
        return weightOffset(layer: l) + s[l + 1] * s[l]
    }

    /// Total number of Float parameters (all weights and biases).
    public var parameterCount: Int { weightOffset(layer: layerCount) }
}

/// Reusable scratch memory for `MLP`: per-layer activations and two back-propagation buffers.
/// It grows on first use to the largest chunk seen and is then reused, so a training step
/// performs no allocation. Not shared between threads (each thread owns one).
public struct MLPWorkspace: Sendable {
    @usableFromInline var buffer: [Float] = []
    public init() {}

    mutating func reserve(_ count: Int) {
        if buffer.count < count { buffer = [Float](repeating: 0, count: count) }
    }
}

/// A tanh MLP in Float32 whose parameters live in ONE flat buffer
/// (for each layer l: W_l, out_l × in_l row-major, then b_l), so that a whole gradient is
/// summed across MPI ranks with a single allreduce.
public struct MLP: Sendable {
    public let shape: MLPShape
    public var parameters: [Float]

    /// Rows processed per pass; bounds workspace memory at `chunkRows × Σ widths` floats.
    public static let chunkRows = 4096

    /// Which compilation of the tanh and Adam kernels (CKernels) runs here: "avx512",
    /// "avx2+fma" or "baseline".
    public static var kernelISA: String { String(cString: sdeflow_kernel_isa()) }

    /// `layerSizes`, layer weight offsets, activation column offsets (Σ of earlier output
    /// widths), and floats per row of workspace. Cached so hot paths allocate nothing.
    private let sizes: [Int]
    private let weightOffsets: [Int]
    private let activationColumns: [Int]
    private let maxWidth: Int
    private let activationWidth: Int

    /// PyTorch `nn.Linear` default initialisation: every W_l and b_l entry ~ U(−k, k) with
    /// k = 1/√in_l. Parameter p is drawn from CounterRNG(seed) on stream `.weightInit`, id p,
    /// so the network is identical whatever the number of ranks.
    public init(shape: MLPShape, seed: UInt64) {
        self.init(unchecked: shape, parameters: [])
        let rng = CounterRNG(seed: seed)
        var p = [Float](repeating: 0, count: shape.parameterCount)
        for l in 0..<shape.layerCount {
            let bound = 1 / Double(sizes[l]).squareRoot()
            let end = weightOffsets[l + 1]
            for i in weightOffsets[l]..<end {
                let u = rng.uniforms(.weightInit, id: UInt64(i), index: 0).0
                p[i] = Float((2 * u - 1) * bound)
            }
        }
        parameters = p
    }

    /// A network with given parameters (e.g. from a checkpoint); `parameters.count` must equal
    /// `shape.parameterCount`.
    public init(shape: MLPShape, parameters: [Float]) {
        precondition(parameters.count == shape.parameterCount)
        self.init(unchecked: shape, parameters: parameters)
    }

    private init(unchecked shape: MLPShape, parameters: [Float]) {
        self.shape = shape
        self.parameters = parameters
        sizes = shape.layerSizes
        weightOffsets = (0...shape.layerCount).map { shape.weightOffset(layer: $0) }
        var columns = [0]
        for w in sizes.dropFirst() { columns.append(columns.last! + w) }
        activationColumns = columns
        maxWidth = sizes.dropFirst().max()!
        activationWidth = columns.last!
    }

    /// Workspace floats per row: all layer outputs plus two delta buffers of the widest layer.
    private var floatsPerRow: Int { activationWidth + 2 * maxWidth }

    // MARK: Forward

    /// Network output for `rows` inputs: `x` is rows × input (row-major), result rows × output.
    /// Processes `chunkRows` rows at a time, so it is usable on millions of rows.
    public func forward(_ x: [Float], rows: Int) -> [Float] {
        precondition(x.count == rows * shape.input)
        var out = [Float](repeating: 0, count: rows * shape.output)
        var workspace = MLPWorkspace()
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                forward(xp, rows: rows, into: op, workspace: &workspace)
            }
        }
        return out
    }

    /// Allocation-free forward: writes rows × output values to `output`.
    public func forward(
        _ x: UnsafeBufferPointer<Float>, rows: Int, into output: UnsafeMutableBufferPointer<Float>,
        workspace: inout MLPWorkspace
    ) {
        precondition(x.count >= rows * shape.input && output.count >= rows * shape.output)
        guard rows > 0 else { return }
        let dIn = shape.input, dOut = shape.output
        workspace.reserve(Swift.min(rows, Self.chunkRows) * floatsPerRow)
        parameters.withUnsafeBufferPointer { P in
            workspace.buffer.withUnsafeMutableBufferPointer { B in
                var r0 = 0
                while r0 < rows {
                    let n = Swift.min(Self.chunkRows, rows - r0)
                    let y = forwardChunk(P.baseAddress!, x.baseAddress! + r0 * dIn, n, B.baseAddress!)
                    (output.baseAddress! + r0 * dOut).update(from: y, count: n * dOut)
                    r0 += n
                }
            }
        }
    }

    /// Forward pass of n ≤ chunkRows rows; layer l's output (n × out_l) is stored at
    /// `B + n * activationColumns[l]`. Returns the pointer to the network output (n × output).
    private func forwardChunk(
        _ P: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, _ B: UnsafeMutablePointer<Float>
    ) -> UnsafeMutablePointer<Float> {
        let L = shape.layerCount
        var a = x
        for l in 0..<L {
            let dIn = sizes[l], dOut = sizes[l + 1]
            let z = B + n * activationColumns[l]
            let w = P + weightOffsets[l]
            // Z = 1 bᵀ + A Wᵀ  (n × in)(in × out): rows start as the bias and sgemm adds (beta = 1).
            fillRows(z, with: w + dOut * dIn, n, dOut)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(dOut), Int32(dIn),
                1, a, Int32(dIn), w, Int32(dIn), 1, z, Int32(dOut))
            if l < L - 1 { sdeflow_mlp_tanh(z, Int64(n * dOut)) }
            a = UnsafePointer(z)
        }
        return B + n * activationColumns[L - 1]
    }

    // MARK: Gradient

    /// Adds to `gradient` (same layout as `parameters`) the gradient of
    /// `scale · Σ_rows w_row Σ_k (out_k − target_k)²` (w = 1 without `weights`, rows values) and
    /// returns that same weighted sum (Double).
    /// `inputs`: rows × input, `targets`: rows × output (row-major). With `scale` = 1 the
    /// caller divides by (global rows × output) to get PyTorch's MSELoss mean; passing
    /// scale = 1/(global rows × output) instead yields the mean's gradient directly.
    /// Sums over rows, so gradients of disjoint slices add up to the full-batch gradient.
    /// `gradient` may be longer than `parameters` (entries past them are left alone), so a
    /// caller can append the loss and reduce both in one allreduce.
    public func accumulateGradient(
        inputs: UnsafeBufferPointer<Float>, targets: UnsafeBufferPointer<Float>, rows: Int,
        scale: Float, weights: UnsafePointer<Float>? = nil, into gradient: inout [Float], workspace: inout MLPWorkspace
    ) -> Double {
        precondition(inputs.count >= rows * shape.input && targets.count >= rows * shape.output)
        precondition(gradient.count >= parameters.count)
        guard rows > 0 else { return 0 }
        let dIn = shape.input, dOut = shape.output
        workspace.reserve(Swift.min(rows, Self.chunkRows) * floatsPerRow)
        var total = 0.0
        parameters.withUnsafeBufferPointer { P in
            gradient.withUnsafeMutableBufferPointer { G in
                workspace.buffer.withUnsafeMutableBufferPointer { B in
                    var r0 = 0
                    while r0 < rows {
                        let n = Swift.min(Self.chunkRows, rows - r0)
                        total += gradientChunk(
                            P.baseAddress!, G.baseAddress!, B.baseAddress!,
                            inputs.baseAddress! + r0 * dIn, targets.baseAddress! + r0 * dOut, n, scale, weights.map { $0 + r0 })
                        r0 += n
                    }
                }
            }
        }
        return total
    }

    /// Array convenience for `accumulateGradient(inputs:targets:rows:scale:into:workspace:)`.
    public func accumulateGradient(
        inputs: [Float], targets: [Float], rows: Int, scale: Float = 1,
        into gradient: inout [Float], workspace: inout MLPWorkspace
    ) -> Double {
        inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                accumulateGradient(
                    inputs: x, targets: y, rows: rows, scale: scale, into: &gradient,
                    workspace: &workspace)
            }
        }
    }

    /// Forward + backward of n rows. Back-propagation: with δ_l = ∂loss/∂Z_l (n × out_l),
    /// dW_l += δ_lᵀ A_{l−1}, db_l += Σ_rows δ_l, δ_{l−1} = (δ_l W_l) ⊙ (1 − A_{l−1}²).
    private func gradientChunk(
        _ P: UnsafePointer<Float>, _ G: UnsafeMutablePointer<Float>, _ B: UnsafeMutablePointer<Float>,
        _ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ n: Int, _ scale: Float, _ weights: UnsafePointer<Float>?
    ) -> Double {
        let L = shape.layerCount
        let y = forwardChunk(P, x, n, B)
        var delta = B + n * activationWidth
        var other = delta + n * maxWidth
        // Output layer: loss = scale Σ w e², δ = 2 scale w e.
        var sse = 0.0
        let twoScale = 2 * scale
        let dY = shape.output, outputBias = G + weightOffsets[L] - dY
        for r in 0..<n {
            let wr = weights?[r] ?? 1
            for k in 0..<dY {
                let e = y[r * dY + k] - t[r * dY + k]
                sse += Double(wr * e * e)
                delta[r * dY + k] = twoScale * wr * e
                outputBias[k] += twoScale * wr * e  // db = Σ_rows δ
            }
        }
        for l in stride(from: L - 1, through: 0, by: -1) {
            let dIn = sizes[l], dOut = sizes[l + 1]
            let a = l == 0 ? x : UnsafePointer(B + n * activationColumns[l - 1])
            let w = P + weightOffsets[l]
            // dW (out × in) += δᵀ (out × n) · A (n × in)
            cblas_sgemm(
                CblasRowMajor, CblasTrans, CblasNoTrans, Int32(dOut), Int32(dIn), Int32(n),
                1, delta, Int32(dOut), a, Int32(dIn), 1, G + weightOffsets[l], Int32(dIn))
            if l == 0 { break }
            // δ_prev (n × in) = δ (n × out) · W (out × in), zeroed first and beta = 1 like the
            // forward pass (see `fillRows`); then ⊙ tanh' = 1 − a² and db_{l−1} += Σ_rows δ_prev.
            other.update(repeating: 0, count: n * dIn)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(dIn), Int32(dOut),
                1, delta, Int32(dOut), w, Int32(dIn), 1, other, Int32(dIn))
            sdeflow_mlp_tanh_backward(other, a, Int64(n), Int64(dIn), G + weightOffsets[l] - dIn)
            swap(&delta, &other)
        }
        return Double(scale) * sse
    }

    // MARK: Validation

    /// Σ over rows and outputs of weight_row · (out − target)², in Double; no gradient.
    public func loss(inputs: [Float], targets: [Float], rows: Int, weights: [Float]? = nil) -> Double {
        precondition(inputs.count == rows * shape.input && targets.count == rows * shape.output)
        precondition(weights == nil || weights!.count == rows)
        let y = forward(inputs, rows: rows), dY = shape.output
        var sum = 0.0
        for i in 0..<y.count {
            let e = Double(y[i]) - Double(targets[i])
            sum += Double(weights?[i / dY] ?? 1) * e * e
        }
        return sum
    }
}

/// Every row of the n × m row-major block z set to b (m values): the starting value of a layer's
/// output, to which sgemm then adds A Wᵀ with beta = 1. With beta = 0 OpenBLAS 0.3.21 first
/// zeroes C with scalar stores (one float per cycle: 5 % of a 4×256 step); a copy is ~8× faster.
@inline(__always)
private func fillRows(_ z: UnsafeMutablePointer<Float>, with b: UnsafePointer<Float>, _ n: Int, _ m: Int) {
    for r in 0..<n { (z + r * m).update(from: b, count: m) }
}
