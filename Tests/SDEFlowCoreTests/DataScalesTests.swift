import Foundation
import Testing
@testable import SDEFlowCore

/// Catches: a spread over the wrong rows or columns (x and y swapped, μ's spread from x), a sample
/// that is not spread over the file, lengths carried the wrong way (ν ∝ 1/σ or c ∝ σ) or from the
/// wrong reference (bm's spreads for the high-dimensional settings), or not carried from d = 5.
@Test func dataScalesAreTheDataSpreadsAndCarryTheMeasuredLengths() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("scales-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // 100 rows: x = 0…99 (σ² = (100² − 1)/12), μ = ±1 alternating (σ = 1), y = x + 2 on even rows and
    // x − 2 on odd ones (σ_Δ = 2). Population spreads, every row read (fewer than sampleRows).
    let n = 100, x = (0..<n).map(Double.init)
    try NPY.write("\(dir)/x.npy", x, shape: [n, 1])
    try NPY.write("\(dir)/mu.npy", (0..<n).map { $0 % 2 == 0 ? 1.0 : -1.0 }, shape: [n, 1])
    try NPY.write("\(dir)/y.npy", (0..<n).map { x[$0] + ($0 % 2 == 0 ? 2 : -2) }, shape: [n, 1])
    let s = try #require(try DataScales.of(dir))
    #expect(abs(s.x - ((Double(n * n) - 1) / 12).squareRoot()) < 1e-12 && abs(s.mu - 1) < 1e-12 && abs(s.displacement - 2) < 1e-12, "\(s)")

    // Below d = 5 from bm's settings at bm's spreads, from d = 5 from ou-nd's at ou-nd's.
    for (d, reference, settings) in [(1, DataScales.brownianMotion, SDEExample.brownianMotion.labels),
                                     (12, .highDimensional, SDEExample.highDimensionalLabels(d: 12, dMu: 1))] {
        #expect(UnknownDataDefaults.labels(d: d, dMu: 1, scales: reference) == settings)
        let wide = UnknownDataDefaults.labels(d: d, dMu: 1, scales: DataScales(x: 10 * reference.x, mu: 2 * reference.mu,
                                                                                displacement: 100 * reference.displacement))
        #expect(abs(wide.nuX / settings.nuX - 10) < 1e-12 && abs(wide.nuMu / settings.nuMu - 2) < 1e-12
                && abs(wide.scale * 100 / settings.scale - 1) < 1e-12, "d = \(d)")
    }
}
