/// Recursive-descent parser for the Python dict literal in a `.npy` header, as strict as NumPy's
/// `ast.literal_eval` or stricter (anything it accepts, NumPy reads the same way): string keys;
/// values are strings, True/False, tuples of non-negative ints (`()`, `(5,)`, `(3, 2)`; a 1-tuple
/// needs its comma, no leading zeros, Python 2's `3L` only in format versions 1.0 and 2.0), or a
/// list (a structured dtype, reported as unsupported). Whitespace and trailing commas are
/// allowed; after the closing brace only whitespace may follow.
struct HeaderParser {
    enum Value { case string(String), bool(Bool), tuple([Int]), structured }
    struct Failure: Error { let message: String }
    let bytes: [UInt8]
    /// Python 2 long literals (`3L`): NumPy accepts them in versions 1.0 and 2.0 only.
    let allowsLongSuffix: Bool
    var pos = 0
    init(bytes: [UInt8], allowsLongSuffix: Bool = true) { self.bytes = bytes; self.allowsLongSuffix = allowsLongSuffix }

    mutating func skipSpace() { while pos < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[pos]) { pos += 1 } }
    /// Consumes `c` (after whitespace) if it is next.
    mutating func accept(_ c: Character) -> Bool {
        skipSpace()
        guard pos < bytes.count, bytes[pos] == c.asciiValue! else { return false }
        pos += 1
        return true
    }
    mutating func expect(_ c: Character) throws {
        guard accept(c) else { throw Failure(message: "expected '\(c)' at offset \(pos)") }
    }

    /// The whole header: one dict, then only whitespace (NumPy pads with spaces and a newline).
    mutating func parseHeader() throws -> [String: Value] {
        let dict = try parseDict()
        while pos < bytes.count, [0x20, 0x09, 0x0A, 0x0D, 0x0C].contains(bytes[pos]) { pos += 1 }
        guard pos == bytes.count else { throw Failure(message: "unexpected bytes after the dict at offset \(pos)") }
        return dict
    }

    mutating func parseDict() throws -> [String: Value] {
        try expect("{")
        var dict: [String: Value] = [:]
        while !accept("}") {
            let key = try parseString()
            try expect(":")
            // Name the key: "unexpected value '1'" did not say that the key was an extra one.
            do { dict[key] = try parseValue() } catch let f as Failure { throw Failure(message: "\(f.message) for key '\(key)'") }
            if !accept(",") { try expect("}"); break }
        }
        return dict
    }
    mutating func parseString() throws -> String {
        skipSpace()
        guard pos < bytes.count, bytes[pos] == 0x27 || bytes[pos] == 0x22 else { throw Failure(message: "expected a string at offset \(pos)") }
        let quote = bytes[pos], start = pos + 1
        guard let end = bytes[start...].firstIndex(of: quote) else { throw Failure(message: "unterminated string") }
        pos = end + 1
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
    mutating func parseWord() -> String {
        skipSpace()
        let start = pos
        while pos < bytes.count, bytes[pos] == 0x2D || (0x30...0x39).contains(bytes[pos]) || (0x41...0x5A).contains(bytes[pos] & 0xDF) { pos += 1 }
        return String(decoding: bytes[start..<pos], as: UTF8.self)
    }
    mutating func parseValue() throws -> Value {
        skipSpace()
        guard pos < bytes.count else { throw Failure(message: "unexpected end") }
        switch bytes[pos] {
        case 0x27, 0x22: return .string(try parseString())
        case 0x5B: try skipList(); return .structured
        case 0x28: return .tuple(try parseTuple())
        default:
            switch parseWord() {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case let w: throw Failure(message: "unexpected value '\(w)'")
            }
        }
    }

    /// '[' … ']': a structured descr (list of fields), skipped balanced, strings opaque.
    mutating func skipList() throws {
        var depth = 0
        repeat {
            guard pos < bytes.count else { throw Failure(message: "unterminated list") }
            switch bytes[pos] {
            case 0x27, 0x22: _ = try parseString(); continue
            case 0x5B, 0x28: depth += 1
            case 0x5D, 0x29: depth -= 1
            default: break
            }
            pos += 1
        } while depth > 0
    }

    /// '(' dims ')': a Python tuple of ints. `(5)` is the number 5 in Python, not a shape.
    mutating func parseTuple() throws -> [Int] {
        pos += 1
        var dims: [Int] = [], comma = false
        while !accept(")") {
            dims.append(try parseDimension())
            comma = accept(",")
            if !comma { try expect(")"); break }
        }
        guard dims.count != 1 || comma else {
            throw Failure(message: "shape (\(dims[0])) is a number, not a tuple (a 1-D shape is written (\(dims[0]),))")
        }
        return dims
    }

    /// One shape entry: a decimal int ≥ 0 as Python writes it (no leading zeros but in 0, 00…).
    mutating func parseDimension() throws -> Int {
        var word = parseWord()
        if allowsLongSuffix && word.hasSuffix("L") { word.removeLast() }
        let digits = word.hasPrefix("-") ? word.dropFirst() : Substring(word)
        guard let n = Int(word), !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else {
            throw Failure(message: "bad shape entry '\(word)' (expected a non-negative integer)")
        }
        guard digits.first != "0" || digits.allSatisfy({ $0 == "0" }) else {
            throw Failure(message: "bad shape entry '\(word)' (leading zeros are not a Python integer)")
        }
        guard n >= 0 else { throw Failure(message: "negative dimension \(n) in the shape") }
        return n
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
