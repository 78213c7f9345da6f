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
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kib / 1024
}
