import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which file a path named, and which version of it, when a stage first read it: device, inode,
/// size and modification time. A stage that opens an input again later (the label stage reads
/// x, y and μ in four passes, seconds apart) checks that it still finds the same file, so a data
/// folder swapped or rewritten by another job in between is an error instead of labels that mix
/// two data sets (the probe got such labels with exit 0).
public struct FileIdentity: Equatable, Sendable {
    let device: UInt64, inode: UInt64, size: Int64
    /// Modification time, nanoseconds since the epoch.
    let modified: Int64

    /// The identity of the open file `fd` (nil if fstat fails).
    static func of(_ fd: Int32) -> FileIdentity? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                            modified: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
    }

    /// Throws if `fd`, just opened at `path`, is not the file this identity was taken of.
    func check(_ fd: Int32, path: String) throws {
        guard let now = Self.of(fd), now != self else { return }
        let what = now.inode != inode || now.device != device ? "was replaced by another file" : "was rewritten"
        throw SDEFlowError.file(path, "\(what) while this job was reading it (by another job writing this folder?): what it read before and after would not belong together; run the job again once the input is final")
    }
}
