import Foundation
import SDEFlowCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Restarting killed and stopped jobs under mpirun (README, "Restarting a killed job"): a rank
// killed mid-label, stop signals, a stalled rank, a second job on the same output. The labels
// of every interrupted-and-resumed run must equal, byte for byte, those of an uninterrupted run.

/// Data and uninterrupted labels for the restart tests: enough work (a few seconds on 2 ranks,
/// blocks of 100 queries) to interrupt it part-way.
struct ResumeFixture: Sendable {
    static let labelArguments = ["--labels", "8000", "--neighbors", "1500", "--ode-steps", "300", "--label-block", "100"]
    /// bm, 21 μ × 100 paths × 10 steps.
    let data: URL
    /// Labels of `data`, uninterrupted, one rank.
    let labels: URL

    private static let made: Result<ResumeFixture, any Error> = Result {
        let root = Fixture.root.appendingPathComponent("resume-fixture")
        let data = root.appendingPathComponent("data"), labels = root.appendingPathComponent("labels")
        let simulate = try CLI.run(["simulate", "--example", "bm", "--paths-per-mu", "100", "--output", data.path])
        guard simulate.status == 0 else { throw FixtureError(result: simulate) }
        let label = try CLI.run(["label", "--data", data.path, "--output", labels.path] + labelArguments)
        guard label.status == 0 else { throw FixtureError(result: label) }
        return ResumeFixture(data: data, labels: labels)
    }

    static func get() throws -> ResumeFixture { try made.get() }

    func label(_ output: URL) -> [String] { ["label", "--data", data.path, "--output", output.path] + Self.labelArguments }
}

/// The label checkpoint files of `folder`: writer pid, rank and attempt from each header, and the size.
func checkpointFiles(_ folder: URL) -> [(attempt: Int, rank: Int, pid: Int32, bytes: Int)] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return names.filter { $0.hasSuffix(".labels") }.compactMap { name in
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path), data.count > 12 else { return nil }
        let n = Int(data[8..<12].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        guard data.count >= 12 + n, let header = try? JSONSerialization.jsonObject(with: data[12 ..< 12 + n]) as? [String: Any],
              let attempt = header["attempt"] as? Int, let rank = header["rank"] as? Int, let pid = header["pid"] as? Int else { return nil }
        return (attempt, rank, Int32(pid), data.count)
    }
}

/// Polls `condition` every 50 ms until it holds; records an issue (and returns false) if `job`
/// ends first or `timeout` passes.
func waitUntil(_ job: RunningCommand, timeout: Double = 60, _ what: String, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if condition() { return true }
        if !job.process.isRunning { Issue.record("`\(job.command)` ended before \(what):\n\(job.stderrSoFar)"); return false }
        usleep(50_000)
    }
    Issue.record("no \(what) within \(timeout) s:\n\(job.stderrSoFar)")
    return false
}

