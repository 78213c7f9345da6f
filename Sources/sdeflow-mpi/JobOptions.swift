import ArgumentParser
import Foundation
import SDEFlowCore
import SDEFlowMPI

/// Options of the job frame, on every command that runs under MPI. Numeric options parse negative
/// values (`parsing: .unconditional`) so that `--label-block -3` is refused with its range, not
/// swift-argument-parser's "Missing value".
struct JobOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Seconds a rank may go without progress (no collective entered or left) before it ends the job with a message naming the rank and what it waited for (default \(Int(JobSpec.defaultStallTimeout)), or the environment variable SDEFLOW_STALL_TIMEOUT; 0: never).",
            transform: { try JobOptions.seconds($0, "--stall-timeout") })
    var stallTimeout: Double?

    /// A number of seconds in decimal notation (`DecimalNumber`), finite: "1e999" was read as
    /// infinity and taken as "never" without a word.
    static func seconds(_ text: String, _ what: String) throws -> Double {
        guard let t = DecimalNumber.parse(text), t.isFinite else {
            throw SDEFlowError.option(what, "'\(text)' is not a number of seconds in decimal notation (e.g. 600; 0: never)")
        }
        return t
    }

    func validate() throws {
        if let t = stallTimeout, !(t >= 0) { throw ValidationError("--stall-timeout must be a number of seconds ≥ 0 (got \(t))") }
    }

    /// The frame's spec for a command reading `inputs` and writing `outputs`; an empty path is
    /// refused here, before the command reads anything (the frame checks the rest on rank 0).
    func spec(inputs: [JobInput] = [], outputs: [JobOutput] = [], listens: Bool = false) throws -> JobSpec {
        try OutputGuard.checkNamed(inputs.map { ($0.option, $0.path) } + outputs.map { ($0.option, $0.path) })
        var timeout = JobSpec.defaultStallTimeout
        if let text = ProcessInfo.processInfo.environment["SDEFLOW_STALL_TIMEOUT"], !text.isEmpty {
            guard let t = try? Self.seconds(text, "SDEFLOW_STALL_TIMEOUT"), t >= 0 else {
                throw ValidationError("SDEFLOW_STALL_TIMEOUT='\(text)' is not a number of seconds ≥ 0 in decimal notation")
            }
            timeout = t
        }
        return JobSpec(inputs: inputs, outputs: outputs, stallTimeout: stallTimeout ?? timeout, listens: listens)
    }
}

/// Restarting: a stage with a checkpoint resumes from the one an earlier run of the same command
/// left next to its output (`<output>.partial`), unless told to start over.
struct ResumeOptions: ParsableArguments {
    @Flag(help: "Start over: delete the checkpoint an earlier run left next to the output (<output>.partial) instead of resuming from it (`run`: also redo the stages whose outputs are complete).")
    var fresh = false
}

struct CheckpointEveryOption: ParsableArguments {
    @Option(integer: "--checkpoint-every", help: "Training: epochs between two checkpoints in <model>.partial (a stop by SIGTERM, SIGINT, SIGUSR1 or SIGHUP saves at once).")
    var checkpointEvery: Int = 10

    func validate() throws {
        guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be at least 1 (got \(checkpointEvery))") }
    }
}

struct LabelBlockOption: ParsableArguments {
    @Option(integer: "--label-block", help: "Label stage: queries per checkpointed block, the most a killed rank loses (default: 1024, fewer when a block would be more than about 10 s of work).")
    var labelBlock: Int?

    func validate() throws {
        if let b = labelBlock, b < 1 { throw ValidationError("--label-block must be at least 1 (got \(b))") }
    }
}

extension JobOutput {
    static func labels(_ path: String, option: String = "--output") -> JobOutput { JobOutput(option, path, .folder(marker: "labels.json")) }
    static func model(_ path: String, option: String = "--output") -> JobOutput { JobOutput(option, path, .folder(marker: "model.json")) }
    static func data(_ path: String, option: String = "--output") -> JobOutput { JobOutput(option, path, .folder(marker: "dataset.json")) }
    static func evaluation(_ path: String, option: String = "--output") -> JobOutput { JobOutput(option, path, .folder(marker: "metrics.json")) }
}
