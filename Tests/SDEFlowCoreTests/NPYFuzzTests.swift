import Foundation
import SDEFlowCore
import Testing

// Fuzzing the readers of the data contract: mutated `.npy` files (this file) and data set folders
// (DatasetFuzzTests.swift). Every mutant must either be refused with an SDEFlowError naming the file
// or be read — and then read exactly as NumPy reads it, which one python3 call checks at the end
// for all of them. A trap ends the test process; a hang hits the suite's time.

/// Deterministic draws for one mutant: CounterRNG keyed by (mutant id, draw number).
struct Dice {
    let rng = CounterRNG(seed: 2024)
    let id: UInt64
    var draws: UInt32 = 0
    init(_ id: Int) { self.id = UInt64(id) }

    mutating func below(_ n: Int) -> Int {
        defer { draws += 1 }
        return Int(rng.index(below: UInt64(max(n, 1)), .split, id: id, index: draws))
    }
    mutating func pick<T>(_ options: [T]) -> T { options[below(options.count)] }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func byte() -> UInt8 { UInt8(below(256)) }
}

/// A `.npy` file as NumPy lays it out: magic, version, header length, the dict padded with
/// spaces and a newline to a multiple of 64 bytes, then `body`.
func npyFile(dict: String, major: UInt8 = 1, body: [UInt8]) -> [UInt8] {
    let pre = major == 1 ? 10 : 12
    var text = Array(dict.utf8)
    text += [UInt8](repeating: 0x20, count: (64 - (pre + text.count + 1) % 64) % 64) + [0x0A]
    let n = text.count
    let len: [UInt8] = major == 1 ? [UInt8(n & 0xFF), UInt8(n >> 8)] : (0..<4).map { UInt8((n >> (8 * $0)) & 0xFF) }
    return [0x93] + Array("NUMPY".utf8) + [major, 0] + len + text + body
}

/// NumPy's header dict for `descr` and `shape`.
func npyDict(_ descr: String, _ shape: [Int]) -> String {
    let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    return "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
}

/// Little-endian bytes of `count` values of `descr`: normals, and with `specials` some 0, −0,
/// huge, infinite and NaN values.
func npyBody(_ descr: String, count: Int, _ dice: inout Dice, specials: Bool = true) -> [UInt8] {
    var out: [UInt8] = []
    for i in 0..<count {
        let v = specials && dice.chance(15) ? dice.pick([0, -0.0, 1e300, -3.5e38, 7, .infinity, .nan]) : 10 * CounterRNG(seed: 3).normals(.split, id: UInt64(i), index: 0).0
        switch descr.dropFirst() {
        case "f4": withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { out += $0 }
        case "i4": withUnsafeBytes(of: Int32(v.isFinite ? max(min(v, 2e9), -2e9) : 0).littleEndian) { out += $0 }
        case "i8": withUnsafeBytes(of: Int64(v.isFinite ? max(min(v, 9e18), -9e18) : 0).littleEndian) { out += $0 }
        default: withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 }
        }
    }
    return out
}

/// A valid file to mutate: id picks the dtype, shape and format version.
func seedFile(_ id: Int, _ dice: inout Dice) -> [UInt8] {
    let seeds: [(String, [Int], UInt8)] = [("<f8", [3, 2], 1), ("<f4", [5], 1), ("<i8", [2, 2], 1), ("<i4", [4, 1], 1), ("<f8", [], 1),
                                           ("<f8", [2, 3], 2), ("<f4", [3, 1], 3), ("<f8", [0, 2], 1), ("|f8", [6], 1), ("f4", [2, 2, 1], 1)]
    let (descr, shape, major) = seeds[id % seeds.count]
    let bodyDescr = descr.count == 2 ? "<" + descr : descr
    return npyFile(dict: npyDict(descr, shape), major: major, body: npyBody(bodyDescr, count: shape.reduce(1, *), &dice))
}

/// Where the dict of a well-formed file starts and ends (the header text, without the length field).
func headerRange(_ f: [UInt8]) -> Range<Int> {
    let start = f.count > 7 && f[6] == 1 ? 10 : 12
    let end = f[start...].firstIndex(of: 0x0A).map { $0 + 1 } ?? f.count
    return min(start, f.count)..<end
}

