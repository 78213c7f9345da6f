import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The stop signals: SIGTERM, SIGINT, SIGUSR1 (Slurm's `--signal=B:USR1@120`, forwarded by the
/// batch script) and SIGHUP (a closed terminal or ssh session: it ended training at once, its
/// epochs since the last checkpoint lost and its lock left). While a stage that can stop and save
/// listens (`listen`), or while the process has not begun its job yet (`hold`), the first one sets
/// a flag and does nothing else; the stage, or the job's start, reads it. Outside these, or at a
/// second signal, the signal ends the process at once, with status 128 + signal. SIGPIPE is
/// ignored (`ignoreBrokenPipe`).
public enum StopSignals {
    /// The first stop signal received (0: none). Written only by `onStopSignal`.
    static let received = Atomic<Int32>(0)
    /// Stages listening now (`listen`).
    static let listening = Atomic<Int>(0)
    /// Between `hold` and `endHold`: the process is starting (launcher, MPI_Init), and a signal is
    /// recorded for its job to act on once every rank can agree on it.
    static let held = Atomic<Bool>(false)
    /// Whether `install` made the farewell lines (once per process; it may be called again).
    static let installed = Atomic<Bool>(false)

    public static let handled: [Int32] = [SIGTERM, SIGINT, SIGUSR1, SIGHUP]

    /// For a signal that ends a stage keeping no checkpoint (`sample`, `evaluate`, ...): the
    /// line rank 0 writes, per handled signal, and the lock files it removes (C strings made
    /// beforehand: the handler may call only async-signal-safe functions). The second probe saw
    /// such a stop end with nothing said and the output's lock left behind.
    nonisolated(unsafe) static let farewell = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: handled.count)
    /// Rank 0's line for SIGTERM from the launcher (its parent: mpirun, orted, slurmstepd), which
    /// sends it when the launcher was stopped or another rank ended first; and another rank's line,
    /// per signal, for a signal sent to it directly, which the launcher then passes on to rank 0
    /// as SIGTERM. Rank 0's line named SIGTERM when a user had sent SIGUSR1 to rank 1.
    nonisolated(unsafe) static let launcherLine = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: 1)
    nonisolated(unsafe) static let rankLines = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: handled.count)
    /// This process's rank (-1: not yet set) and whether a launcher started it.
    static let rank = Atomic<Int>(-1)
    static let launched = Atomic<Bool>(false)
    nonisolated(unsafe) static let lockFiles = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: maxLocks)
    static let maxLocks = 16
    static let lockCount = Atomic<Int>(0)
    /// Whether this process says the farewell and removes the locks (rank 0).
    static let speaks = Atomic<Bool>(false)
    /// Set by the first handler that says the farewell: signals that arrive together run the
    /// handler on two threads at once, and the line was printed twice.
    static let farewellSaid = Atomic<Bool>(false)

    /// Installs the handler for `handled`, before any work; rank 0 speaks for the job when a
    /// signal ends it outside a stage that saves. Called again once the rank is known (it is only
    /// guessed from the launcher's variables at the process's start); `launched`: under a launcher.
    public static func install(rank: Int = 0, launched: Bool = false) {
        _ = received.load(ordering: .relaxed)  // initialise the globals before any handler can run
        _ = listening.load(ordering: .relaxed)
        _ = held.load(ordering: .relaxed)
        _ = lockCount.load(ordering: .relaxed)
        _ = farewellSaid.load(ordering: .relaxed)
        _ = staging.load(ordering: .relaxed)
        let tail = "this stage keeps no checkpoint, so run it again; its outputs are whole or absent, never part-written\n"
        if !installed.exchange(true, ordering: .sequentiallyConsistent) {
            for (i, s) in handled.enumerated() { farewell[i] = strdup("sdeflow-mpi: stopped by \(name(s)): \(tail)") }
            launcherLine[0] = strdup("sdeflow-mpi: stopped by SIGTERM from the launcher (it was stopped, or another rank ended first): \(tail)")
        }
        // Lines naming the rank, made again only when the rank changes (a handler may be reading them).
        if Self.rank.exchange(rank, ordering: .sequentiallyConsistent) != rank {
            for (i, s) in handled.enumerated() { rankLines[i] = strdup("sdeflow-mpi: rank \(rank) stopped by \(name(s)): \(tail)") }
        }
        self.launched.store(launched, ordering: .sequentiallyConsistent)
        speaks.store(rank == 0, ordering: .sequentiallyConsistent)
        ignoreBrokenPipe()
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = onStopSignal
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART | SA_SIGINFO
        for s in handled { sigaction(s, &action, nil) }
    }

    /// A closed stderr or stdout (`sdeflow-mpi train ... 2>&1 | head`) no longer ends the job by
    /// SIGPIPE at its next log line (exit 141, lock left, epochs lost): writes fail with EPIPE
    /// instead, which `writeStandardError` and `print` drop, and the job runs to its end.
    public static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// From now until `endHold`, a stop signal is recorded, not acted on: the process has started
    /// but its job has not, and the job's start acts on it with every rank agreeing (a signal to one
    /// rank of `mpirun -n 2` in its first 0.2 s ended that rank silently, with Open MPI's notice only).
    public static func hold() { held.store(true, ordering: .sequentiallyConsistent) }

    /// Ends the hold: a signal from now on acts as it does outside a listening stage.
    public static func endHold() { held.store(false, ordering: .sequentiallyConsistent) }

    /// The stop signal this process received, or 0.
    public static var pending: Int32 { received.load(ordering: .relaxed) }

    /// Runs `body`, a stage that checks `pending` and saves before it stops, with stop signals
    /// caught instead of ending the process.
    public static func listen<T>(_ body: () throws -> T) rethrows -> T {
        listening.add(1, ordering: .sequentiallyConsistent)
        defer { listening.subtract(1, ordering: .sequentiallyConsistent) }
        return try body()
    }

    /// The lock files the handler removes if a signal ends the process (at most `maxLocks`;
    /// [] once they are released).
    public static func removeOnStop(_ files: [String]) {
        lockCount.store(0, ordering: .sequentiallyConsistent)
        for (i, f) in files.prefix(maxLocks).enumerated() { lockFiles[i] = strdup(f) }  // a few bytes, never freed
        lockCount.store(min(files.count, maxLocks), ordering: .sequentiallyConsistent)
    }

    /// The staging file this process is writing (`writeFileAtomically`), as a C string's address
    /// (0: none), which the handler removes if a signal ends the process. The strings are never
    /// freed (a few per output written): the handler may be reading one on another thread.
    static let staging = Atomic<UInt>(0)

    /// Marks `file` (nil: none) as being written.
    public static func writing(_ file: String?) {
        staging.store(file.map { UInt(bitPattern: strdup($0)) } ?? 0, ordering: .sequentiallyConsistent)
    }

    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGUSR1: "SIGUSR1"
        case SIGHUP: "SIGHUP"
        default: "signal \(signal)"
        }
    }
}

