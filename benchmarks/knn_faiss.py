"""FAISS reference for the exact K-nearest-neighbour search (BruteForceIndex).

Times faiss.IndexFlatL2.search (exact, float32) on one thread: n uniform points in [0, 1]^D
and m queries drawn from the points, k neighbours each; prints ms per query. With --save DIR
it also writes DIR/points.npy (n x D float32) and DIR/queries.npy (m x D float32) so the
Swift index can be timed on the same data; --load DIR reads them instead of generating.

    python3 benchmarks/knn_faiss.py --dims 21 --n 1000000 --k 2000 [--queries 64] [--save DIR]

`sdeflow-mpi bench --knn-dims ... --faiss-python PY` (the knn-high section) runs it once per
round as `PY knn_faiss.py --load DIR --k K --json --check C` and reads the JSON line it prints:
ms per query and the K-th squared distance of the first C queries (its correctness check).

Needs `pip install faiss-cpu numpy` in a venv; never a dependency of the product, and not
part of the test suite. The machine's speed drifts: compare with the Swift timing in
alternating rounds of one run.
"""
import argparse
import json
import os
import time

import faiss
import numpy as np


def data(args):
    """(points, queries) as float32 C arrays, generated from --seed or read from --load."""
    if args.load:
        points = np.load(os.path.join(args.load, "points.npy"))
        queries = np.load(os.path.join(args.load, "queries.npy"))
    else:
        rng = np.random.default_rng(args.seed)
        points = rng.random((args.n, args.dims), dtype=np.float32)
        queries = points[rng.choice(args.n, size=args.queries, replace=False)]
    if args.save:
        os.makedirs(args.save, exist_ok=True)
        np.save(os.path.join(args.save, "points.npy"), points)
        np.save(os.path.join(args.save, "queries.npy"), queries)
    return np.ascontiguousarray(points, np.float32), np.ascontiguousarray(queries, np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, default=21)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1, help="timed searches; the best is printed")
    parser.add_argument("--save", help="directory to write points.npy and queries.npy to")
    parser.add_argument("--load", help="directory to read points.npy and queries.npy from")
    parser.add_argument("--json", action="store_true", help="print one JSON object (for sdeflow-mpi bench) instead of the text line")
    parser.add_argument("--check", type=int, default=4,
                        help="with --json: report the K-th squared distance of this many first queries")
    args = parser.parse_args()

    faiss.omp_set_num_threads(1)
    points, queries = data(args)
    if not 1 <= args.k <= len(points):
        parser.error(f"--k {args.k} must be in [1, {len(points)}] (the number of points)")
    index = faiss.IndexFlatL2(points.shape[1])
    index.add(points)
    # Warm-up on the whole batch: page in the points, and take the path the timed search takes
    # (from 20 queries on, FAISS's distance_compute_blas_threshold, IndexFlatL2 goes through sgemm;
    # one query would warm only its direct loop).
    index.search(queries, args.k)
    best = float("inf")
    for _ in range(args.rounds):
        start = time.perf_counter()
        distances, _ = index.search(queries, args.k)
        best = min(best, time.perf_counter() - start)
    n, dims = points.shape
    if args.json:
        # Squared L2 distances, float32 (|q|² + |p|² − 2 q·p), ascending per query: column k-1 is the K-th.
        kth = [float(v) for v in distances[:max(0, args.check), args.k - 1]]
        print(json.dumps({"ms_per_query": 1000 * best / len(queries), "dims": dims, "n": n, "k": args.k,
                          "queries": len(queries), "threads": 1, "faiss_version": faiss.__version__,
                          "kth_distance2": kth}))
        return
    print(f"faiss IndexFlatL2 D={dims} n={n} k={args.k} queries={len(queries)} threads=1: "
          f"{1000 * best / len(queries):.2f} ms/query")


if __name__ == "__main__":
    main()
