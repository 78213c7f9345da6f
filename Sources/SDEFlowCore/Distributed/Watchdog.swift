import Foundation

/// A stalled rank must not hang the job: every rank runs a watchdog thread that notes progress
/// (every collective entered and left, hence every finished label block and training step) and,
/// after `timeout` seconds without any, reports the rank and what it was waiting for through
/// `onStall` (the job frame passes the collective's abort: MPI_Abort ends every rank). Stages that
/// compute long between collectives report each bounded piece of work (`progress`). The longest
/// stretch without either is one label block, one sampling block (1024 paths) or rank 0 writing an
/// output, far below the default 600 s. The watchdog only reads the clock and a lock-guarded note;
/// it does no MPI of its own until it aborts.
public final class Watchdog: @unchecked Sendable {
    public let timeout: Double
    let rank: Int, size: Int
    private let onStall: @Sendable (String) -> Void
    private let lock = NSLock()
    private var lastProgress = monotonicSeconds()
    /// The collective this rank is inside (nil: computing), and the last one it left.
    private var waitingIn: String? = nil, lastLeft = "the start of the job"
    private var stopped = false

    /// Starts the watchdog thread.
    public init(timeout: Double, rank: Int, size: Int, onStall: @escaping @Sendable (String) -> Void) {
        precondition(timeout > 0)
        self.timeout = timeout; self.rank = rank; self.size = size; self.onStall = onStall
        let thread = Thread { [self] in watch() }
        thread.name = "sdeflow-watchdog"
        thread.start()
    }

    /// This rank enters collective `what`.
    public func enter(_ what: String) {
        lock.lock(); lastProgress = monotonicSeconds(); waitingIn = what; lock.unlock()
    }

    /// This rank left the collective it was in.
    public func leave() {
        lock.lock(); lastProgress = monotonicSeconds(); lastLeft = waitingIn ?? lastLeft; waitingIn = nil; lock.unlock()
    }

    /// This rank, computing outside any collective, finished a piece of work.
    public func progress() {
        lock.lock(); if waitingIn == nil { lastProgress = monotonicSeconds() }; lock.unlock()
    }

    /// Ends the watch (the job is finishing).
    public func stop() { lock.lock(); stopped = true; lock.unlock() }

    private func watch() {
        let poll = min(1.0, timeout / 10)
        while true {
            Thread.sleep(forTimeInterval: poll)
            lock.lock()
            let idle = monotonicSeconds() - lastProgress, waiting = waitingIn, left = lastLeft, done = stopped
            if idle > timeout { stopped = true }
            lock.unlock()
            if done { return }
            if idle > timeout { onStall(message(idle: idle, waiting: waiting, lastLeft: left)); return }
        }
    }

    func message(idle: Double, waiting: String?, lastLeft: String) -> String {
        let idle = idle >= 1 ? String(format: "%.0f", idle) : String(format: "%.2g", idle)  // 0.001 read "0 s"
        let limit = "(--stall-timeout or SDEFLOW_STALL_TIMEOUT sets this limit, now \(String(format: "%g", timeout)) s)"
        if let waiting {
            return String(format: "rank %d of %d: no progress for %@ s, waiting in %@ for the other ranks: one of them is stalled, stopped or gone; ending the job %@",
                          rank, size, idle, waiting, limit)
        }
        return String(format: "rank %d of %d: no progress for %@ s since it left %@: this rank is stuck outside any collective; ending the job %@",
                      rank, size, idle, lastLeft, limit)
    }
}

/// `Collective` with every call reported to a watchdog: the progress it watches.
public final class WatchedCollective: Collective, @unchecked Sendable {
    public let inner: any Collective
    public let watchdog: Watchdog

    public init(_ inner: any Collective, watchdog: Watchdog) { self.inner = inner; self.watchdog = watchdog }

    public var rank: Int { inner.rank }
    public var size: Int { inner.size }

    private func watched<R>(_ what: String, _ body: () throws -> R) rethrows -> R {
        watchdog.enter(what)
        defer { watchdog.leave() }
        return try body()
    }

    public func barrier() throws { try watched("barrier") { try inner.barrier() } }
    public func broadcast<T: CollectiveScalar>(_ values: [T], root: Int) throws -> [T] {
        try watched("broadcast") { try inner.broadcast(values, root: root) }
    }
    public func allreduce<T: CollectiveScalar>(_ values: inout [T], _ op: ReduceOp) throws {
        try watched("allreduce") { try inner.allreduce(&values, op) }
    }
    public func allgatherv<T: CollectiveScalar>(_ values: [T]) throws -> [T] {
        try watched("allgatherv") { try inner.allgatherv(values) }
    }
    public func gatherv<T: CollectiveScalar>(_ values: [T], root: Int) throws -> [T] {
        try watched("gatherv") { try inner.gatherv(values, root: root) }
    }
    public func scatterv<T: CollectiveScalar>(_ parts: [[T]], root: Int) throws -> [T] {
        try watched("scatterv") { try inner.scatterv(parts, root: root) }
    }
    public func alltoallv<T: CollectiveScalar>(_ parts: [[T]]) throws -> [T] {
        try watched("alltoallv") { try inner.alltoallv(parts) }
    }
    public func abort(_ message: String, code: Int32) -> Never { inner.abort(message, code: code) }
    public func progress() { watchdog.progress() }
}
