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

    /// swift-argument-parser's main, except that the product's own errors end the process with
    /// their `ExitStatus` (64 option, 65 file, 69 MPI) instead of 1, also when `validate()` threw
    /// them (the parser wraps those; `productError` finds them inside).
    static func main() {
        catchStopSignalsFromStart()  // also ignores SIGPIPE: an error printed into a closed pipe
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let own = productError(error)
            let status = own?.exitStatus ?? exitCode(for: error).rawValue
            if leaveEarlyErrorToRankZero(status: status) { Foundation.exit(status) }
            guard let own else { exit(withError: error) }
            writeStandardError("Error: \(own)\n")
            Foundation.exit(own.exitStatus)
        }
    }

    /// The `SDEFlowError` that `value` is or holds within a few levels of its stored properties
    /// (swift-argument-parser keeps an error thrown in `validate()` as the payload of its own).
    static func productError(_ value: Any, depth: Int = 0) -> SDEFlowError? {
        if let own = value as? SDEFlowError { return own }
        guard depth < 4 else { return nil }
        return Mirror(reflecting: value).children.lazy.compactMap { productError($0.value, depth: depth + 1) }.first
    }
}

/// Parses "a,b,c" into numbers within ±1e100 (the data contract's bound), naming the option on failure.
func parseList(_ text: String, option: String) throws -> [Double] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    return try parts.map {
        guard let v = DecimalNumber.parse($0.trimmingCharacters(in: .whitespaces)), abs(v) <= Limits.maxMagnitude else {
            throw ValidationError("\(option): '\($0)' is not a number within ±1e100 (expected comma-separated numbers, e.g. 0.5,1.5)")
        }
        return v
    }
}

func lookupExample(_ name: String, dim: Int? = nil) throws -> SDEExample {
    if let dim, !(2...Limits.maxStateDimension).contains(dim) { throw ValidationError("--dim must be an integer in 2…\(Limits.maxStateDimension) (got \(dim))") }
    guard let ex = SDEExample.named(name, dim: dim) else {
        throw ValidationError("unknown example '\(name)'; known: \(SDEExample.all.map(\.name).joined(separator: ", "))")
    }
    return ex
}