/// One of ten kinds of mutation (kind = id % 10, so every kind is well represented).
func mutate(_ file: [UInt8], kind: Int, _ dice: inout Dice) -> [UInt8] {
    var f = file
    let header = headerRange(f)
    switch kind {
    case 0:  // bit flips, mostly in the header
        for _ in 0...dice.below(3) {
            let at = dice.chance(70) ? dice.below(header.upperBound) : dice.below(f.count)
            f[at] ^= 1 << UInt8(dice.below(8))
        }
    case 1: f = Array(f.prefix(dice.below(f.count)))  // truncation
    case 2: editLengthField(&f, &dice)
    case 3: f = npyFile(dict: randomDict(&dice), major: dice.pick([1, 1, 2, 3]), body: Array(f[header.upperBound...]))
    case 4: editOneHeaderByte(&f, header, &dice)
    case 5: f[6] = dice.pick([0, 1, 2, 3, 4, 255]); f[7] = dice.pick([0, 0, 0, 1])  // version
    case 6: f[dice.below(6)] = dice.byte()  // magic
    case 7:  // values: random bytes in the data
        if f.count > header.upperBound { for _ in 0...dice.below(8) { f[header.upperBound + dice.below(f.count - header.upperBound)] = dice.byte() } }
    case 8: f += (0..<dice.pick([1, 7, 8, 100])).map { _ in dice.byte() }  // trailing bytes
    default: editInPlace(&f, header, &dice)
    }
    return f
}

/// Header-length field: small shifts, zero, or a random value (up to 32 bits for v2/v3).
func editLengthField(_ f: inout [UInt8], _ dice: inout Dice) {
    let wide = f[6] != 1, at = 8, width = wide ? 4 : 2
    var n = (0..<width).reduce(0) { $0 | Int(f[at + $1]) << (8 * $1) }
    switch dice.below(4) {
    case 0: n += dice.pick([-64, -8, -1, 1, 8, 64])
    case 1: n = 0
    case 2: n = dice.below(1 << 16)
    default: n = wide ? dice.below(Int(UInt32.max)) : 65535
    }
    n = max(n, 0)
    for i in 0..<width { f[at + i] = UInt8((n >> (8 * i)) & 0xFF) }
}

/// One header byte deleted, inserted or replaced (with a character a dict could hold), the length
/// field kept or fixed.
func editOneHeaderByte(_ f: inout [UInt8], _ header: Range<Int>, _ dice: inout Dice) {
    guard header.count > 1 else { return }
    let at = header.lowerBound + dice.below(header.count - 1)
    let c = dice.pick(Array("{}()[],:'\" 0123456789-LTFx#\t\n\r".utf8) + [0x00, 0x0C, 0xE9])
    var delta = 0
    switch dice.below(3) {
    case 0: f.remove(at: at); delta = -1
    case 1: f.insert(c, at: at); delta = 1
    default: f[at] = c
    }
    if delta != 0 && dice.chance(50) {
        let wide = f[6] != 1, width = wide ? 4 : 2
        let n = (0..<width).reduce(0) { $0 | Int(f[8 + $1]) << (8 * $1) } + delta
        for i in 0..<width { f[8 + i] = UInt8((n >> (8 * i)) & 0xFF) }
    }
}

/// dtype or shape edited in place: a descr code swapped for another of the same length, or a
/// digit of the shape changed.
func editInPlace(_ f: inout [UInt8], _ header: Range<Int>, _ dice: inout Dice) {
    let text = Array(f[header])
    if dice.chance(50), let q = (0..<max(text.count - 12, 0)).first(where: { Array(text[$0..<$0 + 8]) == Array("'descr':".utf8) }) {
        guard let open = text[(q + 8)...].firstIndex(where: { $0 == 0x27 }) else { return }
        let code = Array(dice.pick(["<f8", "<f4", "<i8", "<i4", ">f8", "<u8", "|b1", "<c8", "<f2", "=i8", "|f4", "<M8"]).utf8)
        let end = text[(open + 1)...].firstIndex(of: 0x27) ?? open + 1
        f.replaceSubrange((header.lowerBound + open + 1)..<(header.lowerBound + end), with: code)
    } else if let s = (0..<max(text.count - 8, 0)).first(where: { Array(text[$0..<$0 + 8]) == Array("'shape':".utf8) }) {
        let digits = (s..<text.count).filter { (0x30...0x39).contains(text[$0]) }
        guard !digits.isEmpty else { return }
        f[header.lowerBound + dice.pick(digits)] = dice.pick(Array("0123456789".utf8))
    }
}

/// A whole dict assembled from valid and invalid parts (keys, quoting, extra or missing keys).
func randomDict(_ dice: inout Dice) -> String {
    let q = dice.chance(80) ? "'" : "\""
    let descr = dice.pick(["<f8", "<f8", "<f4", "<i8", "<i4", "f8", "=f4", "|i4", ">f8", "<u8", "|b1", "<c16", "<f2", "float64", ""])
    let descrValue = dice.chance(5) ? "[('a', '<f8')]" : q + descr + q
    let fortran = dice.pick(["False", "False", "False", "True", "0", "false", "None"])
    let shape = dice.pick(["(3, 2)", "(6,)", "(2, 3)", "(6)", "()", "(0,)", "(0, 2)", "(-1,)", "(2L, 3)", "(2,3,)", "(1, 1, 6)",
                           "(02,)", "(00,)", "( 6 , )", "(9223372036854775807,)", "(4611686018427387904, 4)",
                           "(0, 4611686018427387904, 4)", "(3037000500, 3037000500)", "[6]", "(6.0,)", "((6,),)", "(,)",
                           "(" + (1...33).map(String.init).joined(separator: ",") + ")", "(3, 1)", "(1,)", "(12,)"])
    var entries = ["\(q)descr\(q): \(descrValue)", "\(q)fortran_order\(q): \(fortran)", "\(q)shape\(q): \(shape)"]
    switch dice.below(8) {
    case 0: entries.remove(at: dice.below(3))
    case 1: entries.append("\(q)extra\(q): 1")
    case 2: entries.append("\(q)shape\(q): (2,)")  // a duplicate key: the last one counts, as in Python
    case 3: entries.shuffle(using: &dice)
    default: break
    }
    return "{" + entries.joined(separator: ", ") + dice.pick([", }", "}", ",}", "} #c", "}\u{0}", " , } x"])
}

