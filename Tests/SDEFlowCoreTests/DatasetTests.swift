import Foundation
import SDEFlowCore
import Testing

/// A fresh directory under the system temp dir; removed by the caller's `defer`.
private func makeTempDir() throws -> String {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("dataset-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

/// A small block: x (n × 2), mu (n × 1), y (n × 2) with distinct values everywhere.
private func sampleBlock(_ n: Int) -> PairBlock {
    PairBlock(d: 2, dMu: 1,
              x: (0..<(2 * n)).map { Double($0) * 0.25 - 1 },
              mu: (0..<n).map { 0.5 + Double($0) / 8 },
              y: (0..<(2 * n)).map { Double($0) * -0.125 + 3 })
}

/// Runs `body`, expects it to throw an error of type `E` whose description contains every one
/// of `fragments`; returns the description.
@discardableResult
private func expectError<E: Error & CustomStringConvertible>(
    _ errorType: E.Type, containing fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) -> String? {
    do {
        try body()
        Issue.record("expected \(E.self) mentioning \(fragments), nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let e as E {
        for f in fragments {
            #expect(e.description.contains(f), "'\(e.description)' does not mention '\(f)'", sourceLocation: sourceLocation)
        }
        return e.description
    } catch {
        Issue.record("expected \(E.self), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

// MARK: Round trip

/// Catches: write/open/read losing or reordering values, wrong d/dμ/count from the headers,
/// a row block read at the wrong offset, dataset.json not round-tripping, and float32 data
/// not being read (values must come back as the float32-rounded doubles).
@Test(arguments: [NPYDType.float64, .float32])
func datasetRoundTrips(dtype: NPYDType) throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let block = sampleBlock(9)
    let info = DatasetInfo(dt: 0.1, example: "ou2d", observedMu: [[0.5], [1.0]], muRange: [0.5, 2], seed: 7)
    try Dataset.write(block, info: info, to: dir, dtype: dtype)
    let ds = try Dataset(directory: dir)
    #expect(ds.d == 2 && ds.dMu == 1 && ds.count == 9)
    #expect(ds.info?.dt == 0.1 && ds.info?.example == "ou2d" && ds.info?.seed == 7)
    #expect(ds.info?.observedMu == [[0.5], [1.0]] && ds.info?.muRange == [0.5, 2])
    func cast(_ v: [Double]) -> [Double] { dtype == .float32 ? v.map { Double(Float($0)) } : v }
    let all = try ds.read(rows: 0..<9)
    #expect(all.x == cast(block.x) && all.mu == cast(block.mu) && all.y == cast(block.y))
    let part = try ds.read(rows: 3..<7)
    #expect(part.count == 4 && part.d == 2 && part.dMu == 1)
    #expect(part.x == cast(Array(block.x[6..<14])) && part.mu == cast(Array(block.mu[3..<7])) && part.y == cast(Array(block.y[6..<14])))
    let empty = try ds.read(rows: 5..<5)
    #expect(empty.count == 0)
}

/// Catches: dataset.json treated as required (the contract says it is optional).
@Test func datasetWithoutMetadataOpens() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Dataset.write(sampleBlock(4), info: DatasetInfo(dt: 0.1), to: dir)
    try FileManager.default.removeItem(atPath: "\(dir)/dataset.json")
    let ds = try Dataset(directory: dir)
    #expect(ds.info == nil && ds.count == 4)
}

// MARK: Bad inputs

/// Catches: arrays that do not pair up row by row being accepted (or blamed on the wrong file).
@Test func yWithDifferentRowCountIsRejected() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Dataset.write(sampleBlock(6), info: DatasetInfo(dt: 0.1), to: dir)
    try NPY.write("\(dir)/y.npy", [Double](repeating: 0, count: 10), shape: [5, 2])
    expectError(SDEFlowError.self, containing: ["y.npy", "5 rows", "6"]) { _ = try Dataset(directory: dir) }
}

/// Catches: y of another width than x being accepted (labels would read garbage).
@Test func xyWidthMismatchIsRejected() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Dataset.write(sampleBlock(6), info: DatasetInfo(dt: 0.1), to: dir)
    try NPY.write("\(dir)/y.npy", [Double](repeating: 0, count: 18), shape: [6, 3])
    expectError(SDEFlowError.self, containing: ["y.npy", "width 3", "width 2"]) { _ = try Dataset(directory: dir) }
}

/// Catches: non-finite data passing silently, and the bad row reported relative to the block
/// instead of the file (the read starts at row 2, the NaN is in file row 4).
@Test func nanInMuNamesFileAndRow() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var block = sampleBlock(8)
    block.mu[4] = .nan
    try Dataset.write(block, info: DatasetInfo(dt: 0.1), to: dir)
    let ds = try Dataset(directory: dir)  // opening reads headers only
    expectError(SDEFlowError.self, containing: ["mu.npy", "row 4", "nan"]) { _ = try ds.read(rows: 2..<8) }
    expectError(SDEFlowError.self, containing: ["mu.npy", "row 4"]) { _ = try ds.read(rows: 0..<8) }
    let before = try ds.read(rows: 0..<4)  // rows before it are fine
    #expect(before.count == 4)
    block.mu[4] = 1
    block.y[7] = .infinity  // row 3, column 1 of y
    try Dataset.write(block, info: DatasetInfo(dt: 0.1), to: dir)
    expectError(SDEFlowError.self, containing: ["y.npy", "row 3", "column 1"]) { _ = try Dataset(directory: dir).read(rows: 1..<8) }
}

/// Catches: a missing folder or file not reported with its path.
@Test func missingFolderOrFileIsReported() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let missing = "\(dir)/no-such-data"
    expectError(SDEFlowError.self, containing: [missing, "no such data folder"]) { _ = try Dataset(directory: missing) }
    // A plain file is not a folder either.
    _ = FileManager.default.createFile(atPath: "\(dir)/file", contents: Data([1, 2, 3]))
    expectError(SDEFlowError.self, containing: ["\(dir)/file"]) { _ = try Dataset(directory: "\(dir)/file") }
    try Dataset.write(sampleBlock(3), info: DatasetInfo(dt: 0.1), to: "\(dir)/data")
    try FileManager.default.removeItem(atPath: "\(dir)/data/mu.npy")
    expectError(SDEFlowError.self, containing: ["mu.npy", "no such file"]) { _ = try Dataset(directory: "\(dir)/data") }
}

