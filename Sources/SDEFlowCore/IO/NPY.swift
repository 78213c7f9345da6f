import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Element types this reader/writer understands: little-endian IEEE floats and two's-complement
/// integers. The raw value is NumPy's `descr` string as written in a header.
public enum NPYDType: String, Sendable {
    case float32 = "<f4", float64 = "<f8", int32 = "<i4", int64 = "<i8"

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        }
    }
}

/// A validated `.npy` header. `dataOffset` is the byte offset of element 0 in the file.
public struct NPYHeader: Sendable {
    public let dtype: NPYDType
    public let shape: [Int]
    public let dataOffset: Int
    /// The file this header was read from (nil for a header not read from a file): reads of rows
    /// check they open the same file, unchanged.
    public internal(set) var identity: FileIdentity? = nil
    public init(dtype: NPYDType, shape: [Int], dataOffset: Int) {
        self.dtype = dtype; self.shape = shape; self.dataOffset = dataOffset
    }
    /// Length of the first axis (1 for a 0-d array): the unit `readRows` slices by.
    public var rowCount: Int { shape.first ?? 1 }
    /// Elements per row: the product of `shape[1...]` (1 for 0-d and 1-D arrays).
    public var rowWidth: Int { shape.dropFirst().reduce(1, *) }
    /// Total number of elements.
    public var count: Int { shape.reduce(1, *) }
}

private let isLittleEndianHost = 1.littleEndian == 1
private let npyMagic: [UInt8] = [0x93] + Array("NUMPY".utf8)
/// What each use reads, in the words of the data check ("use float32 or float64"): data arrays
/// take floats only, label and model arrays are converted from integers too.
private let supportedList = "use float32 (<f4) or float64 (<f8); label and model arrays may also be int32 (<i4) or int64 (<i8)"

/// Element types readable into: conversions exist as concrete initializers on Float and Double.
protocol NPYReal { init(_ v: Float); init(_ v: Double); init(_ v: Int32); init(_ v: Int64) }
extension Double: NPYReal {}
extension Float: NPYReal {}

/// NumPy `.npy` files (format versions 1.0-3.0), C order only. All reads use `pread` on a file
/// descriptor so that an MPI rank can read just its block of rows of a file bigger than memory;
/// all writes go through `writeFileAtomically` so no half-written file is ever visible.
public enum NPY {
    /// Parses and validates the header, and checks that the file holds all the data it promises.
    public static func header(at path: String) throws -> NPYHeader {
        let fd = try openForReading(path)
        defer { close(fd) }
        var h = try header(fd: fd, path: path)
        h.identity = FileIdentity.of(fd)
        return h
    }

    /// Reads rows `[rows.lowerBound, rows.upperBound)` along the first axis, converting each
    /// element to Double. Result is C order, `rows.count * header.rowWidth` values.
    public static func readRows(_ path: String, header: NPYHeader, rows: Range<Int>) throws -> [Double] {
        try readRowsAs(path, header: header, rows: rows)
    }

    /// As `readRows`, converting to Float (float64 data is rounded to nearest).
    public static func readRowsFloat(_ path: String, header: NPYHeader, rows: Range<Int>) throws -> [Float] {
        try readRowsAs(path, header: header, rows: rows)
    }

    /// Whole array as Double, with its shape.
    public static func read(_ path: String) throws -> (values: [Double], shape: [Int]) {
        let h = try header(at: path)
        return (try readRows(path, header: h, rows: 0..<h.rowCount), h.shape)
    }

    /// Whole array as Float, with its shape.
    public static func readFloat(_ path: String) throws -> (values: [Float], shape: [Int]) {
        let h = try header(at: path)
        return (try readRowsFloat(path, header: h, rows: 0..<h.rowCount), h.shape)
    }

    /// Writes a C-order array of `shape` as float64 or float32 (`dtype`), atomically.
    public static func write(_ path: String, _ values: [Double], shape: [Int], dtype: NPYDType = .float64) throws {
        switch dtype {
        case .float64:
            try writeArray(path, values, shape: shape, dtype: dtype) { $1.storeBytes(of: $0.bitPattern.littleEndian, as: UInt64.self) }
        case .float32:
            try writeArray(path, values, shape: shape, dtype: dtype) { $1.storeBytes(of: Float($0).bitPattern.littleEndian, as: UInt32.self) }
        case .int32, .int64:
            throw SDEFlowError.file(path, "cannot write Double values as \(dtype.rawValue); pass [Int64] instead")
        }
    }

