import Foundation
import SDEFlowCore
import Testing

// Findings of the robustness probe (2, 3, 10–14, 16, 17): inputs that trapped, failed only after
// the work, or were reported in Foundation's words are refused before any work with a message
// naming the file (and key) or option, what it holds and what was expected.

/// The small run of InputRangeTests (`SmallRun`), and spoiled copies of its folders.
private enum Probe {
    static var root: URL { SmallRun.root }
    static var data: URL { SmallRun.data }
    static var labels: URL { SmallRun.labels }
    static var model: URL { SmallRun.model }
    static func get() throws { try SmallRun.get() }

    /// A copy of `folder` changed by `spoil` (given the copy's path).
    static func spoiled(_ folder: URL, _ spoil: (String) throws -> Void) throws -> URL {
        let copy = root.appendingPathComponent("\(folder.lastPathComponent)-\(UUID().uuidString.prefix(6))")
        try FileManager.default.copyItem(at: folder, to: copy)
        try spoil(copy.path)
        return copy
    }

    /// A copy of `folder` whose JSON file `name` has `edit` applied to its top-level object.
    static func edited(_ folder: URL, _ name: String, _ edit: @escaping (inout [String: Any]) -> Void) throws -> URL {
        try spoiled(folder) { dir in
            let url = URL(fileURLWithPath: "\(dir)/\(name)")
            var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            edit(&object)
            try JSONSerialization.data(withJSONObject: object).write(to: url)
        }
    }

    /// A copy of the data with `text` as its dataset.json.
    static func dataWithJSON(_ text: String) throws -> URL {
        try spoiled(data) { try Data(text.utf8).write(to: URL(fileURLWithPath: "\($0)/dataset.json")) }
    }

    static func out() -> String { root.appendingPathComponent("out-\(UUID().uuidString.prefix(6))").path }
}

