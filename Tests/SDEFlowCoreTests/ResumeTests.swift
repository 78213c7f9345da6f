import Foundation
import SDEFlowCore
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Checkpoints and restarts of the distributed stages, in-process (`LocalCollective`): a label
/// stage stopped part-way (one checkpoint record torn, as by a kill mid-write) and resumed at
/// another rank count gives bitwise the labels of an uninterrupted run; training stopped and
/// resumed at the same rank count gives bitwise the same model. The mpirun versions (SIGKILL,
/// signals) are in ResumeCLITests.
@Suite struct ResumeTests {
    static let settings: LabelSettings = {
        var s = SDEExample.rotatingOU.labels
        s.labels = 300; s.neighbors = 400
        return s
    }()
    static let info = DatasetInfo(dt: 0.1, example: "ou2d")

    /// Counts the queries handed to it (shared by the simulated ranks).
    final class CountingSink: LabelSink, @unchecked Sendable {
        let count = Atomic<Int>(0)
        func accept(_ queries: QueryBlock, labels: [Double], ess: [Double]) throws {
            count.add(queries.count, ordering: .relaxed)
        }
        var value: Int { count.load(ordering: .relaxed) }
    }

    static func scratch(_ name: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sdeflow-resume-\(name)-\(UUID().uuidString.prefix(8))").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The label stage at `ranks` with a checkpoint in `folder`, stopped by `stop`.
    static func label(ranks: Int, folder: String?, stop: StopRequest = .never, seed: UInt64 = 7, counter: CountingSink? = nil,
                      data: PairBlock = DistributedStageTests.data, settings s: LabelSettings = settings, fresh: Bool = false,
                      search: NeighbourSearch = .auto) throws -> LabelSet {
        try LocalCollective.run(ranks: ranks) { comm in
            try DistributedLabels.run(comm, source: data, info: info, settings: s, seed: seed, log: Log(rank: 1),
                                      sink: counter, search: search, checkpoint: folder.map { LabelCheckpoint(folder: $0, fresh: fresh) }, stop: stop, block: 40)
        }[0]
    }

    @Test func labelsResumedAtAnotherRankCountAreBitwiseThoseOfAnUninterruptedRun() throws {
        let reference = try Self.label(ranks: 1, folder: nil)
        let folder = Self.scratch("labels")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Stop once 100 queries are done (a rank may then stop inside a block: its finished part is saved).
        let first = CountingSink()
        let stop = StopRequest { first.value >= 100 ? SIGTERM : 0 }
        let interrupted = #expect(throws: JobInterrupted.self) { try Self.label(ranks: 2, folder: folder, stop: stop, counter: first) }
        #expect(interrupted?.signal == SIGTERM && interrupted?.saved.contains("are saved in \(folder)") == true, "\(String(describing: interrupted))")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".labels") }.sorted()
        #expect(files == ["a1-rank0.labels", "a1-rank1.labels"])
        // A kill in the middle of a write: the last record of rank 1's file loses its last 13 bytes.
        let torn = (folder as NSString).appendingPathComponent("a1-rank1.labels")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: torn)[.size] as? Int)
        #expect(truncate(torn, off_t(size - 13)) == 0)

