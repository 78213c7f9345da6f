import Foundation
import SDEFlowCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

// End-to-end tests of `evaluate` and `inspect` on a tiny model trained for the purpose.
// Processes are run through ProcessHarness.swift's `CLI`.

private struct EvalTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A tiny bm model (seconds to make), built once per test process.
private enum TinyModel {
    /// `<tmp>/sdeflow-eval-tests-<pid>`; folders of earlier runs whose process is gone are removed.
    static let root = perProcessScratchRoot(prefix: "sdeflow-eval-tests-")

    static let made: Swift.Result<URL, any Error> = Swift.Result {
        let data = root.appendingPathComponent("data"), labels = root.appendingPathComponent("labels")
        let model = root.appendingPathComponent("model")
        for args in [["simulate", "--example", "bm", "--paths-per-mu", "100", "--output", data.path],
                     ["label", "--data", data.path, "--output", labels.path, "--labels", "1000", "--neighbors", "100", "--ode-steps", "50"],
                     ["train", "--labels", labels.path, "--output", model.path, "--hidden", "16,16", "--max-epochs", "3"]] {
            let r = try CLI.run(args)
            guard r.status == 0 else { throw EvalTestError("preparing the tiny model failed: \(r.report)") }
        }
        return model
    }

    static func get() throws -> URL { try made.get() }
}

@Suite(.serialized)
struct EvaluateTests {
    /// `evaluate` samples on all ranks by fixed blocks of global ids: metrics.json and
    /// report.html are byte-identical for 1 and 2 ranks (and without mpirun).
    @Test func evaluateGivesIdenticalMetricsForAnyRankCount() throws {
        let model = try TinyModel.get()
        var metrics: [Data] = [], reports: [Data] = []
        for ranks in [nil, 1, 2] as [Int?] {
            let out = TinyModel.root.appendingPathComponent("eval-\(ranks.map(String.init) ?? "single")")
            let r = try CLI.run(["evaluate", "--model", model.path, "--example", "bm", "--output", out.path,
                                     "--samples", "3000", "--path-samples", "1500"], ranks: ranks)
            #expect(r.status == 0, "\(r.report)")
            #expect(r.stdout.contains("headline") && r.stdout.contains("between"), "\(r.report)")
            metrics.append(try Data(contentsOf: out.appendingPathComponent("metrics.json")))
            reports.append(try Data(contentsOf: out.appendingPathComponent("report.html")))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.contains(".tmp.") }
            #expect(leftovers.isEmpty)
        }
        #expect(metrics[0] == metrics[1] && metrics[1] == metrics[2], "metrics.json differs between rank counts")
        #expect(reports[0] == reports[2], "report.html differs between rank counts")

