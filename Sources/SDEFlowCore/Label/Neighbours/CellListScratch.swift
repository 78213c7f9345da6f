extension CellListIndex {
    /// Reusable buffers for one search, so a label loop allocates nothing but its result. Each
    /// step sizes the buffers it fills before it starts, then works on raw pointers.
    public struct Scratch {
        /// (near², far², point count) of the non-empty cells around the query.
        var cells: [(near: Double, far: Double, count: Int32)] = []
        /// Their point counts by near² and by far² in `cellBins` + 1 bins over [0, largest
        /// far²], with the smallest near² and the largest far² in each bin.
        var cellHistogram: [(nearCount: Int, nearMin: Double, farCount: Int, farMax: Double)] = []
        /// Runs of sorted slots [from, to) to visit, in slot order, the first `runCount` of
        /// `runs`; `whole`: every point taken.
        var runs: [(from: Int32, to: Int32, whole: Bool)] = []
        var runCount = 0
        /// Squared distances of the points of the runs not taken whole, one run after another.
        var dist2: [Double] = []
        /// Their bins (`pointBins` + 2 over [lower, upper], see `bin`), and the bins' counts.
        var binOf: [UInt16] = []
        var histogram: [Int32] = []
        /// (squared distance, index) of the points in the bin of the k-th distance.
        var boundary: [(Double, Int32)] = []
        public init() {}
    }
}