/// Catches: integer arrays being accepted as data (the contract is float32/float64).
@Test func integerDataIsRejected() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Dataset.write(sampleBlock(4), info: DatasetInfo(dt: 0.1), to: dir)
    try NPY.write("\(dir)/x.npy", [Int64](repeating: 1, count: 8), shape: [4, 2])
    expectError(SDEFlowError.self, containing: ["x.npy", "dtype", "<i8", "float32"]) { _ = try Dataset(directory: dir) }
}

/// Catches: arrays of the wrong rank, an empty data set and unreadable metadata being accepted.
@Test func otherMalformedFoldersAreRejected() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Dataset.write(sampleBlock(4), info: DatasetInfo(dt: 0.1), to: dir)
    try NPY.write("\(dir)/mu.npy", [Double](repeating: 1, count: 8), shape: [4, 1, 2])
    expectError(SDEFlowError.self, containing: ["mu.npy", "2-D"]) { _ = try Dataset(directory: dir) }

    try Dataset.write(PairBlock(d: 2, dMu: 1), info: DatasetInfo(dt: 0.1), to: dir)
    expectError(SDEFlowError.self, containing: ["x.npy", "empty"]) { _ = try Dataset(directory: dir) }

    try Dataset.write(sampleBlock(4), info: DatasetInfo(dt: 0.1), to: dir)
    try Data("{\"example\": \"ou\"}".utf8).write(to: URL(fileURLWithPath: "\(dir)/dataset.json"))
    expectError(SDEFlowError.self, containing: ["dataset.json", "dt"]) { _ = try Dataset(directory: dir) }
}

/// Catches (third probe, finding 3): the label stage reads x, μ and y in several passes, and a data
/// folder swapped by another job between them gave labels that mixed two data sets (exit 0). A
/// read after the folder was replaced, or after a file was rewritten in place, is an error.
@Test func dataChangedWhileBeingReadIsAnError() throws {
    let root = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let dir = (root as NSString).appendingPathComponent("d")
    try Dataset.write(sampleBlock(6), info: DatasetInfo(dt: 0.1), to: dir)
    let opened = try Dataset(directory: dir)
    _ = try opened.read(rows: 0..<6)
    _ = try opened.read(indices: [5, 1])
    var other = sampleBlock(6)
    other.y[3] += 1
    try Dataset.write(other, info: DatasetInfo(dt: 0.1), to: dir)  // the folder is swapped whole
    expectError(SDEFlowError.self, containing: ["x.npy", "was replaced by another file while this job was reading it"]) { _ = try opened.read(rows: 0..<6) }
    expectError(SDEFlowError.self, containing: ["was replaced"]) { _ = try opened.read(indices: [2]) }
    // Rewritten in place: the same inode, a later modification time.
    let again = try Dataset(directory: dir)
    _ = try again.read(rows: 0..<6)
    let y = (dir as NSString).appendingPathComponent("y.npy")
    usleep(20_000)
    let handle = try #require(FileHandle(forWritingAtPath: y))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data())
    try handle.write(contentsOf: try #require(FileManager.default.contents(atPath: y)).suffix(8))
    try handle.truncate(atOffset: UInt64(try #require(FileManager.default.contents(atPath: y)).count - 8))
    try handle.close()
    expectError(SDEFlowError.self, containing: ["y.npy", "was rewritten while this job was reading it"]) { _ = try again.read(rows: 0..<6) }
}
