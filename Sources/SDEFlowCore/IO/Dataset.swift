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
        try Self.checkShapes(headers, paths)
        self.directory = directory; self.headers = headers
        let infoPath = (directory as NSString).appendingPathComponent("dataset.json")
        self.info = try Self.readInfo(infoPath)
        self.d = headers[0].rowWidth; self.dMu = headers[1].rowWidth; self.count = headers[0].rowCount
        if let info {
            try ParameterMetadata.check(example: info.example, observedMu: info.observedMu, muRange: info.muRange, d: d, dMu: dMu,
                                        path: infoPath, holder: "the data (x.npy, mu.npy) have")
        }
    }

    /// float32/float64, (N, width ≥ 1) or (N,), the same N ≥ 1 in all three, y as wide as x, d ≤ 256.
    static func checkShapes(_ headers: [NPYHeader], _ paths: [String]) throws {
        for (h, p) in zip(headers, paths) {
            guard h.dtype == .float32 || h.dtype == .float64 else {
                throw SDEFlowError.file(p, "dtype \(h.dtype.rawValue) is not supported for data (use float32 or float64)")
            }
            guard (1...2).contains(h.shape.count) else {
                throw SDEFlowError.file(p, "expected a 2-D array (N, width), got shape \(h.shape)")
            }
            guard h.rowWidth > 0 else { throw SDEFlowError.file(p, "has shape \(h.shape), width 0: every row needs at least one value") }
        }
        let n = headers[0].rowCount
        for (h, p) in zip(headers, paths) where h.rowCount != n {
            throw SDEFlowError.file(p, "has \(h.rowCount) rows but x.npy has \(n): the three arrays must pair up row by row")
        }
        guard headers[0].rowWidth == headers[2].rowWidth else {
            throw SDEFlowError.file(paths[2], "has width \(headers[2].rowWidth) but x.npy has width \(headers[0].rowWidth): y must be (N, d) like x")
        }
        guard n > 0 else { throw SDEFlowError.file(paths[0], "the data set is empty") }
        guard headers[0].rowWidth <= Limits.maxStateDimension else {
            throw SDEFlowError.file(paths[0], "has width d = \(headers[0].rowWidth); the label stage supports states of at most d = \(Limits.maxStateDimension) components")
        }
    }

    /// dataset.json if present, with Δt in `Limits.dtRange`.
    static func readInfo(_ path: String) throws -> DatasetInfo? {
        try requireRegularFile(path)
        guard let raw = FileManager.default.contents(atPath: path) else { return nil }
        let info = try decodeJSON(DatasetInfo.self, raw, path: path, expected: " as dataset metadata (need at least {\"dt\": 0.1})")
        guard Limits.dtRange.contains(info.dt) else {
            throw SDEFlowError.file(path, "dt = \(info.dt): the observation interval Δt must be a number in \(Limits.text(Limits.dtRange))")
        }
        return info
    }

    /// The first value of `v` (rows of width `w`) that is not finite or exceeds `Limits.maxMagnitude`,
    /// as an error naming the file, its row (`row(i)` maps a block row to the file's) and column.
    static func checkValues(_ v: [Double], width w: Int, path: String, row: (Int) -> Int) throws {
        guard let bad = v.firstIndex(where: { !(abs($0) <= Limits.maxMagnitude) }) else { return }
        let what = v[bad].isFinite ? "beyond the bound |value| ≤ 1e100 (larger values overflow the normalisation: rescale the data)"
                                   : "not finite: the data must be finite (drop such rows first)"
        throw SDEFlowError.file(path, "row \(row(bad / w)), column \(bad % w) is \(v[bad]): \(what)")
    }

    /// Rows [rows) of the three arrays, checked finite and within ±`Limits.maxMagnitude` (a bad value
    /// names file, row and column).
    public func read(rows: Range<Int>) throws -> PairBlock {
        var parts: [[Double]] = []
        for (name, h) in zip(Self.names, headers) {
            let path = (directory as NSString).appendingPathComponent(name)
            let v = try NPY.readRows(path, header: h, rows: rows)
            try Self.checkValues(v, width: h.rowWidth, path: path) { rows.lowerBound + $0 }
            parts.append(v)
        }
        return PairBlock(d: d, dMu: dMu, x: parts[0], mu: parts[1], y: parts[2])
    }

    public var name: String { directory }

    /// The given rows (any order), checked as `read(rows:)`: one open per array, one read per row.
    public func read(indices: [Int]) throws -> PairBlock {
        var parts: [[Double]] = []
        for (name, h) in zip(Self.names, headers) {
            let path = (directory as NSString).appendingPathComponent(name)
            let v = try NPY.readRows(path, header: h, indices: indices)
            try Self.checkValues(v, width: h.rowWidth, path: path) { indices[$0] }
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
