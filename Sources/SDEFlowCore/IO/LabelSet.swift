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

    public init(settings: LabelSettings, seed: UInt64, dt: Double?, example: String?, observedMu: [[Double]]?,
                muRange: [Double]?, dataCount: Int, normalisation: Normalisation, meanEffectiveSampleSize: Double) {
        self.settings = settings; self.seed = seed; self.dt = dt; self.example = example; self.observedMu = observedMu
        self.muRange = muRange; self.dataCount = dataCount; self.normalisation = normalisation
        self.meanEffectiveSampleSize = meanEffectiveSampleSize
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

    public init(directory: String) throws {
        let info = try readJSON(LabelInfo.self, from: Self.path(directory, "labels.json"))
        let (x, xs) = try NPY.read(Self.path(directory, "x.npy"))
        let (mu, ms) = try NPY.read(Self.path(directory, "mu.npy"))
        let (z, zs) = try NPY.read(Self.path(directory, "z.npy"))
        let (label, ls) = try NPY.read(Self.path(directory, "label.npy"))
        let (ess, _) = try NPY.read(Self.path(directory, "ess.npy"))
        let n = xs.first ?? 0
        for (name, s) in [("mu.npy", ms), ("z.npy", zs), ("label.npy", ls)] where s.first != n {
            throw SDEFlowError.file(Self.path(directory, name), "has \(s.first ?? 0) rows, x.npy has \(n)")
        }
        let d = xs.count > 1 ? xs[1] : 1
        self.init(d: d, dMu: ms.count > 1 ? ms[1] : 1, x: x, mu: mu, z: z, label: label, ess: ess, info: info)
    }
}