        let second = CountingSink()
        let resumed = try Self.label(ranks: 3, folder: folder, counter: second)
        #expect(resumed.label == reference.label && resumed.ess == reference.ess)
        #expect(resumed.x == reference.x && resumed.mu == reference.mu && resumed.z == reference.z)
        #expect(second.value < 300 && second.value > 300 - first.value, "resumed run labelled \(second.value) of 300 after \(first.value)")
    }

    /// Catches: a checkpoint deleted (hours of labels) when one label option was mistyped, the
    /// warning naming the new seed as the saved one, and labels of another seed mixed in.
    @Test func aCheckpointOfAnotherRunIsNeverMixedIn() throws {
        let folder = Self.scratch("other")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = CountingSink()
        #expect(throws: JobInterrupted.self) {
            try Self.label(ranks: 2, folder: folder, stop: StopRequest { first.value >= 80 ? SIGUSR1 : 0 }, seed: 7, counter: first)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        var wider = Self.settings
        wider.neighbors += 1; wider.nuX *= 2
        // Sixth probe: grid and brute force round differently, and a resume on the other index mixed both.
        for (seed, settings, search, named) in [(UInt64(8), Self.settings, NeighbourSearch.auto, "(--seed 7 → 8)"),
                                                (7, wider, .auto, "(--neighbors 400 → 401, --nu-x \(Self.settings.nuX) → \(wider.nuX))"),
                                                (7, Self.settings, .bruteForce, "(--neighbour-index grid → brute-force)")] {
            let refused = #expect(throws: (any Error).self) { try Self.label(ranks: 1, folder: folder, seed: seed, settings: settings, search: search) }
            #expect(refused.map { "\($0)" }?.contains("other settings \(named)") == true, "\(String(describing: refused))")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == files, "the refused run changed the checkpoint")
        }
        let reference = try Self.label(ranks: 1, folder: nil, seed: 8)
        let counter = CountingSink()
        let other = try Self.label(ranks: 2, folder: folder, seed: 8, counter: counter, fresh: true)
        #expect(other.label == reference.label && other.ess == reference.ess)
        #expect(counter.value == 300, "a checkpoint of seed 7 supplied labels to a run of seed 8")
        // The same x and μ with one y moved (σ_x, σ_μ unchanged): none of the old labels is used.
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var moved = DistributedStageTests.data
        moved.y[11] += 1e-3
        let again = CountingSink()
        #expect(throws: JobInterrupted.self) {
            try Self.label(ranks: 2, folder: folder, stop: StopRequest { again.value >= 80 ? SIGUSR1 : 0 }, counter: again)
        }
        // Fourth probe: other data (a mistyped --data) deleted the checkpoint; now it is kept and
        // the job refused, unless the data were just made again (`run`), when it is stale.
        let kept = try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), movedData = moved
        let refused = #expect(throws: (any Error).self) { try Self.label(ranks: 1, folder: folder, data: movedData) }
        #expect(refused.map { "\($0)" }?.contains("holds labels of other data, not of the data given") == true, "\(String(describing: refused))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == kept)
        let afterMove = CountingSink()
        _ = try LocalCollective.run(ranks: 2) { comm in
            try DistributedLabels.run(comm, source: movedData, info: Self.info, settings: Self.settings, seed: 7, log: Log(rank: 1), sink: afterMove,
                                      checkpoint: LabelCheckpoint(folder: folder, discardOtherInputs: true), block: 40)
        }
        #expect(afterMove.value == 300, "a checkpoint of the old y supplied labels to a run on the new y")
    }

    /// Catches: label blocks sized without the fit's (1 + p + d)² moments or with a floor of 16
    /// queries: at d = 256 one block took 150 s, so a stop signal was read 90 s late. bm's and
    /// ou2d's blocks stay as measured (1024 and 256 queries, about 3 and 5 s).
    @Test func labelBlocksStayShortAtEveryDimension() {
        #expect(DistributedLabels.blockSize(SDEExample.brownianMotion.labels, d: 1, dMu: 1) == 1024)
        #expect(DistributedLabels.blockSize(SDEExample.rotatingOU.labels, d: 2, dMu: 1) == 256)
        let high = UnknownDataDefaults.labels(d: 256, dMu: 1)
        #expect(DistributedLabels.blockSize(high, d: 256, dMu: 1) == 1)
    }

    static let trainSettings: TrainSettings = {
        var s = TrainSettings(hidden: [16, 16])
        s.maxEpochs = 9; s.batchSize = 64; s.patience = 100
        return s
    }()

    static func train(ranks: Int, labels: LabelSet, checkpoint folder: String?, stop: StopRequest = .never,
                      settings s: TrainSettings = trainSettings) throws -> FlowModel {
        return try LocalCollective.run(ranks: ranks) { comm in
            try DataParallelTrainer.train(comm, labels: labels, settings: s, log: Log(rank: 1),
                                          checkpoint: folder.map { TrainCheckpoint(folder: $0, every: 2) }, stop: stop)
        }[0]
    }

    @Test(arguments: [1, 2])
    func trainingResumedAtTheSameRankCountIsBitwiseTheUninterruptedRun(ranks: Int) throws {
        let labels = try Self.label(ranks: 1, folder: nil)
        let reference = try Self.train(ranks: ranks, labels: labels, checkpoint: nil)
        let folder = Self.scratch("train")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Stop before the 6th epoch: every rank asks once per epoch.
        let asked = Atomic<Int>(0)
        let stop = StopRequest { asked.add(1, ordering: .relaxed).newValue > 5 * ranks ? SIGTERM : 0 }
        let stopped = #expect(throws: JobInterrupted.self) { try Self.train(ranks: ranks, labels: labels, checkpoint: folder, stop: stop) }
        #expect(stopped?.saved.contains("after epoch 5") == true, "\(String(describing: stopped))")
        let resumed = try Self.train(ranks: ranks, labels: labels, checkpoint: folder)
        #expect(resumed.mlp.parameters == reference.mlp.parameters)
        #expect(resumed.info.epochs == reference.info.epochs && resumed.info.bestEpoch == reference.info.bestEpoch)
        #expect(resumed.info.bestValidationLoss == reference.info.bestValidationLoss)
    }

    /// Catches: a training checkpoint thrown away when only `--max-epochs` or `--patience` changed
    /// (the usual resume: allow more epochs), or when another setting changed by mistake (hours of
    /// training lost to a typo); and a message that does not say which setting differs.
    @Test func trainingResumesUnderNewStoppingCriteriaAndKeepsItsCheckpointOtherwise() throws {
        let labels = try Self.label(ranks: 1, folder: nil)
        var longer = Self.trainSettings
        longer.maxEpochs = 12; longer.patience = 200
        let reference = try Self.train(ranks: 1, labels: labels, checkpoint: nil, settings: longer)
        let folder = Self.scratch("train-criteria")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let asked = Atomic<Int>(0)
        let stop = StopRequest { asked.add(1, ordering: .relaxed).newValue > 5 ? SIGTERM : 0 }
        #expect(throws: JobInterrupted.self) { try Self.train(ranks: 1, labels: labels, checkpoint: folder, stop: stop) }
        var other = longer
        other.batchSize = 32; other.hidden = [16, 8]
        let refused = #expect(throws: AgreedFailure.self) { try Self.train(ranks: 1, labels: labels, checkpoint: folder, settings: other) }
        #expect(refused?.status == 65 && refused?.description.contains("--hidden 16,16 → 16,8, --batch-size 64 → 32") == true, "\(String(describing: refused))")
        var fewer = longer
        fewer.maxEpochs = 4
        let below = #expect(throws: AgreedFailure.self) { try Self.train(ranks: 1, labels: labels, checkpoint: folder, settings: fewer) }
        #expect((below?.error as? SDEFlowError)?.location == .option("--max-epochs"), "\(String(describing: below))")
        // Fourth probe: a mistyped --labels deleted the checkpoint; now it is kept and the job refused.
        let otherLabels = try Self.label(ranks: 1, folder: nil, seed: 8)
        let mistyped = #expect(throws: AgreedFailure.self) { try Self.train(ranks: 1, labels: otherLabels, checkpoint: folder, settings: longer) }
        #expect(mistyped?.description.contains("training on other labels than the ones given") == true, "\(String(describing: mistyped))")
        let resumed = try Self.train(ranks: 1, labels: labels, checkpoint: folder, settings: longer)
        #expect(resumed.mlp.parameters == reference.mlp.parameters && resumed.info.epochs == 12)
    }

    @Test func aStalledRankIsNamedWithTheCollectiveItWaitsIn() throws {
        let reported = Mutex<[String]>([])
        _ = try LocalCollective.run(ranks: 2) { comm in
            let watchdog = Watchdog(timeout: 0.3, rank: comm.rank, size: comm.size) { m in reported.withLock { $0.append(m) } }
            defer { watchdog.stop() }
            let watched = WatchedCollective(comm, watchdog: watchdog)
            if comm.rank == 1 { Thread.sleep(forTimeInterval: 1.2) }  // rank 1 stalls; rank 0 waits in the barrier
            try watched.barrier()
            return 0
        }
        // Rank 0 reports that it waits for the others; rank 1 that it is stuck outside any collective.
        let messages = reported.withLock { $0 }.sorted()
        #expect(messages.count == 2, "\(messages)")
        #expect(messages.first?.contains("rank 0 of 2: no progress") == true && messages.first?.contains("waiting in barrier") == true, "\(messages)")
        #expect(messages.last?.contains("rank 1 of 2: no progress") == true && messages.last?.contains("outside any collective") == true, "\(messages)")
    }

    /// Catches (fourth probe): a rank computing long between collectives (sample, simulate) was
    /// ended as stalled. Local progress it reports keeps the watchdog quiet; a rank that reports
    /// none still is named.
    @Test func localProgressIsProgress() throws {
        let reported = Mutex<[String]>([])
        _ = try LocalCollective.run(ranks: 2) { comm in
            let watchdog = Watchdog(timeout: 0.3, rank: comm.rank, size: comm.size) { m in reported.withLock { $0.append(m) } }
            defer { watchdog.stop() }
            let watched = WatchedCollective(comm, watchdog: watchdog)
            try watched.barrier()
            for _ in 0..<12 { Thread.sleep(forTimeInterval: 0.1); watched.progress() }  // 1.2 s of work in pieces
            try watched.barrier()
            return 0
        }
        #expect(reported.withLock { $0 }.isEmpty, "\(reported.withLock { $0 })")
    }

    /// A job ends with a status that says why (`ExitStatus`), and a failure rank 0 alone saw
    /// (`onRoot`) ends every rank with rank 0's status, so `mpirun` reports it whichever rank
    /// exits first.
    @Test func exitStatusSaysWhyAndEveryRankAgreesOnIt() throws {
        #expect(ExitStatus.of(SDEFlowError.option("--neighbors", "bad")) == 64)
        #expect(ExitStatus.of(SDEFlowError.usage("bad")) == 64)
        #expect(ExitStatus.of(SDEFlowError.file("x.npy", "bad")) == 65)
        #expect(ExitStatus.of(SDEFlowError.mpi("MPI_Allreduce", "bad")) == 69)
        #expect(ExitStatus.of(JobInterrupted(signal: SIGTERM, saved: "")) == 143)
        #expect(ExitStatus.of(JobInterrupted(signal: SIGUSR1, saved: "")) == 138)
        #expect(ExitStatus.of(CocoaError(.fileNoSuchFile)) == 1)
        let statuses = try LocalCollective.run(ranks: 3) { comm -> Int32 in
            do {
                _ = try comm.onRoot { () throws -> Int in throw SDEFlowError.file("out.lock", "held by another job") }
                return 0
            } catch let failure as AgreedFailure {
                return ExitStatus.of(failure)
            }
        }
        #expect(statuses == [65, 65, 65])
    }
}
