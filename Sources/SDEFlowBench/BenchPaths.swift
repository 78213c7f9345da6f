import ArgumentParser
import Foundation
import SDEFlowCore

// `bench`'s paths are checked in `validate()`, before any section runs: the default sections take
// minutes, and a --json that cannot be written used to fail only after all of them.

/// `path` (the value of `option`) can be created as a file: not a folder, in a folder that exists
/// and takes a new file (tried with a probe file, removed at once).
func checkWritableFile(_ path: String, option: String) throws {
    try OutputGuard.checkNamed([(option, path)])
    // A file inside a data set, label, model or evaluation folder (or a lock or checkpoint) would
    // be lost or corrupt it, as for every other command's output.
    try OutputGuard.checkNotInsideAnOutput(JobOutput(option, path, .file))
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
        throw ValidationError("\(option) \(path) is a folder; give a file name, e.g. \(filePath(path, "bench.json"))")
    }
    if path.hasSuffix("/") { throw ValidationError("\(option) \(path) ends in /, which names a folder; give a file name, e.g. \(filePath(path, "bench.json"))") }
    let parent = parentFolder(of: path), dir = parent.isEmpty ? "." : parent
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        // `--json notes.txt/b.json` with notes.txt a file was said to name a missing folder.
        if FileManager.default.fileExists(atPath: dir) { throw ValidationError("\(option) \(path): \(dir) is a file, not a folder; give a path in a folder") }
        throw ValidationError("\(option) \(path): the folder \(dir) does not exist (create it first)")
    }
    let probe = filePath(dir, ".\((path as NSString).lastPathComponent).probe-\(getpid())-\(UUID().uuidString.prefix(8))")
    let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw ValidationError("\(option) \(path): cannot create a file in \(dir): \(String(cString: strerror(errno)))") }
    close(fd)
    unlink(probe)
}

/// A folder can be made in `dir` (created if missing, as the sections do): tried with a probe
/// folder, removed at once (with `dir` itself if the probe created it).
func checkWorkFolder(_ dir: String, option: String) throws {
    try OutputGuard.checkNamed([(option, dir)])
    // Inside a model or label folder it left an empty folder there, which `train` then refused to replace.
    try OutputGuard.checkNotInsideAnOutput(JobOutput(option, dir, .file))
    let existed = FileManager.default.fileExists(atPath: dir)
    let probe = filePath(dir, ".sdeflow-probe-\(getpid())-\(UUID().uuidString.prefix(8))")
    do {
        try FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
    } catch {
        let posix = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError).map { String(cString: strerror(Int32($0.code))) }
        throw ValidationError("\(option) \(dir): cannot create a folder there (\(posix ?? (error as NSError).localizedDescription))")
    }
    try? FileManager.default.removeItem(atPath: existed ? probe : dir)
}
