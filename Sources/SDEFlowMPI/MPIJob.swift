import Foundation
import SDEFlowCore

/// What the job frame checks and guards around a command.
public struct JobSpec: Sendable {
    /// Paths the command reads and writes: checked on rank 0 before any work (`OutputGuard`),
    /// and each output locked for the job (`OutputLock`).
    public var inputs: [JobInput]
    public var outputs: [JobOutput]
    /// Seconds without progress after which a rank ends the job (`Watchdog`); 0: no watchdog.
    public var stallTimeout: Double
    /// The body is one stage that saves and stops (label, train: `StopSignals.listen`): stop
    /// signals are caught from the job's start, so a stop before the stage reaches its loop ends
    /// it with the stage's own message at its first check. Before, a label job stopped in its
    /// first 50 ms said "this stage keeps no checkpoint".
    public var listens: Bool

    public static let defaultStallTimeout = 600.0

    public init(inputs: [JobInput] = [], outputs: [JobOutput] = [], stallTimeout: Double = defaultStallTimeout, listens: Bool = false) {
        self.inputs = inputs; self.outputs = outputs; self.stallTimeout = stallTimeout; self.listens = listens
    }
}

/// Runs `body` on the MPI communicator: the frame of every CLI command. Before the body, a stop
/// signal received since the process started is acted on (`beginWork`; they are caught from then:
/// `catchStopSignalsFromStart`), a watchdog watches every collective, and rank 0 checks the
/// job's paths and locks its outputs. Any error ends the whole job with the error's `ExitStatus`:
/// on one rank it is rethrown (the CLI prints it and exits); on several the failing rank prints it
/// and aborts every rank (`MPI_Abort`), so no rank is left waiting in a collective. A stop by
/// signal (`JobInterrupted`) ends every rank with 128 + signal after rank 0 said what is saved and
/// how to resume.
public func withMPI(_ job: JobSpec = JobSpec(), _ body: (any Collective, Log) throws -> Void) throws {
    let comm: MPICommunicator
    do { comm = try MPICommunicator.initialize() } catch {
        throw SDEFlowError.mpi("MPI_Init_thread", "cannot start MPI: \(error)")
    }
    StopSignals.install(rank: comm.rank, launched: launcherRank() != nil)
    HeapReuse.enable()
    // One BLAS thread per rank unless the user chose: the ranks already fill the cores.
    if comm.size > 1 && ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil {
        setBLASThreads(1)
    }
    let log = Log(rank: comm.rank)
    let watchdog = job.stallTimeout > 0 ? Watchdog(timeout: job.stallTimeout, rank: comm.rank, size: comm.size) { message in
        // MPI_Abort from this thread while the main one is inside MPI (MPI_THREAD_FUNNELED): should
        // it not end the process within 10 s, exiting without MPI_Finalize makes mpirun end the job.
        Thread.detachNewThread { Thread.sleep(forTimeInterval: 10); _exit(ExitStatus.stalled) }
        comm.abort(message, code: ExitStatus.stalled)
    } : nil
    let world: any Collective = watchdog.map { WatchedCollective(comm, watchdog: $0) } ?? comm
    var lock: OutputLock? = nil
    do {
        func work() throws {
            try beginWork(world, listens: job.listens)
            lock = try world.onRoot {
                try OutputGuard.check(inputs: job.inputs, outputs: job.outputs)
                return try OutputLock.acquire(job.outputs.map(\.path))
            }
            try body(world, log)
        }
        if job.listens { try StopSignals.listen(work) } else { try work() }
        lock?.release()
        log.all(String(format: "peak memory %.0f MiB", peakMemoryMiB()))
    } catch {
        lock?.release()
        watchdog?.stop()
        try end(comm, after: error)
    }
    watchdog?.stop()
    comm.finalize()
}

/// Called first in `main`: stop signals are caught from the process's start and held (recorded,
/// not acted on) until its job begins (`beginWork`). A rank spends its first 0.1–0.2 s under
/// mpirun starting (most of it in MPI_Init), and a signal then ended it by the default action with
/// nothing said but Open MPI's notice. Open MPI 4.1's MPI_Init leaves these handlers in place (it
/// installs its own for SIGSEGV and the like only; checked with sigaction before and after it).
/// The rank, not known before MPI_Init, is read from the launcher's variables (rank 0 without one).
public func catchStopSignalsFromStart() {
    let rank = launcherRank()
    StopSignals.install(rank: rank ?? 0, launched: rank != nil)
    StopSignals.hold()
}

/// Ends the hold on stop signals begun at the process's start. A job whose body listens (it is
/// inside `StopSignals.listen` here) leaves a signal received meanwhile to its stage's first check,
/// which says what is saved. Any other job asks every rank now (one allreduce), and a stop that
/// any rank received ends every rank as a stopped stage does, with rank 0 saying so.
func beginWork(_ comm: any Collective, listens: Bool) throws {
    if listens { StopSignals.endHold(); return }
    let signal = try StopRequest.signals.agreed(comm)
    if signal != 0 { throw JobInterrupted(signal: signal, saved: "the job had not begun its work; nothing was written") }
    StopSignals.endHold()
    // A signal between the check and the end of the hold: acted on as one arriving now.
    if StopSignals.pending != 0 { raise(StopSignals.pending) }
}

/// Ends a job whose body threw `error` on this rank.
func end(_ comm: MPICommunicator, after error: any Error) throws -> Never {
    switch error {
    case let stop as JobInterrupted:
        if comm.isRoot {
            writeStandardError("sdeflow-mpi: \(stop)\nsdeflow-mpi: to resume, run the same command again:\n  \(resumeCommand(ranks: comm.size))\n")
        }
        try? comm.barrier()  // rank 0's checkpoint is on disk before any rank exits
        comm.finalize()
        exit(128 + stop.signal)
    case let agreed as AgreedFailure:
        // Every rank knows (rank 0 decided): no abort. Rank 0 reports the error before any rank
        // exits, so mpirun's notice of a failed rank does not cut through the message.
        if let e = agreed.error { writeStandardError("Error: \(e)\n") }
        try? comm.barrier()
        comm.finalize()
        exit(agreed.status)
    default:
        if comm.size > 1 { comm.abort("\(error)", code: ExitStatus.of(error)) }
        comm.finalize()
        throw error
    }
}

/// This job's command line, shell-quoted, behind the launcher it runs under, without `--fresh`
/// (which would throw away what was just saved).
func resumeCommand(ranks: Int) -> String {
    let env = ProcessInfo.processInfo.environment
    let quoted = CommandLine.arguments.filter { $0 != "--fresh" }.map { a in
        a.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }) && !a.isEmpty
            ? a : "'" + a.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }.joined(separator: " ")
    if env["SLURM_STEP_ID"] != nil { return "srun -n \(ranks) \(quoted)" }
    if env["OMPI_COMM_WORLD_SIZE"] != nil { return "mpirun -n \(ranks) \(quoted)" }
    return quoted
}