/// Runs `arguments`, expects exit 64 or 65 within `within` seconds (before any work), every
/// fragment in stderr, no trap and no output left.
@discardableResult
private func expectRefused(_ arguments: [String], ranks: Int? = nil, _ fragments: [String], within: Double = 20,
                           sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
    let r = try CLI.run(arguments, ranks: ranks, timeout: 60)
    #expect(r.status == 64 || r.status == 65, "\(r.report)", sourceLocation: sourceLocation)
    #expect(r.seconds < within, "refused only after \(r.seconds) s: \(r.report)", sourceLocation: sourceLocation)
    for f in fragments { #expect(r.stderr.contains(f), "should say '\(f)': \(r.report)", sourceLocation: sourceLocation) }
    for trap in ["Fatal error", "Backtrace", "Illegal instruction", "precondition", "DecodingError", "CodingKeys", "NSCocoaErrorDomain"] {
        #expect(!r.output.contains(trap), "raw or trapped: \(r.report)", sourceLocation: sourceLocation)
    }
    return r
}

@Suite struct ProbeFixTests {
    /// Finding 2: `ou-nd` with d = 1 trapped (precondition in ouND(dim:)) in evaluate, inspect,
    /// label, train; an example of another d, or an unknown one, in dataset.json was accepted.
    @Test func exampleNamesThatDoNotFitTheArraysAreRefused() throws {
        try Probe.get()
        let m = Probe.model.path, needs = "example 'ou-nd' needs d in 2…256"
        try expectRefused(["evaluate", "--model", m, "--output", Probe.out(), "--example", "ou-nd", "--samples", "200", "--path-samples", "200"],
                          [needs, "has d = 1", "--example"])
        try expectRefused(["evaluate", "--model", m, "--output", Probe.out(), "--example", "ou-nd"], ranks: 2, [needs])
        try expectRefused(["inspect", "--model", m, "--output", Probe.out(), "--mu", "0", "--x-range", "-3:3", "--example", "ou-nd"], [needs])
        let label = ["--output", Probe.out(), "--labels", "100", "--neighbors", "50"]
        for (name, fragment) in [("ou-nd", needs), ("ou2d", "example 'ou2d' has d = 2, dμ = 1; the data (x.npy, mu.npy) have d = 1"),
                                 ("nope", "unknown example 'nope'; known: bm, ou, ou2d, ou-nd, cir, gbm")] {
            let data = try Probe.edited(Probe.data, "dataset.json") { $0["example"] = name }
            try expectRefused(["label", "--data", data.path] + label, ["dataset.json: \"example\": ", fragment])
        }
        let labels = try Probe.edited(Probe.labels, "labels.json") { $0["example"] = "ou-nd" }
        try expectRefused(["train", "--labels", labels.path, "--output", Probe.out()], ["labels.json: \"example\": ", needs])
        let model = try Probe.edited(Probe.model, "model.json") { $0["example"] = "ou-nd" }
        try expectRefused(["evaluate", "--model", model.path, "--output", Probe.out()], ["model.json: \"example\": ", needs])
        try expectRefused(["inspect", "--model", model.path, "--output", Probe.out(), "--mu", "0", "--x-range", "-3:3"], [needs])
    }

    /// Finding 3: observedMu [[]] or [[1e300]] in model.json trapped evaluate; a wrong dμ and a
    /// bad muRange were accepted; train copied a bad observedMu from labels.json.
    @Test func observedMuAndMuRangeAreCheckedWhereTheFilesAreRead() throws {
        try Probe.get()
        let cases: [(Any, String, String)] = [
            ([[Double]()], "observedMu", "\"observedMu\"[0] has 0 values; each observed μ needs dμ = 1"),
            ([[1e300]], "observedMu", "\"observedMu\"[0][0] = 1e+300: expected a finite number"),
            ([[0.1, 0.2]], "observedMu", "\"observedMu\"[0] has 2 values"),
            ([[Double]](), "observedMu", "\"observedMu\" is empty"),
            ([1.0], "muRange", "\"muRange\" = [1.0]: expected [lo, hi]"),
            ([1.0, -1.0], "muRange", "\"muRange\" = [1.0, -1.0]"),
            ([0, 1e300], "muRange", "\"muRange\" = [0.0, 1e+300]"),
            ([0, 0.5], "muRange", "does not hold the observed μ = -1.0"),
        ]
        for (value, key, fragment) in cases {
            let model = try Probe.edited(Probe.model, "model.json") { $0[key] = value }
            try expectRefused(["evaluate", "--model", model.path, "--output", Probe.out(), "--samples", "200", "--path-samples", "200"],
                              ["model.json: ", fragment])
        }
        let labels = try Probe.edited(Probe.labels, "labels.json") { $0["observedMu"] = [[Double]()] }
        try expectRefused(["train", "--labels", labels.path, "--output", Probe.out()], ["labels.json: \"observedMu\"[0] has 0 values"])
    }

    /// Finding 10: a bm model (μ in [−1, 1]) evaluated against ou failed after sampling with
    /// "EncodingError.invalidValue: -nan"; inspect overlaid NaN coefficients at μ < 0.
    @Test func anExampleWhoseMuRangeMissesTheModelsIsRefusedBeforeSampling() throws {
        try Probe.get()
        let out = Probe.out()
        try expectRefused(["evaluate", "--model", Probe.model.path, "--example", "ou", "--output", out, "--samples", "200", "--path-samples", "200"],
                          ["example 'ou' is defined for μ in [0.5, 2]", "span [-1, 1]"], within: 10)
        try expectRefused(["inspect", "--model", Probe.model.path, "--example", "ou", "--mu", "-0.5", "--x-range", "-1:1", "--output", out],
                          ["--example: example 'ou' is defined for μ in [0.5, 2]; --mu is -0.5"])
        #expect(!exists(URL(fileURLWithPath: out)))
    }

    /// Finding 11: the message named the literal word "labels", not the folder or the option.
    @Test func aValidationFractionLeavingNoTrainingRowsNamesTheOption() throws {
        try Probe.get()
        try expectRefused(["train", "--labels", Probe.labels.path, "--output", Probe.out(), "--validation-fraction", "0.999"],
                          ["--validation-fraction: 0.999 of the 400 usable label rows of \(Probe.labels.path) holds out 400, leaving 0 training rows",
                           "use at most 0.9975", "the default 0.1 trains on 360"])
    }

    /// Second probe, finding 5: `run` refused these only after simulating (and labelling, for the
    /// validation fraction), although the pair and label counts are known from its options; the
    /// advice for 0.99999 of 50 000 rows said "below 1".
    @Test func runRefusesSizesTheDataWillNotMeetBeforeSimulating() throws {
        let out = Probe.out()
        try expectRefused(["run", "--output", out, "--quick", "--paths-per-mu", "10"],
                          ["--labels: 10000 is more than the 2100 pairs this run simulates (21 μ × 10 paths × 10 steps, with --quick)"], within: 10)
        try expectRefused(["run", "--output", out, "--paths-per-mu", "200", "--neighbors", "50000", "--labels", "100"],
                          ["--neighbors: 50000 is more than the 42000 pairs"], within: 10)
        try expectRefused(["run", "--output", out, "--validation-fraction", "0.99999"],
                          ["--validation-fraction: 0.99999 of the 50000 usable label rows", "use at most 0.99998"], within: 10)
        #expect(!exists(URL(fileURLWithPath: out)))
    }

    /// Finding 12: negative values of these options gave "Missing value" instead of the range.
    @Test func negativeJobOptionValuesGiveTheirRange() throws {
        let label = ["label", "--data", "/nonexistent", "--output", "/tmp/unused"]
        try expectRefused(label + ["--label-block", "-3"], ["--label-block must be at least 1 (got -3)"])
        try expectRefused(label + ["--stall-timeout", "-1"], ["--stall-timeout must be a number of seconds ≥ 0 (got -1.0)"])
        try expectRefused(["train", "--labels", "/nonexistent", "--output", "/tmp/unused", "--checkpoint-every", "-1"],
                          ["--checkpoint-every must be at least 1 (got -1)"])
        try expectRefused(["bench", "--knn-dims", "-1"], ["--knn-dims: '-1' is not a positive integer"])
    }

    /// Finding 13: NaN, Infinity (Python's json.dump) and 1e400 were "not valid JSON", a missing
    /// or mistyped key came as DecodingError internals; bench's bad --work-dir as NSCocoaErrorDomain.
    @Test func jsonProblemsNameTheFileAndKey() throws {
        try Probe.get()
        let cases: [(String, String)] = [
            ("{\"dt\": 1e400}", "\"dt\": 1e400 is not a finite number"),
            ("{\"dt\": NaN}", "\"dt\": NaN is not a finite number"),
            ("{\"dt\": 0.1, \"observedMu\": [[-Infinity]]}", "\"observedMu\": -Infinity is not a finite number"),
            ("{}", "key \"dt\" is missing"),
            ("{\"dt\": \"0.1\"}", "\"dt\": expected to decode Double but found a string"),
            ("{\"dt\": null}", "\"dt\" is null"),
            ("{\"dt\": 0.1, \"muRange\": [0, \"x\"]}", "\"muRange[1]\": expected to decode Double"),
            ("{\"dt\": 0.1,", "not valid JSON"),
            // Fourth probe: valid JSON whose number does not fit was called "not valid JSON".
            ("{\"dt\": 1e-400}", "valid JSON, but a number does not fit its field"),
        ]
        for (text, fragment) in cases {
            let data = try Probe.dataWithJSON(text)
            try expectRefused(["label", "--data", data.path, "--output", Probe.out(), "--labels", "100", "--neighbors", "50"],
                              ["dataset.json: ", fragment])
        }
        let labels = try Probe.edited(Probe.labels, "labels.json") { $0["settings"] = nil }
        try expectRefused(["train", "--labels", labels.path, "--output", Probe.out()], ["labels.json: ", "key \"settings\" is missing"])
        try expectRefused(["bench", "--work-dir", "/proc/x", "--end-to-end"], ["--work-dir /proc/x: cannot create a folder there"])
        // Seventh probe: inside a label folder it left an empty folder there, which `label` then refused to replace.
        let inside = Probe.labels.appendingPathComponent("work").path
        try expectRefused(["bench", "--work-dir", inside, "--end-to-end"], ["--work-dir: \(inside) lies inside", "an output of sdeflow-mpi"])
        #expect(!FileManager.default.fileExists(atPath: inside))
    }

    /// Finding 14: `bench --json` to a missing folder or onto a folder failed after the benchmark.
    @Test func anUnwritableBenchJSONIsRefusedBeforeTheBenchmark() throws {
        let quick = ["--skip", "label,knn,labeler,memory", "--epochs-to-time", "1", "--train-rows", "1000"]
        try expectRefused(["bench", "--json", "/nonexistent/dir/x.json"] + quick, ["--json /nonexistent/dir/x.json: the folder /nonexistent/dir does not exist"],
                          within: 5)
        let folder = Probe.root.appendingPathComponent("json-folder")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try expectRefused(["bench", "--json", folder.path] + quick, ["is a folder; give a file name"], within: 5)
        // Second probe, finding 3: sizes past memory aborted allocating (800 GB); a zero named all eight options.
        try expectRefused(["bench", "--skip", "label,labeler,training,memory", "--pairs", "900000000"], ["--pairs", "lower --pairs"], within: 5)
        try expectRefused(["bench", "--queries", "0"], ["--queries must be in 1…10000000 (got 0)"], within: 5)
        try expectRefused(["bench", "--neighbors", "100000000", "--queries", "1"], ["--neighbors must be in 1…1000000"], within: 5)
    }

    /// Finding 16: --dim was ignored for bm; y = x on every row labelled all zeros; sample far
    /// outside the training data said nothing.
    @Test func degenerateRequestsAreRefusedOrWarned() throws {
        try Probe.get()
        try expectRefused(["simulate", "--example", "bm", "--dim", "3", "--output", Probe.out()], ["--dim applies to ou-nd only", "'bm' has d = 1"])
        try expectRefused(["run", "--example", "bm", "--dim", "3", "--output", Probe.out()], ["--dim applies to ou-nd only"])
        let still = try Probe.spoiled(Probe.data) { dir in
            try FileManager.default.removeItem(atPath: "\(dir)/y.npy")
            try FileManager.default.copyItem(atPath: "\(dir)/x.npy", toPath: "\(dir)/y.npy")
        }
        for ranks in [nil, 2] as [Int?] {
            try expectRefused(["label", "--data", still.path, "--output", Probe.out(), "--labels", "100", "--neighbors", "50"], ranks: ranks,
                              ["y.npy: equals x.npy on all", "no motion to learn"])
        }
        let far = try CLI.succeed(["sample", "--model", Probe.model.path, "--x0", "1e6", "--mu", "50", "--steps", "1", "--count", "2",
                                   "--output", Probe.out() + ".npy"])
        #expect(far.stderr.contains("warning: --mu = 50 is outside the training range [-1, 1]"), "\(far.report)")
        #expect(far.stderr.contains("warning: --x0 = 1e+06 is outside the training data's"), "\(far.report)")
        let near = try CLI.succeed(["sample", "--model", Probe.model.path, "--x0", "0", "--mu", "0.5", "--steps", "1", "--count", "2",
                                    "--output", Probe.out() + ".npy"])
        #expect(!near.stderr.contains("warning"), "\(near.report)")
        // Second probe, findings 6 and 7: inspect wrote hidden files `ins/.npy` for a folder, took
        // 1e300 as a range end, and did not warn for states outside the data.
        let inspect = ["inspect", "--model", Probe.model.path, "--mu", "0.5", "--points", "2", "--samples", "2"]
        try expectRefused(inspect + ["--x-range", "-1:1", "--output", Probe.out() + "/"], ["names a folder; give a file stem"])
        try expectRefused(inspect + ["--x-range", "1e300:-1e300", "--output", Probe.out()], ["within ±1e100"])
        let beyond = try CLI.succeed(inspect + ["--x-range", "0:1e6", "--output", Probe.out()])
        #expect(beyond.stderr.contains("warning: --x-range's end = 1e+06 is outside the training data's"), "\(beyond.report)")
        #expect(!beyond.stderr.contains("--x-range's start"), "\(beyond.report)")
    }

    /// Finding 17: a FIFO as x.npy (or dataset.json) blocked the command forever in open().
    @Test func aFIFOAsAnInputIsRefusedAtOpen() throws {
        try Probe.get()
        for name in ["x.npy", "dataset.json"] {
            let data = try Probe.spoiled(Probe.data) { dir in
                try FileManager.default.removeItem(atPath: "\(dir)/\(name)")
                #expect(mkfifo("\(dir)/\(name)", 0o600) == 0)
            }
            try expectRefused(["label", "--data", data.path, "--output", Probe.out()], ["\(name): is a FIFO (named pipe), not a regular file"])
        }
    }
}
