import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// `sdeflow-mpi bench` under mpirun: the JSON has every section, with positive numbers. No timing
// thresholds: this machine is shared, figures belong in BENCHMARKS.md, not in a pass/fail test.

@Suite(.serialized)
struct BenchTests {
    /// A tiny bench on 2 ranks writes JSON with every section and positive figures.
    @Test func tinyBenchOnTwoRanksWritesEverySection() throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("sdeflow-bench-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let r = try CLI.execute(
            CLI.mpirun,
            ["--oversubscribe", "-n", "2", CLI.binary, "bench", "--pairs", "20000", "--queries", "20",
             "--ode-steps", "50", "--json", json.path],
            timeout: 120)
        try #require(r.status == 0, "\(r.report)")
        print(String(format: "BenchTests: tiny bench on 2 ranks took %.1f s", r.seconds))
        let top = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])

        func section(_ name: String) -> [String: Any] {
            let s = top[name] as? [String: Any]
            #expect(s != nil, "section \(name) missing: \(top.keys.sorted())")
            return s ?? [:]
        }
        /// A positive number, or an array of positive numbers (one per rank, `ranks` long).
        func positive(_ s: [String: Any], _ keys: [String], in name: String, perRank: Bool = false) {
            for key in keys {
                if perRank {
                    let v = (s[key] as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue } ?? []
                    #expect(v.count == 2 && v.allSatisfy { $0 > 0 && $0.isFinite }, "\(name).\(key) = \(s[key] ?? "missing")")
                } else {
                    let v = (s[key] as? NSNumber)?.doubleValue
                    #expect(v != nil && v! > 0 && v!.isFinite, "\(name).\(key) = \(s[key] ?? "missing")")
                }
            }
        }

        let machine = section("machine")
        #expect((machine["ranks"] as? NSNumber)?.intValue == 2)
        #expect(machine["oversubscribed"] is Bool, "machine.oversubscribed = \(machine["oversubscribed"] ?? "missing")")
        #expect(!((machine["cpu_model"] as? String) ?? "").isEmpty)
        #expect(!((machine["hostname"] as? String) ?? "").isEmpty)
        positive(machine, ["nproc"], in: "machine")

        let kernel = section("label_kernel")
        positive(kernel, ["aggregate_neighbour_steps_per_second", "mean_per_rank", "rank0_alone_neighbour_steps_per_second",
                          "ratio_to_roofline", "wall_seconds"], in: "label_kernel")
        positive(kernel, ["neighbour_steps_per_second_per_rank", "ratio_to_roofline_per_rank"], in: "label_kernel", perRank: true)

        let roof = section("roofline")
        positive(roof, ["rank0_alone_elements_per_second", "all_ranks_mean_per_rank", "all_ranks_aggregate", "sharing_factor"],
                 in: "roofline")
        positive(roof, ["all_ranks_per_rank"], in: "roofline", perRank: true)

        let knn = section("neighbour_search")
        positive(knn, ["pairs", "build_seconds", "microseconds_per_query", "aggregate_queries_per_second"], in: "neighbour_search")
        positive(knn, ["microseconds_per_query_per_rank", "build_seconds_per_rank"], in: "neighbour_search", perRank: true)

        let labeler = section("labeler")
        positive(labeler, ["milliseconds_per_query", "aggregate_queries_per_second", "projected_paper_label_seconds"], in: "labeler")
        positive(labeler, ["milliseconds_per_query_per_rank"], in: "labeler", perRank: true)
        positive(section("projection"), ["kernel_seconds", "neighbour_search_seconds", "label_stage_seconds"], in: "projection")

        let training = top["training"] as? [[String: Any]] ?? []
        #expect(training.map { $0["name"] as? String } == ["3x128", "4x256"], "training: \(top["training"] ?? "missing")")
        for net in training {
            let name = "training.\(net["name"] ?? "?")"
            positive(net, ["samples_per_second", "seconds_per_epoch", "seconds_per_step", "allreduce_seconds_per_step"], in: name)
            positive(net, ["allreduce_seconds_per_step_per_rank"], in: name, perRank: true)
        }

        let memory = section("memory")
        positive(memory, ["max_peak_mib", "total_peak_mib"], in: "memory")
        positive(memory, ["peak_mib_per_rank"], in: "memory", perRank: true)
        #expect(top["end_to_end"] == nil, "end_to_end is off by default")
    }

    /// knn-high at a tiny size without FAISS (not installed for the suite): one table per (D, K)
    /// with a positive Swift time per round, its exact check passed, no FAISS figures, and the
    /// output saying FAISS was not run; without --knn-dims the section is absent.
    @Test func knnHighRunsSwiftOnlyWithoutFAISS() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sdeflow-knn-high-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = dir.appendingPathComponent("bench.json").path, work = dir.appendingPathComponent("work").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let others = ["bench", "--skip", "label,knn,labeler,training,memory"]
        let r = try CLI.execute(CLI.binary, others + ["--knn-dims", "5,11", "--knn-points", "3000", "--knn-ks", "10,100",
                                                      "--rounds", "2", "--work-dir", work, "--json", json], timeout: 60)
        try #require(r.status == 0, "\(r.report)")
        #expect(r.stdout.contains("FAISS not run"), "\(r.report)")
        let top = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let knn = try #require(top["knn_high"] as? [String: Any], "\(top.keys.sorted())")
        #expect(knn["faiss_run"] as? Bool == false)
        let dims = knn["dims"] as? [[String: Any]] ?? []
        #expect(dims.map { ($0["dims"] as? NSNumber)?.intValue } == [5, 11])
        for d in dims {
            let tables = d["tables"] as? [[String: Any]] ?? []
            #expect(tables.map { ($0["k"] as? NSNumber)?.intValue } == [10, 100])
            for t in tables {
                let ms = (t["swift_ms_per_query"] as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue } ?? []
                #expect(ms.count == 2 && ms.allSatisfy { $0 > 0 && $0.isFinite }, "\(t)")
                #expect(t["exact_check_passed"] as? Bool == true, "\(t)")
                #expect(t["faiss_ms_per_query"] == nil && t["median_ratio"] == nil, "\(t)")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).isEmpty, "the section's data folder is removed")

        let off = try CLI.execute(CLI.binary, others + ["--json", json], timeout: 60)
        try #require(off.status == 0, "\(off.report)")
        let plain = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        #expect(plain["knn_high"] == nil, "knn-high is off without --knn-dims")
    }

    /// knn-high's options are checked before any work, with a message naming the option.
    @Test func knnHighOptionsAreValidated() throws {
        for (args, says) in [(["--knn-dims", "11", "--knn-points", "100", "--knn-ks", "200"], "exceeds --knn-points"),
                             (["--knn-ks", "10"], "--knn-ks applies only to the knn-high section"),
                             (["--faiss-python", "python3", "--rounds", "2"], "--rounds, --faiss-python apply only to the knn-high section"),
                             (["--knn-dims", "11,x"], "--knn-dims: 'x'")] {
            let r = try CLI.execute(CLI.binary, ["bench"] + args, timeout: 30)
            #expect(r.status != 0, "\(r.report)")
            #expect(r.output.contains(says), "\(r.report)")
        }
    }

    /// An unknown section name in --skip is rejected before any work, naming it.
    @Test func unknownSkipSectionIsRejected() throws {
        let r = try CLI.execute(CLI.binary, ["bench", "--skip", "label,nonsense"], timeout: 30)
        #expect(r.status != 0, "\(r.report)")
        #expect(r.output.contains("nonsense"), "\(r.report)")
    }
}
