import Testing
@testable import SDEFlowCore

/// Catches (fourth probe, smaller issues): integer options refusing the notation `--help` writes
/// their ranges in ("1…1e9": `--labels 5e4` was "invalid"), or taking a value that is not exactly
/// an integer (1.5e0 rounded, 1e99 wrapped), or a refusal that does not name the option.
@Test func integerOptionsTakeExactlyIntegralScientificNotation() throws {
    let taken: [(String, Int)] = [("50000", 50000), ("5e4", 50000), ("5E4", 50000), ("5.0e4", 50000), ("5.e4", 50000),
                                  ("2.5e1", 25), ("+1e7", 10_000_000), ("-3e2", -300), ("0e999999999999999999", 0),
                                  ("1500e-2", 15), ("0.0", 0), ("9.223372036854775807e18", Int.max),
                                  ("-9223372036854775808e0", Int.min), ("1e9", 1_000_000_000)]
    for (text, value) in taken {
        #expect(try WholeNumber.parse(text, option: "--labels") as Int == value, "\(text)")
    }
    let refused: [(String, String)] = [
        ("1.5e0", "--labels: 1.5e0 is not a whole number (an integer is expected, e.g. 50000 or 5e4)"),
        ("12345678901234567891e-1", "is not a whole number"), ("1e-999999999999999999999", "is not a whole number"),
        ("1e99", "--labels: 1e99 is above 9223372036854775807"), ("9.3e18", "is above"), ("-1e19", "is below -9223372036854775808"),
        ("1e99999999999999999999", "is above"), ("abc", "--labels: 'abc' is not a number"), ("", "'' is not a number"),
        ("1e", "not a number"), ("e5", "not a number"), (".", "not a number"), ("1.2.3", "not a number"), ("1e+-2", "not a number"),
        ("0x10", "not a number"), ("inf", "not a number"), ("nan", "not a number"), (" 5", "not a number"), ("١٢", "not a number"),
    ]
    for (text, fragment) in refused {
        do {
            let v: Int = try WholeNumber.parse(text, option: "--labels")
            Issue.record("'\(text)' was taken as \(v)")
        } catch let e as SDEFlowError {
            #expect(e.location == .option("--labels") && e.exitStatus == 64 && "\(e)".contains(fragment), "\(text): \(e)")
        }
    }
    #expect(throws: SDEFlowError.self) { try WholeNumber.parse("-1e0", option: "--seed") as UInt64 }
    #expect(try WholeNumber.parse("1.8e19", option: "--seed") as UInt64 == 18_000_000_000_000_000_000)
}
