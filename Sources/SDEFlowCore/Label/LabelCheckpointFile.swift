import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One rank's checkpoint file of the label stage, and the reading of all of them (`scan`).
///
/// Layout (`CheckpointBytes.swift`): magic "SDEFLAB1", the JSON `Header`, then one record per
/// finished block: UInt32 "BLK1", UInt32 m, m Int64 query ids, m rows of Double (x, μ, z, label,
/// ess; `Binding.rowWidth` values), and a UInt64 FNV-1a checksum of everything after the record's
/// magic. The file is created at its first block, and every record is fsynced before the stage
/// goes on.
final class LabelCheckpointFile: LabelSink {
    static let magic = "SDEFLAB1"
    static let recordMagic: UInt32 = 0x314B_4C42  // "BLK1"

    struct Header: Codable {
        var binding: LabelCheckpoint.Binding
        /// The settings the binding hashes, so a refused resume can name what changed (nil in
        /// files written before they were kept).
        var settings: LabelSettings?
        var attempt: Int, rank: Int, ranks: Int
        /// Who writes the file (for people and tests looking for a rank's process).
        var host: String, pid: Int32
    }

    let path: String
    let header: Header
    private var fd: Int32 = -1
    /// Seconds spent writing this file.
    private(set) var seconds = 0.0

    init(path: String, header: Header) { self.path = path; self.header = header }

    deinit { close() }

    func accept(_ block: QueryBlock, labels: [Double], ess: [Double]) throws {
        guard block.count > 0 else { return }
        let started = monotonicSeconds()
        defer { seconds += monotonicSeconds() - started }
        if fd < 0 { try create() }
        let d = block.d, dMu = block.dMu
        var w = ByteWriter()
        w.append(Self.recordMagic)
        let start = w.bytes.count
        w.append(UInt32(block.count))
        w.append(contentsOf: block.ids)
        var rows = [Double]()
        rows.reserveCapacity(block.count * header.binding.rowWidth)
        for q in 0..<block.count {
            rows += block.x[q * d ..< (q + 1) * d]; rows += block.mu[q * dMu ..< (q + 1) * dMu]
            rows += block.z[q * d ..< (q + 1) * d]; rows += labels[q * d ..< (q + 1) * d]; rows.append(ess[q])
        }
        w.append(contentsOf: rows)
        var h = FNV1a()
        w.bytes.withUnsafeBytes { h.add(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        w.append(h.value)
        try appendDurably(fd, w.bytes, path: path)
    }

    private func create() throws {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SDEFlowError.file(path, "cannot create checkpoint file: \(String(cString: strerror(errno)))") }
        try appendDurably(fd, try ByteWriter.header(magic: Self.magic, header).bytes, path: path)
        try syncFolder(parentFolder(of: path))
    }

    func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    /// What rank 0 found in the checkpoint folder: the saved queries (ids and rows, in file
    /// order), the next attempt number, and how many files and torn records it read.
    struct Scan {
        var attempt = 1, files = 0, torn = 0
        var ids: [Int64] = [], rows: [Double] = []
    }

    /// Reads every `*.labels` file of `folder` (created if missing). With `fresh`, or when a file
    /// is of an older format (or of other data, with `discard`), the folder's files are deleted
    /// (with a warning) instead. Labels of other data, or of these data under another seed or other
    /// label settings, are kept and the job refused, naming what differs: they may be hours of
    /// work behind a mistyped option or `--data`.
    static func scan(_ folder: String, binding: LabelCheckpoint.Binding, settings: LabelSettings, fresh: Bool, discard: Bool = false,
                     log: Log) throws -> Scan {
        let fm = FileManager.default
        try createFolder(folder)
        let names = try fm.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".labels") }.sorted()
        // The next attempt number follows every file name, even of a file killed before its header.
        var scan = Scan(attempt: 1 + names.compactMap { Int($0.dropFirst().prefix { $0.isNumber }) }.reduce(0, max))
        var other: String? = fresh ? "--fresh" : nil
        for name in names where other == nil {
            var r = ByteReader(Array(fm.contents(atPath: filePath(folder, name)) ?? Data()))
            guard let h = r.header(magic: magic, Header.self) else { continue }  // killed before its header was written
            let saved = binding.index.map { h.binding.filled(default: $0) } ?? h.binding
            guard saved == binding else {
                if let changed = binding.changedSettings(saved: saved, savedSettings: h.settings, settings) {
                    throw SDEFlowError.file(folder, "holds labels of these data with other settings (\(changed)): give the saved values to continue them, or remove the folder to label from the start (--fresh does it for you; under `run` it redoes every stage)")
                }
                let what = h.binding.difference(from: binding)
                if h.binding.format == binding.format && !discard {
                    throw SDEFlowError.file(folder, "holds labels of \(what), not of the data given (\(binding.count) pairs, d = \(binding.d), dμ = \(binding.dMu)): pass the data they were made from to continue them, or remove the folder to label these data from the start (--fresh does it for you; under `run` it redoes every stage)")
                }
                other = "it holds labels of \(what)"
                break
            }
            scan.files += 1
            if !read(&r, width: binding.rowWidth, into: &scan) { scan.torn += 1 }
        }
        if let other {
            if !fresh { log.info("resume: warning: not resuming from \(folder): \(other); deleting its files and labelling from the start") }
            for name in names { try fm.removeItem(atPath: filePath(folder, name)) }
            scan = Scan(attempt: scan.attempt)
        }
        return scan
    }

    /// Appends the records of `r` to `scan`; false if the last one is torn (cut short, or its
    /// checksum does not match: the rank was killed while writing it).
    static func read(_ r: inout ByteReader, width: Int, into scan: inout Scan) -> Bool {
        while !r.atEnd {
            guard r.read(UInt32.self) == recordMagic else { return false }
            let start = r.offset
            guard let m = r.read(UInt32.self).map(Int.init), let ids = r.read(Int64.self, count: m),
                  let rows = r.read(Double.self, count: m * width) else { return false }
            let sum = r.checksum(from: start)
            guard r.read(UInt64.self) == sum else { return false }
            scan.ids += ids; scan.rows += rows
        }
        return true
    }
}
