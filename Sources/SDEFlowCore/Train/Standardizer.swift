import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-column affine standardisation z = (v − mean) / std, fitted in Double.
/// `std` is the unbiased (n − 1) sample standard deviation, as `torch.Tensor.std(dim=0)`;
/// a column whose std is below 1e-8 (e.g. constant) is stored with std 1, so it is only
/// centred and never divided by ~0.
public struct Standardizer: Codable, Sendable, Equatable {
    public var mean: [Double]
    public var std: [Double]

    /// Values at or below this std count as 1.
    public static let minimumStd = 1e-8

    public var width: Int { mean.count }

    public init(mean: [Double], std: [Double]) {
        precondition(mean.count == std.count)
        self.mean = mean
        self.std = std.map { $0 < Self.minimumStd ? 1 : $0 }
    }

    /// Fits mean and std per column of `values` (rows × width, row-major), two-pass in Double.
    public init(fitting values: [Double], rows: Int, width: Int) {
        let m = Self.moments(values, rows: rows, width: width)
        self.init(mean: m.mean, std: m.std)
    }

    /// Mean and std (n − 1) per column of `values` (rows × width), before any column's std is
    /// taken as 1: a caller can tell a constant column (std below `minimumStd`) from the rest.
    public static func moments(_ values: [Double], rows: Int, width: Int) -> (mean: [Double], std: [Double]) {
        precondition(values.count == rows * width && rows > 0)
        var mean = [Double](repeating: 0, count: width)
        for r in 0..<rows { for c in 0..<width { mean[c] += values[r * width + c] } }
        for c in 0..<width { mean[c] /= Double(rows) }
        var ss = [Double](repeating: 0, count: width)
        for r in 0..<rows {
            for c in 0..<width {
                let d = values[r * width + c] - mean[c]
                ss[c] += d * d
            }
        }
        let dof = Double(Swift.max(rows - 1, 1))
        return (mean, ss.map { ($0 / dof).squareRoot() })
    }

    @inline(__always) private func divisor(_ c: Int) -> Double {
        std[c] < Self.minimumStd ? 1 : std[c]
    }

    /// Standardises rows × width values into Float32 network inputs/targets.
    public func apply(_ values: [Double]) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { apply(v, into: $0) }
        }
        return out
    }

    /// Allocation-free `apply`: `values.count` must be a multiple of `width`.
    public func apply(_ values: UnsafeBufferPointer<Double>, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(values.count % width == 0 && out.count >= values.count)
        let w = width
        for c in 0..<w {
            let m = mean[c], s = 1 / divisor(c)
            var i = c
            while i < values.count {
                out[i] = Float((values[i] - m) * s)
                i += w
            }
        }
    }

    /// Maps standardised values (rows × width) back to original units: v = z·std + mean.
    public func invert(_ values: [Float]) -> [Double] {
        var out = [Double](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { invert(v, into: $0) }
        }
        return out
    }

    /// Allocation-free `invert`.
    public func invert(_ values: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Double>) {
        precondition(values.count % width == 0 && out.count >= values.count)
        let w = width
        for c in 0..<w {
            let m = mean[c], s = divisor(c)
            var i = c
            while i < values.count {
                out[i] = Double(values[i]) * s + m
                i += w
            }
        }
    }
}