    /// Writes a C-order float32 array, atomically.
    public static func write(_ path: String, _ values: [Float], shape: [Int]) throws {
        try writeArray(path, values, shape: shape, dtype: .float32) { $1.storeBytes(of: $0.bitPattern.littleEndian, as: UInt32.self) }
    }

    /// Writes a C-order int64 array, atomically.
    public static func write(_ path: String, _ values: [Int64], shape: [Int]) throws {
        try writeArray(path, values, shape: shape, dtype: .int64) { $1.storeBytes(of: $0.littleEndian, as: Int64.self) }
    }

    // MARK: - Reading

    static func openForReading(_ path: String) throws -> Int32 {
        try requireRegularFile(path)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { return fd }
        let e = errno
        throw SDEFlowError.file(path, e == ENOENT ? "no such file" : "cannot open: \(String(cString: strerror(e)))")
    }

    /// `pread` exactly `count` bytes at `offset`, retrying short reads and EINTR.
    static func preadFully(_ fd: Int32, _ buf: UnsafeMutableRawPointer, count: Int, offset: Int, path: String) throws {
        var done = 0
        while done < count {
            let n = pread(fd, buf + done, min(count - done, 1 << 30), off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw SDEFlowError.file(path, "read failed: \(String(cString: strerror(errno)))") }
            if n == 0 { throw SDEFlowError.file(path, "truncated: unexpected end of file at byte \(offset + done)") }
            done += n
        }
    }

    /// NumPy's own limit on the header text (`np.load`'s default `max_header_size`): a longer
    /// length field is a corrupt file, and is refused before the header is read.
    static let maxHeaderLength = 10_000
    /// At most this many dimensions (NumPy before 2.0 allowed 32).
    static let maxDimensions = 32

    static func header(fd: Int32, path: String) throws -> NPYHeader {
        func fail(_ p: String) -> SDEFlowError { SDEFlowError.file(path, p) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail("cannot stat: \(String(cString: strerror(errno)))") }
        let fileSize = Int(st.st_size)
        let (major, lenStart, headerLen) = try preamble(fd, fileSize: fileSize, path: path)
        let dataOffset = lenStart + headerLen
        guard dataOffset <= fileSize else {
            throw fail("truncated header: needs \(dataOffset) bytes, file has \(fileSize)" + versionMismatch(fd, major: major, fileSize: fileSize))
        }
        guard headerLen <= maxHeaderLength else {
            throw fail("header length \(headerLen) is over NumPy's limit of \(maxHeaderLength) bytes (a corrupt length field?)")
        }
        var text = [UInt8](repeating: 0, count: headerLen)
        try text.withUnsafeMutableBytes { try preadFully(fd, $0.baseAddress!, count: headerLen, offset: lenStart, path: path) }
        var parser = HeaderParser(bytes: text, allowsLongSuffix: major <= 2)
        let dict: [String: HeaderParser.Value]
        do { dict = try parser.parseHeader() } catch let e as HeaderParser.Failure { throw fail("malformed header: \(e.message)") }
        let (dtype, shape) = try fields(dict, path: path)
        let dataBytes = try byteCount(shape: shape, itemSize: dtype.itemSize, path: path)
        guard fileSize - dataOffset >= dataBytes else {
            throw fail("truncated: header promises \(dataBytes) bytes of data, file has \(fileSize - dataOffset)")
        }
        // A length field damaged to a shorter one still parses (the header then ends in its
        // padding) and every value was read rows early, each x beside another row's y, exit 0.
        // NumPy ends the header with a newline and writes nothing after the data.
        guard text.last == 0x0A else {
            throw fail("the header does not end in a newline, as NumPy ends it: its length field (\(headerLen) bytes) is damaged")
        }
        guard fileSize - dataOffset == dataBytes else {
            throw fail("\(fileSize - dataOffset - dataBytes) bytes after the \(dataBytes) bytes of data the header describes: the header's length field is damaged, or the file was appended to")
        }
        return NPYHeader(dtype: dtype, shape: shape, dataOffset: dataOffset)
    }

