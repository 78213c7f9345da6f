"""FAISS reference for the exact K-nearest-neighbour search (BruteForceIndex).

Times faiss.IndexFlatL2.search (exact, float32) on one thread: n uniform points in [0, 1]^D
and m queries drawn from the points, k neighbours each; prints ms per query. With --save DIR
it also writes DIR/points.npy (n x D float32) and DIR/queries.npy (m x D float32) so the
Swift index can be timed on the same data; --load DIR reads them instead of generating.

    python3 benchmarks/knn_faiss.py --dims 21 --n 1000000 --k 2000 [--queries 64] [--save DIR]

Needs `pip install faiss-cpu numpy` in a venv; never a dependency of the product, and not
part of the test suite. The machine's speed drifts: compare with the Swift timing in
alternating rounds of one run.
"""
import argparse
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
    args = parser.parse_args()

    faiss.omp_set_num_threads(1)
    points, queries = data(args)
    index = faiss.IndexFlatL2(points.shape[1])
    index.add(points)
    index.search(queries[:1], args.k)  # warm-up: page in the points, load the BLAS kernels
    best = float("inf")
    for _ in range(args.rounds):
        start = time.perf_counter()
        index.search(queries, args.k)
        best = min(best, time.perf_counter() - start)
    n, dims = points.shape
    print(f"faiss IndexFlatL2 D={dims} n={n} k={args.k} queries={len(queries)} threads=1: "
          f"{1000 * best / len(queries):.2f} ms/query")


if __name__ == "__main__":
    main()
