/// Every built-in example, by name: the one list the CLI's help, `simulate`, `run`, `evaluate`
/// and `inspect` take their examples from. A new example is its own file in `Examples/` and
/// one line here.
extension SDEExample {
    /// Name → the state dimensions it is defined for (nil: only its own) and the example; `dim`
    /// is the state dimension for examples that take one (nil: its default), ignored by
    /// fixed-dimension ones.
    static let registry: [(name: String, dims: ClosedRange<Int>?, make: @Sendable (_ dim: Int?) -> SDEExample)] = [
        ("bm", nil, { _ in .brownianMotion }),
        ("ou", nil, { _ in .ornsteinUhlenbeck }),
        ("ou2d", nil, { _ in .rotatingOU }),
        ("ou-nd", 2...Limits.maxStateDimension, { dim in .ouND(dim: dim ?? 10) }),
        ("cir", nil, { _ in .cir }),
        ("gbm", nil, { _ in .geometricBM }),
    ]

    /// The names, in registry order.
    public static var names: [String] { registry.map(\.name) }

    /// The names of the examples that take a state dimension (`--dim`).
    public static var dimensioned: [String] { registry.filter { $0.dims != nil }.map(\.name) }

    /// Every example at its default dimension.
    public static var all: [SDEExample] { registry.map { $0.make(nil) } }

    /// The example, or nil for an unknown name or a `dim` outside the dimensions it takes (a name
    /// read from a file with the data's d must not trap: `ou-nd` needs d ≥ 2).
    public static func named(_ name: String, dim: Int? = nil) -> SDEExample? {
        guard let entry = registry.first(where: { $0.name == name }) else { return nil }
        if let dim, let dims = entry.dims, !dims.contains(dim) { return nil }
        return entry.make(dim)
    }

    /// The example `name` for data or a model with `d` state and `dMu` parameter components, or
    /// `ExampleMismatch` saying why it cannot describe them; `holder` names them in the message
    /// ("the data (x.npy, mu.npy) have"). A name in a file must fit its arrays: its default
    /// settings, network and exact law are built for its own dimensions.
    public static func fitting(_ name: String, d: Int, dMu: Int, holder: String) throws -> SDEExample {
        guard let entry = registry.first(where: { $0.name == name }) else {
            throw ExampleMismatch(description: "unknown example '\(name)'; known: \(names.joined(separator: ", "))")
        }
        if let dims = entry.dims, !dims.contains(d) {
            throw ExampleMismatch(description: "example '\(name)' needs d in \(dims.lowerBound)…\(dims.upperBound) state components; \(holder) d = \(d)")
        }
        let ex = entry.make(entry.dims == nil ? nil : d)
        guard ex.d == d, ex.dMu == dMu else {
            throw ExampleMismatch(description: "example '\(name)' has d = \(ex.d), dμ = \(ex.dMu); \(holder) d = \(d), dμ = \(dMu)")
        }
        return ex
    }

    /// Why the parameter values `mu` (`what`, e.g. "the model's observed μ") fall outside this
    /// example's μ range, where its law is defined and its evaluation designed (ou: μ > 0 for a
    /// stationary law), or nil when they are inside (to a rounding of 1e-9 of the range).
    public func muOutsideRange(_ mu: [[Double]], what: String) -> String? {
        let values = mu.flatMap { $0 }
        guard let lo = values.min(), let hi = values.max() else { return nil }
        let slack = 1e-9 * max(1, muRange.upperBound - muRange.lowerBound)
        guard lo < muRange.lowerBound - slack || hi > muRange.upperBound + slack else { return nil }
        return "example '\(name)' is defined for μ in [\(fmt(muRange.lowerBound)), \(fmt(muRange.upperBound))]; \(what) \(lo == hi ? "is \(fmt(lo))" : "span [\(fmt(lo)), \(fmt(hi))]")"
    }
}

/// An example name that does not fit the data or model it is used with (`SDEExample.fitting`).
public struct ExampleMismatch: Error, CustomStringConvertible, Sendable {
    public let description: String
}
