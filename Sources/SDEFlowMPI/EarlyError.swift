import Foundation
import SDEFlowCore

/// The rank this process has in a launched job, from the launcher's variables (Open MPI, PMIx,
/// MPICH's PMI, Slurm), before MPI_Init tells it; nil outside a launcher.
public func launcherRank() -> Int? {
    let env = ProcessInfo.processInfo.environment
    return ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"].lazy.compactMap { env[$0].flatMap { Int($0) } }.first
}

/// For an error found before MPI starts (an option, `validate()`, a check of the inputs made
/// while reading the options): whether this process may leave the message to rank 0 and exit
/// without a word. Every rank parses the same command line, so each reached the same error, and
/// `mpirun -n 64` printed it 64 times. Rank 0 says it; another rank waits for the launcher to
/// stop it, as it does every rank once one has exited with a non-zero status (its SIGTERM is held
/// from the process's start, `catchStopSignalsFromStart`), and says the error itself if no stop
/// comes within `patience` seconds: then it failed where rank 0 did not (a file that differs
/// between nodes), and its message is the only one. `status`: the exit status the error gives
/// (0, for `--help`, leaves at once: rank 0 printed the help and nobody stops the job).
public func leaveEarlyErrorToRankZero(status: Int32, patience: Double = 5) -> Bool {
    guard let rank = launcherRank(), rank != 0 else { return false }
    if status == 0 { return true }
    let deadline = Date().addingTimeInterval(patience)
    while Date() < deadline {
        if StopSignals.pending != 0 { return true }
        usleep(20_000)
    }
    return false
}
