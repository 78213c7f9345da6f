import Foundation

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
        FileHandle.standardError.write(Data("[\(t)] [rank \(rank)] \(message)\n".utf8))
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
