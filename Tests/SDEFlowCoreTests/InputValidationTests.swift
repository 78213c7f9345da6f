import Foundation
import SDEFlowCore
import Testing

// Issue 12: every bad input gets an SDEFlowError naming the file (row, column) or option and what
// was expected, before any work, and never a trap. Folder loaders: LoaderValidationTests.swift.

/// A fresh directory under the system temp dir; removed by the caller's `defer`.
func validationTempDir(_ prefix: String) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

/// Expects `body` to throw an SDEFlowError whose description holds every fragment (or, from
/// several ranks that refused alike, an `AgreedFailure` carrying one).
func expectRefusal(_ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an SDEFlowError mentioning \(fragments), nothing was thrown", sourceLocation: sourceLocation)
    } catch let e as SDEFlowError {
        for f in fragments { #expect(e.description.contains(f), "'\(e)' does not mention '\(f)'", sourceLocation: sourceLocation) }
    } catch let a as AgreedFailure where a.error is SDEFlowError {  // every rank refused alike; one says why
        for f in fragments { #expect("\(a.error!)".contains(f), "'\(a.error!)' does not mention '\(f)'", sourceLocation: sourceLocation) }
        #expect(a.status == ExitStatus.of(a.error!), sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected an SDEFlowError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}

/// Catches: any of the header defects NumPy refuses being read anyway (or trapping), and a
/// message that does not say what is wrong: version, length past the file or over NumPy's limit,
/// text after the dict, a 1-tuple without its comma, leading zeros, 3L in version 3.0, keys,
/// negative and overflowing shapes, too many dims, truncated data.
@Test func npyHeaderDefectsAreRefusedWithTheirReason() throws {
    let dir = try validationTempDir("npy-defects")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let body = [UInt8](repeating: 0, count: 48)
    let ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }"
    func withShape(_ s: String) -> String { ok.replacingOccurrences(of: "(6,)", with: s) }
    var cases: [(String, [UInt8], [String])] = [
        ("v11", npyFile(dict: ok, body: body), ["version 1.1"]),
        ("v4", npyFile(dict: ok, body: body), ["version 4.0"]),
        ("trailing", npyFile(dict: ok + " x", body: body), ["unexpected bytes after the dict"]),
        ("notuple", npyFile(dict: withShape("(6)"), body: body), ["not a tuple", "(6,)"]),
        ("zeros", npyFile(dict: withShape("(06,)"), body: body), ["leading zeros"]),
        ("long3", npyFile(dict: withShape("(6L,)"), major: 3, body: body), ["bad shape entry '6L'"]),
        ("extra", npyFile(dict: ok.replacingOccurrences(of: "}", with: "'x': 'y'}"), body: body), ["keys", "expected exactly"]),
        ("nokey", npyFile(dict: "{'descr': '<f8', 'shape': (6,)}", body: body), ["keys", "fortran_order"]),
        ("negative", npyFile(dict: withShape("(-6,)"), body: body), ["negative dimension -6"]),
        ("overflow", npyFile(dict: withShape("(4611686018427387904, 4)"), body: body), ["too large"]),
        ("zerohuge", npyFile(dict: withShape("(0, 4611686018427387904, 4611686018427387904)"), body: body), ["too large"]),
        ("dims", npyFile(dict: withShape("(" + String(repeating: "1, ", count: 33) + ")"), body: body), ["33 dimensions"]),
        ("fortran", npyFile(dict: ok.replacingOccurrences(of: "False", with: "True"), body: body), ["Fortran"]),
        ("fortran0", npyFile(dict: ok.replacingOccurrences(of: "False", with: "0"), body: body), ["unexpected value '0'"]),
        ("descr", npyFile(dict: ok.replacingOccurrences(of: "<f8", with: "<f2"), body: body),
         ["unsupported dtype '<f2'; use float32 (<f4) or float64 (<f8); label and model arrays may also be int32 (<i4) or int64 (<i8)"]),
        // Third probe, finding 12: the message named the value, not the extra key.
        ("extraint", npyFile(dict: ok.replacingOccurrences(of: "}", with: "'extra': 1}"), body: body), ["unexpected value '1' for key 'extra'"]),
        ("shortdata", npyFile(dict: ok, body: Array(body.prefix(40))), ["truncated", "48", "40"]),
    ]
    cases[0].1[7] = 1
    cases[1].1[6] = 4
    var past = npyFile(dict: ok, body: body)
    past[8] = 0xFF; past[9] = 0x7F
    cases.append(("pastfile", past, ["truncated header", "needs 32777 bytes"]))
    // Third probe, finding 12: a v1 file with version byte 3 read a 4-byte length ("needs 662372482
    // bytes") and said nothing of the version.
    var v3 = npyFile(dict: ok, body: body)
    v3[6] = 3
    cases.append(("v3of1", v3, ["truncated header", "the version byte says 3.0", "laid out as version 1.0"]))
    // Sixth probe: a length field 16 smaller still parses (the header then ends in its padding),
    // and every value was read two rows early, with exit 0; so were bytes after the data.
    var shortened = npyFile(dict: ok, body: body)
    shortened[8] ^= 0x10
    cases.append(("shortlength", shortened, ["does not end in a newline", "length field", "damaged"]))
    cases.append(("longdata", npyFile(dict: ok, body: body + [1, 2, 3, 4, 5, 6, 7, 8]), ["8 bytes after the 48 bytes of data"]))
    var huge = npyFile(dict: ok, major: 2, body: [UInt8](repeating: 0x20, count: 40_000))
    huge[8] = 0x30; huge[9] = 0x75; huge[10] = 0; huge[11] = 0  // 30000 bytes
    cases.append(("hugeheader", huge, ["header length 30000", "10000"]))
    for (name, bytes, words) in cases {
        let path = "\(dir)/\(name).npy"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        expectRefusal([path] + words) { _ = try NPY.read(path) }
    }
    // What NumPy accepts is still read: 3L up to version 2.0, (0, 2) with no data, 00 as a zero.
    try Data(npyFile(dict: withShape("(3L, 2)"), major: 2, body: body)).write(to: URL(fileURLWithPath: "\(dir)/long2.npy"))
    #expect(try NPY.read("\(dir)/long2.npy").shape == [3, 2])
    try Data(npyFile(dict: withShape("(00, 2)"), body: [])).write(to: URL(fileURLWithPath: "\(dir)/empty.npy"))
    #expect(try NPY.read("\(dir)/empty.npy").shape == [0, 2])
}

/// Catches: a data set of width 0, a state beyond the label kernel's d = 256, a Δt that is not a
/// positive number, or a value beyond ±1e100 (a trap in the grid, an inf in labels.json) passing
/// Dataset; and the message not naming file, row and column.
@Test func datasetRefusesWidthZeroWideStatesBadDtAndHugeValues() throws {
    let dir = try validationTempDir("dataset-bounds")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let n = 6
    func write(d: Int = 2, dMu: Int = 1, dt: Double = 0.1, x: [Double]? = nil, mu: [Double]? = nil) throws {
        let block = PairBlock(d: d, dMu: dMu, x: x ?? (0..<(n * d)).map { Double($0) / 7 }, mu: mu ?? (0..<(n * dMu)).map { Double($0) },
                              y: (0..<(n * d)).map { Double($0) / 5 })
        try Dataset.write(block, info: DatasetInfo(dt: dt), to: dir)
    }
    for name in ["x.npy", "mu.npy", "y.npy"] {
        try write()
        try NPY.write("\(dir)/\(name)", [Double](), shape: [n, 0])
        if name != "mu.npy" { try NPY.write("\(dir)/\(name == "x.npy" ? "y.npy" : "x.npy")", [Double](), shape: [n, 0]) }
        expectRefusal(["\(dir)/\(name == "mu.npy" ? "mu" : "x").npy", "width 0"]) { _ = try Dataset(directory: dir) }
    }
    try write(d: 257)
    expectRefusal(["x.npy", "d = 257", "at most d = 256"]) { _ = try Dataset(directory: dir) }
    for dt in [0, -0.1, 1e-300, 1e300] {
        try write(dt: dt)
        expectRefusal(["dataset.json", "dt = \(dt)", "Δt"]) { _ = try Dataset(directory: dir) }
    }
    var x = (0..<(2 * n)).map { Double($0) }
    x[7] = 1e150  // row 3, column 1
    try write(x: x)
    let ds = try Dataset(directory: dir)  // opening reads headers only
    expectRefusal(["x.npy", "row 3, column 1", "1e+150", "1e100"]) { _ = try ds.read(rows: 0..<n) }
    expectRefusal(["x.npy", "row 3, column 1"]) { _ = try ds.read(indices: [5, 3]) }
    var mu = (0..<n).map(Double.init)
    mu[4] = -1e200
    try write(mu: mu)
    expectRefusal(["mu.npy", "row 4, column 0", "1e100"]) { _ = try Dataset(directory: dir).read(rows: 2..<n) }
    x[7] = 1e100  // the bound itself is fine
    try write(x: x)
    #expect(try Dataset(directory: dir).read(rows: 0..<n).x[7] == 1e100)
}

/// Catches: GridGeometry.coordinate trapping ("Double value cannot be converted to Int") on a
/// huge, infinite or NaN coordinate instead of clamping into the grid.
@Test func gridCoordinateClampsWithoutConverting() {
    let g = GridGeometry(lower: [0, -1], cellSize: 0.5, shape: [10, 4])
    #expect(g.coordinate(1e300, 0) == 9 && g.coordinate(.infinity, 0) == 9 && g.coordinate(9.2e18, 1) == 3)
    #expect(g.coordinate(-1e300, 0) == 0 && g.coordinate(-.infinity, 1) == 0 && g.coordinate(.nan, 0) == 0)
    #expect(g.coordinate(2.3, 0) == 4 && g.coordinate(-0.9, 1) == 0 && g.coordinate(0.6, 1) == 3)
}

/// Catches: label settings the data rules out reaching the kernel: d beyond its 256, a bandwidth
/// under 1e-6 σ (every kernel weight but a query's own underflows) and c·|y − x| beyond 1e15
/// (float32 overflow: NaN labels); on two ranks too (every rank refuses, none waits).
@Test func labelStartRefusesWideStatesNarrowBandwidthsAndHugeScales() throws {
    let n = 200
    func data(d: Int, step: Double = 0.1) -> PairBlock {
        let x = (0..<(n * d)).map { sin(Double($0)) }
        return PairBlock(d: d, dMu: 1, x: x, mu: (0..<n).map { Double($0 % 5) }, y: x.map { $0 + step })
    }
    /// On one rank (the message), then on two: every rank must stop (a rank left waiting in a
    /// collective would hang the test); which rank's error comes back first is a race there.
    func label(_ source: PairBlock, _ edit: (inout LabelSettings) -> Void) throws {
        var s = LabelSettings(labels: 20, neighbors: 50, odeSteps: 5, nuX: 1, nuMu: 0.5)
        edit(&s)
        let settings = s
        func run(_ ranks: Int) throws {
            _ = try LocalCollective.run(ranks: ranks) { comm in
                try DistributedLabels.run(comm, source: source, info: nil, settings: settings, seed: 1, log: Log(rank: 1))
            }
        }
        let twoRanksRan = (try? run(2)) != nil
        do { try run(1) } catch {
            #expect(!twoRanksRan, "two ranks ran where one refused")
            throw error
        }
        #expect(twoRanksRan, "two ranks refused where one ran")
    }
    expectRefusal(["d = 257", "at most d = 256"]) { try label(data(d: 257)) { _ in } }
    expectRefusal(["--nu-x", "1e-09", "underflows", "ν ≥"]) { try label(data(d: 1)) { $0.nuX = 1e-9 } }
    expectRefusal(["--nu-mu", "underflows"]) { try label(data(d: 1)) { $0.nuMu = 1e-7 } }
    expectRefusal(["--scale", "1e15", "float32"]) { try label(data(d: 1, step: 1e10)) { $0.scale = 1e6 } }
    try label(data(d: 1)) { $0.nuX = 1e-5 }  // narrow, but not below 1e-6 σ: runs
}

/// Catches (third probe, finding 2): one y of 1e6 among steps of about 0.3 went through label and
/// train with exit 0 and ruined every label; with 1e50 the refusal blamed --scale. Such a row is
/// now refused by the label stage (the same row named at any -n) and by the spread estimate of
/// data of no known example; a row a few hundred spreads out is labelled (with a warning).
@Test func aWildStepIsRefusedNamingItsRow() throws {
    let settings: LabelSettings = { var s = SDEExample.rotatingOU.labels; s.labels = 50; s.neighbors = 100; return s }()
    func label(_ data: PairBlock, ranks: Int) throws {
        _ = try LocalCollective.run(ranks: ranks) { comm in
            try DistributedLabels.run(comm, source: data, info: nil, settings: settings, seed: 1, log: Log(rank: 1))
        }
    }
    var wild = DistributedStageTests.data
    wild.y[2 * 9_999 + 1] = 1e6
    for ranks in [1, 3] {
        expectRefusal(["row 9999 has y − x = ", "(component 1)", "is that far from the rest"]) { try label(wild, ranks: ranks) }
    }
    // Fourth probe: the same for one x or μ (a μ of 1e9 widened the μ bandwidth 8·10⁶ times).
    var wildX = DistributedStageTests.data, wildMu = wildX
    wildX.x[2 * 42] += 1e9; wildX.y[2 * 42] += 1e9
    wildMu.mu[77] = 1e9
    expectRefusal(["row 42 has x (x.npy) = "]) { try label(wildX, ranks: 2) }
    expectRefusal(["row 77 has μ (mu.npy) = 1e+09"]) { try label(wildMu, ranks: 2) }
    let dir = try validationTempDir("wild-step")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    wild.y[2 * 9_999 + 1] = 1e50
    try Dataset.write(wild, info: DatasetInfo(dt: 0.1), to: dir + "/d")
    expectRefusal(["row 9999 has a step y − x = 1e+50 (component 1)", "is that far from the rest"]) { _ = try DataScales.of(dir + "/d") }
    var far = DistributedStageTests.data
    let steps = (0..<far.count).map { far.y[2 * $0] - far.x[2 * $0] }
    let mean = steps.reduce(0, +) / Double(steps.count)
    let sd = (steps.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(steps.count)).squareRoot()
    far.y[2 * 17] += 300 * sd
    try label(far, ranks: 2)
}

/// Catches (third probe, finding 7): dataset.json's μ keys were not compared with mu.npy: bm data
/// (μ in [−1, 1]) called "ou" (μ in [0.5, 2]), with a muRange of [0, 0.5] or an observedMu of
/// [[0.5]], were labelled with exit 0 and misled evaluate and sample later. Each is refused.
@Test func datasetMetadataIsCheckedAgainstTheMuColumn() throws {
    let data = DistributedStageTests.data  // ou2d: μ at its observed values
    let settings: LabelSettings = { var s = SDEExample.rotatingOU.labels; s.labels = 50; s.neighbors = 100; return s }()
    let observed = SDEExample.rotatingOU.observedMu
    func label(_ info: DatasetInfo) throws {
        _ = try LocalCollective.run(ranks: 2) { comm in
            try DistributedLabels.run(comm, source: data, info: info, settings: settings, seed: 1, log: Log(rank: 1))
        }
    }
    let lo = observed.map { $0[0] }.min()!, hi = observed.map { $0[0] }.max()!
    try label(DatasetInfo(dt: 0.1, example: "ou2d", observedMu: observed, muRange: [lo, hi]))
    expectRefusal(["\"example\": example 'gbm' is defined for μ in"]) { try label(DatasetInfo(dt: 0.1, example: "gbm")) }
    expectRefusal(["\"muRange\" = [\(lo), \((lo + hi) / 2)] does not hold the μ of mu.npy"]) { try label(DatasetInfo(dt: 0.1, muRange: [lo, (lo + hi) / 2])) }
    expectRefusal(["\"observedMu\" does not list the μ of mu.npy row"]) { try label(DatasetInfo(dt: 0.1, observedMu: Array(observed.dropFirst()))) }
    expectRefusal(["\"observedMu\"[\(observed.count)] = [", "is on no row of mu.npy"]) { try label(DatasetInfo(dt: 0.1, observedMu: observed + [[hi + 1]])) }
}

/// Catches (fourth probe, finding 5): a state component moving 1e-9 as much as the others (or not
/// at all) was labelled and sampled with a spread of the others' size, exit 0. It is refused,
/// naming the component and the factor to rescale it by.
@Test func aComponentThatBarelyMovesIsRefused() throws {
    let settings: LabelSettings = { var s = SDEExample.rotatingOU.labels; s.labels = 50; s.neighbors = 100; return s }()
    func label(_ data: PairBlock) throws {
        _ = try LocalCollective.run(ranks: 2) { comm in
            try DistributedLabels.run(comm, source: data, info: nil, settings: settings, seed: 1, log: Log(rank: 1))
        }
    }
    var frozen = DistributedStageTests.data, tiny = frozen
    for j in 0..<frozen.count {
        frozen.y[2 * j + 1] = frozen.x[2 * j + 1]
        tiny.y[2 * j + 1] = tiny.x[2 * j + 1] + 1e-9 * (tiny.y[2 * j + 1] - tiny.x[2 * j + 1])
    }
    expectRefusal(["component 1 of y − x does not vary", "leave that component out"]) { try label(frozen) }
    expectRefusal(["component 1 of y − x varies by only σ = ", "multiply column 1 of x.npy and y.npy by that"]) { try label(tiny) }
}
