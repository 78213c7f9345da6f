import Foundation
import SDEFlowCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

// End-to-end tests of the built `sdeflow-mpi` executable: every test spawns it (directly, or
// under `mpirun -n N --oversubscribe`) with Foundation `Process` and checks what it writes.
// `swift test -c release` builds the executable next to the test bundle.

// MARK: - Files

/// A fresh folder for one test; the caller removes it.
func scratchFolder(_ name: String) throws -> URL {
    let url = Fixture.root.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Every regular file of a folder by name, with its bytes.
func folderContents(_ url: URL) throws -> [String: Data] {
    var out: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: url.path) {
        out[name] = try Data(contentsOf: url.appendingPathComponent(name))
    }
    return out
}

func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

/// Names under `url` (recursively) that look like a half-written temp file or staging folder.
func leftovers(in url: URL) -> [String] {
    guard let walk = FileManager.default.enumerator(atPath: url.path) else { return [] }
    return walk.compactMap { $0 as? String }.filter { $0.contains(".tmp.") }
}

/// Largest |a − b| over the largest |a|.
func relativeMaxDifference(_ a: [Double], _ b: [Double]) -> Double {
    let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    let scale = a.map { abs($0) }.max() ?? 0
    return scale > 0 ? diff / scale : diff
}

// MARK: - Shared inputs

/// The small data set, its labels and a model, made once and shared by the tests that read
/// them (built lazily, so any test can run on its own with `--filter`).
struct Fixture: Sendable {
    /// `<tmp>/sdeflow-cli-tests-<pid>`; folders of earlier runs whose process is gone are removed.
    static let root = perProcessScratchRoot(prefix: "sdeflow-cli-tests-")

    static let labelArguments = ["--labels", "1500", "--neighbors", "200", "--ode-steps", "100"]
    static let trainArguments = ["--hidden", "32,32", "--max-epochs", "5", "--patience", "100"]

    /// bm, 21 μ × 200 paths × 10 steps = 42 000 pairs.
    let data: URL
    /// Labels of `data` with `labelArguments`, without mpirun.
    let labels: URL
    /// Model trained on `labels` with `trainArguments`, under `mpirun -n 1`.
    let model: URL

    private static let made: Result<Fixture, any Error> = Result {
        // Relative one-character output path on purpose (it once crashed in Foundation).
        let simulate = try CLI.run(["simulate", "--example", "bm", "--paths-per-mu", "200", "--output", "D"], in: root)
        guard simulate.status == 0 else { throw FixtureError(result: simulate) }
        let data = root.appendingPathComponent("D"), labels = root.appendingPathComponent("labels-n0")
        let label = try CLI.run(["label", "--data", data.path, "--output", labels.path] + labelArguments)
        guard label.status == 0 else { throw FixtureError(result: label) }
        let model = root.appendingPathComponent("model-n1")
        let train = try CLI.run(["train", "--labels", labels.path, "--output", model.path] + trainArguments, ranks: 1)
        guard train.status == 0 else { throw FixtureError(result: train) }
        return Fixture(data: data, labels: labels, model: model)
    }

    static func get() throws -> Fixture { try made.get() }
}

struct FixtureError: Error, CustomStringConvertible {
    let result: CommandResult
    var description: String { "preparing the shared data failed: \(result.report)" }
}

/// One row of `eval/metrics.json`'s one-step section (only the fields the test reads).
struct Metrics: Decodable {
    struct Section: Decodable { let rows: [AccuracyEntry] }
    let oneStep: Section
}

struct AccuracyEntry: Decodable {
    let mu: [Double]
    let observed: Bool
    let meanError: Double
    let varianceRelativeError: Double
}

// MARK: - Tests

