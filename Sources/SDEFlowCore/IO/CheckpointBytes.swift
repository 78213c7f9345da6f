import Foundation
#if canImport(Glibc)
import Glibc
#endif

// The byte layer of the checkpoint files (`LabelCheckpoint`, `TrainCheckpoint`): a file starts
// with an 8-byte magic, a UInt32 length and that many bytes of JSON (the header: what run the file
// belongs to), followed by raw little-endian records, each with an FNV-1a checksum so a record
// torn by a kill is recognised and dropped.

/// The checkpoint folder of output `output`: `<output>.partial`, next to it.
public func checkpointFolder(for output: String) -> String {
    var p = output
    while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
    return p + ".partial"
}

/// FNV-1a, 64 bits: the checksum of records and the hash that binds a checkpoint to its settings.
public struct FNV1a {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        value = h
    }

    public mutating func add<T: BitwiseCopyable>(_ values: [T]) { values.withUnsafeBytes { add($0) } }

    /// The hash of the JSON encoding (sorted keys) of `values`, as 16 hex digits.
    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var h = FNV1a()
        h.add(Array(try encoder.encode(value)))
        return String(format: "%016llx", h.value)
    }
}

/// Bytes being put together for one write.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func append<T: BitwiseCopyable>(_ value: T) { withUnsafeBytes(of: value) { bytes += $0 } }
    mutating func append<T: BitwiseCopyable>(contentsOf values: [T]) { values.withUnsafeBytes { bytes += $0 } }

    /// magic (8 bytes), UInt32 length, the JSON of `header`.
    static func header<H: Encodable>(magic: String, _ header: H) throws -> ByteWriter {
        precondition(magic.utf8.count == 8)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = Array(try encoder.encode(header))
        var w = ByteWriter()
        w.bytes += Array(magic.utf8)
        w.append(UInt32(json.count))
        w.bytes += json
        return w
    }
}

/// Reads back what `ByteWriter` wrote; every read returns nil past the end.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    var atEnd: Bool { offset >= bytes.count }

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func read<T: BitwiseCopyable>(_: T.Type) -> T? {
        let n = MemoryLayout<T>.size
        guard offset + n <= bytes.count else { return nil }
        defer { offset += n }
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    mutating func read<T: BitwiseCopyable>(_: T.Type, count: Int) -> [T]? {
        let n = MemoryLayout<T>.stride * count
        guard count >= 0, offset + n <= bytes.count else { return nil }
        defer { offset += n }
        return [T](unsafeUninitializedCapacity: count) { buf, c in
            bytes.withUnsafeBytes { src in
                UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset ..< offset + n]))
            }
            c = count
        }
    }

    /// The checksum of bytes [from, offset).
    func checksum(from start: Int) -> UInt64 {
        var h = FNV1a()
        bytes.withUnsafeBytes { h.add(UnsafeRawBufferPointer(rebasing: $0[start ..< offset])) }
        return h.value
    }

    /// The header `ByteWriter.header` wrote, or nil if the magic differs or the file is cut short.
    mutating func header<H: Decodable>(magic: String, _: H.Type) -> H? {
        guard bytes.count >= 12, Array(bytes[0..<8]) == Array(magic.utf8) else { return nil }
        offset = 8
        guard let n = read(UInt32.self), let json = read(UInt8.self, count: Int(n)) else { return nil }
        return try? JSONDecoder().decode(H.self, from: Data(json))
    }
}

/// Appends all of `bytes` to `fd` and fsyncs it: a record is on disk when this returns.
func appendDurably(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
    try bytes.withUnsafeBytes { buf in
        var done = 0
        while done < buf.count {
            let n = write(fd, buf.baseAddress! + done, buf.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SDEFlowError.file(path, "write failed: \(String(cString: strerror(errno)))") }
            done += n
        }
    }
    guard fsync(fd) == 0 else { throw SDEFlowError.file(path, "fsync failed: \(String(cString: strerror(errno)))") }
}
