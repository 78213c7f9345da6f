import Foundation

/// `name` inside folder `dir`.
public func filePath(_ dir: String, _ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
