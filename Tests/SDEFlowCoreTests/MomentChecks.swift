import Testing

/// Expects the sample `v` to have the exact mean, variance and third central moment, each
/// within 5 of the sample's own standard errors (the samplers' tests: cir, gbm).
func expectExactMoments(_ v: [Double], mean: Double, variance: Double, third: Double, _ what: String) {
    let nd = Double(v.count), m = v.reduce(0, +) / nd
    let c2 = v.map { ($0 - m) * ($0 - m) }, c3 = v.map { ($0 - m) * ($0 - m) * ($0 - m) }
    let s2 = c2.reduce(0, +) / (nd - 1), s3 = c3.reduce(0, +) / nd
    func se(_ a: [Double]) -> Double {
        let am = a.reduce(0, +) / nd
        return (a.reduce(0) { $0 + ($1 - am) * ($1 - am) } / (nd - 1) / nd).squareRoot()
    }
    #expect(abs(m - mean) < 5 * (s2 / nd).squareRoot(), "\(what): mean \(m), exact \(mean)")
    #expect(abs(s2 - variance) < 5 * se(c2), "\(what): variance \(s2), exact \(variance)")
    #expect(abs(s3 - third) < 5 * se(c3), "\(what): third central moment \(s3), exact \(third)")
}
