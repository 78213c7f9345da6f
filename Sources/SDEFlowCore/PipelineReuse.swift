import Foundation

/// `run` continues where an earlier run of the same command stopped: a stage whose output folder
/// is complete (output folders are replaced whole, so one that exists is complete) and was made
/// with the same settings is kept, and the next stage starts from it. A stage after a redone one
/// is redone too. Rank 0 decides; every rank gets its answer.
extension Pipeline {
    /// What `simulate` writes to dataset.json.
    public static func simulationInfo(_ example: SDEExample, settings: SimulationSettings, seed: UInt64) -> DatasetInfo {
        DatasetInfo(dt: settings.dt, example: example.name, observedMu: example.observedMu,
                    muRange: [example.muRange.lowerBound, example.muRange.upperBound], seed: seed, simulation: settings)
    }

    /// Whether `folder` holds the data `simulate` would write with `info` and `dtype`.
    public static func keepsData(_ comm: any Collective, _ folder: String, info: DatasetInfo, dtype: NPYDType) throws -> Bool {
        try decide(comm) {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            // All three arrays, of one row count: a folder with y.npy removed was kept, and the label stage failed.
            guard let saved = try? readJSON(DatasetInfo.self, from: filePath(folder, "dataset.json")),
                  let data = try? Dataset(directory: folder) else { return false }
            return try encoder.encode(saved) == encoder.encode(info) && data.headers[0].dtype == dtype
        }
    }

    /// Whether `folder` holds the labels of `settings` and `seed` for the data in `data`.
    public static func keepsLabels(_ comm: any Collective, _ folder: String, settings: LabelSettings, seed: UInt64,
                                   data: String, index: NeighbourSearch = .auto) throws -> Bool {
        try decide(comm) {
            guard let saved = try? readJSON(LabelInfo.self, from: filePath(folder, "labels.json")),
                  let source = try? Dataset(directory: data) else { return false }
            let asked = index.resolved(dims: source.d + source.dMu)
            return try saved.settings == settings && saved.seed == seed && saved.dataCount == source.count
                && saved.data == LabelInfo.dataFingerprint(info: source.info, count: source.count)
                && (saved.index ?? asked) == asked  // labels of before the index was recorded: kept, as then
        }
    }

    /// Whether `folder` holds a model trained with `settings` on `labels`.
    public static func keepsModel(_ comm: any Collective, _ folder: String, settings: TrainSettings, labels: LabelSet) throws -> Bool {
        try decide(comm) {
            guard let saved = try? readJSON(ModelInfo.self, from: filePath(folder, "model.json")) else { return false }
            return saved.training == settings && saved.labels == labels.fingerprint
        }
    }

    /// Rank 0's answer, on every rank.
    static func decide(_ comm: any Collective, _ check: () throws -> Bool) throws -> Bool {
        try comm.broadcast([Int32(try comm.onRoot(check) == true ? 1 : 0)])[0] == 1
    }
}
