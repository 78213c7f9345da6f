import Foundation

/// The normalised space (x/σ_x, μ/σ_μ) of the paper's neighbour search: σ_x is one scalar std
/// over all entries of x, σ_μ one over all entries of μ (a std below 1e-8 counts as 1).
public struct Normalisation: Codable, Sendable, Equatable {
    public var d: Int
    public var dMu: Int
    public var sigmaX: Double
    public var sigmaMu: Double
    public var dims: Int { d + dMu }

    public init(d: Int, dMu: Int, sigmaX: Double, sigmaMu: Double) {
        self.d = d; self.dMu = dMu
        self.sigmaX = sigmaX < 1e-8 ? 1 : sigmaX
        self.sigmaMu = sigmaMu < 1e-8 ? 1 : sigmaMu
    }

    /// Writes the D = d + dMu normalised coordinates of (x, μ) into `out`.
    @inlinable
    public func point(x: UnsafePointer<Double>, mu: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        for i in 0..<d { out[i] = x[i] / sigmaX }
        for i in 0..<dMu { out[d + i] = mu[i] / sigmaMu }
    }

    /// Normalised coordinates of the rows of x (n × d) and μ (n × dμ): n × D values.
    public func points(x: [Double], mu: [Double]) -> [Double] {
        let n = d == 0 ? 0 : x.count / d
        var out = [Double](repeating: 0, count: n * dims)
        x.withUnsafeBufferPointer { xs in
            mu.withUnsafeBufferPointer { ms in
                out.withUnsafeMutableBufferPointer { o in
                    for j in 0..<n { point(x: xs.baseAddress! + j * d, mu: ms.baseAddress! + j * dMu, into: o.baseAddress! + j * dims) }
                }
            }
        }
        return out
    }
}
