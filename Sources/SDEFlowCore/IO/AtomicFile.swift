import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes `contents` to `path` atomically (temp file in the same directory, then rename).
public func writeFileAtomically(_ path: String, contents: Data) throws {
    try writeFileAtomically(path) { emit in try contents.withUnsafeBytes { try emit($0) } }
}

/// Writes UTF-8 `contents` to `path` atomically (temp file in the same directory, then rename).
public func writeFileAtomically(_ path: String, contents: String) throws {
    try writeFileAtomically(path, contents: Data(contents.utf8))
}

/// The temporary name of `path` while this process writes it: `<path>.tmp.<host>.<pid>`.
/// Host and pid let a later run tell the leftovers of a killed writer (SIGKILL, or mpirun's
/// SIGTERM after another rank aborted) from a live one, on a file system several nodes share.
func stagingName(_ path: String) -> String { path + ".tmp.\(stagingHost).\(getpid())" }

/// This node's name from gethostname(2): no resolver lookup (unlike `ProcessInfo.hostName`), as
/// every atomic write uses it.
let stagingHost: String = {
    var name = [CChar](repeating: 0, count: 256)
    guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
    return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}()

/// Removes `<path>.tmp.<host>.<pid>` siblings left by processes of this host that no longer
/// exist (see `stagingName`); those of other hosts, and of live processes, are left alone.
func removeStaleStaging(_ path: String) {
    let parent = parentFolder(of: path), folder = parent.isEmpty ? "." : parent
    let prefix = (path as NSString).lastPathComponent + ".tmp.\(stagingHost)."
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
    for name in names where name.hasPrefix(prefix) {
        guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid(),
              kill(pid, 0) != 0 && errno == ESRCH else { continue }
        try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
    }
}

/// The one temp+rename implementation: `body` streams bytes through `emit` into
/// `stagingName(path)`, which is fsynced and renamed over `path` only if everything
/// succeeded; on any error the temp file is removed and `path` is left untouched.
func writeFileAtomically(_ path: String, _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
    func fail(_ what: String) -> SDEFlowError { SDEFlowError.file(path, "\(what): \(String(cString: strerror(errno)))") }
    removeStaleStaging(path)
    let tmp = stagingName(path)
    // A signal that ends the process mid-write removes the file (a 56 MB sample was left behind).
    StopSignals.writing(tmp)
    defer { StopSignals.writing(nil) }
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw fail("cannot create temporary file \(tmp)") }
    var closed = false
    do {
        try body { buf in
            var done = 0
            while done < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw fail("write failed") }
                done += n
            }
        }
        guard fsync(fd) == 0 else { throw fail("fsync failed") }
        closed = true
        guard close(fd) == 0 else { throw fail("close failed") }
        guard rename(tmp, path) == 0 else { throw fail("rename from \(tmp) failed") }
    } catch {
        if !closed { close(fd) }
        unlink(tmp)
        throw error
    }
}

/// Creates `path` and any missing parents; a clear `InputError` names the part that fails
/// (e.g. a parent that is a file).
public func createFolder(_ path: String) throws {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
        guard isDir.boolValue else { throw SDEFlowError.file(path, "exists and is not a folder") }
        return
    }
    let parent = parentFolder(of: path)
    if !parent.isEmpty && parent != path { try createFolder(parent) }
    if mkdir(path, 0o755) != 0 && errno != EEXIST {
        throw SDEFlowError.file(path, "cannot create folder: \(String(cString: strerror(errno)))")
    }
}

/// Writes a folder so that it is replaced whole or not at all: `body` writes its files into a
/// fresh staging folder `stagingName(directory)` next to `directory` (removed on any error); then
/// the staging folder takes the place of `directory` in one step (`replaceFolder`), and a reader
/// sees the old folder or the new one, never a mix. An existing `directory` is replaced only if
/// it looks like an output of the same kind (`checkReplaceable`): a mistyped `--output` never
/// deletes a folder of other files.
public func writeFolderAtomically(_ directory: String, _ body: (String) throws -> Void) throws {
    var target = directory
    while target.count > 1 && target.hasSuffix("/") { target.removeLast() }
    let staging = stagingName(target)
    let parent = parentFolder(of: target)
    if !parent.isEmpty { try createFolder(parent) }
    removeStaleStaging(target)
    removeStaleStaging(target + ".old")
    try? FileManager.default.removeItem(atPath: staging)
    try checkReplaceable(target, markers: [])
    try createFolder(staging)
    do {
        try body(staging)
        let written = try FileManager.default.contentsOfDirectory(atPath: staging)
        try checkReplaceable(target, markers: written.filter { $0.hasSuffix(".json") }, also: written)
        try syncFolder(staging)
        try replaceFolder(target, with: staging)
        try? syncFolder(parent.isEmpty ? "." : parent)
    } catch {
        try? FileManager.default.removeItem(atPath: staging)
        throw error
    }
}

