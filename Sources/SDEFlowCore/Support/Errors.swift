/// The one error type of the product: where the problem is — a file, a row and column of one,
/// a command-line option, an MPI call — and what was expected there. The CLI prints
/// `description` as is, so the message must let a user fix the input without reading code.
public struct SDEFlowError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Location: Sendable, Equatable {
        case file(String)
        case option(String)
        case mpi(call: String)
        /// Not tied to one input (a usage error spanning options, or a failure inside the job).
        case job
    }

    public let location: Location
    public let problem: String

    public init(_ location: Location, _ problem: String) { self.location = location; self.problem = problem }

    /// A bad input file or folder, or a bad row of one (say which row in `problem`).
    public static func file(_ path: String, _ problem: String) -> SDEFlowError { .init(.file(path), problem) }
    /// A bad command-line value; `name` as the user typed it (`--neighbors`).
    public static func option(_ name: String, _ problem: String) -> SDEFlowError { .init(.option(name), problem) }
    public static func mpi(_ call: String, _ problem: String) -> SDEFlowError { .init(.mpi(call: call), problem) }
    /// A usage error not tied to one option.
    public static func usage(_ message: String) -> SDEFlowError { .init(.job, message) }
    public static func internalFailure(_ message: String) -> SDEFlowError { .init(.job, message) }

    /// The file or option the error names, if any.
    public var path: String? { if case .file(let p) = location { p } else { nil } }

    /// The process's exit status for this error (`ExitStatus`): 64 for an option or usage, 65 for a
    /// file, 69 for MPI.
    public var exitStatus: Int32 {
        switch location {
        case .file: ExitStatus.file
        case .option, .job: ExitStatus.usage
        case .mpi: ExitStatus.mpi
        }
    }

    public var description: String {
        switch location {
        case .file(let p): "\(p): \(problem)"
        case .option(let o): "\(o): \(problem)"
        case .mpi(let call): "\(call) failed: \(problem)"
        case .job: problem
        }
    }
}

/// Exit statuses, so a script or a batch system can tell why a job ended without reading its
/// message: the BSD `sysexits.h` codes for errors, `timeout`'s 124 for a stalled rank, and
/// 128 + N for a stop by signal N after saving (143 SIGTERM, 130 SIGINT, 138 SIGUSR1, 129 SIGHUP). Status 1
/// is left to anything else: an error of no known kind, or Open MPI's `mpirun` ending the job
/// on its own SIGTERM/SIGINT (the ranks have saved and printed how to resume by then).
public enum ExitStatus {
    /// A command-line option or a combination of options (also swift-argument-parser's status).
    public static let usage: Int32 = 64
    /// An input or output file or folder: missing, malformed, inconsistent, locked or not writable.
    public static let file: Int32 = 65
    /// MPI could not start or a call failed.
    public static let mpi: Int32 = 69
    /// A rank made no progress for the stall timeout (`Watchdog`).
    public static let stalled: Int32 = 124
    /// Anything else.
    public static let other: Int32 = 1

    /// The status a job that failed with `error` ends with.
    public static func of(_ error: any Error) -> Int32 {
        switch error {
        case let e as SDEFlowError: e.exitStatus
        case let e as AgreedFailure: e.status
        case let e as JobInterrupted: 128 + e.signal
        default: other
        }
    }
}
