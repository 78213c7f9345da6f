import Foundation

/// `dataset.json`: what the arrays alone do not say. Only `dt` is needed from a user's data.
public struct DatasetInfo: Codable, Sendable {
    /// Observation interval Δt between x and y.
    public var dt: Double
    public var example: String?
    public var observedMu: [[Double]]?
    public var muRange: [Double]?
    public var seed: UInt64?
    public var simulation: SimulationSettings?

    public init(dt: Double, example: String? = nil, observedMu: [[Double]]? = nil, muRange: [Double]? = nil,
                seed: UInt64? = nil, simulation: SimulationSettings? = nil) {
        self.dt = dt; self.example = example; self.observedMu = observedMu; self.muRange = muRange
        self.seed = seed; self.simulation = simulation
    }
}

/// The data contract: a folder with `x.npy` (N, d), `mu.npy` (N, dμ), `y.npy` (N, d) — one-step
/// pairs, float32 or float64, C order — and an optional `dataset.json` (at least `dt`).
/// Opening reads only the headers; `read(rows:)` reads one block, so a rank never needs the
/// whole data set in memory.
public struct Dataset: PairSource {
    public let directory: String
    public let d: Int
    public let dMu: Int
    public let count: Int
    public let info: DatasetInfo?
    let headers: [NPYHeader]  // x, mu, y

    static let names = ["x.npy", "mu.npy", "y.npy"]

    public init(directory: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw SDEFlowError.file(directory, "no such data folder (expected x.npy, mu.npy, y.npy inside)")
        }
        let paths = Self.names.map { (directory as NSString).appendingPathComponent($0) }
        let headers = try paths.map { try NPY.header(at: $0) }
        for (h, p) in zip(headers, paths) {
            guard h.dtype == .float32 || h.dtype == .float64 else {
                throw SDEFlowError.file(p, "dtype \(h.dtype.rawValue) is not supported for data (use float32 or float64)")
            }
            guard (1...2).contains(h.shape.count) else {
                throw SDEFlowError.file(p, "expected a 2-D array (N, width), got shape \(h.shape)")
            }
        }
        let n = headers[0].rowCount
        for (h, p) in zip(headers, paths) where h.rowCount != n {
            throw SDEFlowError.file(p, "has \(h.rowCount) rows but x.npy has \(n): the three arrays must pair up row by row")
        }
        guard headers[0].rowWidth == headers[2].rowWidth else {
            throw SDEFlowError.file(paths[2], "has width \(headers[2].rowWidth) but x.npy has width \(headers[0].rowWidth): y must be (N, d) like x")
        }
        guard n > 0 else { throw SDEFlowError.file(paths[0], "the data set is empty") }
        let infoPath = (directory as NSString).appendingPathComponent("dataset.json")
        var info: DatasetInfo? = nil
        if let raw = FileManager.default.contents(atPath: infoPath) {
            do { info = try JSONDecoder().decode(DatasetInfo.self, from: raw) } catch {
                throw SDEFlowError.file(infoPath, "cannot be read as dataset metadata (need at least {\"dt\": 0.1}): \(error)")
            }
        }
        self.directory = directory; self.headers = headers; self.info = info
        self.d = headers[0].rowWidth; self.dMu = headers[1].rowWidth; self.count = n
    }

    /// Rows [rows) of the three arrays, checked finite (a NaN or Inf names file and row).
    public func read(rows: Range<Int>) throws -> PairBlock {
        var parts: [[Double]] = []
        for (name, h) in zip(Self.names, headers) {
            let path = (directory as NSString).appendingPathComponent(name)
            let v = try NPY.readRows(path, header: h, rows: rows)
            if let bad = v.firstIndex(where: { !$0.isFinite }) {
                let w = h.rowWidth
                throw SDEFlowError.file(path, "row \(rows.lowerBound + bad / w), column \(bad % w) is \(v[bad]): the data must be finite (drop such rows first)")
            }
            parts.append(v)
        }
        return PairBlock(d: d, dMu: dMu, x: parts[0], mu: parts[1], y: parts[2])
    }

    public var name: String { directory }

    /// The given rows (any order), checked finite: one open per array, one read per row.
    public func read(indices: [Int]) throws -> PairBlock {
        var parts: [[Double]] = []
        for (name, h) in zip(Self.names, headers) {
            let path = (directory as NSString).appendingPathComponent(name)
            let v = try NPY.readRows(path, header: h, indices: indices)
            if let bad = v.firstIndex(where: { !$0.isFinite }) {
                let w = h.rowWidth
                throw SDEFlowError.file(path, "row \(indices[bad / w]), column \(bad % w) is \(v[bad]): the data must be finite (drop such rows first)")
            }
            parts.append(v)
        }
        return PairBlock(d: d, dMu: dMu, x: parts[0], mu: parts[1], y: parts[2])
    }

    /// Writes a data set folder (dataset.json last; on failure nothing is left behind).
    public static func write(_ block: PairBlock, info: DatasetInfo, to directory: String, dtype: NPYDType = .float64) throws {
        try writeFolderAtomically(directory) { directory in
            let n = block.count
            for (name, values, width) in [("x.npy", block.x, block.d), ("mu.npy", block.mu, block.dMu), ("y.npy", block.y, block.d)] {
                try NPY.write((directory as NSString).appendingPathComponent(name), values, shape: [n, width], dtype: dtype)
            }
            try writeJSON(info, to: (directory as NSString).appendingPathComponent("dataset.json"))
        }
    }
}