/// The signal handler: records the first stop signal while a stage listens or the process's start
/// holds signals; otherwise ends the process with status 128 + signal, rank 0 first saying so and
/// removing the output locks (another rank says so only for a signal sent to it, not by the
/// launcher). Async-signal-safe: lock-free atomics, getppid(2), write(2), unlink(2) and _exit(2).
private func onStopSignal(_ sig: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?) {
    let listening = StopSignals.listening.load(ordering: .sequentiallyConsistent) > 0 || StopSignals.held.load(ordering: .sequentiallyConsistent)
    if listening, StopSignals.received.compareExchange(expected: 0, desired: sig, ordering: .sequentiallyConsistent).exchanged {
        return
    }
    let speaks = StopSignals.speaks.load(ordering: .sequentiallyConsistent)
    // A second signal to a stage that saves ends it at once without a line: its checkpoint says what is kept.
    if !listening, let k = StopSignals.handled.firstIndex(of: sig) {
        // The sender's pid, for a signal a process sent (si_code ≤ 0: kill, sigqueue, tgkill).
        let sender = info.map { $0.pointee.si_code <= 0 ? $0.pointee._sifields._kill.si_pid : 0 } ?? 0
        let fromLauncher = StopSignals.launched.load(ordering: .sequentiallyConsistent) && sender != 0 && sender == getppid()
        let line = speaks ? (fromLauncher && sig == SIGTERM ? StopSignals.launcherLine[0] : StopSignals.farewell[k])
            : (fromLauncher ? nil : StopSignals.rankLines[k])
        if let line, !StopSignals.farewellSaid.exchange(true, ordering: .sequentiallyConsistent) {
            _ = write(2, line, strlen(line))
        }
    }
    if speaks {
        for i in 0..<StopSignals.lockCount.load(ordering: .sequentiallyConsistent) {
            if let f = StopSignals.lockFiles[i] { unlink(f) }
        }
    }
    if let file = UnsafePointer<CChar>(bitPattern: StopSignals.staging.load(ordering: .sequentiallyConsistent)) { unlink(file) }
    // Exit with 128 + signal, as a stage that saved does, rather than die by the signal: a parent
    // sees one kind of end either way (a status, not a signal), and mpirun names the status.
    _exit(128 + sig)
}