extension Dice: RandomNumberGenerator {
    mutating func next() -> UInt64 { UInt64(below(Int.max)) &* 2 &+ UInt64(below(2)) }
}

/// What reading one mutant gave: refused (nil) or its dtype, shape and values as Double.
struct ReadResult { let file: String; let dtype: String; let shape: [Int]; let values: [Double] }

/// Reads `path` through NPY.header, NPY.read and NPY.readFloat; any error but an SDEFlowError
/// naming the file is an issue.
func readMutant(_ path: String) -> ReadResult? {
    do {
        let h = try NPY.header(at: path)
        let (v, shape) = try NPY.read(path)
        let (vf, _) = try NPY.readFloat(path)
        #expect(shape == h.shape && v.count == h.count && vf.count == v.count, "\(path)")
        if h.dtype == .float32 || h.dtype == .float64 {
            #expect(zip(v, vf).allSatisfy { Float($0.0).isNaN ? $0.1.isNaN : Float($0.0) == $0.1 }, "\(path): readFloat differs")
        }
        return ReadResult(file: path, dtype: h.dtype.rawValue, shape: shape, values: v)
    } catch let e as SDEFlowError {
        #expect(e.path == path && e.description.hasPrefix(path), "\(path): the error does not name the file: \(e)")
    } catch {
        Issue.record("\(path): \(type(of: error)) instead of SDEFlowError: \(error)")
    }
    return nil
}

/// One python3 call: every read mutant must load with np.load to the same dtype, shape and
/// values (NaN equal to NaN). Our values travel as one float64 .npy file (each mutant's at an
/// offset) next to a JSON manifest.
func numPyAgrees(_ results: [ReadResult], in dir: String, extra: String = "") throws -> (status: Int32, output: String) {
    var manifest: [[String: Any]] = [], all: [Double] = []
    for r in results {
        manifest.append(["file": r.file, "at": all.count, "count": r.values.count, "dtype": r.dtype, "shape": r.shape])
        all += r.values
    }
    try NPY.write("\(dir)/ours.npy", all, shape: [all.count])
    try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: "\(dir)/manifest.json"))
    let script = """
    import sys, json, warnings, numpy as np
    warnings.simplefilter("ignore")
    bad = []
    entries = json.load(open(sys.argv[1]))
    everything = np.load(sys.argv[1].replace("manifest.json", "ours.npy"))
    for e in entries:
        try:
            a = np.load(e["file"])
        except Exception as ex:
            bad.append(f"{e['file']}: Swift read {e['shape']}, NumPy refused: {ex}"); continue
        ours = everything[e["at"]:e["at"] + e["count"]]
        if list(a.shape) != e["shape"] or a.dtype != np.dtype(e["dtype"]):
            bad.append(f"{e['file']}: NumPy {a.dtype} {a.shape}, Swift {e['dtype']} {e['shape']}")
        elif not np.array_equal(a.astype(np.float64).ravel(), ours, equal_nan=True):
            bad.append(f"{e['file']}: values differ: NumPy {a.ravel()[:6]}, Swift {ours[:6]}")
    \(extra)
    print(f"checked {len(entries)}"); print("\\n".join(bad[:20]))
    sys.exit(1 if bad else 0)
    """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script, "\(dir)/manifest.json"]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}

/// Catches: any header or value mutation that traps, hangs, allocates without bound, throws
/// something other than an SDEFlowError naming the file, or is read differently from NumPy.
@Test func npyFuzzedFilesAreRefusedOrReadAsNumPyReads() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("npy-fuzz-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let mutants = 400
    var read: [ReadResult] = [], refused = 0
    for id in 0..<mutants {
        var dice = Dice(id)
        let path = "\(dir)/m\(id).npy"
        try Data(mutate(seedFile(id / 10, &dice), kind: id % 10, &dice)).write(to: URL(fileURLWithPath: path))
        if let r = readMutant(path) { read.append(r) } else { refused += 1 }
    }
    // Both outcomes must be well represented, or the mutations are too tame or too wild.
    #expect(read.count >= 60 && refused >= 150, "\(read.count) read, \(refused) refused")
    let r = try numPyAgrees(read, in: dir)
    #expect(r.status == 0, "\(r.output)")
}
