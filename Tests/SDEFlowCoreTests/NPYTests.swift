import Foundation
import SDEFlowCore
import Testing

/// A fresh directory under the system temp dir; removed by the caller's `defer`.
private func makeTempDir() throws -> String {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("npy-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

/// Runs `python3 -c script args...`; returns exit status and stdout (stderr is appended on failure).
private func python(_ script: String, _ args: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script] + args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: o, as: UTF8.self)
    return (p.terminationStatus, p.terminationStatus == 0 ? text : text + String(decoding: e, as: UTF8.self))
}

@Test func npySwiftWritesNumPyReads() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let d = (0..<12).map { Double($0) * 0.1 - 0.35 }
    let f = (0..<15).map { Float($0) / 3 - 2 }
    let i: [Int64] = [-(1 << 40), -1, 0, 7, Int64.max]
    try NPY.write("\(dir)/d.npy", d, shape: [4, 3])
    try NPY.write("\(dir)/f.npy", f, shape: [5, 3])
    try NPY.write("\(dir)/i.npy", i, shape: [5])
    try NPY.write("\(dir)/s.npy", [2.5], shape: [])
    try NPY.write("\(dir)/h.npy", d, shape: [12], dtype: .float32)
    let script = """
    import sys, numpy as np
    dir = sys.argv[1]
    d, f, i, s, h = (np.load(f"{dir}/{n}.npy") for n in "dfish")
    assert d.dtype == np.float64 and d.shape == (4, 3), (d.dtype, d.shape)
    assert np.array_equal(d.ravel(), np.arange(12) * 0.1 - 0.35)
    assert f.dtype == np.float32 and f.shape == (5, 3), (f.dtype, f.shape)
    assert np.array_equal(f.ravel(), np.arange(15, dtype=np.float32) / np.float32(3) - np.float32(2))
    assert i.dtype == np.int64 and i.shape == (5,)
    assert i.tolist() == [-(1 << 40), -1, 0, 7, 2**63 - 1]
    assert s.shape == () and s.dtype == np.float64 and s == 2.5
    assert h.dtype == np.float32 and np.array_equal(h, (np.arange(12) * 0.1 - 0.35).astype(np.float32))
    for n in "dfish":
        raw = open(f"{dir}/{n}.npy", "rb").read()
        assert raw[6:8] == bytes([1, 0])
        hl = int.from_bytes(raw[8:10], "little")
        assert (10 + hl) % 64 == 0 and raw[9 + hl] == 0x0A, n
    print("ok")
    """
    let r = try python(script, [dir])
    #expect(r.status == 0, "\(r.output)")
    #expect(r.output.hasSuffix("ok\n"))
}

