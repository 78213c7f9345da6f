import Foundation
@testable import SDEFlowCore
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Catches (fourth probe, finding 6): a stop signal during the label stage's set-up answered only
/// after it (the global trend's passes took 50 s at 4·10⁷ pairs, the shards some more; a
/// scheduler's grace period ran out first). The ranks agree on the stop between the set-up's
/// steps and between the blocks of the trend's passes, and the stage ends with `JobInterrupted`
/// at the next of those checks, before any label.
@Test(arguments: [1, 2])
func aStopDuringTheTrendFitEndsTheLabelStageThere(ranks: Int) throws {
    var s = ResumeTests.settings
    s.trend = .global
    let settings = s, folder = ResumeTests.scratch("setup-stop")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    // Every agreed check asks each rank once. Before the trend: after reading the pairs, after the
    // scale checks; then one check per block of each of the trend's passes (one block here).
    // From the trend's first pass on, the stop is asked for: its second pass must answer it.
    let asked = Atomic<Int>(0), before = 3 * ranks
    let stop = StopRequest { asked.add(1, ordering: .relaxed).newValue > before ? SIGTERM : 0 }
    let labelled = ResumeTests.CountingSink()
    let stopped = #expect(throws: JobInterrupted.self) {
        try LocalCollective.run(ranks: ranks) { comm in
            try DistributedLabels.run(comm, source: DistributedStageTests.data, info: ResumeTests.info, settings: settings, seed: 7,
                                      log: Log(rank: 1), sink: labelled, checkpoint: LabelCheckpoint(folder: folder), stop: stop, block: 40)
        }
    }
    #expect(stopped?.signal == SIGTERM, "\(String(describing: stopped))")
    #expect(stopped?.saved.hasPrefix("labels: stopped while setting up") == true
            && stopped?.saved.contains("nothing new is saved, and \(folder) is as it was") == true, "\(String(describing: stopped))")
    #expect(asked.load(ordering: .relaxed) == before + ranks, "answered \(asked.load(ordering: .relaxed) - before) asks late")
    #expect(labelled.value == 0)
    #expect(((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).isEmpty, "the set-up wrote into the checkpoint")
}

/// Catches: a trend fit whose stop check is not agreed (one rank stopping alone would leave the
/// others in the fit's next collective) or that changes the fit when nobody stops.
@Test func theTrendFitStopsOnEveryRankWhenOneIsAsked() throws {
    let data = DistributedStageTests.data, n = data.count
    let norm = Normalisation(d: data.d, dMu: data.dMu, sigmaX: 1, sigmaMu: 1)
    func fit(_ stop: @escaping @Sendable (Int) -> StopRequest) throws -> [[Double]] {
        try LocalCollective.run(ranks: 3) { comm in
            let rows = n * comm.rank / 3 ..< n * (comm.rank + 1) / 3, d = data.d, dMu = data.dMu
            let part = PairBlock(d: d, dMu: dMu, x: Array(data.x[rows.lowerBound * d ..< rows.upperBound * d]),
                                 mu: Array(data.mu[rows.lowerBound * dMu ..< rows.upperBound * dMu]),
                                 y: Array(data.y[rows.lowerBound * d ..< rows.upperBound * d]))
            let blocks = (rows.count + 99) / 100
            do {
                return try GlobalTrend.fit(comm, part, normalisation: norm, blockRows: 100, blockCount: blocks, stop: stop(comm.rank)).coefficients
            } catch let s as StopAgreed { return [Double(s.signal)] }
        }
    }
    let plain = try fit { _ in .never }, watched = try fit { _ in StopRequest { 0 } }
    #expect(plain == watched && plain[0].count > 1)
    // Rank 2 alone is asked, from its 5th check on: every rank ends with the same StopAgreed.
    let asked = Atomic<Int>(0)
    let one = try fit { rank in rank == 2 ? StopRequest { asked.add(1, ordering: .relaxed).newValue > 4 ? SIGUSR1 : 0 } : StopRequest { 0 } }
    #expect(one == [[Double(SIGUSR1)], [Double(SIGUSR1)], [Double(SIGUSR1)]])
    #expect(asked.load(ordering: .relaxed) == 5)
}

/// Catches: a check every rank makes on its own that fails on some ranks leaving the others
/// waiting, or printed by each failing rank; and a collective verdict said by every rank.
/// `everyRank`: every rank throws `AgreedFailure` with the status of the lowest failing rank,
/// whose error only it carries; `alike`: rank 0 carries the refusal, MPI errors pass as they are.
@Test func refusalsReachedOnEveryRankAreCarriedByOneRank() throws {
    let outcomes = try LocalCollective.run(ranks: 3) { comm -> [String] in
        func outcome(_ body: () throws -> Int) -> String {
            do { return "value \(try body())" } catch let a as AgreedFailure {
                return "agreed \(a.status) " + (a.error.map { "\($0)" } ?? "-")
            } catch { return "other \(error)" }
        }
        let fine = outcome { try comm.everyRank { comm.rank } }
        let some = outcome { try comm.everyRank {
            if comm.rank == 1 { throw SDEFlowError.file("f", "bad on rank 1") }
            if comm.rank == 2 { throw SDEFlowError.option("--o", "bad on rank 2") }
            return 0
        } }
        let alike = outcome { try comm.alike { throw SDEFlowError.option("--nu-x", "too narrow") } }
        let mpi = outcome { try comm.alike { throw SDEFlowError.mpi("MPI_Bcast", "lost") } }
        return [fine, some, alike, mpi]
    }
    #expect(outcomes.map { $0[0] } == ["value 0", "value 1", "value 2"])
    #expect(outcomes.map { $0[1] } == ["agreed 65 -", "agreed 65 f: bad on rank 1", "agreed 65 -"])
    #expect(outcomes.map { $0[2] } == ["agreed 64 --nu-x: too narrow", "agreed 64 -", "agreed 64 -"])
    #expect(outcomes.allSatisfy { $0[3] == "other MPI_Bcast failed: lost" })
}
