import Foundation
import SDEFlowCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Smaller findings of the fourth robustness probe (section 10, and the stop delay of finding 6):
// integer options in the notation `--help` uses, a stop in a job's first moments, a refusal every
// rank reached printed once.

/// Runs `arguments`, expects `status`, every fragment in stderr and no trap.
@discardableResult
private func expectStatus(_ arguments: [String], ranks: Int? = nil, _ status: Int32, _ fragments: [String],
                          sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
    let r = try CLI.run(arguments, ranks: ranks, timeout: 60)
    #expect(r.status == status, "\(r.report)", sourceLocation: sourceLocation)
    for f in fragments { #expect(r.stderr.contains(f), "should say '\(f)': \(r.report)", sourceLocation: sourceLocation) }
    for trap in ["Fatal error", "Backtrace", "Illegal instruction", "precondition"] {
        #expect(!r.output.contains(trap), "trapped: \(r.report)", sourceLocation: sourceLocation)
    }
    return r
}

@Suite struct FourthProbeTests {
    /// Catches: `--labels 5e4` and `--steps 1e7` refused as "The value '5e4' is invalid" while the
    /// help writes the ranges as "1…1e9"; a fractional value accepted or refused without saying
    /// that an integer is expected. Accepted values reach the next check (the missing folder, 65).
    @Test func integerOptionsTakeTheNotationTheHelpUses() throws {
        let label = ["label", "--data", "/nonexistent", "--output", "/tmp/unused"]
        let sample = ["sample", "--model", "/nonexistent", "--x0", "0", "--mu", "0", "--output", "/tmp/unused.npy"]
        let train = ["train", "--labels", "/nonexistent", "--output", "/tmp/unused"]
        let missing = "/nonexistent"
        try expectStatus(label + ["--labels", "5e4", "--neighbors", "2.5e3", "--ode-steps", "6E1", "--label-block", "1e3"], 65, [missing])
        try expectStatus(sample + ["--steps", "1e7", "--count", "1e3"], 65, [missing])
        try expectStatus(train + ["--batch-size", "1.024e3", "--max-epochs", "1e7", "--patience", "5e1"], 65, [missing])
        try expectStatus(label + ["--labels", "2e9"], 64, ["--labels must be an integer in 1…1000000000 (got 2000000000)"])
        try expectStatus(label + ["--labels", "1.5e0"], 64, ["--labels: 1.5e0 is not a whole number (an integer is expected, e.g. 50000 or 5e4)"])
        try expectStatus(sample + ["--steps", "3", "--count", "1e99"], 64, ["--count: 1e99 is above 9223372036854775807"])
        try expectStatus(train + ["--lr-patience", "ten"], 64, ["--lr-patience: 'ten' is not a number (an integer is expected"])
        try expectStatus(["bench", "--queries", "2.5", "--skip", "label,knn,labeler,training,memory"], 64, ["--queries: 2.5 is not a whole number"])
        let help = try CLI.run(["train", "--help"])
        #expect(help.stdout.contains("Maximum epochs, 1…1e7. (default: 1000)"), "the default left the help: \(help.report)")
    }
}
