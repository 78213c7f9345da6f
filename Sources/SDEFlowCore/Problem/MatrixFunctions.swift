import Foundation

/// Small dense Double matrices, row-major `[Double]`: what the exact laws of linear SDEs need
/// (the matrix exponential and Van Loan's discretisation), nothing more.
///
/// Sizes here are those of an example's state (d ≤ 100, so Van Loan's block matrix is at most
/// 200 × 200) and each function is called once per (μ, h), not per step: plain loops, ordered
/// so the inner one runs along a row and vectorises, are fast enough and keep BLAS (and its
/// threads) out of example code.
public enum MatrixFunctions {
    /// The n × n identity.
    public static func identity(_ n: Int) -> [Double] {
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { a[i * n + i] = 1 }
        return a
    }

    /// The side n of a square matrix stored in `count` values.
    static func side(_ count: Int) -> Int {
        let n = Int(Double(count).squareRoot().rounded())
        precondition(n * n == count, "MatrixFunctions: \(count) values are not a square matrix")
        return n
    }

    /// a (m × k) times b (k × n): an m × n matrix.
    public static func product(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
        precondition(a.count == m * k && b.count == k * n, "MatrixFunctions.product: shapes")
        var c = [Double](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    for i in 0..<m {
                        for l in 0..<k {
                            let s = ap[i * k + l]
                            if s == 0 { continue }
                            for j in 0..<n { cp[i * n + j] += s * bp[l * n + j] }
                        }
                    }
                }
            }
        }
        return c
    }

    /// The product of two n × n matrices.
    public static func product(_ a: [Double], _ b: [Double]) -> [Double] {
        let n = side(a.count)
        return product(a, b, m: n, k: n, n: n)
    }

    /// a (m × n) times the vector x (n): m values.
    public static func apply(_ a: [Double], to x: [Double]) -> [Double] {
        let n = x.count, m = n == 0 ? 0 : a.count / n
        precondition(m * n == a.count, "MatrixFunctions.apply: shapes")
        var y = [Double](repeating: 0, count: m)
        a.withUnsafeBufferPointer { ap in
            x.withUnsafeBufferPointer { xp in
                for i in 0..<m {
                    var s = 0.0
                    for j in 0..<n { s += ap[i * n + j] * xp[j] }
                    y[i] = s
                }
            }
        }
        return y
    }

    /// The transpose of an m × n matrix (n × m).
    public static func transpose(_ a: [Double], rows m: Int, columns n: Int) -> [Double] {
        precondition(a.count == m * n, "MatrixFunctions.transpose: shapes")
        var t = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { t[j * m + i] = a[i * n + j] } }
        return t
    }

    /// The transpose of an n × n matrix.
    public static func transpose(_ a: [Double]) -> [Double] {
        let n = side(a.count)
        return transpose(a, rows: n, columns: n)
    }

    /// (a + aᵀ) / 2 of an n × n matrix: removes the rounding asymmetry of a computed covariance.
    public static func symmetrised(_ a: [Double]) -> [Double] {
        let n = side(a.count)
        var s = a
        for i in 0..<n {
            for j in (i + 1)..<n {
                let v = 0.5 * (a[i * n + j] + a[j * n + i])
                s[i * n + j] = v; s[j * n + i] = v
            }
        }
        return s
    }

    /// The 1-norm (largest column sum of absolute values) of an n × n matrix.
    public static func norm1(_ a: [Double]) -> Double {
        let n = side(a.count)
        var best = 0.0
        for j in 0..<n {
            var s = 0.0
            for i in 0..<n { s += abs(a[i * n + j]) }
            best = max(best, s)
        }
        return best
    }

    /// Solves a X = b for X (a: n × n, b: n × r) by LU with partial pivoting.
    /// Precondition: a is non-singular (for a Padé denominator it is, by the choice of θ_m).
    public static func solve(_ a: [Double], _ b: [Double], n: Int, columns r: Int) -> [Double] {
        precondition(a.count == n * n && b.count == n * r, "MatrixFunctions.solve: shapes")
        var lu = a, x = b
        for c in 0..<n {
            var p = c
            for i in (c + 1)..<n where abs(lu[i * n + c]) > abs(lu[p * n + c]) { p = i }
            precondition(lu[p * n + c] != 0, "MatrixFunctions.solve: singular matrix")
            if p != c {
                for j in 0..<n { lu.swapAt(c * n + j, p * n + j) }
                for j in 0..<r { x.swapAt(c * r + j, p * r + j) }
            }
            let pivot = lu[c * n + c]
            for i in (c + 1)..<n {
                let f = lu[i * n + c] / pivot
                if f == 0 { continue }
                for j in (c + 1)..<n { lu[i * n + j] -= f * lu[c * n + j] }
                for j in 0..<r { x[i * r + j] -= f * x[c * r + j] }
            }
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in 0..<r {
                var s = x[i * r + j]
                for l in (i + 1)..<n { s -= lu[i * n + l] * x[l * r + j] }
                x[i * r + j] = s / lu[i * n + i]
            }
        }
        return x
    }
}

