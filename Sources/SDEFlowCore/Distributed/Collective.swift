/// The collective operations the distributed stages use, over ranks 0 ..< size.
///
/// The stages (`DistributedLabels`, `DataParallelTrainer`, `DistributedSampling`, `Pipeline`) see
/// only this protocol. The product runs them on Open MPI (`MPICommunicator`, the one module that
/// talks to MPI); tests run them in-process on `LocalCollective`, one thread per simulated rank.
/// Every rank must call the same collectives in the same order.
public protocol Collective: AnyObject, Sendable {
    var rank: Int { get }
    var size: Int { get }
    func barrier() throws
    /// Rank `root`'s array, on every rank (other ranks' input is ignored; the length travels too).
    func broadcast<T: CollectiveScalar>(_ values: [T], root: Int) throws -> [T]
    /// Element-wise reduction over ranks, in place, result on every rank.
    func allreduce<T: CollectiveScalar>(_ values: inout [T], _ op: ReduceOp) throws
    /// Every rank's array, concatenated in rank order, on every rank.
    func allgatherv<T: CollectiveScalar>(_ values: [T]) throws -> [T]
    /// Every rank's array, concatenated in rank order, on `root` (empty elsewhere).
    func gatherv<T: CollectiveScalar>(_ values: [T], root: Int) throws -> [T]
    /// Root's `parts[r]` lands on rank r (other ranks pass []).
    func scatterv<T: CollectiveScalar>(_ parts: [[T]], root: Int) throws -> [T]
    /// `parts[r]` goes to rank r; returns what every rank sent here, concatenated in rank order.
    func alltoallv<T: CollectiveScalar>(_ parts: [[T]]) throws -> [T]
    /// Ends the whole job with `message`: how a failing rank avoids leaving the others waiting
    /// in their next collective forever.
    func abort(_ message: String, code: Int32) -> Never
    /// This rank finished a bounded piece of local work (a sampling block, a batch of simulated
    /// paths): the stall watchdog counts it as progress. Stages that compute long between two
    /// collectives (sample, evaluate, inspect, simulate) were ended as stalled while working.
    func progress()
}

extension Collective {
    public var isRoot: Bool { rank == 0 }
    public func progress() {}

    public func broadcast<T: CollectiveScalar>(_ values: [T]) throws -> [T] { try broadcast(values, root: 0) }
    public func gatherv<T: CollectiveScalar>(_ values: [T]) throws -> [T] { try gatherv(values, root: 0) }
    public func scatterv<T: CollectiveScalar>(_ parts: [[T]]) throws -> [T] { try scatterv(parts, root: 0) }

    public func allreduce<T: CollectiveScalar>(_ value: T, _ op: ReduceOp) throws -> T {
        var v = [value]
        try allreduce(&v, op)
        return v[0]
    }
}

/// Element types that travel through a collective; `kind` names the wire type.
public protocol CollectiveScalar: Numeric, Comparable, Sendable { static var kind: ScalarKind { get } }
public enum ScalarKind: Sendable { case float32, float64, int32, int64, uint8 }
extension Float: CollectiveScalar { public static var kind: ScalarKind { .float32 } }
extension Double: CollectiveScalar { public static var kind: ScalarKind { .float64 } }
extension Int32: CollectiveScalar { public static var kind: ScalarKind { .int32 } }
extension Int64: CollectiveScalar { public static var kind: ScalarKind { .int64 } }
extension UInt8: CollectiveScalar { public static var kind: ScalarKind { .uint8 } }

public enum ReduceOp: Sendable {
    case sum, max, min

    /// The reduction of two values (`LocalCollective` folds ranks in rank order with it).
    public func combine<T: CollectiveScalar>(_ a: T, _ b: T) -> T {
        switch self {
        case .sum: a + b
        case .max: Swift.max(a, b)
        case .min: Swift.min(a, b)
        }
    }
}
