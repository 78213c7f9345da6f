import Foundation
@testable import SDEFlowCore
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Outputs are replaced whole or not at all, never overlap an input, and are written by one job
/// at a time (`writeFolderAtomically`, `OutputGuard`, `OutputLock`).
@Suite struct OutputTests {
    static func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sdeflow-output-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ folder: String, _ files: [String: String]) throws {
        try writeFolderAtomically(folder) { dir in
            for (name, text) in files { try writeFileAtomically(filePath(dir, name), contents: text) }
        }
    }

    @Test func aFolderIsReplacedWhole() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let out = filePath(root, "out")
        try Self.write(out, ["labels.json": "1", "x.npy": "1", "z.npy": "1"])
        try Self.write(out, ["labels.json": "2", "x.npy": "2"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["labels.json", "x.npy"])
        #expect(try String(contentsOfFile: filePath(out, "x.npy"), encoding: .utf8) == "2")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["out"], "staging or old folders left behind")
    }

    /// A reader that opens the folder and then its files sees one generation, never a mix.
    @Test func aReaderSeesTheOldFolderOrTheNewNeverAMix() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let out = filePath(root, "out")
        try Self.write(out, ["m.json": "0", "a.npy": "0"])
        let done = Atomic<Bool>(false), mixed = Mutex<[String]>([]), whole = Atomic<Int>(0)
        let reader = Thread {
            while !done.load(ordering: .relaxed) {
                let dir = open(out, O_RDONLY | O_DIRECTORY)
                guard dir >= 0 else { continue }
                let texts = ["m.json", "a.npy"].map { name -> String? in
                    let fd = openat(dir, name, O_RDONLY)
                    guard fd >= 0 else { return nil }
                    defer { close(fd) }
                    var buffer = [UInt8](repeating: 0, count: 16)
                    let n = read(fd, &buffer, 16)
                    return n > 0 ? String(decoding: buffer.prefix(n), as: UTF8.self) : nil
                }
                close(dir)
                guard let m = texts[0], let a = texts[1] else { continue }
                if m == a { whole.add(1, ordering: .relaxed) } else { mixed.withLock { $0.append("\(m) vs \(a)") } }
            }
        }
        reader.start()
        for generation in 1...150 { try Self.write(out, ["m.json": "\(generation)", "a.npy": "\(generation)"]) }
        done.store(true, ordering: .relaxed)
        Thread.sleep(forTimeInterval: 0.05)
        #expect(mixed.withLock { $0 }.isEmpty, "a reader saw files of two generations: \(mixed.withLock { $0.prefix(5) })")
        #expect(whole.load(ordering: .relaxed) > 0, "the reader never read the folder")
    }

    @Test func aFolderThatIsNoOutputOfThisKindIsNotReplaced() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let mine = filePath(root, "notes")
        try FileManager.default.createDirectory(atPath: filePath(mine, "sub"), withIntermediateDirectories: true)
        #expect(throws: SDEFlowError.self) { try Self.write(mine, ["m.json": "1"]) }
        let plain = filePath(root, "plain")
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: true)
        try "mine".write(toFile: filePath(plain, "notes.txt"), atomically: true, encoding: .utf8)
        let error = #expect(throws: SDEFlowError.self) { try Self.write(plain, ["m.json": "1"]) }
        #expect(error?.description.contains("without m.json") == true, "\(String(describing: error))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: plain) == ["notes.txt"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).sorted() == ["notes", "plain"])
    }

    @Test func outputsOverlappingInputsAreRefused() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = filePath(root, "D")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: filePath(root, "alias"), withDestinationPath: data)
        let input = [JobInput("--data", data)]
        let cases: [(String, String)] = [
            (data, "is the input --data"), (data + "/", "is the input --data"), (filePath(root, "alias"), "is the input --data"),
            (filePath(data, "labels"), "lies inside the input"), (filePath(root, "alias/x/../labels"), "lies inside the input"),
            (root, "contains the input"),
        ]
        for (output, message) in cases {
            let e = #expect(throws: SDEFlowError.self) { try OutputGuard.check(inputs: input, outputs: [JobOutput("--output", output, .folder(marker: "labels.json"))]) }
            #expect(e?.description.contains(message) == true, "\(output): \(String(describing: e))")
        }
        try OutputGuard.check(inputs: input, outputs: [JobOutput("--output", filePath(root, "new/deeper/labels"), .folder(marker: "labels.json"))])
        #expect(FileManager.default.fileExists(atPath: filePath(root, "new/deeper")), "missing parents are created")
        let file = filePath(root, "a-file")
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: SDEFlowError.self) { try OutputGuard.check(inputs: input, outputs: [JobOutput("--output", filePath(file, "labels"), .file)]) }
        #expect(throws: SDEFlowError.self) { try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", "/proc/sdeflow/x.npy", .file)]) }
    }

    /// Catches: an output that is a symbolic link (two jobs locked one folder under two names, and
    /// the link was replaced by a folder), `X/.` (staged into `X/..partial`, refused after the
    /// work), a FIFO or device replaced by a regular file (`/dev/null` as root), and a user's
    /// folder named `<output>.partial` deleted whole at the end of the run.
    @Test func outputsThatAreLinksDotsOrSpecialFilesAreRefused() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let real = filePath(root, "real"), fifo = filePath(root, "p.npy")
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: filePath(root, "link"), withDestinationPath: real)
        try "x".write(toFile: filePath(root, "f.npy"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: filePath(root, "l.npy"), withDestinationPath: filePath(root, "f.npy"))
        #expect(mkfifo(fifo, 0o644) == 0)
        let cases: [(String, JobOutput.Kind, String)] = [
            (filePath(root, "link"), .folder(marker: "labels.json"), "symbolic link"), (real + "/.", .folder(marker: "labels.json"), "not . or .."),
            (real + "/./", .folder(marker: "labels.json"), "not . or .."), (filePath(root, "l.npy"), .file, "symbolic link"),
            (fifo, .file, "special file"), ("/dev/null", .file, "special file"),
        ]
        for (output, kind, message) in cases {
            let e = #expect(throws: SDEFlowError.self) { try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", output, kind)]) }
            #expect(e?.description.contains(message) == true, "\(output): \(String(describing: e))")
        }
        try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", real, .folder(marker: "labels.json"))])
        try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", filePath(root, "f.npy"), .file)])
        // A user's folder named like the checkpoint folder (deleted once the output is written).
        let partial = checkpointFolder(for: real)
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
        try "x".write(toFile: filePath(partial, "a1-rank0.labels"), atomically: true, encoding: .utf8)
        try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", real, .folder(marker: "labels.json"))])
        try "notes".write(toFile: filePath(partial, "notes.txt"), atomically: true, encoding: .utf8)
        let e = #expect(throws: SDEFlowError.self) { try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", real, .folder(marker: "labels.json"))]) }
        #expect(e?.description.contains("notes.txt") == true, "\(String(describing: e))")
        // ... or a link to a user's folder (the checkpoint files were left in its target).
        try FileManager.default.removeItem(atPath: partial)
        try FileManager.default.createSymbolicLink(atPath: partial, withDestinationPath: filePath(root, "link"))
        let linked = #expect(throws: SDEFlowError.self) { try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", real, .folder(marker: "labels.json"))]) }
        #expect(linked?.description.contains("is a symbolic link") == true, "\(String(describing: linked))")
    }

    /// Catches: `run --output M` on a model folder M wrote data/, labels/, model/ and eval/ inside
    /// it (after which `train --output M` refused to replace M), even while another job held M's
    /// lock.
    @Test func anOutputInsideAnotherOutputOrALockedFolderIsRefused() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let model = filePath(root, "m"), run = filePath(root, "run")
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        try "{}".write(toFile: filePath(model, "model.json"), atomically: true, encoding: .utf8)
        let inside = #expect(throws: SDEFlowError.self) {
            try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", filePath(model, "sub/data"), .folder(marker: "dataset.json"))])
        }
        #expect(inside?.description.contains("holds model.json") == true, "\(String(describing: inside))")
        let lock = try OutputLock.acquire([run])
        let locked = #expect(throws: SDEFlowError.self) {
            try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", filePath(run, "data"), .folder(marker: "dataset.json"))])
        }
        #expect(locked?.description.contains("pid \(getpid())") == true, "\(String(describing: locked))")
        lock.release()
        try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", filePath(run, "data"), .folder(marker: "dataset.json"))])
        // Third probe: a model written into another job's checkpoint folder was deleted with it; a
        // sample written over a running job's lock file unlocked its output.
        for (output, kind) in [(filePath(root, "l.partial/mine"), JobOutput.Kind.folder(marker: "model.json")), (filePath(root, "l.lock"), .file)] {
            let e = #expect(throws: SDEFlowError.self) { try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", output, kind)]) }
            #expect(e?.description.contains("lock file or checkpoint folder") == true, "\(String(describing: e))")
        }
    }

    /// Catches (third probe, finding 3): `label --data D` started while `simulate --output D` held
    /// D.lock, and the labels mixed the old and new data. An input of another live job's output,
    /// or inside one, is refused before work; this job's own lock and a stale lock are not.
    @Test func anInputThatAnotherJobIsWritingIsRefused() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = filePath(root, "d"), run = filePath(root, "run"), out = [JobOutput("--output", filePath(root, "l"), .folder(marker: "labels.json"))]
        try FileManager.default.createDirectory(atPath: filePath(run, "data"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for (input, lock) in [(data, data + ".lock"), (filePath(run, "data"), run + ".lock")] {
            try "host elsewhere\npid 1\nstarted then\n".write(toFile: lock, atomically: true, encoding: .utf8)
            let e = #expect(throws: SDEFlowError.self) { try OutputGuard.check(inputs: [JobInput("--data", input)], outputs: out) }
            #expect(e?.description.contains("is being written by another sdeflow-mpi job") == true && e?.description.contains("host elsewhere") == true,
                    "\(String(describing: e))")
            try FileManager.default.removeItem(atPath: lock)
            try OutputGuard.check(inputs: [JobInput("--data", input)], outputs: out)
        }
        let mine = try OutputLock.acquire([data])
        defer { mine.release() }
        try OutputGuard.check(inputs: [JobInput("--data", data)], outputs: out)
    }

    @Test func aSecondWriterIsRefusedAndAStaleLockCleared() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let out = filePath(root, "labels")
        let lock = try OutputLock.acquire([out])
        let e = #expect(throws: SDEFlowError.self) { try OutputLock.acquire([out]) }
        #expect(e?.description.contains("host \(stagingHost), pid \(getpid())") == true, "\(String(describing: e))")
        lock.release()
        #expect(!FileManager.default.fileExists(atPath: out + ".lock"))
        // A lock of a process of this host that is gone.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run(); gone.waitUntilExit()
        try "host \(stagingHost)\npid \(gone.processIdentifier)\nstarted then\nprocess-start 1\n".write(toFile: out + ".lock", atomically: true, encoding: .utf8)
        let again = try OutputLock.acquire([out])
        #expect(try String(contentsOfFile: out + ".lock", encoding: .utf8).contains("pid \(getpid())"))
        again.release()
        // A lock of a rank that has exited but not been reaped (a zombie) is stale too.
        var child: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        #expect(posix_spawn(&child, "/bin/true", nil, nil, argv, environ) == 0)
        argv.forEach { free($0) }
        var state = OutputLock.statFields(child)?.state
        for _ in 0..<200 where state != "Z" { usleep(10_000); state = OutputLock.statFields(child)?.state }
        #expect(state == "Z", "the unreaped child should be a zombie")
        let ticks = OutputLock.startTicks(child) ?? 0
        try "host \(stagingHost)\npid \(child)\nstarted then\nprocess-start \(ticks)\n".write(toFile: out + ".lock", atomically: true, encoding: .utf8)
        let afterZombie = try OutputLock.acquire([out])
        afterZombie.release()
        var status: Int32 = 0
        waitpid(child, &status, 0)
        // Third probe, finding 12: an empty, foreign or folder lock was "held by host ?, pid ?".
        for (content, why) in [("", "is empty"), ("garbage\n", "not a lock of sdeflow-mpi"), ("dir", "a folder, not a lock file")] {
            if content == "dir" { try FileManager.default.createDirectory(atPath: out + ".lock", withIntermediateDirectories: true) } else {
                try content.write(toFile: out + ".lock", atomically: true, encoding: .utf8)
            }
            let e = #expect(throws: SDEFlowError.self) { try OutputLock.acquire([out]) }
            #expect(e?.description.contains(why) == true && e?.description.contains("remove \(out).lock") == true, "\(String(describing: e))")
            #expect(e?.description.contains("?") == false, "\(String(describing: e))")
            let inside = #expect(throws: SDEFlowError.self) {
                try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", filePath(out, "sub"), .file)])
            }
            #expect(inside?.description.contains("whose lock \(out).lock \(why.hasPrefix("is ") ? why : "is " + why)") == true, "\(String(describing: inside))")
            try FileManager.default.removeItem(atPath: out + ".lock")
        }
        // Another host's lock is left to the user.
        try "host elsewhere\npid 1\nstarted then\n".write(toFile: out + ".lock", atomically: true, encoding: .utf8)
        let other = #expect(throws: SDEFlowError.self) { try OutputLock.acquire([out]) }
        #expect(other?.description.contains("host elsewhere, pid 1") == true && other?.description.contains("remove \(out).lock") == true)
        // ...unless it is an earlier run of this Slurm job, since requeued.
        let earlier = ["host": "elsewhere", "pid": "1", "slurm-job": "4242 0"]
        #expect(OutputLock.requeued(earlier, mine: ("4242", 1)))
        #expect(!OutputLock.requeued(earlier, mine: ("4242", 0)) && !OutputLock.requeued(earlier, mine: ("4243", 1)))
        #expect(!OutputLock.requeued(earlier, mine: nil))
        // Fourth probe: a live process of this host holds its lock whatever the restart count says
        // (a requeued job that landed beside the old run still finishing wrote the same checkpoint).
        try "host \(stagingHost)\npid \(getpid())\nstarted then\nprocess-start \(OutputLock.startTicks(getpid()) ?? 0)\nslurm-job 4242 0\n"
            .write(toFile: out + ".lock", atomically: true, encoding: .utf8)
        #expect(OutputLock.holder(out + ".lock", mine: ("4242", 1)) != nil)
        try FileManager.default.removeItem(atPath: out + ".lock")
    }

    /// Catches (fourth probe, finding 1): writing an output again deleted every other file in its
    /// folder (a user's notes beside a model, an evaluation's added plot), and `simulate` replaced
    /// a data folder made by hand. Only the files of the output's kind may be replaced.
    @Test func aFolderHoldingOtherFilesIsNotReplaced() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let model = filePath(root, "m"), data = filePath(root, "d")
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        for name in ["model.json", "W0.npy", "W7.npy", "b12.npy", "input_std.npy"] { try "x".write(toFile: filePath(model, name), atomically: true, encoding: .utf8) }
        let output = JobOutput("--output", model, .folder(marker: "model.json"))
        try OutputGuard.check(inputs: [], outputs: [output])
        try "notes".write(toFile: filePath(model, "NOTES.md"), atomically: true, encoding: .utf8)
        let e = #expect(throws: SDEFlowError.self) { try OutputGuard.check(inputs: [], outputs: [output]) }
        #expect(e?.description.contains("holds NOTES.md, which sdeflow-mpi does not write there") == true, "\(String(describing: e))")
        let late = #expect(throws: SDEFlowError.self) {
            try writeFolderAtomically(model) { try "{}".write(toFile: filePath($0, "model.json"), atomically: true, encoding: .utf8) }
        }
        #expect(late?.description.contains("NOTES.md") == true && FileManager.default.fileExists(atPath: filePath(model, "NOTES.md")))
        // A data folder of the user's own (dataset.json without a simulation record).
        try Dataset.write(PairBlock(d: 1, dMu: 1, x: [0, 1], mu: [0, 0], y: [1, 2]), info: DatasetInfo(dt: 0.1), to: data)
        let own = #expect(throws: SDEFlowError.self) { try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", data, .folder(marker: "dataset.json"))]) }
        #expect(own?.description.contains("`simulate` did not write") == true, "\(String(describing: own))")
        // A file output named like a folder that does not exist yet failed at the write, after the work.
        let slash = #expect(throws: SDEFlowError.self) { try OutputGuard.check(inputs: [], outputs: [JobOutput("--output", filePath(root, "new") + "/", .npy)]) }
        #expect(slash?.description.contains("ends in /") == true, "\(String(describing: slash))")
    }
}

/// Catches: a peak memory of 0 MiB printed for a rank that used 10 GB or more (the kernel's
/// "VmHWM:\t12345678 kB" has no space after the tab once the value has 8 digits).
@Test func peakMemoryReadsEveryPadding() {
    #expect(peakMemoryMiB(status: "Name:\tx\nVmHWM:\t   51200 kB\nVmRSS:\t 1 kB") == 50)
    #expect(peakMemoryMiB(status: "VmHWM:\t12582912 kB") == 12288)
    #expect(peakMemoryMiB(status: "VmRSS:\t 1 kB") == 0)
}
