import Foundation
import SDEFlowCore
import Testing

// Fuzzing `Dataset(directory:)` + `read(rows:)`: mutated dataset.json files and mutated arrays in a
// data folder (the `.npy` mutator and the NumPy check are in NPYFuzzTests.swift). The base
// dataset.json names ou2d, whose d = 2 and dμ = 1 the base arrays have (a name must fit them).

private let baseJSON = #"{"dt": 0.1, "example": "ou2d", "observedMu": [[0.5], [1.0]], "muRange": [0.5, 1.0], "seed": 7}"#

private let dtValues = ["0", "-1", "0.0", "-0", "1e-13", "1e-12", "1e12", "1e13", "1e999", "-1e999", "NaN", "Infinity", "\"0.1\"", "null",
                        "true", "[0.1]", "{}", "0.1.2", "1E-1", "2.5e-3", "100", "1e-320", "0x10", "+1", ".5", "5.", "01", "7"]

/// A mutated dataset.json (nil: none in the folder): the first ids take each Δt of `dtValues` in
/// turn, the others one of five kinds of mutation by id.
private func datasetJSON(_ id: Int, _ dice: inout Dice) -> [UInt8]? {
    switch id < dtValues.count ? 0 : id % 5 + 1 {
    case 0:
        return Array(baseJSON.replacingOccurrences(of: "\"dt\": 0.1,", with: "\"dt\": \(dtValues[id]),").utf8)
    case 1:
        let edits = [("\"dt\": 0.1, ", ""), ("\"dt\"", "\"DT\""), ("\"dt\": 0.1,", "\"dt\": 0.1, \"dt\": \(dice.pick(dtValues)),"),
                     ("\"dt\": 0.1,", "\"dt\": \(dice.pick(dtValues)), \"dt\": 0.1,"), ("{", "{\"unknown\": [1, 2], ")]
        let (from, to) = dice.pick(edits)
        return Array(baseJSON.replacingOccurrences(of: from, with: to).utf8)
    case 2:
        let edits = [("\"seed\": 7", "\"seed\": -1"), ("\"seed\": 7", "\"seed\": 1.5"), ("\"seed\": 7", "\"seed\": 18446744073709551616"),
                     ("\"seed\": 7", "\"seed\": \"7\""), ("[[0.5], [1.0]]", "[[0.5], \"a\"]"), ("[[0.5], [1.0]]", "null"),
                     ("[[0.5], [1.0]]", "[]"), ("[[0.5], [1.0]]", "[[1e999]]"), ("\"ou2d\"", "42"), ("\"ou2d\"", "\"no-such-example\""),
                     ("[0.5, 1.0]", "[1.0]"), ("[0.5, 1.0]", "\"wide\"")]
        let (from, to) = dice.pick(edits)
        return Array(baseJSON.replacingOccurrences(of: from, with: to).utf8)
    case 3:
        var t = Array(baseJSON.utf8)
        for _ in 0...dice.below(3) { t[dice.below(t.count)] ^= 1 << UInt8(dice.below(8)) }
        return t
    case 4: return Array(baseJSON.utf8.prefix(dice.below(baseJSON.utf8.count)))
    default:
        return dice.pick([nil, [], [0xFF, 0xFE, 0x00], Array("[]".utf8), Array("{\"dt\": 0.1}".utf8), Array("{\"dt\": 0.1} trailing".utf8)])
    }
}

/// The base folder's arrays: x (12, 2) float64, mu (12, 1) float32, y (12, 2) float64.
private func baseArrays(_ dice: inout Dice) -> [String: [UInt8]] {
    ["x.npy": npyFile(dict: npyDict("<f8", [12, 2]), body: npyBody("<f8", count: 24, &dice, specials: false)),
     "mu.npy": npyFile(dict: npyDict("<f4", [12, 1]), body: npyBody("<f4", count: 12, &dice, specials: false)),
     "y.npy": npyFile(dict: npyDict("<f8", [12, 2]), body: npyBody("<f8", count: 24, &dice, specials: false))]
}