// MARK: Matrix exponential

extension MatrixFunctions {
    /// Padé [m/m] numerator coefficients b_0…b_m and the largest ‖A‖₁ θ_m for which the
    /// approximant is accurate to double precision without scaling (Higham 2005, Table 2.3).
    static let pade: [(theta: Double, b: [Double])] = [
        (1.495585217958292e-2, [120, 60, 12, 1]),
        (2.539398330063230e-1, [30240, 15120, 3360, 420, 30, 1]),
        (9.504178996162932e-1, [17_297_280, 8_648_640, 1_995_840, 277_200, 25200, 1512, 56, 1]),
        (2.097847961257068, [17_643_225_600, 8_821_612_800, 2_075_673_600, 302_702_400, 30_270_240,
                             2_162_160, 110_880, 3960, 90, 1]),
        (5.371920351148152, [64_764_752_532_480_000, 32_382_376_266_240_000, 7_771_770_303_897_600,
                             1_187_353_796_428_800, 129_060_195_264_000, 10_559_470_521_600,
                             670_442_572_800, 33_522_128_640, 1_323_241_920, 40_840_800, 960_960,
                             16380, 182, 1]),
    ]

    /// e^A of an n × n matrix by scaling and squaring (Higham 2005, "The scaling and squaring
    /// method for the matrix exponential revisited", Algorithm 2.3): the lowest Padé degree
    /// m ∈ {3, 5, 7, 9} whose θ_m bounds ‖A‖₁, else degree 13 on A / 2^s with ‖A / 2^s‖₁ ≤ θ₁₃,
    /// squared s times. Relative error near machine precision for normal matrices; like every
    /// scaling-and-squaring method it loses accuracy when the squarings amplify cancellation
    /// (‖A‖ large and e^A small, non-normal A).
    public static func exponential(_ a: [Double]) -> [Double] {
        let n = side(a.count)
        if n == 0 { return [] }
        let norm = norm1(a)
        precondition(norm.isFinite, "MatrixFunctions.exponential: non-finite matrix")
        if let (_, b) = pade.dropLast().first(where: { norm <= $0.theta }) {
            return padeApproximant(a, n: n, b: b)
        }
        let top = pade[pade.count - 1]
        let s = max(0, Int(ceil(log2(norm / top.theta))))
        let scaled = a.map { scalbn($0, -s) }
        var e = padeApproximant(scaled, n: n, b: top.b)
        for _ in 0..<s { e = product(e, e, m: n, k: n, n: n) }
        return e
    }

    /// r_m(A) = (V − U)⁻¹ (V + U), U the odd and V the even part of the Padé numerator
    /// Σ b_k A^k. Degree 13 evaluates its high powers through A⁶ (Higham 2005, eq. 2.3), so it
    /// costs 6 products and one solve; the lower degrees use A², A⁴, … directly.
    static func padeApproximant(_ a: [Double], n: Int, b: [Double]) -> [Double] {
        let m = b.count - 1
        let a2 = product(a, a, m: n, k: n, n: n)
        var powers = [identity(n), a2]  // A⁰, A², A⁴, …
        var odd: [Double], even: [Double]
        if m == 13 {
            let a4 = product(a2, a2, m: n, k: n, n: n), a6 = product(a4, a2, m: n, k: n, n: n)
            let id = powers[0]
            let highOdd = combine([(b[13], a6), (b[11], a4), (b[9], a2)])
            let highEven = combine([(b[12], a6), (b[10], a4), (b[8], a2)])
            odd = add(product(a6, highOdd, m: n, k: n, n: n),
                      combine([(b[7], a6), (b[5], a4), (b[3], a2), (b[1], id)]))
            even = add(product(a6, highEven, m: n, k: n, n: n),
                       combine([(b[6], a6), (b[4], a4), (b[2], a2), (b[0], id)]))
        } else {
            while powers.count <= m / 2 { powers.append(product(powers[powers.count - 1], a2, m: n, k: n, n: n)) }
            odd = combine((0...(m / 2)).map { (b[2 * $0 + 1], powers[$0]) })
            even = combine((0...(m / 2)).map { (b[2 * $0], powers[$0]) })
        }
        let u = product(a, odd, m: n, k: n, n: n)
        var num = even, den = even
        for i in 0..<(n * n) { num[i] += u[i]; den[i] -= u[i] }
        return solve(den, num, n: n, columns: n)
    }

