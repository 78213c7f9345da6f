/// Real command-line values in decimal notation only. Swift's `Double(_:)` also reads
/// hexadecimal ("0x10" is 16, "0x1p-3" is 0.125), and `--nu-x 0x10` or `--x0 0x10` were taken as
/// 16 without a word. "inf" and "nan" still parse here: each option's range refuses them,
/// naming the option and its range.
public enum DecimalNumber {
    /// `text` as a number, nil if it is not one or is written in hexadecimal.
    public static func parse(_ text: String) -> Double? {
        text.contains { $0 == "x" || $0 == "X" } ? nil : Double(text)
    }

    /// The parser of a real option's value (`@Option(decimal: "--nu-x", ...)`), refusing with an
    /// option error (exit status 64) that names the option.
    public static func parser(_ option: String) -> @Sendable (String) throws -> Double {
        { text in
            guard let v = parse(text) else {
                throw SDEFlowError.option(option, "'\(text)' is not a number in decimal notation (e.g. 0.5 or 1e-3)")
            }
            return v
        }
    }
}
