import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// The one way the CLI test files run the built `sdeflow-mpi` (directly, or under
// `mpirun -n N --oversubscribe`) with Foundation `Process`. `swift test -c release` builds the
// executable next to the test bundle.

// MARK: - Running a command

/// What a finished child process left behind.
struct CommandResult {
    let command: String
    let status: Int32
    let stdout: String
    let stderr: String
    let seconds: Double
    var output: String { stdout + stderr }
    /// For `#expect` comments: the command, its status and everything it printed.
    var report: String { "`\(command)` exited \(status) after \(String(format: "%.1f", seconds)) s\n\(output)" }
}

struct CommandTimedOut: Error, CustomStringConvertible {
    let command: String, seconds: Double
    var description: String { "`\(command)` did not finish within \(Int(seconds)) s (killed)" }
}

enum CLI {
    /// The built executable: next to the test bundle (`Bundle.main.bundleURL` is the build
    /// products folder on Linux), else `.build/release/sdeflow-mpi` of this package.
    static let binary: String = {
        let besideBundle = Bundle.main.bundleURL.appendingPathComponent("sdeflow-mpi").path
        if FileManager.default.isExecutableFile(atPath: besideBundle) { return besideBundle }
        return packageRoot.appendingPathComponent(".build/release/sdeflow-mpi").path
    }()

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `jobs/mpirun.sh`: mpirun that ends with 128 + signal on SIGTERM and SIGINT.
    static let mpirunScript = packageRoot.appendingPathComponent("jobs/mpirun.sh").path

    /// `mpirun` from PATH (normally /usr/bin/mpirun).
    static let mpirun: String = which("mpirun") ?? "/usr/bin/mpirun"

    static func which(_ name: String) -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return dirs.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The current environment without anything of an enclosing MPI job (a child mpirun that
    /// inherits `OMPI_*`/`PMIX_*`/`OPAL_*` exits 1 silently), plus root permission for mpirun
    /// and one OpenBLAS thread per rank.
    static let environment: [String: String] = {
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            !["OMPI_", "PMIX_", "OPAL_"].contains { key.hasPrefix($0) }
        }
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OPENBLAS_NUM_THREADS"] = "1"
        return env
    }()

    /// Runs `executable arguments` in `directory`; stdout and stderr go to files (no pipe can
    /// fill up and block the child). A child still running after `timeout` seconds is killed
    /// (SIGTERM, then SIGKILL; mpirun passes the signal on to its ranks) and the call throws.
    static func execute(_ executable: String, _ arguments: [String], in directory: URL? = nil,
                        timeout: Double = 180) throws -> CommandResult {
        try start(executable, arguments, in: directory).wait(timeout: timeout)
    }

