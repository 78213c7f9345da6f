import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A path a command reads, with the option that named it (for messages).
public struct JobInput: Sendable {
    public let option: String, path: String
    public init(_ option: String, _ path: String) { self.option = option; self.path = path }
}

/// A path a command writes: a folder replaced whole (`marker` is the file that says what it is:
/// labels.json, model.json, ...) or one file: any file, a `.npy` array or an `.svg` plot (these
/// two replace only a file of their own format, `OutputGuard.checkFileReplaceable`).
public struct JobOutput: Sendable {
    public enum Kind: Sendable { case folder(marker: String), file, npy, svg }
    public let option: String, path: String, kind: Kind
    public init(_ option: String, _ path: String, _ kind: Kind) { self.option = option; self.path = path; self.kind = kind }
}

/// The checks every command makes on rank 0 before any work, so a job never fails at its end
/// for a reason known at its start: no output overlaps an input (the same path, or one inside
/// the other, after resolving symbolic links), an existing output may be replaced
/// (`checkReplaceable`), and the output's folder exists (missing parents are created, like
/// `mkdir -p`) and is writable.
public enum OutputGuard {
    public static func check(inputs: [JobInput], outputs: [JobOutput]) throws {
        try checkNamed(inputs.map { ($0.option, $0.path) } + outputs.map { ($0.option, $0.path) })
        for i in inputs { try checkNotBeingWritten(i) }
        for o in outputs {
            let out = canonicalPath(o.path)
            for i in inputs {
                let inp = canonicalPath(i.path)
                if out == inp {
                    throw SDEFlowError.option(o.option, "\(o.path) is the input \(i.option) \(i.path): writing it would replace the input; choose another output")
                }
                if out.hasPrefix(inp == "/" ? "/" : inp + "/") {
                    throw SDEFlowError.option(o.option, "\(o.path) lies inside the input \(i.option) \(i.path); choose an output outside it")
                }
                if inp.hasPrefix(out == "/" ? "/" : out + "/") {
                    throw SDEFlowError.option(o.option, "\(o.path) contains the input \(i.option) \(i.path), which replacing it would delete; choose another output")
                }
            }
            try checkNotInsideAnOutput(o)
            try checkWritable(o)
        }
    }

    /// Every path option names a path: an empty one resolved to the current folder, so
    /// `run --output ""` wrote its four stages there, `simulate --output ""` failed only after
    /// simulating, and `train --output ""` was refused as containing its input.
    public static func checkNamed(_ paths: [(option: String, path: String)]) throws {
        if let empty = paths.first(where: { $0.path.isEmpty }) {
            throw SDEFlowError.option(empty.option, "the path is empty; give the name of a file or folder")
        }
    }

    /// The files that say a folder is an output of sdeflow-mpi (data, labels, model, evaluation).
    static let markers = ["dataset.json", "labels.json", "model.json", "metrics.json"]

    /// No folder above the output is itself an output of sdeflow-mpi, or being written by
    /// another job: `run --output M` on a model folder M put data/, labels/, model/ and eval/
    /// inside it, even while another job held M's lock, and a later `train --output M` then
    /// refused to replace M.
    public static func checkNotInsideAnOutput(_ o: JobOutput) throws {
        // Another job's lock file or checkpoint folder (deleted when that job ends).
        let path = canonicalPath(o.path)
        if path.hasSuffix(".lock") || path.split(separator: "/").contains(where: { $0.hasSuffix(".partial") }) {
            throw SDEFlowError.option(o.option, "\(o.path) is, or lies inside, a lock file or checkpoint folder (*.lock, *.partial) that sdeflow-mpi deletes when a job ends; choose another output")
        }
        for folder in selfAndAncestors(parentFolder(of: path)) {
            if let marker = markers.first(where: { FileManager.default.fileExists(atPath: filePath(folder, $0)) }) {
                throw SDEFlowError.option(o.option, "\(o.path) lies inside \(folder), an output of sdeflow-mpi (it holds \(marker)), which is replaced whole when written again; choose an output outside it")
            }
            if let why = OutputLock.unreadable(OutputLock.lockName(folder)) {
                throw SDEFlowError.file(o.path, "lies inside \(folder), whose lock \(OutputLock.lockName(folder)) is \(why); if no sdeflow-mpi job is writing \(folder), remove that lock and run again")
            }
            if let holder = OutputLock.holder(OutputLock.lockName(folder)) {
                throw SDEFlowError.file(o.path, "lies inside \(folder), which another sdeflow-mpi job is writing (host \(holder["host"] ?? "?"), pid \(holder["pid"] ?? "?")); choose an output outside it, or wait for that job to end")
            }
        }
    }

