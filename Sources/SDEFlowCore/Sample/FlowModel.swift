import Foundation

/// `model.json`: everything but the arrays.
public struct ModelInfo: Codable, Sendable {
    public var shape: MLPShape
    public var d: Int
    public var dMu: Int
    /// Labels are c (y − x): a step is x + G/c.
    public var scale: Double
    public var dt: Double?
    public var example: String?
    public var observedMu: [[Double]]?
    public var muRange: [Double]?
    public var training: TrainSettings
    public var epochs: Int
    public var bestEpoch: Int
    public var bestValidationLoss: Double

    public init(shape: MLPShape, d: Int, dMu: Int, scale: Double, dt: Double?, example: String?, observedMu: [[Double]]?,
                muRange: [Double]?, training: TrainSettings, epochs: Int, bestEpoch: Int, bestValidationLoss: Double) {
        self.shape = shape; self.d = d; self.dMu = dMu; self.scale = scale; self.dt = dt; self.example = example
        self.observedMu = observedMu; self.muRange = muRange; self.training = training; self.epochs = epochs
        self.bestEpoch = bestEpoch; self.bestValidationLoss = bestValidationLoss
    }
}

/// The learned flow map G(x, μ, z) with its standardisation: the product of stage 2.
///
/// On disk (a folder): `model.json`, per layer `W<l>.npy` (out × in) and `b<l>.npy`, and
/// `input_mean.npy`, `input_std.npy` (2d + dμ), `output_mean.npy`, `output_std.npy` (d).
public struct FlowModel: Sendable {
    public var info: ModelInfo
    public var mlp: MLP
    public var input: Standardizer
    public var output: Standardizer

    public init(info: ModelInfo, mlp: MLP, input: Standardizer, output: Standardizer) {
        self.info = info; self.mlp = mlp; self.input = input; self.output = output
    }

