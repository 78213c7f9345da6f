import ArgumentParser
import Foundation
import SDEFlowCore
import SDEFlowBench
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

func lookupExample(_ name: String, dim: Int? = nil) throws -> SDEExample {
    if let dim, dim < 2 { throw ValidationError("--dim must be at least 2") }
    guard let ex = SDEExample.named(name, dim: dim) else {
        throw ValidationError("unknown example '\(name)'; known: \(SDEExample.all.map(\.name).joined(separator: ", "))")
    }
    return ex
}

