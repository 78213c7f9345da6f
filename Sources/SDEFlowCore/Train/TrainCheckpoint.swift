import Foundation

/// Checkpoints of training: rank 0 writes the `TrainingState` every `every` epochs (and when the
/// job is stopped by a signal) to `<model>.partial/train.ckpt`, atomically (temp file, fsync,
/// rename). Layout (`CheckpointBytes.swift`): magic "SDEFTRN1", the JSON `Header` (binding and
/// every scalar, Doubles and Floats as bit patterns), then the parameters, best parameters and
/// Adam's two moments as float32 (`parameterCount` each) and an FNV-1a checksum of them.
///
/// On restart rank 0 reads the file and broadcasts its bytes; training then
/// continues from the saved epoch, bitwise as the uninterrupted run at the same rank count (at
/// another count the gradient sums round differently: it continues, with a warning). Other
/// stopping criteria (`--max-epochs`, `--patience`) continue it too, unless the training went past
/// them already (it would then not be the run they give from the start: refused, naming the least
/// value that continues it). A checkpoint of other labels
/// or of an older format is discarded with a warning; one of other training settings is kept and
/// the job refused, naming the settings, since hours of training may hang on a mistyped option.
/// `--fresh` discards any.
public final class TrainCheckpoint {
    static let magic = "SDEFTRN1"
    public let folder: String
    /// Epochs between two checkpoints.
    public let every: Int
    public let fresh: Bool
    /// Delete (with a warning) a checkpoint of other labels instead of refusing the job.
    public let discardOtherInputs: Bool
    private var savedEpoch = -1
    /// Checkpoints rank 0 wrote, and the seconds it spent on them.
    public private(set) var saves = 0, seconds = 0.0

    public init(folder: String, every: Int, fresh: Bool = false, discardOtherInputs: Bool = false) {
        precondition(every >= 1)
        self.folder = folder; self.every = every; self.fresh = fresh; self.discardOtherInputs = discardOtherInputs
    }

    var file: String { filePath(folder, "train.ckpt") }

    struct Binding: Codable, Equatable {
        var format = 2
        var layers: [Int]
        /// FNV-1a of the training settings but the stopping criteria (`TrainSettings.trajectory`),
        /// and of the labels' x, μ, z and label bits.
        var settings: String, labels: String

        init(shape: MLPShape, settings: TrainSettings, labels: LabelSet) throws {
            layers = shape.layerSizes
            self.settings = try FNV1a.json(settings.trajectory)
            self.labels = labels.fingerprint
        }
    }

    struct Header: Codable {
        var binding: Binding
        /// The settings in full, to name the ones a restarted job changed (nil before format 2).
        var settings: TrainSettings?
        var ranks: Int
        var epoch: Int, bestEpoch: Int, badEpochs: Int, badForLR: Int, bestLoss: UInt64
        /// `Schedule.longestEndedBadRun` (nil in checkpoints of before: taken as 0).
        var longestEndedBadRun: Int?
        var learningRate: UInt32, beta1: UInt64, beta2: UInt64, epsilon: UInt32, weightDecay: UInt32, step: Int
    }

