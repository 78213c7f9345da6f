import CKernels

/// Keeps large freed buffers in the process's heap for reuse.
///
/// Why: a label round under block shards allocates and frees tens of MiB at a time (the
/// candidates' rows sent and received, ranks × round × K × (2d + dμ + 1) doubles). glibc serves
/// every allocation above its mmap threshold (at most 32 MiB by default) with a fresh mapping
/// and returns it on free, so each round page-faults and zeroes the same amount again: at d = 10,
/// K = 8 000 that was half the time of the neighbour exchange (label stage 10.3 → 7.4 s on 1 000
/// queries, `-n 1`). Above 1 GiB allocations are still mapped apart, and the heap is trimmed
/// only when more than 1 GiB at its top is free: the peak resident memory grows by about one
/// round's buffers (689 → 783 MiB there).
public enum HeapReuse {
    /// Call once at start, before the large allocations (`sdeflow_heap_reuse`, glibc's mallopt).
    public static func enable() { sdeflow_heap_reuse() }
}
