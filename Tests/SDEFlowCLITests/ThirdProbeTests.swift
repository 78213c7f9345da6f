import Foundation
import SDEFlowCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Findings of the third robustness probe of the binary (5, 6, 9, 11, 12): requests that ran into
// the wrong place, replaced a user's file, failed late or without a hint, or ended a job without
// its checkpoint and lock cleanup.

/// The small run of InputRangeTests (`SmallRun`) and fresh paths beside it.
private enum Third {
    static var root: URL { SmallRun.root }
    static func out(_ suffix: String = "") -> String { root.appendingPathComponent("third-\(UUID().uuidString.prefix(6))\(suffix)").path }

    /// A new empty folder under the scratch root (a current folder to run in).
    static func folder() throws -> URL {
        let url = URL(fileURLWithPath: out())
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Runs `arguments` (in `directory`), expects `status` within `within` seconds (before any work),
/// every fragment in stderr and no trap.
@discardableResult
private func expectRefused(_ arguments: [String], in directory: URL? = nil, status: Int32 = 64, _ fragments: [String],
                           within: Double = 10, sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
    let r = try CLI.run(arguments, in: directory, timeout: 60)
    #expect(r.status == status, "\(r.report)", sourceLocation: sourceLocation)
    #expect(r.seconds < within, "refused only after \(r.seconds) s: \(r.report)", sourceLocation: sourceLocation)
    for f in fragments { #expect(r.stderr.contains(f), "should say '\(f)': \(r.report)", sourceLocation: sourceLocation) }
    for trap in ["Fatal error", "Backtrace", "Illegal instruction", "precondition"] {
        #expect(!r.output.contains(trap), "trapped: \(r.report)", sourceLocation: sourceLocation)
    }
    return r
}

@Suite struct ThirdProbeTests {
    /// Finding 5: `run --output ""` ran the whole pipeline into the current folder, `simulate
    /// --output ""` failed after simulating, `train --output ""` was refused as containing its input.
    @Test func anEmptyPathIsRefusedBeforeAnyWork() throws {
        try SmallRun.get()
        let here = try Third.folder(), empty = "the path is empty"
        let m = SmallRun.model.path, l = SmallRun.labels.path, d = SmallRun.data.path
        let cases: [[String]] = [
            ["run", "--output", "", "--quick"],
            ["simulate", "--example", "bm", "--paths-per-mu", "40", "--output", ""],
            ["label", "--data", d, "--output", "", "--labels", "100", "--neighbors", "50"],
            ["label", "--data", "", "--output", Third.out()],
            ["train", "--labels", l, "--output", ""],
            ["train", "--labels", "", "--output", Third.out()],
            ["sample", "--model", "", "--x0", "0", "--mu", "0", "--steps", "1", "--count", "1", "--output", Third.out(".npy")],
            ["sample", "--model", m, "--x0", "0", "--mu", "0", "--steps", "1", "--count", "1", "--output", ""],
            ["evaluate", "--model", m, "--output", ""],
            ["inspect", "--model", m, "--mu", "0", "--x-range", "-1:1", "--output", ""],
            ["inspect", "--model", "", "--mu", "0", "--x-range", "-1:1", "--output", Third.out()],
            ["bench", "--json", "", "--skip", "label,knn,labeler,memory,training"],
        ]
        for args in cases {
            let option = args[args.firstIndex(of: "")! - 1]
            try expectRefused(args, in: here, ["\(option): \(empty)"])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: here.path).isEmpty, "written into the current folder")
    }
}
