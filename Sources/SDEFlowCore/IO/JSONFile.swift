import Foundation

/// Pretty, sorted JSON written atomically.
public func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try writeFileAtomically(path, contents: try encoder.encode(value))
}

public func readJSON<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
    guard let raw = FileManager.default.contents(atPath: path) else { throw SDEFlowError.file(path, "no such file") }
    do { return try JSONDecoder().decode(type, from: raw) } catch { throw SDEFlowError.file(path, "unreadable: \(error)") }
}