    /// Magic and version (1.0, 2.0 or 3.0, as NumPy) and the header length field: the major
    /// version, where the header text starts and its length.
    static func preamble(_ fd: Int32, fileSize: Int, path: String) throws -> (major: UInt8, start: Int, length: Int) {
        func fail(_ p: String) -> SDEFlowError { SDEFlowError.file(path, p) }
        var pre = [UInt8](repeating: 0, count: 12)
        let n = min(12, fileSize)
        try pre.withUnsafeMutableBytes { try preadFully(fd, $0.baseAddress!, count: n, offset: 0, path: path) }
        guard n >= 6, Array(pre[0..<6]) == npyMagic else { throw fail("not a .npy file (bad magic)") }
        guard n >= 10 else { throw fail("truncated header: file has \(fileSize) bytes") }
        let (major, minor) = (pre[6], pre[7])
        guard (1...3).contains(major), minor == 0 else {
            throw fail("unsupported .npy format version \(major).\(minor) (NumPy writes 1.0, 2.0 and 3.0)")
        }
        if major == 1 { return (major, 10, Int(pre[8]) | Int(pre[9]) << 8) }
        guard n >= 12 else { throw fail("truncated header: file has \(fileSize) bytes") }
        return (major, 12, (8..<12).reduce(0) { $0 | Int(pre[$1]) << (8 * ($1 - 8)) })
    }

    /// For a header length past the file: whether the file is laid out as version 1.0 (a 2-byte
    /// length, the dict from byte 10) while its version byte says 2.0 or 3.0 (a 4-byte length), as
    /// in a v1 file whose version byte was changed: the length then read was 662372482 bytes, and
    /// the message said nothing of the version.
    static func versionMismatch(_ fd: Int32, major: UInt8, fileSize: Int) -> String {
        guard major >= 2, fileSize >= 11 else { return "" }
        var b = [UInt8](repeating: 0, count: 3)
        guard pread(fd, &b, 3, 8) == 3, b[2] == UInt8(ascii: "{"), 10 + (Int(b[0]) | Int(b[1]) << 8) <= fileSize else { return "" }
        return ": the version byte says \(major).0 (a 4-byte header length), but the header is laid out as version 1.0 (a 2-byte length); the version byte is wrong: save the array again with NumPy"
    }

