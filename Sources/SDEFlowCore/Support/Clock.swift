import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Monotonic wall-clock seconds (CLOCK_MONOTONIC), for timing.
public func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

