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

/// Catches: data far from the spreads the defaults are carried to labelled anyway (× 1e10: the
/// model 25× too narrow, c clamped; × 1e-20: NaN labels), and σ from the one-pass formula on
/// data offset far from 0 (+1e9 on a spread of 1 read 49).
@Test func dataOfUnsupportedSpreadsAreRefusedAndOffsetsDoNotBreakTheSpread() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("units-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let n = 100, x = (0..<n).map { Double($0 % 10) }
    for unit in [1e10, 1e-8] {
        try NPY.write("\(dir)/x.npy", x.map { $0 * unit }, shape: [n, 1])
        try NPY.write("\(dir)/mu.npy", (0..<n).map { Double($0 % 3) }, shape: [n, 1])
        try NPY.write("\(dir)/y.npy", x.enumerated().map { ($1 + ($0 % 2 == 0 ? 0.5 : -0.5)) * unit }, shape: [n, 1])
        #expect(throws: SDEFlowError.self, "units \(unit)") { _ = try DataScales.of(dir) }
    }
    // Every step the same (0.3 in float64 rounding, spread ~1e-14): no noise, said as such
    // (the second probe was told to divide x and y by 1e-14).
    try NPY.write("\(dir)/x.npy", x, shape: [n, 1])
    try NPY.write("\(dir)/y.npy", x.map { $0 + 0.3 }, shape: [n, 1])
    let still = #expect(throws: SDEFlowError.self) { _ = try DataScales.of(dir) }
    #expect(still?.description.contains("the steps do not vary") == true, "\(String(describing: still))")
    // Alternating ±1 about 1e9: σ = 1 exactly; the same on 1 and 3 ranks.
    let offset = (0..<600).map { 1e9 + ($0 % 2 == 0 ? 1.0 : -1.0) }
    for ranks in [1, 3] {
        let sigmas = try LocalCollective.run(ranks: ranks) { comm in
            let rows = 600 * comm.rank / ranks ..< 600 * (comm.rank + 1) / ranks
            let block = PairBlock(d: 1, dMu: 1, x: Array(offset[rows]), mu: rows.map { Double($0 % 7) }, y: Array(offset[rows]))
            return try LabelSetup.normalisation(comm, block, blockCount: (rows.count + LabelSetup.blockRows - 1) / LabelSetup.blockRows, log: Log(rank: 1)).sigmaX
        }
        #expect(sigmas.allSatisfy { abs($0 - 1) < 1e-9 }, "\(ranks) ranks: σ_x \(sigmas)")
    }
}

/// Catches (third probe, finding 10): the advice looped (divide by 1e-09, then by 1e+09) because
/// it looked at one spread at a time. Following the advice now gives data that are accepted, and
/// spreads too far apart for any one change of units are said to be so.
@Test func theRescalingAdviceBringsBothSpreadsInside() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advice-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let n = 200, x = (0..<n).map { Double($0 % 10) - 4.5 }, noise = (0..<n).map { $0 % 2 == 0 ? 1.0 : -1.0 }
    try NPY.write("\(dir)/mu.npy", (0..<n).map { Double($0 % 3) }, shape: [n, 1])
    for (xUnit, stepUnit) in [(1.0, 1e-9), (1e9, 1.0), (1e-7, 1e-8), (1.0, 1e-11)] {
        try NPY.write("\(dir)/x.npy", x.map { $0 * xUnit }, shape: [n, 1])
        try NPY.write("\(dir)/y.npy", zip(x, noise).map { $0 * xUnit + $1 * stepUnit }, shape: [n, 1])
        let refused = #expect(throws: SDEFlowError.self) { _ = try DataScales.of(dir) }
        let text = refused?.description ?? ""
        guard let range = text.range(of: "divide x.npy and y.npy by ") else {
            #expect(xUnit / stepUnit > 1e10 && text.contains("more than the 1e+10 that one change of units"), "\(text)")
            continue
        }
        let factor = try #require(Double(text[range.upperBound...].prefix { $0 != ")" }))
        try NPY.write("\(dir)/x.npy", x.map { $0 * xUnit / factor }, shape: [n, 1])
        try NPY.write("\(dir)/y.npy", zip(x, noise).map { ($0 * xUnit + $1 * stepUnit) / factor }, shape: [n, 1])
        #expect(try DataScales.of(dir) != nil, "x × \(xUnit), steps × \(stepUnit): still refused after dividing by \(factor)")
    }
}
