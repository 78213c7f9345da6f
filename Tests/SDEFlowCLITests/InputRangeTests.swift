import Foundation
import SDEFlowCore
import Testing

// Issue 12 at the command line: every out-of-range option, every bad data, label or model folder
// ends the command with a message naming the option or file and what was expected, before any
// work: no trap, no backtrace, no hang (also under mpirun -n 2), no output left behind.

struct RangeTestError: Error, CustomStringConvertible {
    let description: String
}

/// A small bm data set, its labels and a model (seconds to make), built once per test process
/// (also used by ProbeFixTests).
enum SmallRun {
    static let root = perProcessScratchRoot(prefix: "sdeflow-range-tests-")
    static var data: URL { root.appendingPathComponent("data") }
    static var labels: URL { root.appendingPathComponent("labels") }
    static var model: URL { root.appendingPathComponent("model") }

    static let made: Swift.Result<Void, any Error> = Swift.Result {
        for args in [["simulate", "--example", "bm", "--paths-per-mu", "40", "--output", data.path],
                     ["label", "--data", data.path, "--output", labels.path, "--labels", "400", "--neighbors", "60", "--ode-steps", "10"],
                     ["train", "--labels", labels.path, "--output", model.path, "--hidden", "8,8", "--max-epochs", "2"]] {
            let r = try CLI.run(args)
            guard r.status == 0 else { throw RangeTestError(description: "preparing the small run failed: \(r.report)") }
        }
    }

    static func get() throws { try made.get() }

    /// A copy of `folder` in a fresh scratch folder, changed by `spoil` (given the copy's path).
    static func spoiled(_ folder: URL, _ name: String, _ spoil: (String) throws -> Void) throws -> URL {
        let copy = root.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(6))")
        try FileManager.default.copyItem(at: folder, to: copy)
        try spoil(copy.path)
        return copy
    }
}