    /// The header's three entries, checked as NumPy checks them: exactly the keys 'descr',
    /// 'fortran_order' and 'shape'; a supported dtype, C order, at most `maxDimensions` dims.
    static func fields(_ dict: [String: HeaderParser.Value], path: String) throws -> (NPYDType, [Int]) {
        func fail(_ p: String) -> SDEFlowError { SDEFlowError.file(path, p) }
        let keys = ["descr", "fortran_order", "shape"]
        guard Set(dict.keys) == Set(keys) else {
            throw fail("malformed header: keys \(dict.keys.sorted()), expected exactly \(keys)")
        }
        guard case .string(let descr)? = dict["descr"] else {
            if case .structured? = dict["descr"] { throw fail("unsupported dtype (structured); \(supportedList)") }
            throw fail("malformed header: 'descr' is not a string")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else { throw fail("malformed header: 'fortran_order' is not True or False") }
        guard case .tuple(let shape)? = dict["shape"] else { throw fail("malformed header: 'shape' is not a tuple") }
        let dtype = try parseDescr(descr, path: path)
        if fortran {
            throw fail("Fortran-order (fortran_order: True) arrays are not supported; save np.ascontiguousarray(arr) instead")
        }
        guard shape.count <= maxDimensions else { throw fail("shape has \(shape.count) dimensions; at most \(maxDimensions) are supported") }
        return (dtype, shape)
    }

    /// Bytes of data the shape promises, with every product checked for overflow, the product of
    /// the non-zero dims included (as NumPy: so `rowWidth` of a (0, huge, huge) shape is safe too).
    static func byteCount(shape: [Int], itemSize: Int, path: String) throws -> Int {
        var nonZero = itemSize
        for n in shape where n > 0 {
            let (p, overflow) = nonZero.multipliedReportingOverflow(by: n)
            guard !overflow else { throw SDEFlowError.file(path, "malformed header: shape \(shape) is too large (its byte size overflows)") }
            nonZero = p
        }
        return shape.contains(0) ? 0 : nonZero
    }

    /// Maps a NumPy descr to a supported dtype; '=' and '|' mean native (little-endian here).
    static func parseDescr(_ descr: String, path: String) throws -> NPYDType {
        let order = descr.first ?? " "
        let code = "<>=|".contains(order) ? String(descr.dropFirst()) : descr
        guard let dtype = NPYDType(rawValue: "<" + code) else {
            throw SDEFlowError.file(path, "unsupported dtype '\(descr)'; \(supportedList)")
        }
        if order == ">" || (!isLittleEndianHost && order != "<") {
            throw SDEFlowError.file(path, "big-endian dtype '\(descr)' is not supported; convert with arr.astype('<\(code)')")
        }
        return dtype
    }

    static func readRowsAs<T: NPYReal>(_ path: String, header h: NPYHeader, rows: Range<Int>) throws -> [T] {
        guard rows.lowerBound >= 0, rows.upperBound <= h.rowCount else {
            throw SDEFlowError.file(path, "rows \(rows) out of range 0..<\(h.rowCount)")
        }
        let total = rows.count * h.rowWidth, size = h.dtype.itemSize
        if total == 0 { return [] }
        let fd = try openForReading(path)
        defer { close(fd) }
        try h.identity?.check(fd, path: path)
        let chunk = min(total, 1 << 19)  // elements per pread: bounds the scratch buffer at 4 MiB
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: chunk * size, alignment: 16)
        defer { scratch.deallocate() }
        return try [T](unsafeUninitializedCapacity: total) { out, initialized in
            var done = 0
            while done < total {
                let n = min(chunk, total - done)
                try preadFully(fd, scratch, count: n * size, offset: h.dataOffset + (rows.lowerBound * h.rowWidth + done) * size, path: path)
                let dst = out.baseAddress! + done
                switch h.dtype {
                case .float32: for i in 0..<n { dst[i] = T(Float(bitPattern: UInt32(littleEndian: scratch.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))) }
                case .float64: for i in 0..<n { dst[i] = T(Double(bitPattern: UInt64(littleEndian: scratch.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
                case .int32: for i in 0..<n { dst[i] = T(Int32(littleEndian: scratch.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
                case .int64: for i in 0..<n { dst[i] = T(Int64(littleEndian: scratch.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
                }
                done += n
            }
            initialized = total
        }
    }

    /// Rows `indices` (any order) of a float32 or float64 array, as Double: one open, one
    /// read per row (for a few scattered rows, such as the label stage's queries).
    public static func readRows(_ path: String, header h: NPYHeader, indices: [Int]) throws -> [Double] {
        guard h.dtype == .float32 || h.dtype == .float64 else { throw SDEFlowError.file(path, "expected float32 or float64, found \(h.dtype.rawValue)") }
        if let bad = indices.first(where: { !(0..<h.rowCount).contains($0) }) {
            throw SDEFlowError.file(path, "row \(bad) out of range 0..<\(h.rowCount)")
        }
        let w = h.rowWidth, size = h.dtype.itemSize
        let fd = try openForReading(path)
        defer { close(fd) }
        try h.identity?.check(fd, path: path)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(w * size, 1), alignment: 16)
        defer { raw.deallocate() }
        var out = [Double](repeating: 0, count: indices.count * w)
        for (i, j) in indices.enumerated() {
            try preadFully(fd, raw, count: w * size, offset: h.dataOffset + j * w * size, path: path)
            for c in 0..<w {
                out[i * w + c] = h.dtype == .float32
                    ? Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * c, as: UInt32.self))))
                    : Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * c, as: UInt64.self)))
            }
        }
        return out
    }

    // MARK: - Writing

    /// NumPy's header: the dict padded with spaces and a final '\n' so that magic + version +
    /// length + dict is a multiple of 64 bytes. Version 1.0 unless the dict needs > 65535 bytes.
    static func headerBytes(dtype: NPYDType, shape: [Int]) -> [UInt8] {
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        let dict = Array("{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': (\(dims)), }".utf8)
        func padded(_ prefix: Int) -> [UInt8] {
            dict + [UInt8](repeating: 0x20, count: (64 - (prefix + dict.count + 1) % 64) % 64) + [0x0A]
        }
        let v1 = padded(10).count <= 65535
        let text = padded(v1 ? 10 : 12), n = text.count
        let len: [UInt8] = v1 ? [UInt8(n & 0xFF), UInt8(n >> 8)] : (0..<4).map { UInt8((n >> (8 * $0)) & 0xFF) }
        return npyMagic + [v1 ? 1 : 2, 0] + len + text
    }

    static func writeArray<E>(_ path: String, _ values: [E], shape: [Int], dtype: NPYDType,
                              store: (E, UnsafeMutableRawPointer) -> Void) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, { $0 &* $1 }) == values.count else {
            throw SDEFlowError.file(path, "shape \(shape) does not match \(values.count) values")
        }
        let size = dtype.itemSize, chunk = 1 << 16
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: chunk * size, alignment: 16)
        defer { scratch.deallocate() }
        try writeFileAtomically(path) { emit in
            try headerBytes(dtype: dtype, shape: shape).withUnsafeBytes { try emit($0) }
            try values.withUnsafeBufferPointer { v in
                for start in stride(from: 0, to: v.count, by: chunk) {
                    let n = min(chunk, v.count - start)
                    for i in 0..<n { store(v[start + i], scratch + i * size) }
                    try emit(UnsafeRawBufferPointer(start: scratch, count: n * size))
                }
            }
        }
    }
}
