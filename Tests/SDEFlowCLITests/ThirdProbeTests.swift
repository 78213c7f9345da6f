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

    /// Finding 6: `sample --output notes.txt` replaced a user's text file, inspect its .svg;
    /// `inspect --output x.svg` wrote x.svg.npy and x.svg.svg; `bench --json dj/x.npy`
    /// overwrote an array inside a data set.
    @Test func aFileThatIsNotOfTheOutputsFormatIsNotReplaced() throws {
        try SmallRun.get()
        let m = SmallRun.model.path, dir = try Third.folder()
        let notes = dir.appendingPathComponent("notes.txt").path
        try "my notes\n".write(toFile: notes, atomically: true, encoding: .utf8)
        let sample = ["sample", "--model", m, "--x0", "0", "--mu", "0", "--steps", "1", "--count", "2", "--output"]
        try expectRefused(sample + [notes], status: 65, ["notes.txt: exists and is not a .npy array", "refusing to replace it"])
        #expect(try String(contentsOfFile: notes, encoding: .utf8) == "my notes\n")
        let array = dir.appendingPathComponent("s.npy").path
        try CLI.succeed(sample + [array])
        try CLI.succeed(sample + [array])  // its own output, or any .npy, is replaced
        let inspect = ["inspect", "--model", m, "--mu", "0", "--x-range", "-1:1", "--points", "3", "--samples", "10", "--output"]
        let stem = dir.appendingPathComponent("ins").path
        try CLI.succeed(inspect + [stem + ".svg"])
        try CLI.succeed(inspect + [stem])
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("ins") }.sorted()
        #expect(names == ["ins.npy", "ins.svg", "ins_truth.npy"])
        try "not a plot".write(toFile: stem + ".svg", atomically: true, encoding: .utf8)
        try expectRefused(inspect + [stem], status: 65, ["ins.svg: exists and is not an SVG image"])
        try FileManager.default.removeItem(atPath: stem + ".svg")
        try "not an array".write(toFile: stem + "_truth.npy", atomically: true, encoding: .utf8)
        try expectRefused(inspect + [stem + ".npy"], status: 65, ["ins_truth.npy: exists and is not a .npy array"])
        let x = SmallRun.data.appendingPathComponent("x.npy").path, before = try Data(contentsOf: URL(fileURLWithPath: x))
        try expectRefused(["bench", "--json", x, "--skip", "label,knn,labeler,memory,training"],
                          ["--json: \(x) lies inside", "an output of sdeflow-mpi (it holds dataset.json)"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: x)) == before)
    }

    /// Finding 9: data without dataset.json (no Δt) went through label and train without a word;
    /// then inspect failed with exit 64 and no hint.
    @Test func dataWithoutDtAreWarnedOfAndInspectSaysHowToGiveIt() throws {
        try SmallRun.get()
        let dir = try Third.folder()
        let data = dir.appendingPathComponent("data"), labels = dir.appendingPathComponent("labels").path
        let model = dir.appendingPathComponent("model").path
        try FileManager.default.copyItem(at: SmallRun.data, to: data)
        try FileManager.default.removeItem(at: data.appendingPathComponent("dataset.json"))
        let label = try CLI.succeed(["label", "--data", data.path, "--output", labels, "--labels", "200", "--neighbors", "50", "--ode-steps", "5"])
        #expect(label.stderr.contains("label: warning: \(data.path) has no dataset.json, so no Δt"), "\(label.report)")
        #expect(label.stderr.contains("with {\"dt\": <Δt>}"), "\(label.report)")
        try CLI.succeed(["train", "--labels", labels, "--output", model, "--hidden", "8", "--max-epochs", "1"])
        let inspect = ["inspect", "--model", model, "--mu", "0", "--x-range", "-1:1", "--points", "2", "--samples", "10", "--output", Third.out()]
        try expectRefused(inspect, status: 65, ["model.json: has no dt", "add \"dt\": <Δt> to this model.json"])
        // The hint works: with dt in model.json, inspect runs.
        let json = URL(fileURLWithPath: model).appendingPathComponent("model.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as! [String: Any]
        object["dt"] = 0.1
        try JSONSerialization.data(withJSONObject: object).write(to: json)
        try CLI.succeed(inspect)
    }

    /// Finding 11: SIGHUP ended `train` at once (exit 129, no message, lock left, epochs since the
    /// last checkpoint lost); a closed log pipe killed it by SIGPIPE at its next log line (141).
    @Test func sighupSavesLikeSIGTERMAndAClosedLogPipeDoesNotEndTheJob() throws {
        try SmallRun.get()
        let dir = try Third.folder()
        let model = dir.appendingPathComponent("m"), lock = dir.appendingPathComponent("m.lock")
        let train = ["train", "--labels", SmallRun.labels.path, "--output", model.path, "--hidden", "8,8", "--max-epochs", "100000",
                     "--patience", "1000000", "--checkpoint-every", "100000"]
        let job = try CLI.launch(train)
        guard waitUntil(job, "a few epochs", { job.stderrSoFar.contains("epoch   10 ") }) else { return }
        job.signal(SIGHUP)
        let r = try job.wait(timeout: 60)
        #expect(r.status == 129, "\(r.report)")
        #expect(r.stderr.contains("stopped by SIGHUP: training: the state after epoch"), "\(r.report)")
        #expect(!exists(lock) && exists(dir.appendingPathComponent("m.partial/train.ckpt")), "\(r.report)")
        // The log into a pipe closed after three lines: the job runs to its end.
        let status = dir.appendingPathComponent("status").path
        let quoted = ([CLI.binary] + train.prefix(5) + ["--hidden", "8,8", "--max-epochs", "20000", "--patience", "1000000", "--fresh"]).map { "'\($0)'" }.joined(separator: " ")
        let piped = try CLI.execute("/bin/bash", ["-c", "( \(quoted) 2>&1; echo $? > \(status) ) | head -3"], timeout: 120)
        #expect(piped.status == 0, "\(piped.report)")
        #expect((try? String(contentsOfFile: status, encoding: .utf8)) == "0\n", "\(piped.report)")
        #expect(exists(model.appendingPathComponent("model.json")) && !exists(lock), "\(piped.report)")
    }

    /// Finding 12: `bench --json notes.txt/b.json` (notes.txt a file) said "the folder notes.txt
    /// does not exist".
    @Test func benchJSONUnderAFileSaysItIsAFile() throws {
        let dir = try Third.folder(), notes = dir.appendingPathComponent("notes.txt").path
        try "x".write(toFile: notes, atomically: true, encoding: .utf8)
        try expectRefused(["bench", "--json", notes + "/b.json", "--skip", "label,knn,labeler,memory,training"],
                          ["--json \(notes)/b.json: \(notes) is a file, not a folder"])
        // Fourth probe: a file output ending in / that does not exist failed after the work.
        let slash = dir.appendingPathComponent("newdir").path + "/"
        try expectRefused(["bench", "--json", slash, "--skip", "label,knn,labeler,memory,training"], ["--json \(slash) ends in /"])
        try expectRefused(["bench", "--skip", "label", "--skip", "nosuch"], ["--skip: unknown section(s) nosuch"])  // every --skip counts
        try SmallRun.get()
        try expectRefused(["sample", "--model", SmallRun.model.path, "--x0", "0", "--mu", "0.5", "--steps", "2", "--count", "3", "--output", slash],
                          ["\(slash) ends in /"])
    }

    /// Finding 12: SIGTERMs that arrive together (a launcher and a user) printed sample's "stopped
    /// by SIGTERM: this stage keeps no checkpoint" once per handler thread, twice.
    @Test func aStopOfSampleIsSaidOnce() throws {
        try SmallRun.get()
        let dir = try Third.folder(), lock = dir.appendingPathComponent("p.npy.lock")
        let job = try CLI.launch(["sample", "--model", SmallRun.model.path, "--x0", "0", "--mu", "0.5", "--steps", "100",
                                  "--count", "3000000", "--output", dir.appendingPathComponent("p.npy").path])
        guard waitUntil(job, "the output lock", { exists(lock) }) else { return }
        usleep(300_000)
        for _ in 0..<3 { job.signal(SIGTERM) }
        let r = try job.wait(timeout: 60)
        #expect(r.stderr.components(separatedBy: "stopped by SIGTERM").count == 2, "\(r.report)")
        #expect(!exists(lock), "\(r.report)")
    }

    /// Finding 12: label stopped in its first ~50 ms said "this stage keeps no checkpoint, so run it
    /// again"; a moment later, "0 of N queries are saved … resumes from them". (Since the set-up
    /// agrees on stops too, a stop this early may end it there: "stopped while setting up".)
    @Test func anEarlyStopOfLabelSaysWhatTheLabelStageSays() throws {
        try SmallRun.get()
        let dir = try Third.folder(), out = dir.appendingPathComponent("l"), lock = dir.appendingPathComponent("l.lock")
        let job = try CLI.launch(["label", "--data", SmallRun.data.path, "--output", out.path, "--labels", "8000", "--neighbors", "1500",
                                  "--ode-steps", "300"])
        let end = Date().addingTimeInterval(30)
        while !exists(lock) && job.process.isRunning && Date() < end { usleep(200) }
        job.signal(SIGTERM)
        let r = try job.wait(timeout: 60)
        #expect(r.status == 143, "\(r.report)")
        #expect((r.stderr.contains("queries are saved in") || r.stderr.contains("labels: stopped while setting up"))
                && !r.stderr.contains("keeps no checkpoint"), "\(r.report)")
        #expect(!exists(lock), "\(r.report)")
    }

    /// Finding 12: `simulate --horizon 0.15` silently made 1 step (T = 0.1); `run --nu-x 1e-20`
    /// was refused only after simulating.
    @Test func aHorizonOffTheGridAndAHopelessBandwidthAreRefusedBeforeSimulating() throws {
        let out = Third.out()
        try expectRefused(["simulate", "--example", "bm", "--paths-per-mu", "10", "--horizon", "0.15", "--output", out],
                          ["--horizon 0.15 is not a multiple of Δt = 0.1", "e.g. 0.1 or 0.2"])
        try expectRefused(["run", "--output", out, "--quick", "--horizon", "0.25"], ["--horizon 0.25 is not a multiple"])
        let fine = try CLI.succeed(["simulate", "--example", "bm", "--paths-per-mu", "10", "--horizon", "0.3", "--output", out])
        #expect(fine.stderr.contains("3 steps"), "\(fine.report)")
        let run = Third.out()
        try expectRefused(["run", "--output", run, "--quick", "--nu-x", "1e-20"], ["--nu-x: ν = 1e-20 is below 1e-08"], within: 5)
        try expectRefused(["run", "--output", run, "--quick", "--nu-mu", "1e-9"], ["--nu-mu: ν = 1e-09 is below 1e-08"], within: 5)
        #expect(!exists(URL(fileURLWithPath: run)))
    }

    /// Fourth probe, finding 6: `label` on 3e9 pairs (72 GB) filled the node until the kernel
    /// killed it. Now refused before reading, naming the need (sparse files: no disk used).
    @Test func labelOnDataLargerThanMemoryIsRefusedBeforeReading() throws {
        let dir = try Third.folder()
        let script = """
            import sys, os, json, numpy as np
            n = 3_000_000_000
            for f, v in (("x", 0.0), ("mu", 0.0), ("y", 1.0)):
                p = f"{sys.argv[1]}/{f}.npy"
                with open(p, "wb") as h:
                    np.lib.format.write_array_header_1_0(h, {"descr": "<f8", "fortran_order": False, "shape": (n, 1)})
                    start = h.tell()
                    h.write(np.linspace(v, v + 1, 1000).astype("<f8").tobytes())
                os.truncate(p, start + 8 * n)
            json.dump({"dt": 0.1, "example": "bm"}, open(f"{sys.argv[1]}/dataset.json", "w"))
            """
        let py = try CLI.python(script, [dir.path])
        try #require(py.status == 0, "\(py.report)")
        try expectRefused(["label", "--data", dir.path, "--output", dir.path + "-labels", "--labels", "100", "--neighbors", "50"],
                          status: 65, ["reading 3000000000 of the 3000000000 pairs on each rank needs about", "use more ranks"], within: 30)
    }
}
