/// Every built-in example, by name: the one list the CLI's help, `simulate`, `run`, `evaluate`
/// and `inspect` take their examples from. A new example is its own file in `Examples/` and
/// one line here.
extension SDEExample {
    /// Name → the example; `dim` is the state dimension for examples that take one (nil: its
    /// default), ignored by fixed-dimension ones.
    static let registry: [(name: String, make: @Sendable (_ dim: Int?) -> SDEExample)] = [
        ("bm", { _ in .brownianMotion }),
        ("ou", { _ in .ornsteinUhlenbeck }),
        ("ou2d", { _ in .rotatingOU }),
        ("ou-nd", { dim in .ouND(dim: dim ?? 10) }),
        ("cir", { _ in .cir }),
        ("gbm", { _ in .geometricBM }),
    ]

    /// The names, in registry order.
    public static var names: [String] { registry.map(\.name) }

    /// Every example at its default dimension.
    public static var all: [SDEExample] { registry.map { $0.make(nil) } }

    public static func named(_ name: String, dim: Int? = nil) -> SDEExample? {
        registry.first { $0.name == name }?.make(dim)
    }
}
