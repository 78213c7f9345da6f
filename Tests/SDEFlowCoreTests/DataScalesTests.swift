import Foundation
import Testing
@testable import SDEFlowCore

/// Catches: a spread over the wrong rows or columns (x and y swapped, μ's spread from x), a sample
/// that is not spread over the file, and lengths carried the wrong way (ν ∝ 1/σ or c ∝ σ).
@Test func dataScalesAreTheDataSpreadsAndCarryBmsLengths() throws {
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

    let bm = SDEExample.brownianMotion.labels
    #expect(DataScales.brownianMotion.scaled(bm) == bm)
    let wide = DataScales(x: 10 * DataScales.brownianMotion.x, mu: 2 * DataScales.brownianMotion.mu,
                          displacement: 100 * DataScales.brownianMotion.displacement).scaled(bm)
    #expect(abs(wide.nuX / bm.nuX - 10) < 1e-12 && abs(wide.nuMu / bm.nuMu - 2) < 1e-12 && abs(wide.scale * 100 / bm.scale - 1) < 1e-12)
}
