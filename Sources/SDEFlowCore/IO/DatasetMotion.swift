import Foundation

extension Dataset {
    /// Refuses data whose y equals x on every row: every label would be 0 and the model would
    /// learn noise around "no motion" (typically y.npy written from the wrong array). Cheap for
    /// real data: 1024 evenly spaced rows are read first and one that moves ends the check; only
    /// when all of those are still is every row read, in blocks, to be sure.
    public func requireMotion(blockRows: Int = 65_536) throws {
        let sample = Array(Set((0..<min(count, 1024)).map { $0 * count / min(count, 1024) })).sorted()
        if try moves(read(indices: sample)) { return }
        var start = 0
        while start < count {
            let end = min(count, start + blockRows)
            if try moves(read(rows: start..<end)) { return }
            start = end
        }
        throw SDEFlowError.file((directory as NSString).appendingPathComponent("y.npy"),
                                "equals x.npy on all \(count) rows (y − x = 0 everywhere): there is no motion to learn; y must hold the state Δt after x")
    }

    private func moves(_ block: PairBlock) -> Bool { zip(block.x, block.y).contains { $0 != $1 } }
}
