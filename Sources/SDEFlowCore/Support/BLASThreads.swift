import CBLAS

/// OpenBLAS starts one thread per CPU in every rank; with several ranks per node that
/// oversubscribes the cores, so the driver calls this with 1 when it runs on more than one rank.
public func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