/// The number in "resume: N labels restored" (0 if the run restored nothing).
func restoredLabels(_ log: String) -> Int {
    guard let r = log.range(of: #"resume: (\d+) labels restored"#, options: .regularExpression) else { return 0 }
    return Int(log[r].split(separator: " ")[1]) ?? 0
}

@Suite(.serialized)
struct ResumeCLITests {
    /// One record of a 100-query block (d = dμ = 1): magic, count, ids, 5 values per query, checksum.
    static let recordBytes = 4 + 4 + 100 * 8 + 100 * 5 * 8 + 8

    @Test func aRankKilledMidLabelIsResumedAtAnotherRankCountWithIdenticalLabels() throws {
        let f = try ResumeFixture.get()
        let dir = try scratchFolder("killed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("labels"), partial = dir.appendingPathComponent("labels.partial")
        let job = try CLI.launch(f.label(out), ranks: 2)
        let rank1 = { checkpointFiles(partial).first { $0.rank == 1 } }
        guard waitUntil(job, "3 saved blocks of rank 1", { (rank1()?.bytes ?? 0) > 500 + 3 * Self.recordBytes }) else { return }
        let rank0 = checkpointFiles(partial).first { $0.rank == 0 }?.pid
        kill(rank1()!.pid, SIGKILL)
        let killed = try job.wait(timeout: 60)
        #expect(killed.status != 0, "\(killed.report)")
        // mpirun may return before the other rank is gone; the lock names it until then.
        for _ in 0..<300 where rank0.map({ kill($0, 0) == 0 }) == true { usleep(100_000) }

        let resumed = try CLI.succeed(f.label(out), ranks: 3)
        #expect(restoredLabels(resumed.stderr) >= 400, "\(resumed.report)")
        try #expect(folderContents(out) == folderContents(f.labels), "resumed labels differ from the uninterrupted run")
        #expect(!exists(partial) && !exists(dir.appendingPathComponent("labels.lock")) && leftovers(in: dir).isEmpty)
    }

    /// Stops by signal, one after another on the same output, each resuming the last: every one
    /// saves, tells how to resume and exits with 128 + signal (mpirun itself exits 1 on SIGTERM).
    @Test func aStopSignalSavesTellsHowToResumeAndEndsWith128PlusTheSignal() throws {
        let f = try ResumeFixture.get()
        let dir = try scratchFolder("signal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("labels"), partial = dir.appendingPathComponent("labels.partial")
        func saved() -> Int { checkpointFiles(partial).reduce(0) { $0 + $1.bytes } }
        // (ranks, how the signal is sent, expected status, what the resume line starts with)
        let stops: [(Int?, String, Int32, String)] = [
            (nil, "SIGTERM to the process", 143, CLI.binary),
            (2, "SIGUSR1 to mpirun (which forwards it)", 138, "mpirun -n 2 "),
            (2, "SIGTERM to every rank (as srun and Slurm deliver it)", 143, "mpirun -n 2 "),
            (2, "SIGTERM to mpirun (which SIGTERMs the ranks and SIGKILLs them odls_base_sigkill_timeout s later)", 1, "mpirun -n 2 "),
        ]
        for (ranks, how, status, resumeLine) in stops {
            let before = saved()
            let job = try CLI.launch(f.label(out), ranks: ranks)
            guard waitUntil(job, "2 more saved blocks (\(how))", { saved() > before + 2 * Self.recordBytes + 500 }) else { return }
            let attempt = checkpointFiles(partial).map(\.attempt).max() ?? 0
            switch how {
            case _ where how.hasPrefix("SIGUSR1"): job.signal(SIGUSR1)
            case _ where how.hasPrefix("SIGTERM to every rank"):
                for file in checkpointFiles(partial) where file.attempt == attempt { kill(file.pid, SIGTERM) }
            default: job.signal(SIGTERM)
            }
            let r = try job.wait(timeout: 60)
            let signal = how.hasPrefix("SIGUSR1") ? "SIGUSR1" : "SIGTERM"
            #expect(r.status == status, "\(how): \(r.report)")
            #expect(r.stderr.contains("stopped by \(signal): labels: ") && r.stderr.contains("queries are saved in \(partial.path)"), "\(how): \(r.report)")
            #expect(r.stderr.contains("to resume, run the same command again:\n  \(resumeLine)"), "\(how): \(r.report)")
            #expect(!exists(out), "\(how): a stopped run wrote the labels")
        }
        let last = try CLI.succeed(f.label(out), ranks: 3)
        #expect(restoredLabels(last.stderr) > 0, "\(last.report)")
        try #expect(folderContents(out) == folderContents(f.labels), "labels after four stops differ from the uninterrupted run")
        #expect(!exists(partial) && leftovers(in: dir).isEmpty)
    }

    /// jobs/mpirun.sh passes SIGTERM, SIGINT and SIGHUP to the ranks as SIGUSR1 and, when they stop with
    /// 138, ends with 128 + the signal it was sent; a job that ends by itself keeps its status.
    /// The ranks stand in for sdeflow-mpi's (SIGUSR1 → 138), whose part the test above covers.
    @Test func theMpirunScriptEndsAStoppedJobWith128PlusTheSignal() throws {
        let dir = try scratchFolder("mpirun-script")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rank = "trap 'exit 138' USR1; touch \(dir.path)/ready.$OMPI_COMM_WORLD_RANK; while :; do sleep 0.05; done"
        for (signal, status) in [(SIGTERM, Int32(143)), (SIGINT, 130), (SIGHUP, 129)] {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] {
                try FileManager.default.removeItem(at: dir.appendingPathComponent(file))
            }
            let job = try CLI.start(CLI.mpirunScript, ["--oversubscribe", "-n", "2", "/bin/bash", "-c", rank])
            guard waitUntil(job, "both ranks ready", { ["0", "1"].allSatisfy { exists(dir.appendingPathComponent("ready.\($0)")) } })
            else { return }
            job.signal(signal)
            let r = try job.wait(timeout: 30)
            #expect(r.status == status && r.stderr.contains("asking the ranks to save and stop"), "signal \(signal): \(r.report)")
        }
        let ended = try CLI.execute(CLI.mpirunScript, ["--oversubscribe", "-n", "2", "/bin/bash", "-c", "exit 3"], timeout: 30)
        #expect(ended.status == 3, "\(ended.report)")
    }

    @Test func trainingStoppedBySIGUSR1ResumesBitwiseAtTheSameRankCount() throws {
        let f = try ResumeFixture.get()
        let dir = try scratchFolder("train-resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let arguments = ["--hidden", "128,128,128", "--max-epochs", "60", "--patience", "100", "--checkpoint-every", "2"]
        func train(_ out: URL) -> [String] { ["train", "--labels", f.labels.path, "--output", out.path] + arguments }
        let reference = dir.appendingPathComponent("reference"), out = dir.appendingPathComponent("model")
        try CLI.succeed(train(reference), ranks: 2)
        let job = try CLI.launch(train(out), ranks: 2)
        guard waitUntil(job, "a training checkpoint", { exists(dir.appendingPathComponent("model.partial/train.ckpt")) }) else { return }
        job.signal(SIGUSR1)
        let stopped = try job.wait(timeout: 60)
        #expect(stopped.status == 138, "\(stopped.report)")
        #expect(stopped.stderr.contains("stopped by SIGUSR1: training: the state after epoch"), "\(stopped.report)")
        let resumed = try CLI.succeed(train(out), ranks: 2)
        #expect(resumed.stderr.contains("resume: training continues after epoch"), "\(resumed.report)")
        try #expect(folderContents(out) == folderContents(reference), "the resumed model differs from the uninterrupted one")
        #expect(!exists(dir.appendingPathComponent("model.partial")))
    }

    @Test func aStoppedRankEndsTheJobAfterTheStallTimeout() throws {
        let f = try ResumeFixture.get()
        let dir = try scratchFolder("stall")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("labels"), partial = dir.appendingPathComponent("labels.partial")
        let job = try CLI.launch(f.label(out) + ["--stall-timeout", "2"], ranks: 2)
        guard waitUntil(job, "a saved block of rank 1", { checkpointFiles(partial).contains { $0.rank == 1 } }) else { return }
        let rank1 = checkpointFiles(partial).first { $0.rank == 1 }!.pid
        kill(rank1, SIGSTOP)
        let r = try job.wait(timeout: 60)
        if let cmd = FileManager.default.contents(atPath: "/proc/\(rank1)/cmdline"), String(decoding: cmd, as: UTF8.self).contains("sdeflow-mpi") {
            kill(rank1, SIGKILL)  // mpirun should have ended it
        }
        #expect(r.status == 124, "\(r.report)")
        #expect(r.stderr.contains("rank 0 of 2: no progress for") && r.stderr.contains("for the other ranks"), "\(r.report)")
        #expect(r.stderr.contains("--stall-timeout or SDEFLOW_STALL_TIMEOUT sets this limit, now 2 s"), "\(r.report)")
    }

    /// Second probe, finding 12: a stop signal to a stage that keeps no checkpoint (sample) ended
    /// it with 143 but nothing said, and its output's lock left behind.
    @Test func aStopSignalToSampleSaysSoAndLeavesNoLock() throws {
        try SmallRun.get()
        let dir = try scratchFolder("sample-stop")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("paths.npy"), lock = dir.appendingPathComponent("paths.npy.lock")
        let job = try CLI.launch(["sample", "--model", SmallRun.model.path, "--x0", "0", "--mu", "0.5", "--steps", "100",
                                  "--count", "3000000", "--output", out.path], ranks: nil)
        guard waitUntil(job, "the output lock", { exists(lock) }) else { return }
        usleep(300_000)
        job.signal(SIGTERM)
        let r = try job.wait(timeout: 60)
        // Exits with 128 + signal, as a stage that saved does (it died by the signal before: a
        // parent saw the signal, 15, not a status).
        #expect(r.status == 128 + SIGTERM && r.stderr.contains("sdeflow-mpi: stopped by SIGTERM: this stage keeps no checkpoint"), "\(r.report)")
        #expect(!exists(lock) && !exists(out), "\(r.report)")
    }

    @Test func aSecondJobOnTheSameOutputIsRefusedAtItsStart() throws {
        let f = try ResumeFixture.get()
        let dir = try scratchFolder("second")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("labels"), lock = dir.appendingPathComponent("labels.lock")
        // The first job has more ODE steps than the fixture's, so it is still running when the others try.
        let slow = f.label(out).map { $0 == "300" ? "3000" : $0 }
        let first = try CLI.launch(slow, ranks: 2)
        guard waitUntil(first, "the output lock", { exists(lock) }) else { return }
        let holder = (try? String(contentsOf: lock, encoding: .utf8)) ?? ""
        let pid = holder.split(separator: "\n").first { $0.hasPrefix("pid ") }.map(String.init) ?? "pid ?"
        for ranks in [nil, 2] as [Int?] {
            let second = try CLI.run(f.label(out), ranks: ranks, timeout: 60)
            #expect(second.status != 0, "\(second.report)")
            #expect(second.stderr.contains("is being written by another sdeflow-mpi job (host ") && second.stderr.contains("\(pid), started"),
                    "\(second.report)")
            #expect(!second.stderr.contains("label: "), "the second job did work: \(second.report)")
        }
        #expect(first.process.isRunning, "the first job ended before the others tried: the test proves nothing")
        first.signal(SIGUSR1)
        let r = try first.wait(timeout: 60)
        #expect(r.status == 138 && r.stderr.contains("stopped by SIGUSR1"), "\(r.report)")
        #expect(!exists(lock), "the stopped job left its lock")
    }

    @Test func outputsOverlappingInputsOrUnwritableAreRefusedBeforeAnyWork() throws {
        let f = try Fixture.get()
        let dir = try scratchFolder("overlap")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: f.data, to: run.appendingPathComponent("data"))
        let notOutput = dir.appendingPathComponent("notes")
        try FileManager.default.createDirectory(at: notOutput.appendingPathComponent("drafts"), withIntermediateDirectories: true)
        let small = ["--labels", "100", "--neighbors", "50", "--ode-steps", "10"]
        let data = f.data.path, model = f.model.path, labels = f.labels.path
        let cases: [(arguments: [String], mustSay: String)] = [
            (["label", "--data", data, "--output", data] + small, "is the input --data"),
            (["label", "--data", data, "--output", data + "/labels"] + small, "lies inside the input --data"),
            (["label", "--data", run.appendingPathComponent("data").path, "--output", run.path] + small, "contains the input --data"),
            (["train", "--labels", labels, "--output", labels], "is the input --labels"),
            (["sample", "--model", model, "--x0", "1", "--mu", "0.5", "--steps", "2", "--count", "10", "--output", model + "/x.npy"],
             "lies inside the input --model"),
            (["evaluate", "--model", model, "--output", model], "is the input --model"),
            (["label", "--data", data, "--output", "/proc/sdeflow-cannot/labels"] + small, "/proc/sdeflow-cannot"),
            (["label", "--data", data, "--output", notOutput.path] + small, "holds the folder drafts"),
        ]
        let before = try [f.data, f.labels, f.model].map { try folderContents($0) }
        for c in cases {
            for ranks in [nil, 2] as [Int?] {
                let r = try CLI.run(c.arguments, ranks: ranks, timeout: 60)
                #expect(r.status != 0, "\(r.report)")
                #expect(r.stderr.contains(c.mustSay), "should say '\(c.mustSay)': \(r.report)")
                #expect(!r.stderr.contains("label: ") && !r.stderr.contains("training: ") && !r.stderr.contains("evaluate: "),
                        "work started before the refusal: \(r.report)")
            }
        }
        try #expect([f.data, f.labels, f.model].map { try folderContents($0) } == before, "an input changed")
        #expect(try FileManager.default.contentsOfDirectory(atPath: notOutput.path) == ["drafts"])
        #expect(leftovers(in: dir).isEmpty && leftovers(in: f.data).isEmpty)
    }

    /// `run` again after it finished (or stopped) keeps the complete stages of the same settings.
    @Test func runAgainKeepsTheCompleteStages() throws {
        let dir = try scratchFolder("run-again")
        defer { try? FileManager.default.removeItem(at: dir) }
        let arguments = ["run", "--example", "bm", "--output", dir.path, "--paths-per-mu", "50", "--labels", "1000", "--neighbors", "100",
                         "--ode-steps", "20", "--hidden", "16", "--max-epochs", "3", "--eval-samples", "200", "--path-samples", "100"]
        try CLI.succeed(arguments, ranks: 2)
        let first = try ["data", "labels", "model", "eval"].map { try folderContents(dir.appendingPathComponent($0)) }
        let again = try CLI.succeed(arguments, ranks: 2)
        for stage in ["data", "labels", "model"] {
            #expect(again.stderr.contains("run: \(dir.appendingPathComponent(stage).path) is complete and of these settings: kept"), "\(again.report)")
        }
        #expect(!again.stderr.contains("training: "), "\(again.report)")
        try #expect(["data", "labels", "model", "eval"].map { try folderContents(dir.appendingPathComponent($0)) } == first)
        let fresh = try CLI.succeed(arguments + ["--fresh"], ranks: 2)
        #expect(!fresh.stderr.contains("kept") && fresh.stderr.contains("training: "), "\(fresh.report)")
        try #expect(["data", "labels", "model", "eval"].map { try folderContents(dir.appendingPathComponent($0)) } == first)
        // Third probe, finding 8: a model trained on other labels, then labels of other data, put
        // in the run's folders, were kept. Now each is made again (and comes out as before).
        let other = dir.appendingPathComponent("other").path
        try CLI.succeed(["simulate", "--example", "bm", "--output", other + "/d", "--paths-per-mu", "50", "--seed", "9"])
        try CLI.succeed(["label", "--data", other + "/d", "--output", other + "/l", "--labels", "1000", "--neighbors", "100", "--ode-steps", "20"])
        try CLI.succeed(["train", "--labels", other + "/l", "--output", other + "/m", "--hidden", "16", "--max-epochs", "3"])
        for (stage, swapped) in [("model", other + "/m"), ("labels", other + "/l")] {
            let folder = dir.appendingPathComponent(stage).path
            try FileManager.default.removeItem(atPath: folder)
            try FileManager.default.moveItem(atPath: swapped, toPath: folder)
            let redone = try CLI.succeed(arguments, ranks: 2)
            #expect(!redone.stderr.contains("\(folder) is complete") && redone.stderr.contains("training: "), "\(redone.report)")
            try #expect(["data", "labels", "model", "eval"].map { try folderContents(dir.appendingPathComponent($0)) } == first)
        }
    }
}
