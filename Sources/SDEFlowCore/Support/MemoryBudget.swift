import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How much memory this job may use: the node's, or less where a limit says so. The size checks
/// (`Limits.checkMemory`) compared with the node's physical memory only, so under `ulimit -v 2000000`
/// a `sample` that needed 1 GiB more than the limit ran 57 s and then trapped ("failed to allocate
/// 1049101328 bytes", rc 134, nothing written). Slurm's `--mem` is a cgroup limit of the same kind.
struct MemoryBudget {
    /// Bytes the ranks on this node may use together: the physical memory, or the cgroup's limit
    /// (v2 `memory.max`, v1 `memory.limit_in_bytes`) when lower. `limitedBy` names the limit.
    let node: Double
    let nodeLimitedBy: String?
    /// Bytes this process may still map (`ulimit -v`, RLIMIT_AS, less what it maps now); nil: no limit.
    let process: Double?

    static var current: MemoryBudget {
        let physical = Double(ProcessInfo.processInfo.physicalMemory)
        let group = cgroupLimit()
        let node = group.map { min($0, physical) } ?? physical
        return MemoryBudget(node: node, nodeLimitedBy: node < physical ? "the cgroup's memory limit (Slurm --mem, a container)" : nil,
                            process: processLimit())
    }

    /// RLIMIT_AS less the process's present virtual size (/proc/self/statm), or nil if unlimited.
    private static func processLimit() -> Double? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        let pages = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8))?
            .split(separator: " ").first.flatMap { Double($0) } ?? 0
        return max(0, Double(limit.rlim_cur) - pages * Double(sysconf(Int32(_SC_PAGESIZE))))
    }

    /// The memory limit of this process's cgroup, from /proc/self/cgroup (nil: none, or unreadable).
    private static func cgroupLimit() -> Double? {
        guard let lines = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        var files: [String] = []
        for line in lines.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[0] == "0" && parts[1].isEmpty { files.append("/sys/fs/cgroup\(parts[2])/memory.max") }
            if parts[1].split(separator: ",").contains("memory") { files.append("/sys/fs/cgroup/memory\(parts[2])/memory.limit_in_bytes") }
        }
        let limits = files.compactMap { path -> Double? in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                  let v = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), v < 1e18 else { return nil }  // "max", or v1's 2^63 − page
            return v
        }
        return limits.min()
    }
}