        struct Metrics: Decodable {
            struct Section: Decodable { let samples: Int; let steps: Int; let rows: [LawRow] }
            let example: String
            let oneStep: Section
            let multiStep: Section
            let headline: [HeadlineEntry]
        }
        let m = try JSONDecoder().decode(Metrics.self, from: metrics[0])
        #expect(m.example == "bm" && m.oneStep.samples == 3000 && m.multiStep.steps == 10)
        #expect(m.oneStep.rows.count == 41 && m.oneStep.rows.filter { !$0.observed }.count == 20)
        #expect(m.oneStep.rows.allSatisfy { $0.w1.count == 1 && $0.w1[0].isFinite && $0.w1Reference[0] > 0 })
        #expect(m.headline.contains { $0.key == "multiStep.between.maxMeanError" })
        let html = String(decoding: reports[0], as: UTF8.self)
        #expect(html.contains("<svg") && !html.contains("http://") && !html.contains("https://") && !html.contains("<script"))
    }

    @Test func evaluateRejectsBadInputClearly() throws {
        let model = try TinyModel.get()
        let out = TinyModel.root.appendingPathComponent("bad-eval").path
        let unknown = try CLI.run(["evaluate", "--model", model.path, "--example", "nope", "--output", out])
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown example 'nope'"), "\(unknown.report)")
        let wrongD = try CLI.run(["evaluate", "--model", model.path, "--example", "ou2d", "--output", out])
        #expect(wrongD.status != 0 && wrongD.stderr.contains("d = 1") && wrongD.stderr.contains("d = 2"), "\(wrongD.report)")
        // (Rank 0 no longer holds every sample: a batch of at most 1 GiB, `evaluationBatchesStayWithinTheirBytes`.)
        let noModel = try CLI.run(["evaluate", "--model", out + "-missing", "--output", out], ranks: 2)
        #expect(noModel.status != 0 && noModel.stderr.contains("model.json"), "\(noModel.report)")
        #expect(!FileManager.default.fileExists(atPath: out))
        // Third probe, finding 7: without observedMu in model.json, `--example ou` (μ in [0.5, 2])
        // was compared at μ the bm model (μ in [−1, 1]) never saw; its trained range now decides.
        let bare = TinyModel.root.appendingPathComponent("bare-model")
        try? FileManager.default.removeItem(at: bare)
        try FileManager.default.copyItem(at: model, to: bare)
        let json = bare.appendingPathComponent("model.json")
        var info = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        info["observedMu"] = nil; info["muRange"] = nil
        try JSONSerialization.data(withJSONObject: info).write(to: json)
        let otherRange = try CLI.run(["evaluate", "--model", bare.path, "--example", "ou", "--output", out])
        #expect(otherRange.status == 64 && otherRange.stderr.contains("the μ \(bare.path) was trained on span [-1, 1]"), "\(otherRange.report)")
    }

    /// `inspect` writes (P, 3d) drift/diffusion estimates, the truth and an SVG; identical for 1 and 2 ranks.
    @Test func inspectWritesDriftAndDiffusion() throws {
        let model = try TinyModel.get()
        var arrays: [Data] = []
        for ranks in [1, 2] {
            let stem = TinyModel.root.appendingPathComponent("inspect-\(ranks)/flow").path
            let r = try CLI.run(["inspect", "--model", model.path, "--mu", "-0.5", "--x-range", "-3:3", "--points", "7",
                                     "--samples", "2000", "--output", stem + ".npy"], ranks: ranks)
            #expect(r.status == 0, "\(r.report)")
            let (values, shape) = try NPY.read(stem + ".npy")
            #expect(shape == [7, 3])
            #expect(values[0] == -3 && values[18] == 3)
            let (truth, truthShape) = try NPY.read(stem + "_truth.npy")
            #expect(truthShape == [7, 3] && truth[1] == -0.5 && truth[2] == 1)
            let svg = try String(contentsOfFile: stem + ".svg", encoding: .utf8)
            #expect(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.contains("polyline"))
            arrays.append(try Data(contentsOf: URL(fileURLWithPath: stem + ".npy")))
        }
        #expect(arrays[0] == arrays[1], "inspect output differs between 1 and 2 ranks")
        // Fourth probe: without an overlay, the truth of the earlier run was left beside the new arrays.
        let stem = TinyModel.root.appendingPathComponent("inspect-1/flow").path
        let plain = try CLI.run(["inspect", "--model", model.path, "--mu", "0.5", "--x-range", "-3:3", "--points", "7",
                                 "--samples", "200", "--output", stem, "--example", "none"])
        #expect(plain.status == 0 && !FileManager.default.fileExists(atPath: stem + "_truth.npy"), "\(plain.report)")
        // Seventh probe: a one-character output name in the current folder (the README's `--output F`)
        // trapped after the sampling (NSString's deletingLastPathComponent).
        let here = TinyModel.root.appendingPathComponent("inspect-short")
        try FileManager.default.createDirectory(at: here, withIntermediateDirectories: true)
        let short = try CLI.run(["inspect", "--model", model.path, "--mu", "0.5", "--x-range", "-3:3", "--points", "7",
                                 "--samples", "200", "--output", "F"], in: here)
        #expect(short.status == 0 && FileManager.default.fileExists(atPath: here.appendingPathComponent("F.npy").path), "\(short.report)")
        let bad = try CLI.run(["inspect", "--model", model.path, "--mu", "0", "--x-range", "-3..3", "--output",
                                   TinyModel.root.appendingPathComponent("bad-inspect").path])
        #expect(bad.status != 0 && bad.stderr.contains("--x-range") && bad.stderr.contains("A:B"), "\(bad.report)")
        let twoRanges = try CLI.run(["inspect", "--model", model.path, "--mu", "0", "--x-range", "-3:3,0:0", "--output",
                                         TinyModel.root.appendingPathComponent("bad-inspect").path])
        #expect(twoRanges.status != 0 && twoRanges.stderr.contains("d = 1"), "\(twoRanges.report)")
    }
}
