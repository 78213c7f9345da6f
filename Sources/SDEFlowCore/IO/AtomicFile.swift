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

/// Writes a folder of files so that a failure leaves nothing half-written behind: `body`
/// writes its files into a fresh staging folder `stagingName(directory)` next to `directory`,
/// which is removed on any error. On success the staging folder is renamed to `directory`
/// if that does not exist yet; otherwise its files are moved into `directory` one rename each
/// (`.json` files last, as they mark a folder complete), replacing files of the same name.
public func writeFolderAtomically(_ directory: String, _ body: (String) throws -> Void) throws {
    var target = directory
    while target.count > 1 && target.hasSuffix("/") { target.removeLast() }
    var isDir: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: target, isDirectory: &isDir)
    if exists && !isDir.boolValue { throw SDEFlowError.file(target, "exists and is not a folder") }
    let staging = stagingName(target)
    let parent = parentFolder(of: target)
    if !parent.isEmpty { try createFolder(parent) }
    removeStaleStaging(target)
    try? FileManager.default.removeItem(atPath: staging)
    try createFolder(staging)
    do {
        try body(staging)
        if !exists {
            guard rename(staging, target) == 0 else {
                throw SDEFlowError.file(target, "cannot rename \(staging) to it: \(String(cString: strerror(errno)))")
            }
            return
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: staging)
            .sorted { ($0.hasSuffix(".json") ? 1 : 0, $0) < ($1.hasSuffix(".json") ? 1 : 0, $1) }
        for name in names {
            let dest = (target as NSString).appendingPathComponent(name)
            var destIsDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dest, isDirectory: &destIsDir), destIsDir.boolValue {
                throw SDEFlowError.file(dest, "is a folder; cannot replace it with the file \(name)")
            }
        }
        for name in names {
            let src = (staging as NSString).appendingPathComponent(name)
            let dest = (target as NSString).appendingPathComponent(name)
            guard rename(src, dest) == 0 else {
                throw SDEFlowError.file(dest, "cannot move \(src) there: \(String(cString: strerror(errno)))")
            }
        }
        try? FileManager.default.removeItem(atPath: staging)
    } catch {
        try? FileManager.default.removeItem(atPath: staging)
        throw error
    }
}

/// "a/b/c" → "a/b", "/a" → "/", "a" → "". (Not `NSString.deletingLastPathComponent`: in
/// swift-corelibs-foundation it traps on a one-character path such as "D".)
func parentFolder(of path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
    guard let slash = p.lastIndex(of: "/") else { return "" }
    if slash == p.startIndex { return "/" }
    return String(p[..<slash])
}
