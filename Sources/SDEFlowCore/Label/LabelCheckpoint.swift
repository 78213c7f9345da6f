import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checkpoints of the label stage, in the folder `<output>.partial` next to the label folder.
///
/// Every rank appends each finished block of its queries (ids, x, μ, z, label, ess) to its own
/// file `a<attempt>-rank<r>.labels` and fsyncs it (`LabelCheckpointFile`), so a kill loses at most
/// the block in progress. Each file starts with a header that binds it to the run: count, d, dμ
/// and σ_x, σ_μ of the data (sums over every row: the data's identity), the seed and a hash of
/// the label settings and dataset.json. On restart, rank 0 reads every file of every earlier
/// attempt (at any rank count), drops a torn last record, discards files of a different run with a
/// warning, and sends the saved labels to all ranks; each rank keeps those of its own queries
/// (checking their x, μ and z bit for bit) and labels only the rest. Labels depend only on the
/// query id and the data, so the result is bitwise that of an uninterrupted run at any -n. The
/// folder is removed once the label folder is written.
public final class LabelCheckpoint {
    public let folder: String
    /// Discard what the folder holds instead of resuming from it.
    public let fresh: Bool
    /// Delete (with a warning) a checkpoint of other data instead of refusing the job.
    public let discardOtherInputs: Bool

    public init(folder: String, fresh: Bool = false, discardOtherInputs: Bool = false) {
        self.folder = folder; self.fresh = fresh; self.discardOtherInputs = discardOtherInputs
    }

    /// What the checkpoint files of one run share: a file with another binding is never mixed in.
    struct Binding: Codable, Equatable {
        var format = 2
        var count: Int, d: Int, dMu: Int
        /// Bit patterns of σ_x and σ_μ, and of Σ y and Σ y² (sums over all rows: the same bits
        /// for any -n). Without the y sums, a run resumed after y.npy changed mixed labels of
        /// both (1 280 of 3 000 from the old y, exit 0).
        var sigmaX: UInt64, sigmaMu: UInt64, ySums: [UInt64]
        var seed: UInt64
        /// FNV-1a of the label settings and dataset.json.
        var settings: String
        /// The neighbour index (`LabelSetup.index`; nil in files of before, which any run continues,
        /// as it did then). A resume on the other index mixed labels of both.
        var index: NeighbourSearch?

        init(source: any PairSource, settings: LabelSettings, seed: UInt64, setup: LabelSetup, info: DatasetInfo?) throws {
            struct Hashed: Encodable { let settings: LabelSettings; let data: DatasetInfo? }
            count = source.count; d = source.d; dMu = source.dMu
            sigmaX = setup.normalisation.sigmaX.bitPattern; sigmaMu = setup.normalisation.sigmaMu.bitPattern
            ySums = setup.ySums.map(\.bitPattern)
            self.seed = seed
            self.settings = try FNV1a.json(Hashed(settings: settings, data: info))
            index = setup.index
        }

        /// A saved binding with no index (a file of before it was recorded) given `index`, the
        /// run's own, so that it matches as it did then.
        func filled(default index: NeighbourSearch) -> Binding {
            var b = self
            if b.index == nil { b.index = index }
            return b
        }

        /// Values per query in a record: x, μ, z, label, ess.
        var rowWidth: Int { 3 * d + dMu + 1 }

        /// What the data of `other` (this binding: the saved files') are, seen from the new run's.
        func difference(from other: Binding) -> String {
            if other.count != count || other.d != d || other.dMu != dMu { return "data of another shape (\(count) pairs, d = \(d), dμ = \(dMu))" }
            if other.sigmaX != sigmaX || other.sigmaMu != sigmaMu || other.ySums != ySums { return "other data" }
            return format != other.format ? "an older format" : "another dataset.json"
        }