    /// Rank 0 writes `state` (other ranks return at once; nothing collective).
    func save(_ comm: any Collective, _ state: TrainingState, binding: Binding, settings: TrainSettings) throws {
        savedEpoch = state.schedule.epoch
        guard comm.isRoot else { return }
        let started = monotonicSeconds()
        defer { saves += 1; seconds += monotonicSeconds() - started }
        let s = state.schedule, a = state.adam
        var w = try ByteWriter.header(magic: Self.magic, Header(
            binding: binding, settings: settings, ranks: comm.size, epoch: s.epoch, bestEpoch: s.bestEpoch, badEpochs: s.badEpochs,
            badForLR: s.badForLR, bestLoss: s.bestLoss.bitPattern, longestEndedBadRun: s.longestEndedBadRun, learningRate: a.learningRate.bitPattern,
            beta1: a.beta1.bitPattern, beta2: a.beta2.bitPattern, epsilon: a.epsilon.bitPattern,
            weightDecay: a.weightDecay.bitPattern, step: a.step))
        let start = w.bytes.count
        for v in [state.mlp.parameters, s.bestParameters, a.firstMoment, a.secondMoment] { w.append(contentsOf: v) }
        var h = FNV1a()
        w.bytes.withUnsafeBytes { h.add(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        w.append(h.value)
        try createFolder(folder)
        try writeFileAtomically(file, contents: Data(w.bytes))
    }

    /// Saves `state` unless this epoch is saved already.
    func saveIfNew(_ comm: any Collective, _ state: TrainingState, binding: Binding, settings: TrainSettings) throws {
        if savedEpoch != state.schedule.epoch { try save(comm, state, binding: binding, settings: settings) }
    }

    /// The saved state of this run (nil if none matches); call on all ranks.
    func restore(_ comm: any Collective, binding: Binding, settings: TrainSettings, shape: MLPShape, log: Log) throws -> TrainingState? {
        let bytes = try comm.broadcast(try comm.onRoot {
            try readMatching(binding, settings: settings, parameters: shape.parameterCount, log: log)
        } ?? [])
        guard !bytes.isEmpty else { return nil }
        var r = ByteReader(bytes)
        guard let h = r.header(magic: Self.magic, Header.self) else { return nil }
        let n = shape.parameterCount
        guard let p = r.read(Float.self, count: n), let best = r.read(Float.self, count: n),
              let m = r.read(Float.self, count: n), let v = r.read(Float.self, count: n) else { return nil }
        var adam = Adam(parameterCount: n, learningRate: Float(bitPattern: h.learningRate), weightDecay: Float(bitPattern: h.weightDecay))
        adam.beta1 = Double(bitPattern: h.beta1); adam.beta2 = Double(bitPattern: h.beta2)
        adam.epsilon = Float(bitPattern: h.epsilon); adam.step = h.step
        adam.firstMoment = m; adam.secondMoment = v
        var schedule = DataParallelTrainer.Schedule(parameters: best)
        schedule.epoch = h.epoch; schedule.bestEpoch = h.bestEpoch; schedule.badEpochs = h.badEpochs
        schedule.badForLR = h.badForLR; schedule.bestLoss = Double(bitPattern: h.bestLoss)
        schedule.longestEndedBadRun = h.longestEndedBadRun ?? 0
        var mlp = MLP(shape: shape, seed: 0)
        mlp.parameters = p
        savedEpoch = h.epoch
        log.info("resume: training continues after epoch \(h.epoch), saved in \(folder)" + (h.ranks == comm.size ? "" :
            " by \(h.ranks) rank(s); on \(comm.size) the gradient sums round differently, so it will not match an uninterrupted run bit for bit"))
        return TrainingState(mlp: mlp, adam: adam, schedule: schedule)
    }

    /// Rank 0: the checkpoint file's bytes if it is whole and of this run; else [] (a file of
    /// other labels or format, or any file with `fresh`, is deleted). Throws, keeping the file,
    /// if it is of other training settings or past `--max-epochs`.
    private func readMatching(_ binding: Binding, settings: TrainSettings, parameters: Int, log: Log) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file) else { return [] }
        var r = ByteReader(Array(data))
        var why = fresh ? "--fresh" : "it cannot be read (cut short?)"
        if !fresh, let h = r.header(magic: Self.magic, Header.self) {
            let start = r.offset
            r.offset = max(start, data.count - 8)
            let sum = r.checksum(from: start)
            if h.binding != binding {
                why = h.binding.format != binding.format ? "it was written by another version of sdeflow-mpi"
                    : h.binding.labels != binding.labels ? "it was trained on other labels" : "its network differs"
                if h.binding.format == binding.format, h.binding.labels != binding.labels, !discardOtherInputs {
                    throw SDEFlowError.file(file, "holds \(h.epoch) epochs of training on other labels than the ones given: pass the labels it was trained on to continue it, or remove the file to train on these from the start (--fresh does it for you; under `run` it redoes every stage)")
                }
                if h.binding.format == binding.format, h.binding.labels == binding.labels, let saved = h.settings {
                    let changed = settings.differences(from: saved)
                    if !changed.isEmpty { throw SDEFlowError.file(file, "holds \(h.epoch) epochs of training with other settings (\(changed.joined(separator: ", "))): give the saved values to continue it, or remove the file to train from the start (--fresh does it for you; under `run` it redoes every stage)") }
                }
            } else if h.epoch > settings.maxEpochs {
                throw SDEFlowError.option("--max-epochs", "\(settings.maxEpochs) is below the \(h.epoch) epochs the checkpoint \(file) holds: raise it to continue that training, or remove the file to train from the start (--fresh does it for you; under `run` it redoes every stage)")
            } else if let least = Self.leastPatience(h, below: settings.patience) {
                throw SDEFlowError.option("--patience", "\(settings.patience) would have stopped the training in \(file) before its epoch \(h.epoch) (it went \(max(least - 1, h.badEpochs)) epochs without improvement), so continuing it with that value would not give the model the value gives: give at least \(least) to continue it (it was saved with \(h.settings?.patience ?? least)), or remove the file to train from the start (--fresh does it for you; under `run` it redoes every stage)")
            } else if data.count - start == 4 * 4 * parameters + 8, r.read(UInt64.self) == sum { return Array(data) }
        }
        if !fresh { log.info("resume: warning: not resuming from \(file): \(why); training from the start") }
        try FileManager.default.removeItem(atPath: file)
        return []
    }

    /// The least `--patience` that continues the training in `h` as a run with it from the start
    /// would go, when `patience` is below it (nil otherwise).
    static func leastPatience(_ h: Header, below patience: Int) -> Int? {
        let least = DataParallelTrainer.Schedule.leastPatience(longestEndedBadRun: h.longestEndedBadRun ?? 0, badEpochs: h.badEpochs)
        return patience < least ? least : nil
    }

    /// Removes the folder (the model is written).
    public func remove() { try? FileManager.default.removeItem(atPath: folder) }
}