@Suite(.serialized)
struct CLITests {
    /// The harness itself: a child that hangs is stopped at the timeout and reported, and a
    /// hanging mpirun job leaves no rank behind.
    @Test func hangingChildIsStoppedAtTheTimeout() throws {
        var started = Date()
        #expect(throws: CommandTimedOut.self) { try CLI.execute("/bin/sleep", ["60"], timeout: 1) }
        #expect(Date().timeIntervalSince(started) < 5, "SIGTERM did not stop the child")

        let marker = "987.\(getpid() % 1000)"  // a sleep length no other process uses
        started = Date()
        #expect(throws: CommandTimedOut.self) {
            try CLI.execute(CLI.mpirun, ["--oversubscribe", "-n", "2", "/bin/sleep", marker], timeout: 3)
        }
        #expect(Date().timeIntervalSince(started) < 10, "SIGTERM did not stop mpirun")
        func ranksLeft() -> Int {
            let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return pids.filter { pid in
                guard Int(pid) != nil, let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
                return String(decoding: raw, as: UTF8.self).split(separator: "\0").contains { $0 == marker }
            }.count
        }
        var left = ranksLeft()
        for _ in 0..<20 where left > 0 { usleep(250_000); left = ranksLeft() }
        #expect(left == 0, "\(left) ranks of the stopped mpirun job still run")
    }

    /// `label` writes byte-identical files with no mpirun and under -n 1, 2, 4; so does `simulate` at -n 2.
    @Test func labelsAreIdenticalForAnyRankCount() throws {
        let f = try Fixture.get()
        let dir = try scratchFolder("labels")
        defer { try? FileManager.default.removeItem(at: dir) }

        let data2 = dir.appendingPathComponent("data-n2")
        try CLI.succeed(["simulate", "--example", "bm", "--paths-per-mu", "200", "--output", data2.path], ranks: 2)
        try #expect(folderContents(data2) == folderContents(f.data), "simulate -n 2 differs from simulate without mpirun")

        let reference = try folderContents(f.labels)
        #expect(Set(reference.keys).isSuperset(of: ["x.npy", "mu.npy", "z.npy", "label.npy", "labels.json"]))
        for ranks in [1, 2, 4] {
            let out = dir.appendingPathComponent("labels-n\(ranks)")
            try CLI.succeed(["label", "--data", f.data.path, "--output", out.path] + Fixture.labelArguments, ranks: ranks)
            let got = try folderContents(out)
            #expect(got.keys.sorted() == reference.keys.sorted())
            for (name, bytes) in reference {
                #expect(got[name] == bytes, "\(name) under mpirun -n \(ranks) differs from the run without mpirun")
            }
        }
        let (label, shape) = try NPY.read(f.labels.appendingPathComponent("label.npy").path)
        #expect(shape == [1500, 1])
        #expect(label.allSatisfy { $0.isFinite })
    }

    /// Data-parallel training: -n 2 gives the weights of -n 1 up to float rounding, and they moved
    /// away from the initial weights.
    @Test func trainingOnTwoRanksMatchesOneRank() throws {
        let f = try Fixture.get()
        let dir = try scratchFolder("train")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model2 = dir.appendingPathComponent("model-n2")
        try CLI.succeed(["train", "--labels", f.labels.path, "--output", model2.path] + Fixture.trainArguments, ranks: 2)

        // Input [x, μ, z] = 3 wide for bm, hidden 32, 32, output 1; seed 1 (the default).
        let shape = MLPShape(input: 3, hidden: [32, 32], output: 1)
        let initial = MLP(shape: shape, seed: 1).parameters
        let sizes = [3, 32, 32, 1]
        for layer in 0..<3 {
            let name = "W\(layer).npy"
            let (w1, s1) = try NPY.read(f.model.appendingPathComponent(name).path)
            let (w2, s2) = try NPY.read(model2.appendingPathComponent(name).path)
            #expect(s1 == [sizes[layer + 1], sizes[layer]] && s2 == s1, "\(name) shapes \(s1), \(s2)")
            let diff = relativeMaxDifference(w1, w2)
            #expect(diff < 1e-3, "\(name): -n 1 and -n 2 differ by \(diff) (relative max)")
            let offset = shape.weightOffset(layer: layer)
            let w0 = initial[offset ..< offset + w1.count].map(Double.init)
            let moved = relativeMaxDifference(w0, w1)
            #expect(moved > 1e-3, "\(name) is (nearly) the untrained initial weights: moved only \(moved)")
        }
    }

    /// `train --output-prior quadratic` stores the prior in model.json and `sample` uses it: after 5
    /// epochs of a 32×32 network the one-step mean from x = 2 at μ = 0.5 (exact 2.05) is already
    /// right, since m̂ carries it (a sampler ignoring the prior gives the labels' overall mean, ≈ 2).
    @Test func anOutputPriorIsStoredAndSampled() throws {
        let f = try Fixture.get()
        let dir = try scratchFolder("prior")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("model"), out = dir.appendingPathComponent("x.npy")
        try CLI.succeed(["train", "--labels", f.labels.path, "--output", model.path, "--output-prior", "quadratic"] + Fixture.trainArguments, ranks: 2)
        let info = try readJSON(ModelInfo.self, from: model.appendingPathComponent("model.json").path)
        #expect(info.outputPrior?.dims == 2 && info.training.outputPrior == .quadratic)
        try CLI.succeed(["sample", "--model", model.path, "--x0", "2", "--mu", "0.5", "--steps", "1", "--count", "4000", "--output", out.path], ranks: 2)
        let (values, shape) = try NPY.read(out.path)
        #expect(shape == [4000, 2, 1])
        let ends = stride(from: 1, to: values.count, by: 2).map { values[$0] }
        let mean = ends.reduce(0, +) / Double(ends.count)
        let sd = (ends.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(ends.count - 1)).squareRoot()
        #expect(abs(mean - 2.05) < 0.025 && sd > 0 && sd.isFinite, "one step from 2 at μ = 0.5: mean \(mean), sd \(sd)")
    }

    /// `sample` at -n 1 and -n 3: same shape and bitwise the same values; NumPy loads the file.
    @Test func samplesAreIdenticalForAnyRankCount() throws {
        let f = try Fixture.get()
        let dir = try scratchFolder("sample")
        defer { try? FileManager.default.removeItem(at: dir) }
        let count = 2500, steps = 10  // three 1024-id sampling blocks, the last partial
        var files: [URL] = []
        for ranks in [1, 3] {
            let out = dir.appendingPathComponent("paths-n\(ranks).npy")
            try CLI.succeed(["sample", "--model", f.model.path, "--x0", "2.0", "--mu", "0.5", "--steps", String(steps),
                             "--count", String(count), "--output", out.path], ranks: ranks)
            files.append(out)
        }
        let (a, shapeA) = try NPY.read(files[0].path)
        let (b, shapeB) = try NPY.read(files[1].path)
        #expect(shapeA == [count, steps + 1, 1])
        #expect(shapeB == shapeA)
        #expect(a.allSatisfy { $0.isFinite })
        let differing = zip(a, b).filter { $0 != $1 }.count
        #expect(differing == 0, "\(differing) of \(a.count) values differ between -n 1 and -n 3 (max diff \(relativeMaxDifference(a, b)))")
        #expect(stride(from: 0, to: a.count, by: steps + 1).allSatisfy { a[$0] == 2.0 }, "trajectories must start at x0")

        let py = try CLI.python("import sys, numpy as np; a = np.load(sys.argv[1]); print(a.shape, a.dtype)", [files[1].path])
        #expect(py.status == 0, "\(py.report)")
        #expect(py.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "(\(count), \(steps + 1), 1) float64", "\(py.report)")
    }

    /// Example 1 (Brownian motion with drift μ) end to end on 2 ranks: one-step mean and variance
    /// from x0 = 2 match the exact law at every observed and in-between μ.
    @Test func brownianMotionQuickRunIsAccurate() throws {
        let dir = try scratchFolder("run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.succeed(["run", "--example", "bm", "--output", dir.path, "--quick", "--eval-samples", "20000"],
                                ranks: 2, timeout: 300)
        print(String(format: "CLITests: `run --example bm --quick --eval-samples 20000` on 2 ranks took %.1f s", r.seconds))
        let rows = try JSONDecoder().decode(Metrics.self,
                                            from: Data(contentsOf: dir.appendingPathComponent("eval/metrics.json"))).oneStep.rows
        #expect(rows.filter(\.observed).count == 21)
        #expect(rows.filter { !$0.observed }.count == 20)
        // The exact one-step law is N(x0 + 0.1 μ, 0.1): the standard error of a 20 000-sample
        // mean is 0.0022. A model that ignores μ is off by up to 0.1, a flipped drift by 0.2.
        for row in rows {
            let kind = row.observed ? "observed" : "in-between"
            #expect(row.meanError < 0.02, "\(kind) μ = \(row.mu): mean error \(row.meanError)")
            #expect(row.varianceRelativeError < 0.08, "\(kind) μ = \(row.mu): variance relative error \(row.varianceRelativeError)")
        }
    }

    /// 64 ranks on a small machine: a tiny `label` run completes and equals the 1-rank labels.
    @Test func sixtyFourRanksGiveTheSameLabels() throws {
        let dir = try scratchFolder("n64")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data")
        try CLI.succeed(["simulate", "--example", "bm", "--paths-per-mu", "50", "--output", data.path])
        let tiny = ["--labels", "640", "--neighbors", "50", "--ode-steps", "20"]
        var outputs: [Int: [String: Data]] = [:]
        for ranks in [1, 64] {
            let out = dir.appendingPathComponent("labels-n\(ranks)")
            let r = try CLI.succeed(["label", "--data", data.path, "--output", out.path] + tiny, ranks: ranks)
            if ranks == 64 { print(String(format: "CLITests: `label` on 64 ranks took %.1f s", r.seconds)) }
            outputs[ranks] = try folderContents(out)
        }
        #expect(outputs[1]?["label.npy"] != nil)
        #expect(outputs[64] == outputs[1], "labels on 64 ranks differ from 1 rank")
    }

    /// Bad input ends the job with the file's exit status (65) or the option's (64) and a message
    /// that names the file and the problem, on 1 rank and on 2 (no hang: a hang hits the
    /// timeout), and leaves no output.
    @Test func badInputFailsCleanly() throws {
        let f = try Fixture.get()
        let dir = try scratchFolder("bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = ["--labels", "100", "--neighbors", "50", "--ode-steps", "10"]

        // Data folders NumPy writes wrong: y with one row fewer; mu with a NaN in row 137.
        let script = """
            import sys, os, numpy as np
            root = sys.argv[1]
            r = np.random.default_rng(0)
            x = r.standard_normal((300, 1)); mu = r.uniform(-1, 1, (300, 1)); y = x + 0.1 * mu
            for name, (xa, ma, ya) in {"short-y": (x, mu, y[:299]), "nan-mu": (x, np.where(np.arange(300)[:, None] == 137, np.nan, mu), y)}.items():
                os.makedirs(f"{root}/{name}")
                for f, a in (("x", xa), ("mu", ma), ("y", ya)): np.save(f"{root}/{name}/{f}.npy", a)
            """
        let py = try CLI.python(script, [dir.path])
        try #require(py.status == 0, "\(py.report)")

        // (file or folder given, what the message must contain)
        let cases: [(data: String, mustSay: [String])] = [
            ("/nonexistent", ["/nonexistent"]),
            (dir.appendingPathComponent("short-y").path, ["y.npy", "rows"]),
            (dir.appendingPathComponent("nan-mu").path, ["mu.npy", "row 137"]),
        ]
        for c in cases {
            for ranks in [nil, 2] as [Int?] {
                let out = dir.appendingPathComponent("out-\(UUID().uuidString.prefix(6))")
                let r = try CLI.run(["label", "--data", c.data, "--output", out.path] + small, ranks: ranks, timeout: 60)
                #expect(r.status == 65, "\(r.report)")
                for text in c.mustSay { #expect(r.stderr.contains(text), "message should name \(text): \(r.report)") }
                #expect(!exists(out), "a failed label left \(out.path)")
            }
        }

        // The write itself fails (a folder stands where label.npy goes): nothing half-written.
        let blocked = dir.appendingPathComponent("blocked")
        try FileManager.default.createDirectory(at: blocked.appendingPathComponent("label.npy"), withIntermediateDirectories: true)
        let r = try CLI.run(["label", "--data", f.data.path, "--output", blocked.path] + small, timeout: 60)
        #expect(r.status == 65, "\(r.report)")
        #expect(r.stderr.contains("label.npy"), "\(r.report)")
        try #expect(FileManager.default.contentsOfDirectory(atPath: blocked.path) == ["label.npy"],
                "a failed write left files in \(blocked.path)")

        // An output path below a regular file: a plain message, not a Foundation error dump.
        let file = dir.appendingPathComponent("a-file")
        _ = FileManager.default.createFile(atPath: file.path, contents: Data("x".utf8))
        let below = try CLI.run(["label", "--data", f.data.path, "--output", file.appendingPathComponent("labels").path] + small,
                                timeout: 60)
        #expect(below.status == 65, "\(below.report)")
        #expect(below.stderr.contains("a-file: exists and is not a folder"), "\(below.report)")

        // Options that contradict each other: stopping early exists only for the exponential solver.
        let stopOut = dir.appendingPathComponent("stop-euler")
        let stop = try CLI.run(["label", "--data", f.data.path, "--output", stopOut.path, "--ode-solver", "euler",
                                "--ode-stop", "0.2"] + small, timeout: 60)
        #expect(stop.status == 64, "\(stop.report)")
        #expect(stop.stderr.contains("--ode-stop needs --ode-solver exponential"), "\(stop.report)")
        #expect(!exists(stopOut), "a rejected label left \(stopOut.path)")
        // ...but choosing the Euler solver alone drops the default stop instead of failing.
        let eulerOut = dir.appendingPathComponent("euler")
        try CLI.succeed(["label", "--data", f.data.path, "--output", eulerOut.path, "--ode-solver", "euler"] + small)
        let info = try JSONSerialization.jsonObject(with: Data(contentsOf: eulerOut.appendingPathComponent("labels.json")))
        let settings = (info as? [String: Any])?["settings"] as? [String: Any]
        #expect(settings?["solver"] as? String == "euler" && settings?["odeStop"] as? Double == 0, "\(String(describing: settings))")

        #expect(leftovers(in: dir).isEmpty, "temp files left: \(leftovers(in: dir))")
    }

    /// `sample` with an --x0 or --mu of the wrong dimension says which and what the model expects.
    @Test func sampleRejectsWrongDimensions() throws {
        let f = try Fixture.get()
        let dir = try scratchFolder("sample-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("paths.npy")
        for ranks in [nil, 2] as [Int?] {
            let r = try CLI.run(["sample", "--model", f.model.path, "--x0", "1.0,2.0", "--mu", "0.5", "--steps", "3",
                                 "--count", "10", "--output", out.path], ranks: ranks, timeout: 60)
            #expect(r.status == 64, "\(r.report)")
            #expect(r.stderr.contains("--x0 has 2 values; the model's state has d = 1"), "\(r.report)")
            let m = try CLI.run(["sample", "--model", f.model.path, "--x0", "1.0", "--mu", "0.5,1", "--steps", "3",
                                 "--count", "10", "--output", out.path], ranks: ranks, timeout: 60)
            #expect(m.status == 64, "\(m.report)")
            #expect(m.stderr.contains("--mu has 2 values"), "\(m.report)")
        }
        #expect(!exists(out))
        #expect(leftovers(in: dir).isEmpty)
    }

    /// A data folder written entirely by NumPy (float32, only {"dt": 0.1} as metadata) is
    /// accepted, and the labels are finite and of the right size (c (y − x) with c = 3).
    @Test func numPyWrittenDataIsAccepted() throws {
        let dir = try scratchFolder("numpy")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data")
        let script = """
            import sys, os, json, numpy as np
            d = sys.argv[1]; os.makedirs(d)
            r = np.random.default_rng(7); n = 4000
            x = r.standard_normal((n, 1)).astype(np.float32)
            mu = r.uniform(-1, 1, (n, 1)).astype(np.float32)
            y = (x + 0.1 * mu + np.sqrt(0.1) * r.standard_normal((n, 1))).astype(np.float32)
            for f, a in (("x", x), ("mu", mu), ("y", y)): np.save(f"{d}/{f}.npy", a)
            json.dump({"dt": 0.1}, open(f"{d}/dataset.json", "w"))
            """
        let py = try CLI.python(script, [data.path])
        try #require(py.status == 0, "\(py.report)")
        let out = dir.appendingPathComponent("labels")
        try CLI.succeed(["label", "--data", data.path, "--output", out.path,
                         "--labels", "500", "--neighbors", "100", "--ode-steps", "50"], ranks: 2)
        let (label, shape) = try NPY.read(out.appendingPathComponent("label.npy").path)
        #expect(shape == [500, 1])
        #expect(label.allSatisfy { $0.isFinite })
        let mean = label.reduce(0, +) / Double(label.count)
        let std = (label.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(label.count)).squareRoot()
        // c (y − x) with c = 0.966 / std(y − x) (bm's spread, `DataScales`): about 0.97.
        #expect(abs(std - 0.95) < 0.2, "label std \(std)")
    }

    /// Catches: label lengths (ν_x, ν_μ, c) that stay bm's (or, from d = 5, ou-nd's) whatever the
    /// units of a user's data. The
    /// same data in units 100 times smaller (x and y × 100) must give the same labels, c (y − x)
    /// being unit-free when c follows the data's spread (`DataScales`): before, they differed and a
    /// model of such data was 18.7 % off in variance instead of 1.5 %.
    @Test func unknownDataLabelsDoNotDependOnItsUnits() throws {
        let dir = try scratchFolder("units")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rng = CounterRNG(seed: 9), n = 3000
        // d = 1 (bm's settings carried) and d = 6 (ou-nd's): a logistic drift and noise ∝ x per component.
        for d in [1, 6] {
            let x = (0..<(n * d)).map { 1 + 0.3 * rng.normals(.initialState, id: UInt64($0), index: 0).0 }
            let mu = (0..<n).map { 0.5 + rng.uniforms(.split, id: UInt64($0), index: 0).0 }
            let y = x.indices.map { x[$0] + 0.1 * mu[$0 / d] * x[$0] * (1 - x[$0]) + 0.13 * x[$0] * rng.normals(.queryNoise, id: UInt64($0), index: 0).0 }
            var labels: [[Double]] = []
            for unit in [1.0, 100.0] {
                let data = dir.appendingPathComponent("data\(d)-\(Int(unit))"), out = dir.appendingPathComponent("labels\(d)-\(Int(unit))")
                try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
                try NPY.write(data.appendingPathComponent("x.npy").path, x.map { $0 * unit }, shape: [n, d])
                try NPY.write(data.appendingPathComponent("mu.npy").path, mu, shape: [n, 1])
                try NPY.write(data.appendingPathComponent("y.npy").path, y.map { $0 * unit }, shape: [n, d])
                try writeFileAtomically(data.appendingPathComponent("dataset.json").path, contents: "{\"dt\": 0.1}")
                try CLI.succeed(["label", "--data", data.path, "--output", out.path, "--labels", "300", "--neighbors", "200", "--ode-steps", "20"], ranks: 1)
                labels.append(try NPY.read(out.appendingPathComponent("label.npy").path).values)
            }
            let mean = labels[0].reduce(0, +) / Double(labels[0].count), sd = (labels[0].reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(labels[0].count)).squareRoot()
            let worst = zip(labels[0], labels[1]).map { abs($0 - $1) }.max()!
            #expect(sd > 0.5 && sd < 2, "d = \(d): c (y − x) should have a spread of order 1: \(sd)")
            #expect(worst < 1e-3 * sd, "d = \(d): labels of the data in other units differ by up to \(worst) (spread \(sd))")
        }
    }

    /// Catches: user data in d = 6 getting the cross-term fit by default (p = 13 instead of 7
    /// columns, O(K p²) per query), while d = 1 user data keeps it.
    @Test func unknownDataPicksTheFitByDimension() throws {
        let dir = try scratchFolder("wide")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rng = CounterRNG(seed: 5)
        // (d, dμ) → estimator, stop, finish (UnknownDataDefaults): bm's wide labels below d = 5
        // (local-linear past 4 cross terms, matrix finish from d = 3), the local-Gaussian labels
        // from d = 5 (bilinear up to 20 cross terms).
        let cases = [(1, 1, "local-bilinear", "0.2", "diagonal"), (3, 2, "local-linear", "0.2", "matrix"),
                     (6, 1, "local-bilinear", "10", "matrix"), (21, 1, "local-linear", "10", "matrix")]
        for (d, dMu, estimator, stop, finish) in cases {
            let data = dir.appendingPathComponent("data\(d)"), out = dir.appendingPathComponent("labels\(d)")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            let n = 800
            let x = (0..<(n * d)).map { rng.normals(.initialState, id: UInt64($0), index: 0).0 }
            let mu = (0..<(n * dMu)).map { rng.uniforms(.split, id: UInt64($0), index: 0).0 }
            let y = x.indices.map { x[$0] + 0.3 * rng.normals(.queryNoise, id: UInt64($0), index: 0).0 }
            try NPY.write(data.appendingPathComponent("x.npy").path, x, shape: [n, d])
            try NPY.write(data.appendingPathComponent("mu.npy").path, mu, shape: [n, dMu])
            try NPY.write(data.appendingPathComponent("y.npy").path, y, shape: [n, d])
            try writeFileAtomically(data.appendingPathComponent("dataset.json").path, contents: "{\"dt\": 0.1}")
            try CLI.succeed(["label", "--data", data.path, "--output", out.path,
                             "--labels", "40", "--neighbors", "100", "--ode-steps", "10"], ranks: 1)
            let json = try String(contentsOf: out.appendingPathComponent("labels.json"), encoding: .utf8)
            for key in ["\"estimator\" : \"\(estimator)\"", "\"odeStop\" : \(stop)", "\"finish\" : \"\(finish)\""] {
                #expect(json.contains(key), "d = \(d), dμ = \(dMu): \(key) missing in \(json)")
            }
        }
    }
}
