import Foundation

/// The optional keys `example`, `observedMu` and `muRange` that dataset.json, labels.json and
/// model.json carry from one stage to the next (`train` copies them from labels.json, `label`
/// from dataset.json). They are checked where each file is read, against the arrays' d and dμ:
/// `evaluate` simulates at the observed μ and plots over the range, so an empty row, a value of
/// the wrong width or 1e300 would trap or give NaN there, long after the file was read.
enum ParameterMetadata {
    /// Throws `SDEFlowError.file(path, …)` naming the key when
    /// - `example` is not a built-in example of this d and dμ (`SDEExample.fitting`): a file that
    ///   names one gets its settings, network and exact law, built for its own dimensions;
    /// - `observedMu` is empty, or a row does not have dμ values, or a value is not finite within ±1e100;
    /// - `muRange` is not two finite values lo ≤ hi within ±1e100, or (dμ = 1) misses an observed μ.
    /// `holder` names the arrays in messages ("the data (x.npy, mu.npy) have").
    static func check(example: String?, observedMu: [[Double]]?, muRange: [Double]?, d: Int, dMu: Int,
                      path: String, holder: String) throws {
        func fail(_ problem: String) -> SDEFlowError { .file(path, problem) }
        if let name = example {
            do { _ = try SDEExample.fitting(name, d: d, dMu: dMu, holder: holder) } catch let e as ExampleMismatch {
                throw fail("\"example\": \(e.description) (name one that fits, or remove the key: data of no known example)")
            }
        }
        if let mus = observedMu {
            guard !mus.isEmpty else { throw fail("\"observedMu\" is empty: list at least one μ (each \(dMu) values) or remove the key") }
            for (i, row) in mus.enumerated() {
                guard row.count == dMu else {
                    throw fail("\"observedMu\"[\(i)] has \(row.count) values; each observed μ needs dμ = \(dMu) (\(holder) dμ = \(dMu))")
                }
                if let j = row.firstIndex(where: { !($0.magnitude <= Limits.maxMagnitude) }) {
                    throw fail("\"observedMu\"[\(i)][\(j)] = \(row[j]): expected a finite number within ±1e100")
                }
            }
        }
        if let r = muRange { try checkRange(r, observedMu: observedMu, dMu: dMu, fail: fail) }
    }

    /// `muRange`: [lo, hi], finite, lo ≤ hi, and for dμ = 1 holding every observed μ.
    private static func checkRange(_ r: [Double], observedMu: [[Double]]?, dMu: Int,
                                   fail: (String) -> SDEFlowError) throws {
        guard r.count == 2, r.allSatisfy({ $0.magnitude <= Limits.maxMagnitude }), r[0] <= r[1] else {
            throw fail("\"muRange\" = \(r): expected [lo, hi], two finite numbers within ±1e100 with lo ≤ hi")
        }
        guard dMu == 1, let mus = observedMu else { return }
        if let out = mus.first(where: { !(r[0]...r[1]).contains($0[0]) }) {
            throw fail("\"muRange\" = \(r) does not hold the observed μ = \(out[0]) of \"observedMu\"")
        }
    }
}
