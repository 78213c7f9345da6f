import Foundation

/// What `label` writes to `labels.json` next to the arrays.
public struct LabelInfo: Codable, Sendable {
    public var settings: LabelSettings
    public var seed: UInt64
    public var dt: Double?
    public var example: String?
    public var observedMu: [[Double]]?
    public var muRange: [Double]?
    public var dataCount: Int
    public var normalisation: Normalisation
    public var meanEffectiveSampleSize: Double
    /// Which data these labels are of (`LabelInfo.dataFingerprint`): `run` keeps a labels folder
    /// only for its own data (nil in label sets of earlier versions).
    public var data: String?
    /// The neighbour index the labels were made with (`LabelSetup.index`; nil before it was
    /// recorded): grid and brute force round differently, and `run` kept labels of the other.
    public var index: NeighbourSearch?

    public init(settings: LabelSettings, seed: UInt64, dt: Double?, example: String?, observedMu: [[Double]]?,
                muRange: [Double]?, dataCount: Int, normalisation: Normalisation, meanEffectiveSampleSize: Double, data: String? = nil,
                index: NeighbourSearch? = nil) {
        self.settings = settings; self.seed = seed; self.dt = dt; self.example = example; self.observedMu = observedMu
        self.muRange = muRange; self.dataCount = dataCount; self.normalisation = normalisation
        self.meanEffectiveSampleSize = meanEffectiveSampleSize; self.data = data; self.index = index
    }
}

extension LabelInfo {
    /// FNV-1a of the data's count and dataset.json (the example, seed and simulation settings
    /// of data `simulate` wrote): a labels folder of other data, put where `run` keeps its
    /// labels, was kept under a new model (third probe, finding 8).
    public static func dataFingerprint(info: DatasetInfo?, count: Int) throws -> String {
        struct Hashed: Encodable { let info: DatasetInfo?; let count: Int }
        return try FNV1a.json(Hashed(info: info, count: count))
    }
}

extension LabelSet {
    /// FNV-1a of the x, μ, z and label bits: what a model and a training checkpoint were made of.
    public var fingerprint: String {
        var h = FNV1a()
        for a in [x, mu, z, label] { h.add(a) }
        return String(format: "%016llx", h.value)
    }
}

/// The training set of stage 2: for each query, inputs (x, μ, z) and the label Z_0, a sample
/// of the scaled displacement c (X_{n+1} − x) (arrays row-major, count × d or × dMu).
/// On disk: `x.npy`, `mu.npy`, `z.npy`, `label.npy`, `ess.npy` (effective sample size of the
/// kernel weights at the last ODE step) and `labels.json`.
public struct LabelSet: Sendable {
    public var d: Int
    public var dMu: Int
    public var x: [Double]
    public var mu: [Double]
    public var z: [Double]
    public var label: [Double]
    public var ess: [Double]
    public var info: LabelInfo
    /// Data pairs each rank held for its K-NN (its shard), in rank order, when the labels were
    /// just computed; not written (labels.json is the same for any rank count).
    public var shardPairs: [Int]? = nil
    /// The folder it was read from (for messages), nil when just computed; not written.
    public var source: String? = nil
    public var count: Int { label.count / d }

    public init(d: Int, dMu: Int, x: [Double], mu: [Double], z: [Double], label: [Double], ess: [Double], info: LabelInfo) {
        self.d = d; self.dMu = dMu; self.x = x; self.mu = mu; self.z = z; self.label = label
        self.ess = ess; self.info = info
    }

