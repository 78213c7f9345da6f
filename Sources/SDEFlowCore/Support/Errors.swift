import Foundation

/// A bad input file or folder: which one, and what was expected.
public struct InputError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let problem: String
    public init(_ path: String, _ problem: String) { self.path = path; self.problem = problem }
    public var description: String { "\(path): \(problem)" }
}

/// A bad command-line value, with the option it came from and an example of the right form.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}
