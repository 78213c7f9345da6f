import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `<output>.lock` next to each output, taken by rank 0 at the start of a job and removed at its
/// end, so two jobs never write one output: the second fails at its start with the holder's host
/// and pid. The file says `host`, `pid`, `started` and the process's start time in clock ticks
/// since boot (`/proc/<pid>/stat`), so a lock left by a process of this host that is gone (or
/// whose pid was reused) is cleared; a lock of another host is left to the user to remove, unless
/// it names an earlier run of this Slurm job (same SLURM_JOB_ID, lower SLURM_RESTART_COUNT: the job
/// was requeued, so that run is over, wherever its rank 0 ran).
public final class OutputLock {
    public private(set) var files: [String] = []

    private init() {}

    /// Takes the locks of `outputs` (all or none).
    public static func acquire(_ outputs: [String]) throws -> OutputLock {
        let lock = OutputLock()
        do {
            for o in outputs { try lock.take(lockName(o), output: o) }
        } catch {
            lock.release()
            throw error
        }
        return lock
    }

    public static func lockName(_ output: String) -> String {
        var p = output
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p + ".lock"
    }

    /// Removes the lock files (at the end of the job, whatever the outcome).
    public func release() {
        StopSignals.removeOnStop([])
        for f in files { unlink(f) }
        files = []
    }

    private func take(_ file: String, output: String) throws {
        for _ in 0..<2 {
            // Written aside, then linked into place (link fails if the lock exists): a reader
            // never sees the lock without its content.
            var text = "host \(stagingHost)\npid \(getpid())\nstarted \(ISO8601DateFormatter().string(from: Date()))\nprocess-start \(Self.startTicks(getpid()) ?? 0)\n"
            if let job = Self.slurmRun { text += "slurm-job \(job.id) \(job.restart)\n" }
            let staged = stagingName(file)
            let fd = open(staged, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw SDEFlowError.file(file, "cannot create the lock of \(output): \(String(cString: strerror(errno)))")
            }
            _ = text.withCString { write(fd, $0, strlen($0)) }
            close(fd)
            let linked = link(staged, file), linkError = errno
            unlink(staged)
            if linked == 0 {
                files.append(file)
                StopSignals.removeOnStop(files)
                return
            }
            errno = linkError
            guard errno == EEXIST else {
                throw SDEFlowError.file(file, "cannot create the lock of \(output): \(String(cString: strerror(errno)))")
            }
            if let why = Self.unreadable(file) {
                throw SDEFlowError.file(file, "the lock of \(output) is \(why), so it names no job; if no sdeflow-mpi job is writing \(output), remove \(file) and run again")
            }
            if let holder = Self.holder(file) {
                throw SDEFlowError.file(output, "is being written by another sdeflow-mpi job (host \(holder["host"] ?? "?"), pid \(holder["pid"] ?? "?"), started \(holder["started"] ?? "?")); wait for it to end, or remove \(file) if that job is gone")
            }
            let left = Self.read(file)
            unlink(file)  // left by a process that no longer runs
            writeStandardError("sdeflow-mpi: cleared the lock \(file) left by pid \(left["pid"] ?? "?") on \(left["host"] ?? "?"), whose job has ended\n")
        }
        throw SDEFlowError.file(file, "could not take the lock of \(output) (another job keeps taking it)")
    }

    /// What lock `file` says of the job holding it, if that job may still run (nil: no lock, or a
    /// lock left by a process that is gone or by an earlier run of this requeued Slurm job).
    static func holder(_ file: String, mine: (id: String, restart: Int)? = slurmRun) -> [String: String]? {
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        let holder = Self.read(file)
        // On this host the process itself says whether it runs: a requeued job can land on the node
        // where the old run's rank 0 is still finishing, and both then wrote one checkpoint.
        let gone = holder["host"] == stagingHost ? holder["pid"].flatMap({ Int32($0) }).map({ !Self.alive($0, holder) }) == true
                                                 : Self.requeued(holder, mine: mine)
        return gone ? nil : holder
    }

    /// Why `file` is no lock this tool wrote (nil: it is one, or there is none): a folder, an
    /// unreadable, empty or foreign file. Such a lock was reported as held by a job of
    /// "host ?, pid ?", which no one could find or wait for.
    static func unreadable(_ file: String) -> String? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDir) else { return nil }
        if isDir.boolValue { return "a folder, not a lock file" }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return "unreadable (not UTF-8 text, or no read permission)" }
        if text.isEmpty { return "empty" }
        let lock = read(file)
        return lock["host"] != nil && lock["pid"] != nil ? nil : "not a lock of sdeflow-mpi (it has no host and pid lines)"
    }

    static func read(_ file: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [:] }
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { out[String(parts[0])] = String(parts[1]) }
        }
        return out
    }

    /// This Slurm job's id and restart count (nil outside Slurm).
    static var slurmRun: (id: String, restart: Int)? {
        let env = ProcessInfo.processInfo.environment
        guard let id = env["SLURM_JOB_ID"], !id.isEmpty else { return nil }
        return (id, Int(env["SLURM_RESTART_COUNT"] ?? "") ?? 0)
    }

    /// Whether the lock was taken by an earlier run of this (since requeued) Slurm job.
    static func requeued(_ holder: [String: String], mine: (id: String, restart: Int)? = slurmRun) -> Bool {
        guard let mine, let theirs = holder["slurm-job"]?.split(separator: " "), theirs.count == 2,
              theirs[0] == mine.id, let restart = Int(theirs[1]) else { return false }
        return restart < mine.restart
    }

    /// Whether process `pid` of this host runs and is the one that wrote the lock. A zombie (a
    /// process that has exited but is not yet reaped by its parent) answers `kill(pid, 0)` but
    /// writes nothing: it does not count.
    static func alive(_ pid: Int32, _ holder: [String: String]) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = statFields(pid) else { return true }
        if stat.state == "Z" || stat.state == "X" { return false }
        guard let recorded = holder["process-start"].flatMap({ UInt64($0) }), recorded != 0, let now = stat.startTicks else { return true }
        return recorded == now
    }

    /// Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot.
    static func startTicks(_ pid: Int32) -> UInt64? { statFields(pid)?.startTicks }

    /// Fields 3 (the state: R, S, D, Z, …) and 22 (the start, in clock ticks since boot) of
    /// /proc/<pid>/stat.
    static func statFields(_ pid: Int32) -> (state: Character?, startTicks: UInt64?)? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return (fields.first?.first, fields.count > 19 ? UInt64(fields[19]) : nil)
    }
}
