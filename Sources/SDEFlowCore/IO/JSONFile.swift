import Foundation

/// Pretty, sorted JSON written atomically.
public func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try writeFileAtomically(path, contents: try encoder.encode(value))
}

public func readJSON<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
    guard let raw = FileManager.default.contents(atPath: path) else { throw SDEFlowError.file(path, "no such file") }
    return try decodeJSON(type, raw, path: path, expected: "")
}

/// Decodes `raw` (the contents of `path`), refusing a key that appears twice in one object: JSON
/// readers disagree on which one counts (Foundation takes the first, Python's json the last).
/// `expected` is appended to a decoding error (what the file must hold at least).
func decodeJSON<T: Decodable>(_ type: T.Type, _ raw: Data, path: String, expected: String) throws -> T {
    let value: T
    do { value = try JSONDecoder().decode(type, from: raw) } catch {
        throw SDEFlowError.file(path, "unreadable\(expected): \(error)")
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
