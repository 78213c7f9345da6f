import CMPI
import Foundation
import SDEFlowCore

extension ScalarKind {
    /// The MPI datatype of this wire type.
    var mpiType: MPI_Datatype {
        switch self {
        case .float32: sdeflow_float()
        case .float64: sdeflow_double()
        case .int32: sdeflow_int32()
        case .int64: sdeflow_int64()
        case .uint8: sdeflow_uint8()
        }
    }
}

extension ReduceOp {
    var handle: MPI_Op {
        switch self {
        case .sum: sdeflow_op_sum()
        case .max: sdeflow_op_max()
        case .min: sdeflow_op_min()
        }
    }
}

/// The one owner of MPI in the program: `Collective` as a typed, throwing layer over MPI_COMM_WORLD.
///
/// Every collective here must be called by all ranks in the same order. Counts travel as
/// Int32 (Open MPI 4.1 has no large-count API); a transfer past 2^31 − 1 elements throws.
public final class MPICommunicator: Collective, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    let comm: MPI_Comm

    /// Initialises MPI (once per process). Without mpirun it runs as a single rank, with the
    /// singleton settings that avoid forking a helper that needs ssh.
    public static func initialize() throws -> MPICommunicator {
        if ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] == nil {
            setenv("OMPI_MCA_ess_singleton_isolated", "1", 0)
            setenv("OMPI_MCA_pml", "ob1", 0)
        }
        var provided: Int32 = 0
        try check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided), "MPI_Init_thread")
        let world = sdeflow_comm_world()!
        try check(MPI_Comm_set_errhandler(world, sdeflow_errors_return()), "MPI_Comm_set_errhandler")
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &s)
        return MPICommunicator(comm: world, rank: Int(r), size: Int(s))
    }

    init(comm: MPI_Comm, rank: Int, size: Int) { self.comm = comm; self.rank = rank; self.size = size }

    public func finalize() { MPI_Finalize() }

    /// Brings the whole job down: the way a failing rank avoids leaving the others waiting in
    /// their next collective forever.
    public func abort(_ message: String, code: Int32) -> Never {
        writeStandardError("sdeflow-mpi: error (rank \(rank) of \(size)): \(message)\n")
        MPI_Abort(comm, code)
        exit(code)
    }

    static func check(_ code: Int32, _ call: String) throws {
        if code != MPI_SUCCESS { throw SDEFlowError.mpi(call, "MPI error \(code): \(errorString(code))") }
    }

    static func count(_ n: Int, _ call: String) throws -> Int32 {
        guard n <= Int(Int32.max) else {
            throw SDEFlowError.mpi(call, "\(n) elements is over 2^31 − 1 (split the transfer)")
        }
        return Int32(n)
    }

    public func barrier() throws { try Self.check(MPI_Barrier(comm), "MPI_Barrier") }

    /// Rank `root`'s array, on every rank (other ranks' input is ignored; the length travels too).
    public func broadcast<T: CollectiveScalar>(_ values: [T], root: Int) throws -> [T] {
        var n = Int64(values.count)
        try Self.check(MPI_Bcast(&n, 1, Int64.kind.mpiType, Int32(root), comm), "MPI_Bcast")
        var out = rank == root ? values : [T](unsafeUninitializedCapacity: Int(n)) { _, c in c = Int(n) }
        let c = try Self.count(Int(n), "MPI_Bcast")
        try out.withUnsafeMutableBytes { try Self.check(MPI_Bcast($0.baseAddress, c, T.kind.mpiType, Int32(root), comm), "MPI_Bcast") }
        return out
    }

    /// Element-wise reduction over ranks, in place, result on every rank.
    public func allreduce<T: CollectiveScalar>(_ values: inout [T], _ op: ReduceOp) throws {
        let c = try Self.count(values.count, "MPI_Allreduce")
        try values.withUnsafeMutableBytes {
            try Self.check(MPI_Allreduce(sdeflow_in_place(), $0.baseAddress, c, T.kind.mpiType, op.handle, comm), "MPI_Allreduce")
        }
    }

    /// Every rank's array, concatenated in rank order, on every rank.
    public func allgatherv<T: CollectiveScalar>(_ values: [T]) throws -> [T] {
        let counts = try allgatherCounts(values.count)
        let (c32, displs, total) = try Self.layout(counts, "MPI_Allgatherv")
        var out = [T](unsafeUninitializedCapacity: total) { _, c in c = total }
        let sc = try Self.count(values.count, "MPI_Allgatherv")
        try values.withUnsafeBytes { src in
            try out.withUnsafeMutableBytes { dst in
                try Self.check(MPI_Allgatherv(src.baseAddress, sc, T.kind.mpiType, dst.baseAddress, c32, displs, T.kind.mpiType, comm), "MPI_Allgatherv")
            }
        }
        return out
    }

    /// Every rank's array, concatenated in rank order, on `root` (empty elsewhere).
    public func gatherv<T: CollectiveScalar>(_ values: [T], root: Int) throws -> [T] {
        let counts = try allgatherCounts(values.count)
        let (c32, displs, total) = try Self.layout(counts, "MPI_Gatherv")
        var out = [T](unsafeUninitializedCapacity: rank == root ? total : 0) { _, c in c = rank == root ? total : 0 }
        let sc = try Self.count(values.count, "MPI_Gatherv")
        try values.withUnsafeBytes { src in
            try out.withUnsafeMutableBytes { dst in
                try Self.check(MPI_Gatherv(src.baseAddress, sc, T.kind.mpiType, dst.baseAddress, c32, displs, T.kind.mpiType, Int32(root), comm), "MPI_Gatherv")
            }
        }
        return out
    }

    /// Root's `parts[r]` lands on rank r (other ranks pass []).
    public func scatterv<T: CollectiveScalar>(_ parts: [[T]], root: Int) throws -> [T] {
        var counts = rank == root ? parts.map { Int64($0.count) } : [Int64](repeating: 0, count: size)
        counts = try broadcast(counts, root: root)
        let (c32, displs, _) = try Self.layout(counts.map(Int.init), "MPI_Scatterv")
        let flat = rank == root ? parts.flatMap { $0 } : []
        let mine = Int(counts[rank])
        var out = [T](unsafeUninitializedCapacity: mine) { _, c in c = mine }
        try flat.withUnsafeBytes { src in
            try out.withUnsafeMutableBytes { dst in
                try Self.check(MPI_Scatterv(src.baseAddress, c32, displs, T.kind.mpiType, dst.baseAddress, c32[rank], T.kind.mpiType, Int32(root), comm), "MPI_Scatterv")
            }
        }
        return out
    }

    /// `parts[r]` goes to rank r; returns what every rank sent here, concatenated in rank order.
    public func alltoallv<T: CollectiveScalar>(_ parts: [[T]]) throws -> [T] {
        precondition(parts.count == size)
        var sendCounts = parts.map { Int32(clamping: $0.count) }
        for p in parts { _ = try Self.count(p.count, "MPI_Alltoallv") }
        var recvCounts = [Int32](repeating: 0, count: size)
        try Self.check(MPI_Alltoall(&sendCounts, 1, Int32.kind.mpiType, &recvCounts, 1, Int32.kind.mpiType, comm), "MPI_Alltoall")
        let (_, sdispls, _) = try Self.layout(sendCounts.map(Int.init), "MPI_Alltoallv")
        let (_, rdispls, total) = try Self.layout(recvCounts.map(Int.init), "MPI_Alltoallv")
        let flat = parts.flatMap { $0 }
        var out = [T](unsafeUninitializedCapacity: total) { _, c in c = total }
        try flat.withUnsafeBytes { src in
            try out.withUnsafeMutableBytes { dst in
                try Self.check(MPI_Alltoallv(src.baseAddress, sendCounts, sdispls, T.kind.mpiType, dst.baseAddress, recvCounts, rdispls, T.kind.mpiType, comm), "MPI_Alltoallv")
            }
        }
        return out
    }

    func allgatherCounts(_ n: Int) throws -> [Int] {
        var mine = Int64(n)
        var all = [Int64](repeating: 0, count: size)
        try Self.check(MPI_Allgather(&mine, 1, Int64.kind.mpiType, &all, 1, Int64.kind.mpiType, comm), "MPI_Allgather")
        return all.map(Int.init)
    }

    static func layout(_ counts: [Int], _ call: String) throws -> ([Int32], [Int32], Int) {
        var displs = [Int32](), offset = 0
        for c in counts { displs.append(try count(offset, call)); offset += c }
        _ = try count(offset, call)
        return (try counts.map { try count($0, call) }, displs, offset)
    }

    /// MPI's own text for an error code.
    static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &buffer, &length)
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
