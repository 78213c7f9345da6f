import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Progress and timing lines on stderr, prefixed with the elapsed wall time.
public struct Log: Sendable {
    public let rank: Int
    let start: Date
    public init(rank: Int, start: Date = Date()) { self.rank = rank; self.start = start }

    /// Printed by rank 0 only.
    public func info(_ message: @autoclosure () -> String) {
        if rank == 0 { all(message()) }
    }

    /// Printed by every rank, tagged with it.
    public func all(_ message: String) {
        let t = String(format: "%8.2fs", Date().timeIntervalSince(start))
        writeStandardError("[\(t)] [rank \(rank)] \(message)\n")
    }
}

/// Writes `text` to stderr, dropping it if stderr cannot take it: Foundation's
/// `FileHandle.write` traps on a write error, and with SIGPIPE ignored a closed log pipe
/// (`2>&1 | head`) is such an error (EPIPE), which must not end the job.
public func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if n > 0 { bytes = bytes.dropFirst(n) } else if n < 0 && errno == EINTR { continue } else { return }
    }
}

/// Peak resident memory of this process in MiB (VmHWM from /proc; 0 where unavailable).
public func peakMemoryMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    return peakMemoryMiB(status: status)
}

/// VmHWM of a /proc/PID/status text in MiB, 0 if absent. The kernel pads the value after a tab
/// ("VmHWM:\t  123456 kB"), with no space left from 10 GB on: split on tabs and spaces both.
public func peakMemoryMiB(status: String) -> Double {
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
    let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
    guard fields.count >= 2, let kib = Double(fields[1]) else { return 0 }
    return kib / 1024
}
