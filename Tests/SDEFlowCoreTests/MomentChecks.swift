import Testing

/// Expects the sample `v` to have the exact mean, variance and third central moment, each within
/// `k` of the sample's own standard errors (std of x, of (x − m)², of (x − m)³ over √n). With
/// `meanErrorInThird` the third moment's bound also allows for the sample mean's own error
/// (3 · σ/√n · σ²), which dominates for discrete laws of small variance (Poisson).
func expectExactMoments(_ v: [Double], mean: Double, variance: Double, third: Double, k: Double = 5,
                        meanErrorInThird: Bool = false, _ what: String) {
    let nd = Double(v.count), m = v.reduce(0, +) / nd
    let c2 = v.map { ($0 - m) * ($0 - m) }, c3 = v.map { ($0 - m) * ($0 - m) * ($0 - m) }
    let s2 = c2.reduce(0, +) / (nd - 1), s3 = c3.reduce(0, +) / nd
    func se(_ a: [Double]) -> Double {
        let am = a.reduce(0, +) / nd
        return (a.reduce(0) { $0 + ($1 - am) * ($1 - am) } / (nd - 1) / nd).squareRoot()
    }
    let thirdSlack = meanErrorInThird ? 3 * (s2 / nd).squareRoot() * s2 : 0
    #expect(abs(m - mean) < k * (s2 / nd).squareRoot(), "\(what): mean \(m), exact \(mean)")
    #expect(abs(s2 - variance) < k * se(c2), "\(what): variance \(s2), exact \(variance)")
    #expect(abs(s3 - third) < k * se(c3) + thirdSlack, "\(what): third central moment \(s3), exact \(third)")
}