    /// The output may be replaced, and its parent folder exists (created if missing) and is writable.
    static func checkWritable(_ o: JobOutput) throws {
        try checkNamesItself(o)
        switch o.kind {
        case .folder(let marker):
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: o.path, isDirectory: &isDir), !isDir.boolValue {
                throw SDEFlowError.option(o.option, "\(o.path) is a file; give the name of a folder to write (it is written whole)")
            }
            try checkReplaceable(o.path, markers: [marker])
            // A data folder made by hand (the user's measurements) is never replaced by simulated data.
            if marker == "dataset.json", FileManager.default.fileExists(atPath: filePath(o.path, marker)),
               !OutputFiles.simulated(filePath(o.path, marker)) {
                throw SDEFlowError.file(o.path, "holds data that `simulate` did not write (its dataset.json has no \"simulation\" record): refusing to replace it (remove it, or choose another output)")
            }
            try checkCheckpointFolder(of: o)
        case .file, .npy, .svg:
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: o.path, isDirectory: &isDir), isDir.boolValue {
                throw SDEFlowError.option(o.option, "\(o.path) is a folder; give the name of a file to write")
            }
            // A folder name (`new/`) that does not exist yet failed only at the write, after the work.
            if o.path.hasSuffix("/") {
                throw SDEFlowError.option(o.option, "\(o.path) ends in /, which names a folder; give the name of a file to write")
            }
            try checkFileReplaceable(o)
        }
        let parent = parentFolder(of: o.path), folder = parent.isEmpty ? "." : parent
        try createFolder(folder)
        guard access(folder, W_OK | X_OK) == 0 else {
            throw SDEFlowError.file(folder, "cannot write the output \(o.path) here: \(String(cString: strerror(errno)))")
        }
    }

    /// The output path names the folder or file it replaces, not a link to it or a special file:
    /// the replacement is written beside the path and renamed over it, and the lock is taken
    /// beside it. Through a symbolic link two jobs took two locks on one folder and the link
    /// was replaced by a folder; `X/.` staged into `X/..partial` and failed after the work; a
    /// FIFO or device (`/dev/null` as root) was replaced by a regular file.
    static func checkNamesItself(_ o: JobOutput) throws {
        let last = (o.path.hasSuffix("/") ? String(o.path.reversed().drop { $0 == "/" }.reversed()) : o.path)
        if [".", ".."].contains((last as NSString).lastPathComponent) {
            throw SDEFlowError.option(o.option, "\(o.path): name the output itself (\(canonicalPath(o.path))), not . or ..")
        }
        var st = stat()
        guard lstat(o.path, &st) == 0 else { return }  // nothing there yet
        switch st.st_mode & S_IFMT {
        case S_IFLNK:
            throw SDEFlowError.option(o.option, "\(o.path) is a symbolic link (to \(linkTarget(o.path))); give the path it points to, so the output is replaced and locked where it is")
        case S_IFREG, S_IFDIR: return
        default:
            throw SDEFlowError.option(o.option, "\(o.path) is a special file (a FIFO, socket or device), which writing would replace by a regular file; give the name of a file or folder")
        }
    }

    /// An existing file at a `.npy` or `.svg` output is one this tool could have written (a valid
    /// .npy header of any dtype and shape; a file that starts like an SVG document): `sample
    /// --output notes.txt` replaced a user's text file without a word.
    static func checkFileReplaceable(_ o: JobOutput) throws {
        guard FileManager.default.fileExists(atPath: o.path) else { return }
        let refuse = "refusing to replace it (remove it, or choose another output)"
        switch o.kind {
        case .npy:
            do { _ = try NPY.header(at: o.path) } catch {
                let why = (error as? SDEFlowError)?.problem ?? "\(error)"
                throw SDEFlowError.file(o.path, "exists and is not a .npy array (\(why)), so sdeflow-mpi did not write it: \(refuse)")
            }
        case .svg:
            let head = FileHandle(forReadingAtPath: o.path).flatMap { h in defer { try? h.close() }; return try? h.read(upToCount: 512) } ?? Data()
            let text = String(decoding: head, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard text.hasPrefix("<svg") || (text.hasPrefix("<?xml") && text.contains("<svg")) else {
                throw SDEFlowError.file(o.path, "exists and is not an SVG image, so sdeflow-mpi did not write it: \(refuse)")
            }
        case .file, .folder: return
        }
    }

    /// `<output>.partial`, which the stage resumes from and deletes once the output is written,
    /// holds only checkpoint files (`*.labels`, `train.ckpt*`): a folder of that name holding
    /// anything else is a user's, and was deleted whole at the end of the run.
    static func checkCheckpointFolder(of o: JobOutput) throws {
        let folder = checkpointFolder(for: o.path)
        var st = stat()
        if lstat(folder, &st) == 0, st.st_mode & S_IFMT == S_IFLNK {
            throw SDEFlowError.option(o.option, "\(folder), the checkpoint folder of \(o.path), is a symbolic link (to \(linkTarget(folder))): checkpoint files would be written into its target and left there; remove the link")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) else { return }
        let foreign = isDir.boolValue
            ? ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !($0.hasSuffix(".labels") || $0.hasPrefix("train.ckpt")) }
            : [(folder as NSString).lastPathComponent]
        guard foreign.isEmpty else {
            throw SDEFlowError.option(o.option, "\(folder), the checkpoint folder of \(o.path) (deleted when the output is written), holds \(foreign.sorted().prefix(3).joined(separator: ", ")), which this tool did not write; move it elsewhere")
        }
    }

    /// What the symbolic link `path` points to, as written in it (`realpath` fails on a dangling
    /// link, and the message then named the link as its own target).
    static func linkTarget(_ path: String) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? canonicalPath(path)
    }

    /// `path` absolute, with `.` and `..` resolved and the symbolic links of its existing part
    /// followed: two names of one folder give the same string.
    public static func canonicalPath(_ path: String) -> String {
        var head = URL(fileURLWithPath: path).standardizedFileURL.path
        var tail: [String] = []
        while true {
            if let resolved = realpath(head, nil) {
                defer { free(resolved) }
                let base = String(cString: resolved)
                return tail.isEmpty ? base : (base == "/" ? "" : base) + "/" + tail.reversed().joined(separator: "/")
            }
            let parent = parentFolder(of: head)
            if parent.isEmpty || parent == head { return URL(fileURLWithPath: path).standardizedFileURL.path }
            tail.append((head as NSString).lastPathComponent)
            head = parent
        }
    }
}