    /// Σ c_k M_k over same-sized matrices.
    static func combine(_ terms: [(Double, [Double])]) -> [Double] {
        var s = [Double](repeating: 0, count: terms[0].1.count)
        for (c, mat) in terms { for i in s.indices { s[i] += c * mat[i] } }
        return s
    }

    static func add(_ a: [Double], _ b: [Double]) -> [Double] {
        var s = a
        for i in s.indices { s[i] += b[i] }
        return s
    }
}

// MARK: Exact discretisation of linear SDEs

extension MatrixFunctions {
    /// The exact one-step law of dX = A X dt + G dW (A: n × n, Q = G Gᵀ: n × n) over a step h:
    /// X_{t+h} | X_t = x ~ N(Φ x, Σ) with Φ = e^{Ah} (`transition`) and
    /// Σ = ∫₀ʰ e^{As} Q e^{Aᵀs} ds (`covariance`), both n × n row-major.
    ///
    /// Van Loan (1978): the block exponential exp([[−A, Q], [0, Aᵀ]] h) = [[F₁₁, F₁₂], [0, F₂₂]]
    /// has F₂₂ = e^{Aᵀh} and F₁₂ = e^{−Ah} Σ, so Φ = F₂₂ᵀ and Σ = Φ F₁₂: one 2n × 2n
    /// exponential, no quadrature. For a long step (‖A‖₁ h > 1) the block holds both e^{−Ah} and
    /// e^{Ah}, and Σ = Φ F₁₂ would be a tiny Φ times a huge F₁₂; instead the law of h / 2^k
    /// (‖A‖₁ h / 2^k ≤ 1) is doubled k times, Φ₂ = Φ², Σ₂ = Φ Σ Φᵀ + Σ, which is exact and adds
    /// only positive semi-definite terms. Σ is symmetrised ((Σ + Σᵀ)/2) so a Cholesky factor of
    /// it is well defined to rounding.
    public static func vanLoanDiscretisation(drift a: [Double], noise q: [Double], h: Double)
        -> (transition: [Double], covariance: [Double])
    {
        let n = side(a.count)
        precondition(q.count == n * n, "vanLoanDiscretisation: Q must be n × n like A")
        let growth = norm1(a) * abs(h)
        let halvings = growth > 1 ? Int(ceil(log2(growth))) : 0
        var (phi, sigma) = vanLoanBlock(a, q, n: n, h: scalbn(h, -halvings))
        for _ in 0..<halvings {
            let spread = product(product(phi, sigma, m: n, k: n, n: n), transpose(phi, rows: n, columns: n),
                                 m: n, k: n, n: n)
            sigma = symmetrised(add(spread, sigma))
            phi = product(phi, phi, m: n, k: n, n: n)
        }
        return (phi, sigma)
    }

    /// One Van Loan block exponential for a step h with ‖A‖₁ h ≤ 1 (see above): (Φ, Σ).
    static func vanLoanBlock(_ a: [Double], _ q: [Double], n: Int, h: Double) -> ([Double], [Double]) {
        let n2 = 2 * n
        var block = [Double](repeating: 0, count: n2 * n2)
        for i in 0..<n {
            for j in 0..<n {
                block[i * n2 + j] = -a[i * n + j] * h
                block[i * n2 + n + j] = q[i * n + j] * h
                block[(n + i) * n2 + n + j] = a[j * n + i] * h
            }
        }
        let f = exponential(block)
        var f12 = [Double](repeating: 0, count: n * n), phi = f12
        for i in 0..<n {
            for j in 0..<n {
                f12[i * n + j] = f[i * n2 + n + j]
                phi[i * n + j] = f[(n + j) * n2 + n + i]  // (F₂₂)ᵀ
            }
        }
        return (phi, symmetrised(product(phi, f12, m: n, k: n, n: n)))
    }
}
