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

/// The one temp+rename implementation: `body` streams bytes through `emit` into
/// `path + ".tmp.<pid>"`, which is fsynced and renamed over `path` only if everything
/// succeeded; on any error the temp file is removed and `path` is left untouched.
func writeFileAtomically(_ path: String, _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
    func fail(_ what: String) -> NPYError { NPYError(path: path, problem: "\(what): \(String(cString: strerror(errno)))") }
    let tmp = path + ".tmp.\(getpid())"
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
