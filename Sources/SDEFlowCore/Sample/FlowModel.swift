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
    /// What the network's output is relative to (`OutputPrior`); nil: the output is G itself.
    public var outputPrior: OutputPrior?
    /// The training labels' range of x and μ (`InputRange`); nil in models of earlier versions.
    public var inputRange: InputRange?
    /// The fingerprint of the labels it was trained on (`LabelSet.fingerprint`): `run` keeps a
    /// model only of its own labels (nil in models of earlier versions).
    public var labels: String?

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

    /// Reads a model folder. model.json is checked first (sizes, c, Δt, the network's widths,
    /// and its parameters against this node's memory), then every array's shape from its header,
    /// and only then are the arrays read: weights finite, standardisation finite with std > 0.
    public init(directory: String) throws {
        let jsonPath = Self.path(directory, "model.json")
        let info = try readJSON(ModelInfo.self, from: jsonPath)
        try Self.check(info, path: jsonPath)
        let s = info.shape
        var arrays: [(name: String, shape: [Int], offset: Int)] = []
        for l in 0..<s.layerCount {
            let (nIn, nOut) = (s.layerSizes[l], s.layerSizes[l + 1])
            arrays += [("W\(l).npy", [nOut, nIn], s.weightOffset(layer: l)), ("b\(l).npy", [nOut], s.biasOffset(layer: l))]
        }
        let vectors = [("input_mean.npy", s.input), ("input_std.npy", s.input), ("output_mean.npy", s.output), ("output_std.npy", s.output)]
        for (name, shape) in arrays.map({ ($0.name, $0.shape) }) + vectors.map({ ($0.0, [$0.1]) }) {
            let h = try NPY.header(at: Self.path(directory, name))
            guard h.shape == shape else {
                throw SDEFlowError.file(Self.path(directory, name), "has shape \(h.shape), model.json says \(shape)")
            }
        }
        var parameters = [Float](repeating: 0, count: s.parameterCount)
        for a in arrays {
            let (v, _) = try NPY.readFloat(Self.path(directory, a.name))
            if let bad = v.firstIndex(where: { !$0.isFinite }) {
                throw SDEFlowError.file(Self.path(directory, a.name), "value \(bad) (row \(bad / a.shape.last!), column \(bad % a.shape.last!)) is \(v[bad]) as float32: a model's weights must be finite")
            }
            parameters.replaceSubrange(a.offset ..< a.offset + v.count, with: v)
        }
        let st = try vectors.map { try Self.standardisation(Self.path(directory, $0.0), isStd: $0.0.hasSuffix("std.npy")) }
        self.init(info: info, mlp: MLP(shape: s, parameters: parameters),
                  input: Standardizer(mean: st[0], std: st[1]), output: Standardizer(mean: st[2], std: st[3]))
    }

    /// A standardisation vector: finite, and a std > 0.
    static func standardisation(_ path: String, isStd: Bool) throws -> [Double] {
        let (v, _) = try NPY.read(path)
        if let bad = v.firstIndex(where: { !$0.isFinite || abs($0) > Limits.maxMagnitude || (isStd && $0 <= 0) }) {
            throw SDEFlowError.file(path, "value \(bad) is \(v[bad]): expected a finite \(isStd ? "standard deviation > 0" : "mean within ±1e100")")
        }
        return v
    }

    /// model.json before any array: d, dμ, c and Δt in range, a network (2d + dμ) → hidden → d
    /// of widths in 1…65536 whose parameters fit in this node's memory.
    static func check(_ info: ModelInfo, path: String) throws {
        func fail(_ p: String) -> SDEFlowError { SDEFlowError.file(path, p) }
        let s = info.shape
        guard info.d >= 1, info.dMu >= 1, info.d <= Limits.maxStateDimension, info.dMu <= Limits.hiddenWidth.upperBound else {
            throw fail("d = \(info.d), dMu = \(info.dMu): expected 1 ≤ d ≤ \(Limits.maxStateDimension) and 1 ≤ dμ ≤ \(Limits.hiddenWidth.upperBound)")
        }
        guard s.input == 2 * info.d + info.dMu, s.output == info.d else {
            throw fail("shape \(s.input) → … → \(s.output) does not fit d = \(info.d), dμ = \(info.dMu) (expected input 2d + dμ = \(2 * info.d + info.dMu), output d = \(info.d))")
        }
        guard s.hidden.count <= Limits.hiddenLayers.upperBound, s.hidden.allSatisfy(Limits.hiddenWidth.contains) else {
            throw fail("hidden widths \(s.hidden): expected at most \(Limits.hiddenLayers.upperBound) layers of widths in \(Limits.hiddenWidth.lowerBound)…\(Limits.hiddenWidth.upperBound)")
        }
        if let p = info.outputPrior {
            // The term count grows as dims²: a huge dims ("dims": 1e10) overflowed it and trapped.
            guard p.dims == info.d + info.dMu else { throw fail("outputPrior: dims = \(p.dims), expected d + dμ = \(info.d + info.dMu)") }
            let t = OutputPrior.termCount(p.dims), all = p.lower + p.upper + p.mean + p.variance + p.minSpread + p.maxSpread
            guard p.lower.count == p.dims, p.upper.count == p.dims, p.mean.count == info.d * t,
                  p.variance.count == info.d * t, p.minSpread.count == info.d, p.maxSpread.count == info.d,
                  all.allSatisfy({ $0.isFinite && abs($0) <= Limits.maxMagnitude }), zip(p.minSpread, p.maxSpread).allSatisfy({ 0 < $0 && $0 <= $1 })
            else { throw fail("outputPrior: expected \(info.d + info.dMu) variables, \(info.d) × \(t) finite coefficients of mean and variance, and 0 < minSpread ≤ maxSpread") }
        }
        guard Limits.scale.contains(info.scale) else { throw fail("scale = \(info.scale): the displacement scale c must be in \(Limits.text(Limits.scale))") }
        if let dt = info.dt, !Limits.dtRange.contains(dt) { throw fail("dt = \(dt): Δt must be a number in \(Limits.text(Limits.dtRange))") }
        try ParameterMetadata.check(example: info.example, observedMu: info.observedMu, muRange: info.muRange, d: info.d,
                                    dMu: info.dMu, path: path, holder: "the model has")
        try info.inputRange?.check(d: info.d, dMu: info.dMu, path: path)
        try Limits.checkMemory(bytes: s.parameterCount * 4 * 2, what: "the network of model.json (\(s.parameterCount) parameters)",
                               fix: "is model.json corrupt?", location: .file(path))
    }

    /// One step of the learned flow map for `rows` states: x + unstandardise(G(standardise([x, μ, z])))/c,
    /// G being the network's output taken relative to the model's `OutputPrior`, if it has one.
    /// x and z are rows × d, mu rows × dMu; returns rows × d.
    public func step(x: [Double], mu: [Double], z: [Double], rows: Int) -> [Double] {
        let d = info.d, dMu = info.dMu, w = 2 * d + dMu
        var raw = [Double](repeating: 0, count: rows * w)
        for r in 0..<rows {
            for i in 0..<d { raw[r * w + i] = x[r * d + i]; raw[r * w + d + dMu + i] = z[r * d + i] }
            for i in 0..<dMu { raw[r * w + d + i] = mu[r * dMu + i] }
        }
        let inputs = input.apply(raw)
        var h = mlp.forward(inputs, rows: rows)
        info.outputPrior?.restore(&h, inputs: inputs, width: w)
        let g = output.invert(h)
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