@Test func npyNumPyWritesSwiftReads() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let script = """
    import sys, numpy as np
    dir = sys.argv[1]
    base = np.arange(24).reshape(6, 4) * 1.25 - 7.5
    np.save(f"{dir}/f8_2d.npy", base)
    np.save(f"{dir}/f4_2d.npy", base.astype(np.float32))
    np.save(f"{dir}/f8_1d.npy", base.ravel())
    np.save(f"{dir}/i4_1d.npy", np.arange(-5, 5, dtype=np.int32) * 1000)
    np.save(f"{dir}/i8_2d.npy", (np.arange(6, dtype=np.int64) - 3).reshape(3, 2) * (1 << 40))
    np.save(f"{dir}/f8_0d.npy", np.float64(3.75))
    np.save(f"{dir}/f8_3d.npy", base.reshape(2, 3, 4))
    with open(f"{dir}/v2.npy", "wb") as fh:
        np.lib.format.write_array(fh, base, version=(2, 0))
    # Hand-made v2.0 header: odd key order and spacing, double quotes, Python 2 'L' (which NumPy
    # accepts up to version 2.0), '=' byte order.
    d = b'{ "shape" : ( 2 , 3L ) ,"fortran_order":False,  ' + b"'descr':'=i8'  }" + bytes([10])
    body = np.arange(6, dtype="<i8").tobytes()
    open(f"{dir}/odd.npy", "wb").write(b"\\x93NUMPY\\x02\\x00" + len(d).to_bytes(4, "little") + d + body)
    """
    let r = try python(script, [dir])
    try #require(r.status == 0, "\(r.output)")
    let base = (0..<24).map { Double($0) * 1.25 - 7.5 }
    for name in ["f8_2d", "v2"] {
        let (v, s) = try NPY.read("\(dir)/\(name).npy")
        #expect(s == [6, 4] && v == base, "\(name)")
    }
    let (f4, s4) = try NPY.readFloat("\(dir)/f4_2d.npy")
    #expect(s4 == [6, 4] && f4 == base.map { Float($0) })
    let (f4d, _) = try NPY.read("\(dir)/f4_2d.npy")
    #expect(f4d == base.map { Double(Float($0)) })
    let (f1, s1) = try NPY.read("\(dir)/f8_1d.npy")
    #expect(s1 == [24] && f1 == base)
    let (i4, si4) = try NPY.read("\(dir)/i4_1d.npy")
    #expect(si4 == [10] && i4 == (-5..<5).map { Double($0 * 1000) })
    let (i8, si8) = try NPY.read("\(dir)/i8_2d.npy")
    #expect(si8 == [3, 2] && i8 == (0..<6).map { Double(($0 - 3) << 40) })
    let (z, sz) = try NPY.read("\(dir)/f8_0d.npy")
    #expect(sz == [] && z == [3.75])
    let h3 = try NPY.header(at: "\(dir)/f8_3d.npy")
    #expect(h3.shape == [2, 3, 4] && h3.rowCount == 2 && h3.rowWidth == 12 && h3.dtype == .float64)
    let (odd, so) = try NPY.read("\(dir)/odd.npy")
    #expect(so == [2, 3] && odd == [0, 1, 2, 3, 4, 5])
    let hv2 = try NPY.header(at: "\(dir)/v2.npy")
    #expect(hv2.dataOffset % 64 == 0 && hv2.dataOffset >= 12)
}

@Test func npyReadRowsMiddleBlock() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let r = try python("""
    import sys, numpy as np
    a = np.random.default_rng(7).standard_normal((101, 5)).astype(np.float32)
    np.save(sys.argv[1] + "/a.npy", a)
    np.save(sys.argv[1] + "/b.npy", a[37:64])
    """, [dir])
    try #require(r.status == 0, "\(r.output)")
    let h = try NPY.header(at: "\(dir)/a.npy")
    #expect(h.rowCount == 101 && h.rowWidth == 5 && h.dtype == .float32)
    let block = try NPY.readRows("\(dir)/a.npy", header: h, rows: 37..<64)
    #expect(block.count == 27 * 5)
    #expect(block == (try NPY.read("\(dir)/b.npy")).values)
    let blockF = try NPY.readRowsFloat("\(dir)/a.npy", header: h, rows: 37..<64)
    #expect(blockF == (try NPY.readFloat("\(dir)/b.npy")).values)
    #expect(try NPY.readRows("\(dir)/a.npy", header: h, rows: 50..<50).isEmpty)
    #expect(throws: SDEFlowError.self) { try NPY.readRows("\(dir)/a.npy", header: h, rows: 90..<102) }
    // A block bigger than one internal pread chunk (2^19 elements) stitches chunks correctly.
    let r2 = try python("""
    import sys, numpy as np
    a = (np.arange(300000 * 3, dtype=np.int64) * 7 - 5).reshape(300000, 3)
    np.save(sys.argv[1] + "/big.npy", a)
    """, [dir])
    try #require(r2.status == 0, "\(r2.output)")
    let hb = try NPY.header(at: "\(dir)/big.npy")
    let big = try NPY.readRows("\(dir)/big.npy", header: hb, rows: 1000..<250000)
    let expected: [Double] = (3000..<750000).map { (i: Int) -> Double in Double(i * 7 - 5) }
    let same = big == expected  // compared outside #expect so a failure does not print 747000 values
    #expect(same)
}