    static func path(_ dir: String, _ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    /// Writes the label folder; on failure nothing is left behind (`writeFolderAtomically`).
    public func write(to directory: String) throws {
        try writeFolderAtomically(directory) { dir in
            let n = count
            try NPY.write(Self.path(dir, "x.npy"), x, shape: [n, d])
            try NPY.write(Self.path(dir, "mu.npy"), mu, shape: [n, dMu])
            try NPY.write(Self.path(dir, "z.npy"), z, shape: [n, d])
            try NPY.write(Self.path(dir, "label.npy"), label, shape: [n, d])
            try NPY.write(Self.path(dir, "ess.npy"), ess, shape: [n])
            try writeJSON(info, to: Self.path(dir, "labels.json"))
        }
    }

    /// Reads a label folder, every shape checked against labels.json before an array is read:
    /// x (N, d), mu (N, dμ), z (N, d), label (N, d), ess (N) with N = settings.labels and d, dμ of
    /// its normalisation ((N,) also for a width of 1). x, μ and z must be finite with |v| ≤ 1e100.
    /// A label row with a NaN or Inf is allowed (the label stage can produce one, warns, and
    /// training drops such rows), but a finite label must be within ±1e100 and at least one row
    /// must be finite.
    public init(directory: String) throws {
        let infoPath = Self.path(directory, "labels.json")
        let info = try readJSON(LabelInfo.self, from: infoPath)
        try Self.check(info, path: infoPath)
        let n = info.settings.labels, d = info.normalisation.d, dMu = info.normalisation.dMu
        let layout = [("x.npy", d), ("mu.npy", dMu), ("z.npy", d), ("label.npy", d), ("ess.npy", 1)]
        for (name, width) in layout {
            let path = Self.path(directory, name), h = try NPY.header(at: path)
            guard h.shape == [n, width] || (width == 1 && h.shape == [n]) else {
                throw SDEFlowError.file(path, "has shape \(h.shape); expected [\(n), \(width)] (N = \(n) labels, d = \(d), dμ = \(dMu) in labels.json)")
            }
        }
        let a = try layout.map { try NPY.read(Self.path(directory, $0.0)).values }
        for k in 0..<3 { try Dataset.checkValues(a[k], width: layout[k].1, path: Self.path(directory, layout[k].0)) { $0 } }
        try Self.checkLabels(a[3], d: d, path: Self.path(directory, "label.npy"))
        self.init(d: d, dMu: dMu, x: a[0], mu: a[1], z: a[2], label: a[3], ess: a[4], info: info)
        self.source = directory
    }

    /// labels.json's sizes and the settings a model inherits (c, Δt).
    static func check(_ info: LabelInfo, path: String) throws {
        let norm = info.normalisation, s = info.settings
        guard norm.d >= 1, norm.d <= Limits.maxStateDimension, norm.dMu >= 1, s.labels >= 1 else {
            throw SDEFlowError.file(path, "normalisation.d = \(norm.d), normalisation.dMu = \(norm.dMu), settings.labels = \(s.labels): expected 1 ≤ d ≤ \(Limits.maxStateDimension), dμ ≥ 1 and at least one label")
        }
        guard Limits.scale.contains(s.scale) else {
            throw SDEFlowError.file(path, "settings.scale = \(s.scale): the displacement scale c must be in \(Limits.text(Limits.scale))")
        }
        if let dt = info.dt, !Limits.dtRange.contains(dt) {
            throw SDEFlowError.file(path, "dt = \(dt): Δt must be a number in \(Limits.text(Limits.dtRange))")
        }
        try ParameterMetadata.check(example: info.example, observedMu: info.observedMu, muRange: info.muRange, d: norm.d,
                                    dMu: norm.dMu, path: path, holder: "the labels have")
    }

    /// Non-finite label rows are allowed (dropped by training); finite values must be in ±1e100,
    /// and at least one row must be finite.
    static func checkLabels(_ label: [Double], d: Int, path: String) throws {
        if let bad = label.firstIndex(where: { $0.isFinite && abs($0) > Limits.maxMagnitude }) {
            throw SDEFlowError.file(path, "row \(bad / d), column \(bad % d) is \(label[bad]): beyond the bound |value| ≤ 1e100")
        }
        let rows = label.count / d
        let usable = (0..<rows).contains { r in label[r * d ..< (r + 1) * d].allSatisfy(\.isFinite) }
        guard usable || rows == 0 else {
            throw SDEFlowError.file(path, "none of its \(rows) label rows is finite: nothing to train on (the label settings in labels.json are degenerate for this data: check ν_x, ν_μ and c)")
        }
    }
}