    /// Starts `executable arguments` in `directory` and returns at once (`RunningCommand.wait`
    /// collects it).
    static func start(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> RunningCommand {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("sdeflow-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let outURL = logs.appendingPathComponent("stdout"), errURL = logs.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        // Open MPI's session directory of its own for every child: children that start and end
        // at once in one shared /tmp/ompi.<host>.<uid> race (one removes it as another creates a
        // job folder in it: "A call to mkdir was unable to create the desired directory").
        let session = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("ompi-\(UUID().uuidString.prefix(12))")
        try FileManager.default.createDirectory(at: session, withIntermediateDirectories: true)
        process.environment = environment.merging(["OMPI_MCA_orte_tmpdir_base": session.path]) { $1 }
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let running = RunningCommand(command: ([executable] + arguments).joined(separator: " "), process: process,
                                     logs: logs, out: out, err: err)
        process.terminationHandler = { _ in
            try? FileManager.default.removeItem(at: session)
            running.finished.signal()
        }
        try withSignalsUnblocked { try process.run() }
        return running
    }

    /// Runs `body` (which starts a child) with no signal blocked on this thread, so the child
    /// starts with an empty signal mask as from a shell. A child inherits the mask of the thread
    /// that starts it, and Swift Testing's threads may block nearly everything, SIGTERM
    /// included: such a child ignores `terminate()`, and mpirun could then be stopped only by
    /// SIGKILL, which would leave its ranks running.
    static func withSignalsUnblocked<T>(_ body: () throws -> T) rethrows -> T {
        var none = sigset_t(), saved = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        return try body()
    }

    /// `sdeflow-mpi arguments`: without mpirun (`ranks` nil, a singleton rank) or under
    /// `mpirun --oversubscribe -n ranks`.
    static func run(_ arguments: [String], ranks: Int? = nil, in directory: URL? = nil,
                    timeout: Double = 180) throws -> CommandResult {
        try launch(arguments, ranks: ranks, in: directory).wait(timeout: timeout)
    }

    /// Like `run`, but returns once the child is started; `launcher` stands in for mpirun.
    static func launch(_ arguments: [String], ranks: Int? = nil, in directory: URL? = nil,
                       launcher: String = mpirun) throws -> RunningCommand {
        guard let ranks else { return try start(binary, arguments, in: directory) }
        return try start(launcher, ["--oversubscribe", "-n", String(ranks), binary] + arguments, in: directory)
    }

    /// Like `run`, and records an issue (with all output) unless it exits 0.
    @discardableResult
    static func succeed(_ arguments: [String], ranks: Int? = nil, in directory: URL? = nil,
                        timeout: Double = 180, sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        let r = try run(arguments, ranks: ranks, in: directory, timeout: timeout)
        #expect(r.status == 0, "\(r.report)", sourceLocation: sourceLocation)
        return r
    }

    /// `python3 -c script args...` (NumPy is needed by the interoperability checks).
    static func python(_ script: String, _ args: [String] = []) throws -> CommandResult {
        try execute(which("python3") ?? "/usr/bin/python3", ["-c", script] + args, timeout: 60)
    }
}


/// A child started by `CLI.start`: signal it, read what it printed so far, wait for its end.
final class RunningCommand: @unchecked Sendable {
    let command: String
    let process: Process
    let finished = DispatchSemaphore(value: 0)
    private let logs: URL, out: FileHandle, err: FileHandle
    private let started = Date()

    init(command: String, process: Process, logs: URL, out: FileHandle, err: FileHandle) {
        self.command = command; self.process = process; self.logs = logs; self.out = out; self.err = err
    }

    var pid: Int32 { process.processIdentifier }
    func signal(_ s: Int32) { kill(pid, s) }
    var stderrSoFar: String { (try? String(contentsOf: logs.appendingPathComponent("stderr"), encoding: .utf8)) ?? "" }

    /// Waits for the end (killing the child after `timeout` seconds: SIGTERM, then SIGKILL, and
    /// throwing `CommandTimedOut`) and returns what it printed.
    func wait(timeout: Double) throws -> CommandResult {
        defer { try? FileManager.default.removeItem(at: logs) }
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            if finished.wait(timeout: .now() + 10) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                _ = finished.wait(timeout: .now() + 10)
            }
            try? out.close(); try? err.close()
            throw CommandTimedOut(command: command, seconds: timeout)
        }
        process.waitUntilExit()
        try out.close(); try err.close()
        return CommandResult(
            command: command, status: process.terminationStatus,
            stdout: (try? String(contentsOf: logs.appendingPathComponent("stdout"), encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: logs.appendingPathComponent("stderr"), encoding: .utf8)) ?? "",
            seconds: Date().timeIntervalSince(started))
    }
}

/// `<tmp>/<prefix><pid>`, created; folders of earlier test processes that are gone are removed.
func perProcessScratchRoot(prefix: String) -> URL {
    let tmp = FileManager.default.temporaryDirectory
    for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? [] where name.hasPrefix(prefix) {
        if let pid = Int32(name.dropFirst(prefix.count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
            try? FileManager.default.removeItem(at: tmp.appendingPathComponent(name))
        }
    }
    let url = tmp.appendingPathComponent("\(prefix)\(getpid())", isDirectory: true)
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
