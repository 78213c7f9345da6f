/// Integer command-line values written as a user reads them in `--help`: the ranges there say
/// "1…1e9", and `--labels 5e4` or `--steps 1e7` were refused with swift-argument-parser's bare
/// "The value '5e4' is invalid". A value is taken when it is exactly an integer in any decimal
/// notation ("50000", "5e4", "5.0e4", "2.5e1"); anything else is refused naming the option and
/// saying an integer is expected. The decimal text is read exactly (no Double in between), so
/// "12345678901234567891e-1" is not whole and a 19-digit count keeps every digit.
public enum WholeNumber {
    /// The parser of an option's value (`@Option(transform: WholeNumber.parser("--labels"))`):
    /// the range is checked afterwards, where the option's `validate()` checks it.
    public static func parser<T: FixedWidthInteger>(_ option: String) -> @Sendable (String) throws -> T {
        { try parse($0, option: option) }
    }

    /// `text` as a `T`, or an option error naming `option` (exit status 64, as every bad option).
    public static func parse<T: FixedWidthInteger>(_ text: String, option: String) throws -> T {
        if let v = T(text) { return v }
        let example = "an integer is expected, e.g. 50000 or 5e4"
        guard let (negative, digits, exponent) = decimal(text) else {
            throw SDEFlowError.option(option, "'\(text)' is not a number (\(example))")
        }
        guard exponent >= 0 || digits.isEmpty else {
            throw SDEFlowError.option(option, "\(text) is not a whole number (\(example))")
        }
        guard let v: T = value(negative: negative, digits: digits, exponent: max(exponent, 0)) else {
            let bound = negative ? "below \(T.min)" : "above \(T.max)"
            throw SDEFlowError.option(option, "\(text) is \(bound), beyond every integer this option can take")
        }
        return v
    }

    /// Sign, significant digits (no leading or trailing zeros; empty for zero) and the power of
    /// ten they are multiplied by, of `[+-]digits[.digits][(e|E)[+-]digits]`; nil if not of that form.
    static func decimal(_ text: String) -> (negative: Bool, digits: [Int], exponent: Int)? {
        var s = Substring(text), negative = false
        if let c = s.first, c == "+" || c == "-" { negative = c == "-"; s = s.dropFirst() }
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            let power = s[s.index(after: e)...]
            let magnitude = power.drop { $0 == "+" || $0 == "-" }
            guard power.count - magnitude.count <= 1, !magnitude.isEmpty, magnitude.allSatisfy(\.isASCIIDigit) else { return nil }
            // A power too long for Int is beyond every integer type either way; clamp it.
            exponent = Int(power) ?? (power.first == "-" ? -Int(Int32.max) : Int(Int32.max))
            s = s[..<e]
        }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0], fraction = parts.count > 1 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty), (whole + fraction).allSatisfy(\.isASCIIDigit) else { return nil }
        var digits = (whole + fraction).map { Int($0.asciiValue! - 48) }.drop { $0 == 0 }
        exponent = exponent.clamped(-Int(Int32.max), Int(Int32.max)) - fraction.count
        while digits.last == 0 { digits.removeLast(); exponent += 1 }
        return (negative, Array(digits), exponent)
    }

    /// ±digits × 10^exponent in `T`, nil if it overflows.
    static func value<T: FixedWidthInteger>(negative: Bool, digits: [Int], exponent: Int) -> T? {
        guard digits.count + exponent <= 40 else { return digits.isEmpty ? 0 : nil }
        var v: T = 0
        for d in digits + [Int](repeating: 0, count: exponent) {
            let (shifted, o1) = v.multipliedReportingOverflow(by: 10)
            let (next, o2) = negative ? shifted.subtractingReportingOverflow(T(d)) : shifted.addingReportingOverflow(T(d))
            guard !o1, !o2 else { return nil }
            v = next
        }
        return v
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isWholeNumber }
}

private extension Int {
    func clamped(_ low: Int, _ high: Int) -> Int { Swift.min(Swift.max(self, low), high) }
}
