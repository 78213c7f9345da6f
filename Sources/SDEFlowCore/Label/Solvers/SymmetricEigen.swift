/// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations (n ≤ a few
/// hundred; the label finish needs it once per query at d × d): a = V diag(λ) Vᵀ.
enum SymmetricEigen {
    /// `a`: n × n symmetric, row-major. Returns the eigenvalues and V (row-major, columns the
    /// eigenvectors), to about double precision after a few sweeps.
    static func decompose(_ a: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
        var m = a, v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<50 {
            var off = 0.0, total = 0.0
            for i in 0..<n { for j in 0..<n { total += m[i * n + j] * m[i * n + j]; if i != j { off += m[i * n + j] * m[i * n + j] } } }
            if off <= 1e-28 * total { break }
            for p in 0..<n { for q in (p + 1)..<n where m[p * n + q] != 0 { rotate(&m, &v, p, q, n) } }
        }
        return ((0..<n).map { m[$0 * n + $0] }, v)
    }

    /// One Jacobi rotation zeroing m[p][q] (Golub & Van Loan, Algorithm 8.4.2).
    private static func rotate(_ m: inout [Double], _ v: inout [Double], _ p: Int, _ q: Int, _ n: Int) {
        let theta = (m[q * n + q] - m[p * n + p]) / (2 * m[p * n + q])
        let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
        let c = 1 / (t * t + 1).squareRoot(), s = t * c
        for k in 0..<n {  // columns p, q
            let mkp = m[k * n + p], mkq = m[k * n + q]
            m[k * n + p] = c * mkp - s * mkq; m[k * n + q] = s * mkp + c * mkq
        }
        for k in 0..<n {  // rows p, q
            let mpk = m[p * n + k], mqk = m[q * n + k]
            m[p * n + k] = c * mpk - s * mqk; m[q * n + k] = s * mpk + c * mqk
        }
        for k in 0..<n {
            let vkp = v[k * n + p], vkq = v[k * n + q]
            v[k * n + p] = c * vkp - s * vkq; v[k * n + q] = s * vkp + c * vkq
        }
    }
}
