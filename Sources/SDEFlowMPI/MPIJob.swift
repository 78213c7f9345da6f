import Foundation
import SDEFlowCore

/// Runs `body` on the MPI communicator: the frame of every CLI command. Any error ends the
/// whole job: on one rank it is rethrown (the CLI prints it and exits 1); on several the failing
/// rank prints it and aborts every rank (`MPI_Abort`), so no rank is left waiting in a collective.
public func withMPI(_ body: (any Collective, Log) throws -> Void) throws {
    let comm: MPICommunicator
    do { comm = try MPICommunicator.initialize() } catch {
        throw SDEFlowError.usage("cannot start MPI: \(error)")
    }
    // One BLAS thread per rank unless the user chose: the ranks already fill the cores.
    if comm.size > 1 && ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil {
        setBLASThreads(1)
    }
    let log = Log(rank: comm.rank)
    do {
        try body(comm, log)
        log.all(String(format: "peak memory %.0f MiB", peakMemoryMiB()))
    } catch {
        if comm.size > 1 { comm.abort("\(error)", code: 1) }
        comm.finalize()
        throw error
    }
    comm.finalize()
}
