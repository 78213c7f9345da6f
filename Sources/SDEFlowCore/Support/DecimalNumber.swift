/// Real command-line values in decimal notation only. Swift's `Double(_:)` also reads
/// hexadecimal ("0x10" is 16, "0x1p-3" is 0.125), and `--nu-x 0x10` or `--x0 0x10` were taken as
/// 16 without a word. "inf" and "nan" still parse here: each option's range refuses them,
/// naming the option and its range.
public enum DecimalNumber {
    /// `text` as a number, nil if it is not one, is written in hexadecimal, or is not zero but
    /// reads as zero (below 4.9e-324): `--fine-step 1e-400` meant "the exact transition" and
    /// `--ode-stop 1e-400` "run onto the data", each option's meaning of 0.
    public static func parse(_ text: String) -> Double? {
        guard !hexadecimal(text), let v = Double(text), !underflows(text, v) else { return nil }
        return v
    }

    static func hexadecimal(_ text: String) -> Bool { text.contains { $0 == "x" || $0 == "X" } }

    /// Whether `text`, read as `value`, is a nonzero decimal that rounds to 0.
    static func underflows(_ text: String, _ value: Double) -> Bool {
        guard value == 0, let (_, digits, _) = WholeNumber.decimal(text) else { return false }
        return !digits.isEmpty
    }

    /// The parser of a real option's value (`@Option(decimal: "--nu-x", ...)`), refusing with an
    /// option error (exit status 64) that names the option.
    public static func parser(_ option: String) -> @Sendable (String) throws -> Double {
        { text in
            guard let v = parse(text) else {
                throw SDEFlowError.option(option, !hexadecimal(text) && Double(text).map({ underflows(text, $0) }) == true
                    ? "\(text) is not 0 but too small for a double (below 4.9e-324), which would read it as 0"
                    : "'\(text)' is not a number in decimal notation (e.g. 0.5 or 1e-3)")
            }
            return v
        }
    }
}
