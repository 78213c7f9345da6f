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

    public var description: String {
        switch location {
        case .file(let p): "\(p): \(problem)"
        case .option(let o): "\(o): \(problem)"
        case .mpi(let call): "\(call) failed: \(problem)"
        case .job: problem
        }
    }
}
