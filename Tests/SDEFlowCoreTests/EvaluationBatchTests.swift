@testable import SDEFlowCore
import Testing

/// Catches: evaluation batches that hold more than `batchBytes` of samples on rank 0 (what let
/// `evaluate --samples 1000000` at d = 10 reach 24 GB), skip a job, or split a job. A job larger
/// than the bound goes alone.
@Test func evaluationBatchesStayWithinTheirBytes() {
    let g = Double(Pipeline.batchBytes)
    let bytes = [0.6 * g, 0.3 * g, 0.2 * g, 2 * g, 0.1 * g, 0.1 * g]
    let batches = Pipeline.batches(bytes)
    #expect(batches == [0..<2, 2..<3, 3..<4, 4..<6])
    #expect(Pipeline.batches([]).isEmpty)
    for b in batches where b.count > 1 { #expect(b.reduce(0.0) { $0 + bytes[$1] } <= g) }
}
