import Foundation

/// Pretty, sorted JSON written atomically.
public func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try writeFileAtomically(path, contents: try encoder.encode(value))
}

public func readJSON<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
    try requireRegularFile(path)
    guard let raw = FileManager.default.contents(atPath: path) else { throw SDEFlowError.file(path, "no such file") }
    return try decodeJSON(type, raw, path: path, expected: "")
}

/// Decodes `raw` (the contents of `path`), refusing a key that appears twice in one object: JSON
/// readers disagree on which one counts (Foundation takes the first, Python's json the last).
/// `expected` is appended to a decoding error (what the file must hold at least).
func decodeJSON<T: Decodable>(_ type: T.Type, _ raw: Data, path: String, expected: String) throws -> T {
    let value: T
    do { value = try JSONDecoder().decode(type, from: raw) } catch {
        throw SDEFlowError.file(path, "unreadable\(expected): \(JSONProblem.describe(error, raw: raw))")
    }
    if let key = duplicateKey(in: raw) {
        throw SDEFlowError.file(path, "key \"\(key)\" appears twice in one object: ambiguous (readers disagree on which counts), keep one")
    }
    return value
}

/// The first key that appears twice in one object of a valid JSON text (keys compared decoded,
/// so "d\u0074" is "dt"), or nil.
func duplicateKey(in raw: Data) -> String? {
    let b = [UInt8](raw)
    var objects: [Set<String>?] = []  // per open container: the keys so far (nil for an array)
    var i = 0
    while i < b.count {
        switch b[i] {
        case UInt8(ascii: "{"): objects.append([])
        case UInt8(ascii: "["): objects.append(nil)
        case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = objects.popLast()
        case UInt8(ascii: "\""):
            var end = i + 1
            while end < b.count && b[end] != UInt8(ascii: "\"") { end += b[end] == UInt8(ascii: "\\") ? 2 : 1 }
            var next = end + 1
            while next < b.count && [0x20, 0x09, 0x0A, 0x0D].contains(b[next]) { next += 1 }
            if next < b.count, b[next] == UInt8(ascii: ":"), let keys = objects.last ?? nil, end < b.count,
               let key = (try? JSONSerialization.jsonObject(with: Data(b[i...end]), options: .fragmentsAllowed)) as? String {
                if keys.contains(key) { return key }
                objects[objects.count - 1]?.insert(key)
            }
            i = end
        default: break
        }
        i += 1
    }
    return nil
}

/// A decoding failure in one line naming the key path (`observedMu[0][1]`), instead of
/// Foundation's `DecodingError` text with its `CodingKeys(stringValue: …)` internals. A number
/// that is not finite is named first: Foundation calls `1e400`, `NaN` and `Infinity` "not valid
/// JSON" without saying where, and Python's `json.dump` writes NaN and Infinity by default.
enum JSONProblem {
    static func describe(_ error: any Error, raw: Data) -> String {
        if let (token, key) = nonFiniteNumber(in: raw) {
            return "\(key.map { "\"\($0)\": " } ?? "")\(token) is not a finite number (JSON numbers must be finite: NaN and Infinity are not JSON, and 1e400 overflows a double; Python's json.dump writes NaN/Infinity unless allow_nan=False)"
        }
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .keyNotFound(let key, let c): return "key \"\(keyPath(c.codingPath + [key]))\" is missing"
        case .typeMismatch(_, let c): return "\(place(c.codingPath)): \(lowerFirst(c.debugDescription))"
        case .valueNotFound(let type, let c): return "\(place(c.codingPath)) is null; expected a \(type)"
        case .dataCorrupted(let c):
            if !c.codingPath.isEmpty { return "\(place(c.codingPath)): \(lowerFirst(c.debugDescription))" }
            // Valid JSON whose number does not fit its field ("d": 1.5, "dt": 1e-400) was called "not valid JSON".
            guard (try? JSONSerialization.jsonObject(with: raw, options: .fragmentsAllowed)) != nil else {
                return "not valid JSON (`python3 -m json.tool FILE` shows where)"
            }
            return "valid JSON, but a number does not fit its field: a count (such as d) must be a whole number, and a value must lie within a double's range (1e-400 underflows)"
        @unknown default: return "\(e)"
        }
    }

    /// `a.b[0][1]` for a coding path.
    static func keyPath(_ path: [any CodingKey]) -> String {
        String(path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop(while: { (c: Character) in c == "." }))
    }

    static func place(_ path: [any CodingKey]) -> String { path.isEmpty ? "the top level" : "\"\(keyPath(path))\"" }

    static func lowerFirst(_ s: String) -> String { s.prefix(1).lowercased() + s.dropFirst() }

    /// The first number outside strings that is NaN, ±Infinity or overflows a Double, with the
    /// last object key before it, or nil.
    static func nonFiniteNumber(in raw: Data) -> (token: String, key: String?)? {
        let b = [UInt8](raw)
        var i = 0, key: String? = nil
        let ends = Set(",]} \t\r\n:".utf8)
        while i < b.count {
            if b[i] == UInt8(ascii: "\"") {
                var end = i + 1
                while end < b.count && b[end] != UInt8(ascii: "\"") { end += b[end] == UInt8(ascii: "\\") ? 2 : 1 }
                var next = end + 1
                while next < b.count && [0x20, 0x09, 0x0A, 0x0D].contains(b[next]) { next += 1 }
                if next < b.count, b[next] == UInt8(ascii: ":"), end < b.count {
                    key = (try? JSONSerialization.jsonObject(with: Data(b[i...end]), options: .fragmentsAllowed)) as? String
                }
                i = end + 1
                continue
            }
            guard b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") || (48...57).contains(b[i]) || b[i] == UInt8(ascii: "N") || b[i] == UInt8(ascii: "I") else { i += 1; continue }
            var end = i
            while end < b.count && !ends.contains(b[end]) { end += 1 }
            let token = String(decoding: b[i..<end], as: UTF8.self)
            if ["NaN", "-NaN", "Infinity", "-Infinity", "+Infinity"].contains(token) || Double(token).map({ !$0.isFinite }) == true {
                return (token, key)
            }
            i = end
        }
        return nil
    }
}

/// Refuses an input that exists but is not a regular file (or a link to one): opening a FIFO
/// blocks until a writer comes, a device or socket reads without end, and a folder is not data.
func requireRegularFile(_ path: String) throws {
    var st = stat()
    guard stat(path, &st) == 0 else { return }  // missing: the caller says "no such file"
    let kind: String
    switch st.st_mode & S_IFMT {
    case S_IFREG: return
    case S_IFDIR: kind = "a folder"
    case S_IFIFO: kind = "a FIFO (named pipe)"
    case S_IFSOCK: kind = "a socket"
    case S_IFCHR, S_IFBLK: kind = "a device"
    default: kind = "a special file"
    }
    throw SDEFlowError.file(path, "is \(kind), not a regular file: inputs are read from files (copy the data into one)")
}
