#pragma once

/// Keeps freed buffers up to 1 GiB in the heap for reuse (glibc mallopt; a no-op elsewhere).
/// See HeapReuse.swift for why.
void sdeflow_heap_reuse(void);