/// Where a stage learns that the job should stop: `local` is this rank's request (a signal
/// number, 0 for none), `agreed` makes every rank see the same answer.
public struct StopRequest: Sendable {
    public let local: @Sendable () -> Int32
    /// Nothing ever asks to stop: `agreed` then skips its collective.
    let never: Bool

    public init(_ local: @escaping @Sendable () -> Int32) { self.local = local; never = false }
    private init() { local = { 0 }; never = true }

    /// The process's stop signals (`StopSignals`).
    public static let signals = StopRequest { StopSignals.pending }
    public static let never = StopRequest()

    /// The stop signal any rank has received (0: none), the same on every rank: one allreduce,
    /// called by all ranks at the same point (between blocks, between epochs).
    public func agreed(_ comm: any Collective) throws -> Int32 {
        never ? 0 : try comm.allreduce(local(), .max)
    }

    /// `agreed`, throwing `StopAgreed` on every rank if any rank was asked to stop: for set-up
    /// passes with nothing to save, which the stage ends with its own `JobInterrupted`.
    public func check(_ comm: any Collective) throws {
        let signal = try agreed(comm)
        if signal != 0 { throw StopAgreed(signal: signal) }
    }
}

/// Every rank agreed to stop (`StopRequest.check`) in the middle of a set-up pass.
public struct StopAgreed: Error, Equatable {
    public let signal: Int32
}

/// The job stops early on every rank because of a signal: what it has saved is `saved` (the
/// same text on every rank); the job frame prints it with the command that resumes, and exits
/// with 128 + signal.
public struct JobInterrupted: Error, CustomStringConvertible {
    public let signal: Int32
    public let saved: String
    public init(signal: Int32, saved: String) { self.signal = signal; self.saved = saved }
    public var description: String { "stopped by \(StopSignals.name(signal)): \(saved)" }
}

/// A failure every rank raises at the same point, because rank 0 decided and told them (so no
/// rank is left in a collective and no abort is needed): rank 0 carries the error, the others nil.
public struct AgreedFailure: Error, CustomStringConvertible {
    public let error: (any Error)?
    /// Rank 0's exit status for its error (`ExitStatus.of`), known on every rank.
    public let status: Int32
    public var description: String { error.map { "\($0)" } ?? "rank 0 stopped the job (see its message)" }
}

extension Collective {
    /// Runs `body` on rank 0 only and tells every rank whether it failed; if it did, every rank
    /// throws `AgreedFailure` (rank 0's carrying the error). Returns rank 0's value (nil elsewhere).
    public func onRoot<T>(_ body: () throws -> T) throws -> T? {
        var value: T? = nil, failure: (any Error)? = nil
        if isRoot { do { value = try body() } catch { failure = error } }
        let status = try broadcast([failure.map(ExitStatus.of) ?? 0])[0]
        if status != 0 { throw AgreedFailure(error: failure, status: status) }
        return value
    }

    /// Runs `body`, a check every rank makes on its own before the work (no collective inside: a
    /// model or label folder every rank reads, a size against the node's memory), and agrees on
    /// the outcome by one allreduce: if it failed on any rank, every rank throws `AgreedFailure`,
    /// the lowest failing rank's carrying its error, so the job frame prints it once and every
    /// rank exits with that error's status, without MPI_Abort. Such a check fails alike on every
    /// rank, and each printed it: `sample --count 560000 --steps 2000` under -n 2 said "--count: …
    /// needs about 16.7 GiB" twice, then MPI_Abort's notice.
    public func everyRank<T>(_ body: () throws -> T) throws -> T {
        let result: Result<T, any Error>
        do { result = .success(try body()) } catch { result = .failure(error) }
        // The lowest failing rank and its status in one value, the largest over the ranks.
        var code: Int64 = 0
        if case .failure(let e) = result { code = Int64(size - rank) * 1024 + Int64(ExitStatus.of(e) & 1023) }
        let agreed = try allreduce(code, .max)
        guard agreed == 0 else {
            let reporter = size - Int(agreed / 1024), status = Int32(agreed % 1024)
            if case .failure(let e) = result, reporter == rank { throw AgreedFailure(error: e, status: status) }
            throw AgreedFailure(error: nil, status: status)
        }
        return try result.get()
    }

    /// Runs `body`, a collective check whose verdict every rank reaches alike (from values the
    /// ranks agreed on: an outlier row, a bandwidth against the data's spread), and turns its
    /// refusal, an `SDEFlowError` about a file or an option, into `AgreedFailure` carried by rank
    /// 0: said once, every rank exiting with its status. Other errors pass as they are (an MPI
    /// call may fail on one rank only).
    public func alike<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as SDEFlowError {
            if case .mpi = e.location { throw e }
            throw AgreedFailure(error: isRoot ? e : nil, status: e.exitStatus)
        }
    }
}