/// An existing `path` may be replaced by an output folder whose marker files (the `.json` files
/// that say what a folder is: labels.json, model.json, ...) are `markers` only if it is a folder
/// that is empty, or holds every one of the markers and nothing but the files an output of those
/// kinds holds (`OutputFiles`) or `also` (the names the new output writes). A folder the user
/// had added notes or arrays to lost them when it was written again.
public func checkReplaceable(_ path: String, markers: [String], also: [String] = []) throws {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return }
    guard isDir.boolValue else { throw SDEFlowError.file(path, "exists and is not a folder") }
    let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    if names.isEmpty { return }
    let refuse = "refusing to replace it (remove it, or choose another output)"
    for name in names {
        var sub: ObjCBool = false
        if FileManager.default.fileExists(atPath: filePath(path, name), isDirectory: &sub), sub.boolValue {
            throw SDEFlowError.file(path, "holds the folder \(name), so it is not an output folder sdeflow-mpi wrote: \(refuse)")
        }
    }
    if let missing = markers.first(where: { !names.contains($0) }) {
        throw SDEFlowError.file(path, "exists without \(missing), so it is not an output of this kind that sdeflow-mpi wrote: \(refuse)")
    }
    let ours = Set((markers.flatMap(OutputFiles.of) + also).map(OutputFiles.pattern))
    if !markers.isEmpty, let foreign = names.first(where: { !ours.contains(OutputFiles.pattern($0)) }) {
        throw SDEFlowError.file(path, "holds \(foreign), which sdeflow-mpi does not write there, and replacing the folder would delete it: \(refuse)")
    }
}

/// The files of each kind of output folder, by its marker file: what `checkReplaceable` lets a
/// replacement delete. `#` stands for a number (one weight file per layer).
enum OutputFiles {
    static func of(_ marker: String) -> [String] {
        switch marker {
        case "dataset.json": ["dataset.json", "x.npy", "mu.npy", "y.npy"]
        case "labels.json": ["labels.json", "x.npy", "mu.npy", "z.npy", "label.npy", "ess.npy"]
        case "model.json": ["model.json", "W#.npy", "b#.npy", "input_mean.npy", "input_std.npy", "output_mean.npy", "output_std.npy"]
        case "metrics.json": ["metrics.json", "report.html"]
        default: [marker]
        }
    }

    /// `name` with each run of digits replaced by `#`.
    static func pattern(_ name: String) -> String {
        var out = "", inDigits = false
        for c in name {
            if c.isASCII && c.isNumber { if !inDigits { out.append("#") }; inDigits = true } else { out.append(c); inDigits = false }
        }
        return out
    }

    /// Whether the dataset.json at `path` was written by `simulate` (it records the simulation).
    static func simulated(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return object["simulation"] != nil
    }
}

/// Puts folder `staging` at `target` in one step. Where the file system can (Linux
/// renameat2 RENAME_EXCHANGE) the two are swapped atomically and the old one, now at `staging`,
/// is deleted; elsewhere the old folder is renamed away, the new one renamed in and the old one
/// deleted (a reader then may find no folder for that instant, but never a mix).
func replaceFolder(_ target: String, with staging: String) throws {
    func fail(_ what: String) -> SDEFlowError { SDEFlowError.file(target, "\(what): \(String(cString: strerror(errno)))") }
    guard FileManager.default.fileExists(atPath: target) else {
        guard rename(staging, target) == 0 else { throw fail("cannot rename \(staging) to it") }
        return
    }
    if let exchange = renameExchange, exchange(AT_FDCWD, staging, AT_FDCWD, target, 2 /* RENAME_EXCHANGE */) == 0 {
        try? FileManager.default.removeItem(atPath: staging)
        return
    }
    let old = stagingName(target + ".old")
    guard rename(target, old) == 0 else { throw fail("cannot move the old folder away to \(old)") }
    guard rename(staging, target) == 0 else {
        let err = fail("cannot rename \(staging) to it")
        _ = rename(old, target)
        throw err
    }
    try? FileManager.default.removeItem(atPath: old)
}

/// glibc's renameat2 (not in Swift's Glibc module), looked up once; nil where it is missing.
private let renameExchange: (@convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32)? = {
    guard let symbol = dlsym(nil, "renameat2") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32).self)
}()

/// fsync of a folder: its entries (the renames into it) reach the disk.
func syncFolder(_ path: String) throws {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw SDEFlowError.file(path, "cannot open folder: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw SDEFlowError.file(path, "fsync failed: \(String(cString: strerror(errno)))") }
}

/// "a/b/c" → "a/b", "/a" → "/", "a" → "". (Not `NSString.deletingLastPathComponent`: in
/// swift-corelibs-foundation it traps on a one-character path such as "D".)
public func parentFolder(of path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
    guard let slash = p.lastIndex(of: "/") else { return "" }
    if slash == p.startIndex { return "/" }
    return String(p[..<slash])
}
