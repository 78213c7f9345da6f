import ArgumentParser
import SDEFlowCore

// The integer count options of every command (`--labels`, `--steps`, `--pairs`, ...): a value is
// read by `WholeNumber`, so the notation `--help` uses for their ranges ("1…1e9") is accepted
// (`--labels 5e4`) and a fractional or oversized one is refused naming the option ("--labels:
// 1.5e0 is not a whole number"); the range itself is checked in the option group's `validate()`.
// Negative values parse (`.unconditional`), so `--labels -5` is refused with its range, not
// "Missing value". These live here because this is the one module below the CLI that links
// swift-argument-parser; the CLI's options use them too.

extension Option where Value: FixedWidthInteger {
    /// An integer option with a default (a count, or the UInt64 `--seed`), shown in `--help` as
    /// swift-argument-parser shows the default of an option without a transform (it shows none
    /// for one with).
    public init(wrappedValue: Value, integer name: String, help: String) {
        self.init(wrappedValue: wrappedValue, parsing: .unconditional, help: ArgumentHelp("\(help) (default: \(wrappedValue))"),
                  transform: WholeNumber.parser(name))
    }

    /// A required integer option.
    public init(integer name: String, help: String) {
        self.init(parsing: .unconditional, help: ArgumentHelp(help), transform: WholeNumber.parser(name))
    }
}

extension Option where Value == Int? {
    /// An integer option that may be left out.
    public init(integer name: String, help: String) {
        self.init(parsing: .unconditional, help: ArgumentHelp(help), transform: WholeNumber.parser(name))
    }
}

// The real-valued options (`--nu-x`, `--learning-rate`, ...): read by `DecimalNumber`, so a
// hexadecimal value ("0x10", which Swift's Double reads as 16) is refused naming the option. The
// range is checked in the option group's `validate()`, as for the integer options.
extension Option where Value == Double {
    /// A real option with a default, shown in `--help` as for an option without a transform.
    public init(wrappedValue: Double, decimal name: String, help: String) {
        self.init(wrappedValue: wrappedValue, parsing: .unconditional, help: ArgumentHelp("\(help) (default: \(wrappedValue))"),
                  transform: DecimalNumber.parser(name))
    }
}

extension Option where Value == Double? {
    /// A real option that may be left out.
    public init(decimal name: String, help: String) {
        self.init(parsing: .unconditional, help: ArgumentHelp(help), transform: DecimalNumber.parser(name))
    }
}
