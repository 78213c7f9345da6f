import Foundation

/// The region the model was trained on: [min, max] of each component of x and of μ over the
/// training labels (stored in model.json as `inputRange`), so that `sample` and `inspect` can
/// say when a start state or μ lies outside it. A network's values there are extrapolation,
/// about which nothing was learned; a warning, not a refusal, as a user may want to look.
public struct InputRange: Codable, Sendable, Equatable {
    public var x: [[Double]]
    public var mu: [[Double]]

    /// Per component [min, max] of `values` (rows of `width`).
    static func bounds(_ values: [Double], width: Int) -> [[Double]] {
        (0..<width).map { i in
            let column = stride(from: i, to: values.count, by: width).map { values[$0] }.filter(\.isFinite)
            return [column.min() ?? 0, column.max() ?? 0]
        }
    }

    public init(labels: LabelSet) {
        x = Self.bounds(labels.x, width: labels.d)
        mu = Self.bounds(labels.mu, width: labels.dMu)
    }

    /// d and dμ pairs lo ≤ hi of finite values within ±1e100 (else the file is not ours).
    func check(d: Int, dMu: Int, path: String) throws {
        for (key, rows, width) in [("x", x, d), ("mu", mu, dMu)] {
            guard rows.count == width, rows.allSatisfy({ $0.count == 2 && $0[0] <= $0[1] && $0.allSatisfy { $0.magnitude <= Limits.maxMagnitude } }) else {
                throw SDEFlowError.file(path, "\"inputRange.\(key)\": expected \(width) pairs [lo, hi] of finite numbers with lo ≤ hi")
            }
        }
    }

    /// The components of `value` outside `bounds` widened by 5 % of their width on each side, as
    /// "component i = v is outside [lo, hi]" (only "= v …" for a single component).
    static func outside(_ value: [Double], _ bounds: [[Double]]) -> [String] {
        zip(value.indices, zip(value, bounds)).compactMap { i, pair in
            let (v, b) = pair, margin = 0.05 * (b[1] - b[0])
            guard v < b[0] - margin || v > b[1] + margin else { return nil }
            return "\(value.count > 1 ? " component \(i)" : "") = \(fmt(v)) is outside the training data's [\(fmt(b[0])), \(fmt(b[1]))]"
        }
    }
}

extension FlowModel {
    /// Warnings (one line each) for a start state `x0` and a parameter `mu` outside what the
    /// model was trained on: μ against `muRange` (dμ = 1, as model.json states it) or else the
    /// labels' μ, x0 against the labels' x (models trained before `inputRange` have only μ).
    public func extrapolation(x0: [Double]?, mu: [Double]) -> [String] {
        var lines: [String] = []
        if let r = info.muRange, r.count == 2, mu.count == 1 {
            if !(r[0]...r[1]).contains(mu[0]) { lines.append("--mu = \(fmt(mu[0])) is outside the training range [\(fmt(r[0])), \(fmt(r[1]))]") }
        } else if let range = info.inputRange, range.mu.count == mu.count {
            lines += InputRange.outside(mu, range.mu).map { "--mu\($0)" }
        }
        if let x0, let range = info.inputRange, range.x.count == x0.count {
            lines += InputRange.outside(x0, range.x).map { "--x0\($0)" }
        }
        return lines.map { "warning: \($0): the model extrapolates there" }
    }

    /// Warnings for the ends of `inspect`'s segment (`--x-range`, one (A, B) per component)
    /// outside the labels' x.
    public func extrapolation(segment ranges: [(Double, Double)]) -> [String] {
        guard let range = info.inputRange, range.x.count == ranges.count else { return [] }
        return [("start", ranges.map(\.0)), ("end", ranges.map(\.1))].flatMap { name, end in
            InputRange.outside(end, range.x).map { "warning: --x-range's \(name)\($0): the model extrapolates there" }
        }
    }
}
