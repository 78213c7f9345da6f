import Foundation
import SDEFlowCore
import Testing

/// The distributed stages on `LocalCollective` (one thread per simulated rank, no mpirun): the
/// label stage must give bitwise the same labels at 1, 2 and 3 ranks, and data-parallel
/// training the same model to float rounding. The mpirun tests (CLITests) cover the real MPI.
@Suite struct DistributedStageTests {
    static let data: PairBlock = {
        var sim = SDEExample.rotatingOU.simulation
        sim.pathsPerMu = 40
        return Simulator.simulate(.rotatingOU, settings: sim, observedMu: SDEExample.rotatingOU.observedMu,
                                  paths: 0..<(40 * SDEExample.rotatingOU.observedMu.count), seed: 3)
    }()

    static func labels(ranks: Int, shards: ShardLayout = .auto, trend: LabelTrend = .none) throws -> LabelSet {
        var settings = SDEExample.rotatingOU.labels
        settings.labels = 300; settings.neighbors = 400; settings.trend = trend
        let s = settings
        return try LocalCollective.run(ranks: ranks) { comm in
            try DistributedLabels.run(comm, source: data, info: DatasetInfo(dt: 0.1, example: "ou2d"), settings: s,
                                      seed: 7, log: Log(rank: 1), shards: shards)
        }[0]
    }

    /// Catches: the neighbour exchange of block shards finding other neighbours, or putting them
    /// in another order, than one shard holding everything (the labels would differ in bits),
    /// or blocks that are not blocks (a rank holding more than its N/P share).
    @Test func blockShardsGiveTheHaloLabelsAndHoldNOverP() throws {
        let halo = try Self.labels(ranks: 1, shards: .halo)
        for ranks in [1, 2, 3] {
            let blocks = try Self.labels(ranks: ranks, shards: .blocks)
            #expect(blocks.label == halo.label && blocks.ess == halo.ess)
            let n = Self.data.count
            #expect(blocks.shardPairs == (0..<ranks).map { n * ($0 + 1) / ranks - n * $0 / ranks })
        }
    }

    /// Catches: the trend pilot (d = 2: the full basis, whose shrinkage a pilot over the queries
    /// fits) seeing other queries, other neighbours or another order at another rank count or
    /// shard layout: the fitted shrinkage, hence every label, would differ in bits.
    @Test func trendLabelsAreTheSameAtAnyRankCountAndShardLayout() throws {
        let one = try Self.labels(ranks: 1, shards: .halo, trend: .global)
        #expect(one.label != (try Self.labels(ranks: 1, shards: .halo)).label)
        for (ranks, shards) in [(2, ShardLayout.halo), (3, .halo), (1, .blocks), (3, .blocks)] {
            let many = try Self.labels(ranks: ranks, shards: shards, trend: .global)
            #expect(many.label == one.label && many.ess == one.ess, "\(ranks) ranks, \(shards)")
        }
    }

    @Test func labelsAreBitwiseTheSameAtOneTwoAndThreeRanks() throws {
        let one = try Self.labels(ranks: 1)
        #expect(one.count == 300 && one.label.allSatisfy(\.isFinite))
        for ranks in [2, 3] {
            let many = try Self.labels(ranks: ranks)
            #expect(many.label == one.label && many.ess == one.ess && many.x == one.x && many.z == one.z)
            #expect(many.shardPairs?.count == ranks)
        }
    }

    /// Catches: the brute-force path (auto beyond D = 4) depending on the rank count, or the
    /// grid being tried (and allocating 3^D cells) at high D.
    @Test func highDimensionalLabelsUseBruteForceAndAgreeAcrossRanks() throws {
        let ex = SDEExample.ouND(dim: 6)
        var sim = ex.simulation
        sim.pathsPerMu = 30
        let data = Simulator.simulate(ex, settings: sim, observedMu: ex.observedMu, paths: 0..<(30 * ex.observedMu.count), seed: 2)
        var settings = ex.labels
        settings.labels = 120; settings.neighbors = 300
        let s = settings
        func labels(_ ranks: Int) throws -> LabelSet {
            try LocalCollective.run(ranks: ranks) { comm in
                try DistributedLabels.run(comm, source: data, info: nil, settings: s, seed: 4, log: Log(rank: 1))
            }[0]
        }
        let one = try labels(1)
        #expect(one.label.allSatisfy(\.isFinite) && one.shardPairs == [data.count])  // blocks: -n 1 holds everything
        for ranks in [2, 3] {
            let many = try labels(ranks)
            #expect(many.label == one.label && many.ess == one.ess)
        }
    }

    @Test func trainingAgreesAtOneTwoAndThreeRanks() throws {
        let labels = try Self.labels(ranks: 1)
        var settings = TrainSettings(hidden: [16, 16])
        settings.maxEpochs = 3; settings.batchSize = 64
        let s = settings
        func train(_ ranks: Int) throws -> [Float] {
            try LocalCollective.run(ranks: ranks) { comm in
                try DataParallelTrainer.train(comm, labels: labels, settings: s, log: Log(rank: 1)).mlp.parameters
            }[0]
        }
        let one = try train(1)
        for ranks in [2, 3] {
            let many = try train(ranks)
            let worst = zip(one, many).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-4, "ranks \(ranks): parameters differ by \(worst)")
        }
    }

    @Test func aFailingRankFailsTheOthersInsteadOfHanging() {
        #expect(throws: SDEFlowError.self) {
            _ = try LocalCollective.run(ranks: 3) { comm in
                if comm.rank == 1 { throw SDEFlowError.usage("rank 1 fails") }
                try comm.barrier()
                return 0
            }
        }
    }
}
