import ArgumentParser
import Foundation
import SDEFlowCore
import SDEFlowMPI

@main
struct SDEFlowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sdeflow-mpi",
        abstract: "Learn the stochastic flow map of a parameter-dependent SDE from trajectory data, then generate trajectories for any parameter value.",
        discussion: """
            Stages: simulate → label → train → sample (or `run` for all of them); `evaluate` compares a model \
            with an example's exact law. Every stage runs \
            under `mpirun -n N` for any N ≥ 1, and without mpirun as a single rank.
            """,
        subcommands: [Simulate.self, Label.self, Train.self, Sample.self, Run.self, Evaluate.self, Inspect.self, Bench.self])
}

/// Runs `body` on an initialised communicator. Any error ends the whole job: on one rank it
/// prints and exits 1; on several it aborts every rank (`MPI_Abort`), so no rank is left
/// waiting in a collective.
func withMPI(_ body: (Communicator, Log) throws -> Void) throws {
    let comm: Communicator
    do { comm = try Communicator.initialize() } catch {
        throw CLIError("cannot start MPI: \(error)")
    }
    if comm.size > 1 && ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil {
        setBLASThreads(1)
    }
    let log = Log(rank: comm.rank)
    do {
        try body(comm, log)
        log.all(String(format: "peak memory %.0f MiB", peakMemoryMiB()))
    } catch {
        if comm.size > 1 { comm.abort("\(error)") }
        comm.finalize()
        throw CLIError("\(error)")
    }
    comm.finalize()
}

/// An error printed as `Error: <message>` with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Parses "a,b,c" into numbers, naming the option on failure.
func parseList(_ text: String, option: String) throws -> [Double] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    return try parts.map {
        guard let v = Double($0.trimmingCharacters(in: .whitespaces)), v.isFinite else {
            throw ValidationError("\(option): '\($0)' is not a number (expected comma-separated numbers, e.g. 0.5,1.5)")
        }
        return v
    }
}

func lookupExample(_ name: String) throws -> SDEExample {
    guard let ex = SDEExample.named(name) else {
        throw ValidationError("unknown example '\(name)'; known: \(SDEExample.all.map(\.name).joined(separator: ", "))")
    }
    return ex
}

func path(_ dir: String, _ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
