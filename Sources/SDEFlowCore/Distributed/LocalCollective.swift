import Foundation

/// `Collective` in one process: each simulated rank is a thread, and every collective is one
/// exchange in which each rank deposits its contribution and reads everyone's. For unit tests
/// of the distributed stages at 1, 2, 3 … ranks without mpirun. Reductions fold the ranks in
/// rank order. A rank that throws fails the world: the others' next collective throws too,
/// instead of waiting forever (the in-process counterpart of `MPI_Abort`).
public final class LocalCollective: Collective, @unchecked Sendable {
    public let rank: Int
    public var size: Int { world.size }
    private let world: World

    private init(rank: Int, world: World) { self.rank = rank; self.world = world }

    /// Runs `body` on `ranks` threads, one per simulated rank; returns the results in rank order
    /// or throws the error of the rank that failed first (not the others' "another rank failed").
    public static func run<R>(ranks: Int, _ body: @escaping @Sendable (LocalCollective) throws -> R) throws -> [R] {
        precondition(ranks >= 1)
        let world = World(size: ranks)
        let results = Results<R>(count: ranks)
        let threads = (0..<ranks).map { r in
            Thread {
                let comm = LocalCollective(rank: r, world: world)
                do { results.set(r, .success(try body(comm))) } catch {
                    results.set(r, .failure(error)); world.fail()
                }
                results.done.signal()
            }
        }
        for t in threads { t.stackSize = 16 << 20; t.start() }
        for _ in 0..<ranks { results.done.wait() }
        // The error of the rank that failed first, not the others' "another rank failed"; of a
        // failure every rank agreed on (`AgreedFailure`), the one rank's that carries the error.
        let errors = results.values.compactMap { r -> Error? in if case .failure(let e) = r! { e } else { nil } }
        let carried = errors.first { ($0 as? AgreedFailure)?.error != nil }
        if let cause = carried ?? errors.first(where: { ($0 as? SDEFlowError) != World.failure }) ?? errors.first { throw cause }
        return results.values.map { try! $0!.get() }
    }

    public func barrier() throws { _ = try world.exchange(rank, 0) }

    public func broadcast<T: CollectiveScalar>(_ values: [T], root: Int) throws -> [T] {
        try world.exchange(rank, values)[root] as! [T]
    }

    public func allreduce<T: CollectiveScalar>(_ values: inout [T], _ op: ReduceOp) throws {
        let all = try world.exchange(rank, values).map { $0 as! [T] }
        precondition(all.allSatisfy { $0.count == values.count }, "allreduce of arrays of different lengths")
        var out = all[0]
        for r in 1..<all.count { for i in out.indices { out[i] = op.combine(out[i], all[r][i]) } }
        values = out
    }

    public func allgatherv<T: CollectiveScalar>(_ values: [T]) throws -> [T] {
        try world.exchange(rank, values).flatMap { $0 as! [T] }
    }

    public func gatherv<T: CollectiveScalar>(_ values: [T], root: Int) throws -> [T] {
        let all = try allgatherv(values)
        return rank == root ? all : []
    }

    public func scatterv<T: CollectiveScalar>(_ parts: [[T]], root: Int) throws -> [T] {
        (try world.exchange(rank, parts)[root] as! [[T]])[rank]
    }

    public func alltoallv<T: CollectiveScalar>(_ parts: [[T]]) throws -> [T] {
        precondition(parts.count == size)
        return try world.exchange(rank, parts).flatMap { ($0 as! [[T]])[rank] }
    }

    public func abort(_ message: String, code: Int32) -> Never {
        world.fail()
        fatalError("rank \(rank) of \(size) aborted: \(message)")
    }

    /// The shared state of the simulated ranks.
    private final class World: @unchecked Sendable {
        let size: Int
        private let condition = NSCondition()
        private var slots: [Any?]
        private var published: [Any] = []
        private var arrived = 0, generation = 0, failed = false

        init(size: Int) { self.size = size; slots = Array(repeating: nil, count: size) }

        /// Deposits `value` as rank `rank`'s and returns every rank's, in rank order, once all
        /// have arrived. A rank can only start the next exchange after reading this one's, so
        /// `published` is never overwritten under a reader.
        func exchange(_ rank: Int, _ value: Any) throws -> [Any] {
            condition.lock(); defer { condition.unlock() }
            let mine = generation
            slots[rank] = value; arrived += 1
            if arrived == size {
                published = slots.map { $0! }
                slots = Array(repeating: nil, count: size); arrived = 0; generation += 1
                condition.broadcast()
            } else {
                while generation == mine && !failed { condition.wait() }
            }
            // A completed exchange returns even if a rank failed since, as MPI's would: a rank
            // that threw an agreed refusal right after it (`Collective.alike`) made the slower
            // rank 0 throw "another rank failed" instead of carrying the refusal.
            if generation == mine { throw Self.failure }
            return published
        }

        func fail() { condition.lock(); failed = true; condition.broadcast(); condition.unlock() }

        /// What the other ranks' collectives throw once one rank has failed.
        static let failure = SDEFlowError.internalFailure("another simulated rank failed")
    }

    private final class Results<R>: @unchecked Sendable {
        var values: [Result<R, Error>?]
        let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ r: Int, _ v: Result<R, Error>) { lock.lock(); values[r] = v; lock.unlock() }
    }
}