@Test func npyBadFilesNameThePathAndProblem() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let r = try python("""
    import sys, numpy as np
    d = sys.argv[1]
    open(d + "/magic.npy", "wb").write(b"PK\\x03\\x04 this is a zip, not an npy file")
    np.save(d + "/trunc.npy", np.arange(100, dtype=np.float64))
    raw = open(d + "/trunc.npy", "rb").read()
    open(d + "/trunc.npy", "wb").write(raw[:-8])
    np.save(d + "/big.npy", np.arange(4, dtype=">f8"))
    np.save(d + "/fortran.npy", np.asfortranarray(np.arange(6.0).reshape(2, 3)))
    np.save(d + "/complex.npy", np.arange(3, dtype=np.complex128))
    np.save(d + "/u1.npy", np.arange(3, dtype=np.uint8))
    np.save(d + "/rec.npy", np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")]))
    """, [dir])
    try #require(r.status == 0, "\(r.output)")
    let cases: [(String, [String])] = [
        ("magic", ["bad magic"]),
        ("trunc", ["truncated", "800", "792"]),
        ("big", ["big-endian", "astype('<f8')"]),
        ("fortran", ["Fortran", "np.ascontiguousarray"]),
        ("complex", ["unsupported dtype", "<c16", "<f8"]),
        ("u1", ["unsupported dtype", "|u1"]),
        ("rec", ["unsupported dtype"]),
        ("missing", ["no such file"]),
    ]
    for (name, words) in cases {
        let path = "\(dir)/\(name).npy"
        do {
            _ = try NPY.read(path)
            Issue.record("\(name): expected an error")
        } catch let e as SDEFlowError {
            #expect(e.path == path && e.description.contains(path), "\(e)")
            for w in words { #expect(e.description.contains(w), "\(name): \(e)") }
        }
    }
    #expect(throws: SDEFlowError.self) { try NPY.write("\(dir)/bad.npy", [1.0, 2.0, 3.0], shape: [2, 2]) }
    #expect(!FileManager.default.fileExists(atPath: "\(dir)/bad.npy"))
}

@Test func npyWriteIsAtomic() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = "\(dir)/x.npy"
    try NPY.write(path, [1.0, 2.0], shape: [2])
    try NPY.write(path, [Float](repeating: 0.5, count: 6), shape: [3, 2])  // replaces on success
    let (v, s) = try NPY.readFloat(path)
    #expect(s == [3, 2] && v == [Float](repeating: 0.5, count: 6))
    // A failing write (shape mismatch, and a write into a missing directory) leaves the old file.
    #expect(throws: SDEFlowError.self) { try NPY.write(path, [1.0], shape: [2]) }
    #expect(throws: SDEFlowError.self) { try NPY.write("\(dir)/nope/x.npy", [1.0], shape: [1]) }
    #expect(try NPY.readFloat(path).shape == [3, 2])
    // A failure midway through the temp file: a directory sits where the rename must land.
    try FileManager.default.createDirectory(atPath: "\(dir)/occupied.npy/sub", withIntermediateDirectories: true)
    #expect(throws: SDEFlowError.self) { try NPY.write("\(dir)/occupied.npy", [1.0], shape: [1]) }
    try writeFileAtomically("\(dir)/m.json", contents: "{\"a\": 1}\n")
    #expect(try String(contentsOfFile: "\(dir)/m.json", encoding: .utf8) == "{\"a\": 1}\n")
    try writeFileAtomically("\(dir)/m.json", contents: Data("{}".utf8))
    #expect(try String(contentsOfFile: "\(dir)/m.json", encoding: .utf8) == "{}")
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp.") }
    #expect(leftovers.isEmpty, "\(leftovers)")
}

/// Catches: staging leftovers of a killed writer piling up next to the outputs (SIGKILL cannot
/// be caught). The next write of the same output removes this host's leftovers whose process
/// is gone, and leaves alone those of a live process or of another host (a shared file system).
@Test func atomicWritesClearStaleStagingOfDeadProcesses() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var name = [CChar](repeating: 0, count: 256)
    _ = gethostname(&name, 255)
    let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), gone = Int32.max - 1  // above pid_max: no such process
    let stale = ["\(dir)/out.tmp.\(host).\(gone)", "\(dir)/m.json.tmp.\(host).\(gone)"]
    let kept = ["\(dir)/out.tmp.other-node.\(gone)", "\(dir)/out.tmp.\(host).\(getppid())"]
    for path in stale + kept { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    try writeFolderAtomically("\(dir)/out") { try writeFileAtomically("\($0)/a.json", contents: "{}") }
    try writeFileAtomically("\(dir)/m.json", contents: "{}")
    for path in stale { #expect(!FileManager.default.fileExists(atPath: path), "\(path) left behind") }
    for path in kept { #expect(FileManager.default.fileExists(atPath: path), "\(path) removed") }
    #expect(FileManager.default.fileExists(atPath: "\(dir)/out/a.json"))
}