    static func path(_ dir: String, _ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    /// Writes the model folder; on failure nothing is left behind (`writeFolderAtomically`).
    public func write(to directory: String) throws {
        try writeFolderAtomically(directory) { directory in
            let s = info.shape
            for l in 0..<s.layerCount {
                let (nIn, nOut) = (s.layerSizes[l], s.layerSizes[l + 1])
                let w = Array(mlp.parameters[s.weightOffset(layer: l) ..< s.weightOffset(layer: l) + nOut * nIn])
                let b = Array(mlp.parameters[s.biasOffset(layer: l) ..< s.biasOffset(layer: l) + nOut])
                try NPY.write(Self.path(directory, "W\(l).npy"), w, shape: [nOut, nIn])
                try NPY.write(Self.path(directory, "b\(l).npy"), b, shape: [nOut])
            }
            try NPY.write(Self.path(directory, "input_mean.npy"), input.mean, shape: [input.width])
            try NPY.write(Self.path(directory, "input_std.npy"), input.std, shape: [input.width])
            try NPY.write(Self.path(directory, "output_mean.npy"), output.mean, shape: [output.width])
            try NPY.write(Self.path(directory, "output_std.npy"), output.std, shape: [output.width])
            try writeJSON(info, to: Self.path(directory, "model.json"))  // last: marks the folder complete
        }
    }

    public init(directory: String) throws {
        let info = try readJSON(ModelInfo.self, from: Self.path(directory, "model.json"))
        let s = info.shape
        var parameters = [Float](repeating: 0, count: s.parameterCount)
        for l in 0..<s.layerCount {
            let (nIn, nOut) = (s.layerSizes[l], s.layerSizes[l + 1])
            for (name, offset, expected) in [("W\(l).npy", s.weightOffset(layer: l), [nOut, nIn]), ("b\(l).npy", s.biasOffset(layer: l), [nOut])] {
                let (v, shape) = try NPY.readFloat(Self.path(directory, name))
                guard shape == expected else {
                    throw SDEFlowError.file(Self.path(directory, name), "has shape \(shape), model.json says \(expected)")
                }
                parameters.replaceSubrange(offset ..< offset + v.count, with: v)
            }
        }
        func vector(_ name: String, _ n: Int) throws -> [Double] {
            let (v, _) = try NPY.read(Self.path(directory, name))
            guard v.count == n else { throw SDEFlowError.file(Self.path(directory, name), "has \(v.count) values, expected \(n)") }
            return v
        }
        let input = Standardizer(mean: try vector("input_mean.npy", s.input), std: try vector("input_std.npy", s.input))
        let output = Standardizer(mean: try vector("output_mean.npy", s.output), std: try vector("output_std.npy", s.output))
        self.init(info: info, mlp: MLP(shape: s, parameters: parameters), input: input, output: output)
    }

    /// One step of the learned flow map for `rows` states: x + unstandardise(G(standardise([x, μ, z])))/c.
    /// x and z are rows × d, mu rows × dMu; returns rows × d.
    public func step(x: [Double], mu: [Double], z: [Double], rows: Int) -> [Double] {
        let d = info.d, dMu = info.dMu, w = 2 * d + dMu
        var raw = [Double](repeating: 0, count: rows * w)
        for r in 0..<rows {
            for i in 0..<d { raw[r * w + i] = x[r * d + i]; raw[r * w + d + dMu + i] = z[r * d + i] }
            for i in 0..<dMu { raw[r * w + d + i] = mu[r * dMu + i] }
        }
        let g = output.invert(mlp.forward(input.apply(raw), rows: rows))
        var next = x
        for k in 0..<next.count { next[k] += g[k] / info.scale }
        return next
    }

    /// Rollouts of samples `ids` (global ids), one start per sample (`starts`: ids.count × d), at
    /// parameter mu. The noise of sample s at step n is keyed by (seed, stream, s, n). With
    /// `keepPath` the result is ids.count × (steps + 1) × d, otherwise only the final states
    /// (ids.count × d), which bounds memory for long rollouts. The network sees all `ids` as one
    /// batch: callers that need rank-independent bits pass fixed blocks of ids (`DistributedSampling` in
    /// SDEFlowMPI), since BLAS rounding depends on the batch size and a row's place in it.
    /// `antithetic`: samples 2k and 2k + 1 get noises z and −z (keyed by k), an unbiased Monte
    /// Carlo design whose sample mean is free of the noise's own sampling error to first order.
    /// `noiseScale` (steps × d), if given, multiplies the noise of step n, component i.
    public func rollout(starts: [Double], mu: [Double], steps: Int, ids: Range<Int>, seed: UInt64,
                        stream: RandomStream, keepPath: Bool, antithetic: Bool = false,
                        noiseScale: [Double]? = nil) -> [Double] {
        let d = info.d, m = ids.count
        precondition(starts.count == m * d && (noiseScale?.count ?? steps * d) == steps * d)
        let rng = CounterRNG(seed: seed)
        let kept = keepPath ? steps + 1 : 1
        var out = [Double](repeating: 0, count: m * kept * d)
        var x = starts
        let mus = (0..<m).flatMap { _ in mu }
        var z = [Double](repeating: 0, count: m * d)
        for n in 0...steps {
            if keepPath || n == steps {
                let slot = keepPath ? n : 0
                for s in 0..<m { for i in 0..<d { out[(s * kept + slot) * d + i] = x[s * d + i] } }
            }
            if n == steps { break }
            z.withUnsafeMutableBufferPointer { zp in
                for (s, id) in ids.enumerated() {
                    let row = UnsafeMutableBufferPointer(rebasing: zp[s * d ..< (s + 1) * d])
                    rng.fillNormals(row, stream, id: UInt64(antithetic ? id / 2 : id), index: UInt32(n))
                    if antithetic && id % 2 == 1 { for i in row.indices { row[i] = -row[i] } }
                    if let scale = noiseScale { for i in 0..<d { row[i] *= scale[n * d + i] } }
                }
            }
            x = step(x: x, mu: mus, z: z, rows: m)
        }
        return out
    }
}