/// Opens the folder and reads every row; on success the arrays (as ReadResults) and Δt.
private func openDataset(_ dir: String) -> (arrays: [ReadResult], dt: Double?)? {
    do {
        let ds = try Dataset(directory: dir)
        let block = try ds.read(rows: 0..<ds.count)
        #expect(block.count == ds.count && block.d == ds.d && block.dMu == ds.dMu)
        var arrays: [ReadResult] = []
        for (name, values) in [("x.npy", block.x), ("mu.npy", block.mu), ("y.npy", block.y)] {
            let h = try NPY.header(at: "\(dir)/\(name)")
            arrays.append(ReadResult(file: "\(dir)/\(name)", dtype: h.dtype.rawValue, shape: h.shape, values: values))
        }
        if let dt = ds.info?.dt { #expect(Limits.dtRange.contains(dt), "\(dir): dt \(dt) accepted") }
        return (arrays, ds.info?.dt)
    } catch let e as SDEFlowError {
        #expect(e.path?.hasPrefix(dir) == true, "\(dir): the error does not name a file of the folder: \(e)")
    } catch {
        Issue.record("\(dir): \(type(of: error)) instead of SDEFlowError: \(error)")
    }
    return nil
}

/// Catches: a dataset.json or an array of a data folder that traps or hangs `Dataset`, an error
/// that is not an SDEFlowError naming a file of the folder, a Δt outside its range accepted, or a
/// folder read differently from NumPy and Python's json.
@Test func datasetFuzzedFoldersAreRefusedOrReadAsNumPyReads() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("dataset-fuzz-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    var seedDice = Dice(1_000_000)
    let base = baseArrays(&seedDice)
    try FileManager.default.createDirectory(atPath: "\(root)/base", withIntermediateDirectories: true)
    for (name, bytes) in base { try Data(bytes).write(to: URL(fileURLWithPath: "\(root)/base/\(name)")) }
    var read: [ReadResult] = [], infos: [[String: Any]] = [], jsonMutants = 0, opened = 0
    for id in 0..<160 {
        var dice = Dice(2_000_000 + id)
        let dir = "\(root)/d\(id)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var arrays = base, json: [UInt8]? = Array(baseJSON.utf8)
        if id < 120 {
            json = datasetJSON(id, &dice); jsonMutants += 1
        } else {
            let name = dice.pick(["x.npy", "mu.npy", "y.npy"])
            arrays[name] = mutate(arrays[name]!, kind: dice.pick([0, 2, 3, 4, 7, 7, 8, 9]), &dice)
        }
        for (name, bytes) in arrays {  // unchanged arrays are links to the base folder's (fewer writes)
            if bytes == base[name] { try FileManager.default.createSymbolicLink(atPath: "\(dir)/\(name)", withDestinationPath: "\(root)/base/\(name)") }
            else { try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(name)")) }
        }
        if let json { try Data(json).write(to: URL(fileURLWithPath: "\(dir)/dataset.json")) }
        guard let result = openDataset(dir) else { continue }
        opened += 1
        read += result.arrays
        infos.append(["json": json == nil ? NSNull() : "\(dir)/dataset.json" as Any, "dt": result.dt.map { $0 as Any } ?? NSNull()])
    }
    #expect(jsonMutants >= 50 && opened >= 20 && opened <= 140, "\(jsonMutants) dataset.json mutants, \(opened) folders opened")
    try JSONSerialization.data(withJSONObject: infos).write(to: URL(fileURLWithPath: "\(root)/infos.json"))
    let checkJSON = """
    import os
    for e in json.load(open(os.path.join(os.path.dirname(sys.argv[1]), "infos.json"))):
        if e["json"] is None:
            continue
        try:
            info = json.load(open(e["json"]))
        except Exception as ex:
            bad.append(f"{e['json']}: Swift read it (dt = {e['dt']}), Python's json refused: {ex}"); continue
        dt = info.get("dt") if isinstance(info, dict) else None
        if type(dt) not in (int, float) or float(dt) != e["dt"]:
            bad.append(f"{e['json']}: Swift read dt = {e['dt']}, Python's json {dt!r}")
    """
    let r = try numPyAgrees(read, in: root, extra: checkJSON)
    #expect(r.status == 0, "\(r.output)")
}