        /// The seed and label options changed since `saved` ("--neighbors 2000 → 2001"), when the
        /// data, format and dataset.json are the same; nil otherwise (or when the saved file does
        /// not record its settings).
        func changedSettings(saved: Binding, savedSettings: LabelSettings?, _ settings: LabelSettings) -> String? {
            guard saved.format == format, saved.count == count, saved.d == d, saved.dMu == dMu, saved.sigmaX == sigmaX,
                  saved.sigmaMu == sigmaMu, saved.ySums == ySums, let savedSettings else { return nil }
            let changed = (saved.seed == seed ? [] : ["--seed \(saved.seed) → \(seed)"])
                + (saved.index == index || saved.index == nil ? [] : ["--neighbour-index \(saved.index!.rawValue) → \(index?.rawValue ?? "auto")"])
                + settings.differences(from: savedSettings)
            return changed.isEmpty ? nil : changed.joined(separator: ", ")
        }
    }

    /// This rank's queries split into those an earlier run saved (with their labels) and the rest.
    public struct Restored {
        public var done: QueryBlock
        public var labels: [Double] = [], ess: [Double] = []
        public var remaining: QueryBlock
        /// The attempt number of this run's files.
        let attempt: Int
    }

    /// Reads what earlier runs saved (rank 0) and splits this rank's `queries`; call on all ranks.
    func restore(_ comm: any Collective, binding: Binding, settings: LabelSettings, queries: QueryBlock, log: Log) throws -> Restored {
        let scan = try comm.onRoot { try LabelCheckpointFile.scan(folder, binding: binding, settings: settings, fresh: fresh, discard: discardOtherInputs, log: log) }
        let attempt = Int(try comm.broadcast([Int64(scan?.attempt ?? 0)])[0])
        let ids = try comm.broadcast(scan?.ids ?? []), rows = try comm.broadcast(scan?.rows ?? [])
        var position = [Int64: Int](minimumCapacity: ids.count)
        for (k, id) in ids.enumerated() where position[id] == nil { position[id] = k }
        let d = queries.d, dMu = queries.dMu, w = binding.rowWidth
        var out = Restored(done: QueryBlock(d: d, dMu: dMu), remaining: QueryBlock(d: d, dMu: dMu), attempt: attempt)
        for q in 0..<queries.count {
            let one = queries.slice(q ..< q + 1)
            guard let k = position[one.ids[0]] else { out.remaining.append(one); continue }
            let row = Array(rows[k * w ..< (k + 1) * w])
            guard Array(row[0 ..< 2 * d + dMu]) == one.x + one.mu + one.z else {
                throw SDEFlowError.file(folder, "query \(one.ids[0]) saved there is not this run's query \(one.ids[0]) (other data?): remove the folder, or pass --fresh")
            }
            out.done.append(one)
            out.labels += row[2 * d + dMu ..< 3 * d + dMu]; out.ess.append(row[w - 1])
        }
        let restored = try comm.allreduce(Int64(out.done.count), .sum), left = try comm.allreduce(Int64(out.remaining.count), .sum)
        if let scan, scan.files > 0 {
            log.info("resume: \(restored) labels restored from \(folder) (\(scan.files) file(s) of earlier runs\(scan.torn > 0 ? "; in \(scan.torn) of them a torn or damaged block and everything after it were dropped" : "")); \(left) to label")
        }
        return out
    }

    /// The sink that appends this rank's finished blocks to its checkpoint file.
    func sink(_ comm: any Collective, binding: Binding, settings: LabelSettings, attempt: Int) -> LabelCheckpointFile {
        LabelCheckpointFile(path: filePath(folder, "a\(attempt)-rank\(comm.rank).labels"), header: .init(
            binding: binding, settings: settings, attempt: attempt, rank: comm.rank, ranks: comm.size, host: stagingHost, pid: getpid()))
    }

    /// Removes the folder (the label folder is written).
    public func remove() { try? FileManager.default.removeItem(atPath: folder) }
}

extension QueryBlock {
    /// Appends `other`'s queries.
    mutating func append(_ other: QueryBlock) {
        ids += other.ids; x += other.x; mu += other.mu; z += other.z
    }
}