/// Runs `arguments`, expects a refusal (exit status 64 for an option, 65 for a file) whose stderr
/// holds every fragment and no sign of a trap.
private func expectRefused(_ arguments: [String], ranks: Int? = nil, _ fragments: [String],
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
    let r = try CLI.run(arguments, ranks: ranks, timeout: 60)
    #expect(r.status == 64 || r.status == 65, "\(r.report)", sourceLocation: sourceLocation)
    for f in fragments { #expect(r.stderr.contains(f), "should say '\(f)': \(r.report)", sourceLocation: sourceLocation) }
    for trap in ["Fatal error", "Backtrace", "Illegal instruction", "Segmentation", "precondition"] {
        #expect(!r.output.contains(trap), "trapped: \(r.report)", sourceLocation: sourceLocation)
    }
    // A refusal every rank agrees on, said once: not one rank's MPI_Abort (which left the lock).
    #expect(!r.output.contains("MPI_ABORT"), "ended by MPI_Abort: \(r.report)", sourceLocation: sourceLocation)
}

/// Rewrites a JSON file with `edit` applied to its top-level object.
private func editJSON(_ path: String, _ edit: (inout [String: Any]) -> Void) throws {
    var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    edit(&object)
    try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
}

@Suite struct InputRangeTests {
    /// Catches: an out-of-range, negative ("Missing value" before), non-finite or fractional
    /// option value accepted or reported without its range. Validation needs no input folder.
    @Test func outOfRangeOptionsAreRefusedWithTheirRange() throws {
        let train = ["train", "--labels", "/nonexistent", "--output", "/tmp/unused"]
        let label = ["label", "--data", "/nonexistent", "--output", "/tmp/unused"]
        let sample = ["sample", "--model", "/nonexistent", "--x0", "0", "--mu", "0", "--output", "/tmp/unused.npy"]
        let cases: [([String], [String])] = [
            (train + ["--learning-rate=-1"], ["--learning-rate must be a number in [1e-10, 1] (got -1.0)"]),
            (train + ["--learning-rate", "nan"], ["--learning-rate", "(got nan)"]),
            (train + ["--lr-patience", "-1"], ["--lr-patience must be an integer in 0…10000000 (got -1)"]),
            (train + ["--weight-decay", "-0.5"], ["--weight-decay must be a number in [0, 1]"]),
            (train + ["--validation-fraction", "1"], ["--validation-fraction must be a number in (0, 1)"]),
            (train + ["--validation-fraction", "0"], ["--validation-fraction must be a number in (0, 1)"]),
            (train + ["--hidden", "1e10"], ["--hidden: '1e10' is not a layer width", "1…65536"]),
            (train + ["--hidden", "1.5,2.7"], ["--hidden: '1.5' is not a layer width"]),
            (train + ["--hidden", "0"], ["--hidden: '0'"]),
            (train + ["--batch-size", "0"], ["--batch-size must be an integer in 1…16777216"]),
            (train + ["--max-epochs", "-3"], ["--max-epochs must be an integer"]),
            (train + ["--seed", "-1"], ["--seed: -1 is below 0, beyond every integer this option can take"]),
            (train + ["--seed", "5e-1"], ["--seed: 5e-1 is not a whole number"]),
            (label + ["--neighbors", "-5"], ["--neighbors must be an integer in 1…1000000 (got -5)"]),
            (label + ["--labels", "0"], ["--labels must be an integer in 1…1000000000"]),
            (label + ["--ode-steps", "-1"], ["--ode-steps must be an integer in 1…100000"]),
            (label + ["--nu-x", "inf"], ["--nu-x must be a number in [1e-100, 1e+100] (got inf)"]),
            (label + ["--nu-x", "1e-300"], ["--nu-x must be a number in [1e-100, 1e+100]"]),
            (label + ["--nu-mu", "-1"], ["--nu-mu must be a number"]),
            (label + ["--scale", "1e300"], ["--scale must be a number in [1e-06, 1e+06]"]),
            (label + ["--scale", "0"], ["--scale must be a number"]),
            (label + ["--ode-stop", "11"], ["--ode-stop must be a number in [0, 10]"]),
            // Swift's Double reads hexadecimal: each real option was 16 here without a word.
            (label + ["--nu-x", "0x10"], ["--nu-x: '0x10' is not a number in decimal notation"]),
            (label + ["--scale", "0X1p-3"], ["--scale: '0X1p-3' is not a number in decimal notation"]),
            (train + ["--learning-rate", "0x1p-10"], ["--learning-rate: '0x1p-10' is not a number in decimal notation"]),
            // Sixth probe: a value that underflows to 0 took the option's meaning of 0.
            (["simulate", "--output", "/tmp/unused", "--fine-step", "1e-400"], ["--fine-step: 1e-400 is not 0 but too small for a double"]),
            (label + ["--ode-stop", "1e-400"], ["--ode-stop: 1e-400 is not 0 but too small"]),
            (["simulate", "--output", "/tmp/unused", "--horizon", "0x10"], ["--horizon: '0x10' is not a number in decimal notation"]),
            (label + ["--stall-timeout", "0x10"], ["--stall-timeout: '0x10' is not a number of seconds in decimal notation"]),
            (label + ["--stall-timeout", "1e999"], ["--stall-timeout: '1e999' is not a number of seconds"]),
            (sample + ["--steps", "-1", "--count", "5"], ["--steps must be an integer in 0…10000000"]),
            (sample + ["--steps", "3", "--count", "-3"], ["--count must be an integer in 1…1000000000"]),
            (sample + ["--steps", "3", "--count", "5", "--x0", "1e200"], ["--x0: '1e200' is not a number within ±1e100"]),
            (sample + ["--steps", "3", "--count", "5", "--x0", "0x10"], ["--x0: '0x10' is not a number within ±1e100"]),
            (["simulate", "--output", "/tmp/unused", "--horizon", "inf"], ["--horizon must be a number in [0.1, 100000]"]),
            (["simulate", "--output", "/tmp/unused", "--fine-step", "1e-300"], ["--fine-step (or 0) must be a number"]),
            (["simulate", "--output", "/tmp/unused", "--paths-per-mu", "-1"], ["--paths-per-mu must be an integer"]),
            (["simulate", "--output", "/tmp/unused", "--paths-per-mu", "1", "--horizon", "10000", "--fine-step", "1e-7"],
             ["--horizon / --fine-step give 100000000000 Euler–Maruyama steps per path", "at most 4294967295"]),
            (["simulate", "--output", "/tmp/unused", "--example", "ou-nd", "--dim", "1000"], ["--dim must be an integer in 2…256"]),
            (["evaluate", "--model", "/nonexistent", "--output", "/tmp/unused", "--samples", "1"], ["--samples must be an integer in 2…"]),
            (["run", "--output", "/tmp/unused", "--eval-samples", "1000000000000"], ["--eval-samples must be an integer in 2…100000000"]),
            (["run", "--output", "/tmp/unused", "--path-samples", "-4"], ["--path-samples must be an integer in 2…100000000 (got -4)"]),
            (["inspect", "--model", "/nonexistent", "--output", "/tmp/unused", "--mu", "0", "--x-range", "-1:1", "--points", "-2"],
             ["--points must be an integer in 2…1000000"]),
        ]
        for (arguments, fragments) in cases { try expectRefused(arguments, fragments) }
    }

    /// Catches: a network or a run that cannot fit in memory being allocated (200 GB for three
    /// 65536-wide layers; a simulation or sample beyond memory) instead of refused with the sizes.
    /// Catches: an error found before MPI starts said once per rank (`mpirun -n 3` printed it
    /// three times), or, from a rank that alone reaches it, not at all.
    @Test func anEarlyErrorIsSaidOnceUnderMpirun() throws {
        let bad = ["label", "--data", "/nonexistent", "--output", "/tmp/unused", "--neighbors", "-5"]
        let r = try CLI.run(bad, ranks: 3, timeout: 60)
        #expect(r.status == 64, "\(r.report)")
        #expect(r.stderr.components(separatedBy: "--neighbors must be an integer").count == 2, "said once: \(r.report)")
        let help = try CLI.run(["label", "--help"], ranks: 2, timeout: 60)
        #expect(help.status == 0 && help.stdout.components(separatedBy: "USAGE:").count == 2, "\(help.report)")
        // Rank 1 with no launcher to stop it: as when only its node fails, it says the error itself.
        let alone = try CLI.execute("/usr/bin/env", ["OMPI_COMM_WORLD_RANK=1", CLI.binary] + bad, timeout: 60)
        #expect(alone.status == 64 && alone.stderr.contains("--neighbors must be an integer"), "\(alone.report)")
    }

    @Test func sizesBeyondMemoryAreRefusedBeforeAllocating() throws {
        try SmallRun.get()
        let out = SmallRun.root.appendingPathComponent("too-big")
        try expectRefused(["train", "--labels", SmallRun.labels.path, "--output", out.path, "--hidden", "65536,65536,65536"], ranks: 2,
                          ["--hidden: training an MLP 3→65536→65536→65536→1", "GiB", "narrower --hidden"])
        try expectRefused(["simulate", "--output", out.path, "--paths-per-mu", "1000000000"], ["--paths-per-mu: simulating", "GiB"])
        try expectRefused(["sample", "--model", SmallRun.model.path, "--x0", "0", "--mu", "0", "--steps", "100000", "--count", "100000000",
                           "--output", out.path + ".npy"], ["--count: 100000000 paths of 100000 steps", "GiB"])
        #expect(!exists(out) && !exists(URL(fileURLWithPath: out.path + ".npy")))
    }

    /// Catches: a data folder with a huge value, a zero width or a Δt ≤ 0, or label settings the
    /// data rules out, reaching the label stage (a trap, or an EncodingError at the end); on one
    /// rank and under mpirun -n 2, with no output left.
    @Test func badDataAndSettingsStopLabelBeforeWork() throws {
        try SmallRun.get()
        let huge = try SmallRun.spoiled(SmallRun.data, "huge") { dir in
            var (x, shape) = try NPY.read("\(dir)/x.npy")
            x[5] = 1e150
            try NPY.write("\(dir)/x.npy", x, shape: shape)
        }
        // Sixth probe: in the last rank's rows, it ended the job by MPI_Abort and left the output's lock.
        let hugeLast = try SmallRun.spoiled(SmallRun.data, "hugelast") { dir in
            var (x, shape) = try NPY.read("\(dir)/x.npy")
            x[x.count - 1] = 1e160
            try NPY.write("\(dir)/x.npy", x, shape: shape)
        }
        let width0 = try SmallRun.spoiled(SmallRun.data, "width0") { dir in
            let n = try NPY.header(at: "\(dir)/mu.npy").rowCount
            try NPY.write("\(dir)/mu.npy", [Double](), shape: [n, 0])
        }
        let dt0 = try SmallRun.spoiled(SmallRun.data, "dt0") { try editJSON("\($0)/dataset.json") { $0["dt"] = 0 } }
        let small = ["--labels", "100", "--neighbors", "30", "--ode-steps", "5"]
        let cases: [(URL, [String], [String])] = [
            (huge, [], ["x.npy: row 5, column 0 is 1e+150", "|value| ≤ 1e100"]),
            (hugeLast, [], ["column 0 is 1e+160", "|value| ≤ 1e100"]),
            (width0, [], ["mu.npy: has shape", "width 0"]),
            (dt0, [], ["dataset.json: dt = 0.0", "Δt"]),
            (SmallRun.data, ["--nu-x", "1e-9"], ["--nu-x: ν = 1e-09 is below 1e-6 × the data's spread", "underflows"]),
        ]
        for (data, extra, fragments) in cases {
            for ranks in [nil, 2] as [Int?] {
                let out = SmallRun.root.appendingPathComponent("labels-\(UUID().uuidString.prefix(6))")
                try expectRefused(["label", "--data", data.path, "--output", out.path] + small + extra, ranks: ranks, fragments)
                #expect(!exists(out) && !exists(URL(fileURLWithPath: out.path + ".lock")), "a refused label left \(out.path) or its lock")
            }
        }
    }

    /// Catches: a label folder whose arrays disagree with labels.json reaching training.
    @Test func badLabelFoldersStopTrain() throws {
        try SmallRun.get()
        let wide = try SmallRun.spoiled(SmallRun.labels, "wide-label") { dir in
            try NPY.write("\(dir)/label.npy", [Double](repeating: 0, count: 800), shape: [400, 2])
        }
        let nan = try SmallRun.spoiled(SmallRun.labels, "nan-label") { dir in
            try NPY.write("\(dir)/label.npy", [Double](repeating: .nan, count: 400), shape: [400, 1])
        }
        let out = SmallRun.root.appendingPathComponent("model-refused")
        try expectRefused(["train", "--labels", wide.path, "--output", out.path], ranks: 2, ["label.npy: has shape [400, 2]; expected [400, 1]"])
        try expectRefused(["train", "--labels", nan.path, "--output", out.path], ["label.npy: none of its 400 label rows is finite"])
        #expect(!exists(out))
    }

    /// Catches: `sample`, `evaluate` and `inspect` loading a model with absurd widths, a shape
    /// that does not match its arrays, a NaN weight, c = 0 or Δt = 0 (and allocating or producing
    /// NaN paths) instead of refusing it with the file named.
    @Test func badModelsAreRefusedByEveryCommandThatLoadsOne() throws {
        try SmallRun.get()
        func shape(_ edit: @escaping (inout [String: Any]) -> Void) -> (String) throws -> Void {
            { dir in try editJSON("\(dir)/model.json") { var s = $0["shape"] as! [String: Any]; edit(&s); $0["shape"] = s } }
        }
        let models: [((String) throws -> Void, [String])] = [
            (shape { $0["hidden"] = [100_000_000, 8] }, ["model.json: hidden widths [100000000, 8]", "1…65536"]),
            (shape { $0["hidden"] = [16, 8] }, ["W0.npy: has shape [8, 3], model.json says [16, 3]"]),
            ({ dir in
                var (w, s) = try NPY.read("\(dir)/W1.npy")
                w[3] = .nan
                try NPY.write("\(dir)/W1.npy", w, shape: s)
            }, ["W1.npy: value 3", "nan"]),
            ({ try editJSON("\($0)/model.json") { $0["scale"] = 0 } }, ["model.json: scale = 0.0"]),
            ({ try editJSON("\($0)/model.json") { $0["dt"] = 0 } }, ["model.json: dt = 0.0"]),
        ]
        let out = SmallRun.root.appendingPathComponent("from-bad-model")
        for (i, (spoil, fragments)) in models.enumerated() {
            let model = try SmallRun.spoiled(SmallRun.model, "model\(i)", spoil)
            try expectRefused(["sample", "--model", model.path, "--x0", "0", "--mu", "0", "--steps", "2", "--count", "4",
                               "--output", out.path + ".npy"], ranks: i == 0 ? 2 : nil, fragments)
            try expectRefused(["evaluate", "--model", model.path, "--output", out.path, "--samples", "100", "--path-samples", "100"], fragments)
            try expectRefused(["inspect", "--model", model.path, "--mu", "0", "--x-range", "-1:1", "--points", "3", "--samples", "10",
                               "--output", out.path], fragments)
        }
        #expect(!exists(out) && !exists(URL(fileURLWithPath: out.path + ".npy")))
    }
}
