#!/usr/bin/env bash
# Exact K-NN at high dimension: BruteForceIndex against FAISS IndexFlatL2, one thread each, on the
# same data, Swift then FAISS in every round of one run (`bench`'s knn-high section; host speed
# drifts by 20 % and more on shared VMs, so only interleaved figures compare).
#
#   benchmarks/knn-vs-faiss.sh [more bench options]
#
# Defaults: N = 1 000 000 uniform points, D = 11, 21, 51, K = 2000, 20 000, 32 queries, 3 rounds
# (several minutes). Options given here come after the defaults and replace them (the last value
# of an option wins), e.g. a smoke run: --knn-points 20000 --knn-ks 100,500 --knn-dims 11 --rounds 2.
# Writes OUT/knn-high.json and OUT/knn-high.log (OUT, default benchmarks/<date>-knn-vs-faiss).
# FAISS comes from the venv FAISS_VENV (default: venv-faiss next to this checkout), created with
# `pip install faiss-cpu numpy` when it cannot import faiss. Runs as one rank, without mpirun: the
# section works on rank 0 alone.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FAISS_VENV:-$(cd .. && pwd)/venv-faiss}
OUT=${OUT:-benchmarks/$(date +%F)-knn-vs-faiss}
source jobs/env.sh
swift build -c release
BIN=$(swift build -c release --show-bin-path)/sdeflow-mpi
if ! "$VENV/bin/python" -c "import faiss, numpy" 2>/dev/null; then
    echo "knn-vs-faiss: creating $VENV (pip install faiss-cpu numpy)" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q faiss-cpu numpy
fi
mkdir -p "$OUT"
"$BIN" bench --skip label,knn,labeler,training,memory --knn-dims 11,21,51 --knn-ks 2000,20000 \
    --faiss-python "$VENV/bin/python" --json "$OUT/knn-high.json" "$@" 2>&1 | tee "$OUT/knn-high.log"
echo "knn-vs-faiss: wrote $OUT/knn-high.json and $OUT/knn-high.log" >&2