extension OutputGuard {
    /// No other live job is writing the input (its lock, or the lock of a folder above it, is
    /// held): `label --data D` started while `simulate --output D` was replacing D and read a mix
    /// of both data sets.
    static func checkNotBeingWritten(_ i: JobInput) throws {
        for path in selfAndAncestors(canonicalPath(i.path)) {
            if let why = OutputLock.unreadable(OutputLock.lockName(path)) {
                throw SDEFlowError.file(i.path, "may be being written: the lock \(OutputLock.lockName(path)) is \(why); if no sdeflow-mpi job is writing \(path), remove that lock and run again")
            }
            if let holder = OutputLock.holder(OutputLock.lockName(path)), holder["pid"] != "\(getpid())" || holder["host"] != stagingHost {
                let whose = path == canonicalPath(i.path) ? "" : " (it lies inside \(path))"
                throw SDEFlowError.file(i.path, "is being written by another sdeflow-mpi job\(whose) (host \(holder["host"] ?? "?"), pid \(holder["pid"] ?? "?"), started \(holder["started"] ?? "?")): reading it now could mix its old and new contents; wait for that job to end (\(OutputLock.lockName(path)) is its lock)")
            }
        }
    }

    /// `path` and each folder above it, up to the root (none for an empty path).
    static func selfAndAncestors(_ path: String) -> [String] {
        var out: [String] = [], folder = path
        while !folder.isEmpty {
            out.append(folder)
            let up = parentFolder(of: folder)
            if up == folder { break }
            folder = up
        }
        return out
    }
}
