#!/usr/bin/env bash
# Issue 4's training target is a ratio: ≥ 1.5× PyTorch on the same machine. This script times
# both on the same machine in alternating rounds (host speed drifts by 20 % on shared VMs, so
# only interleaved figures compare) and prints each round's samples/s and the ratios.
#
#   benchmarks/training-vs-pytorch.sh [ROUNDS=3] [RANKS=2] [OUT=benchmarks/training-vs-pytorch]
#
# Needs `pip install torch numpy` (the CPU wheel) for the PyTorch side; PYTHON selects the
# interpreter (default python3). Ours runs as `mpirun -n RANKS sdeflow-mpi bench` (training only),
# PyTorch with RANKS threads (and 1 thread for reference).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}; RANKS=${2:-2}; OUT=${3:-benchmarks/training-vs-pytorch}
PYTHON=${PYTHON:-python3}
source jobs/env.sh
BIN=$(swift build -c release --show-bin-path)/sdeflow-mpi
[ -x "$BIN" ] || swift build -c release
"$PYTHON" -c "import torch" 2>/dev/null || { echo "error: $PYTHON cannot import torch (pip install torch numpy)" >&2; exit 2; }
mkdir -p "$OUT"
for round in $(seq 1 "$ROUNDS"); do
    mpirun -n "$RANKS" ${MPIRUN_FLAGS:-} "$BIN" bench --skip label,knn,labeler,memory --epochs-to-time 3 \
        --json "$OUT/ours-$round.json" > "$OUT/ours-$round.log" 2>&1
    "$PYTHON" benchmarks/pytorch_reference.py --threads "1,$RANKS" --json "$OUT/pytorch-$round.json" > "$OUT/pytorch-$round.log"
done
"$PYTHON" - "$OUT" "$ROUNDS" "$RANKS" <<'PY'
import json, sys
out, rounds, ranks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print(f"round  network  ours (-n {ranks})  pytorch ({ranks} threads)  ratio   pytorch (1 thread)")
for r in range(1, rounds + 1):
    ours = {t["name"]: t["samples_per_second"] for t in json.load(open(f"{out}/ours-{r}.json"))["training"]}
    torch = {(t["network"], t["threads"]): t["samplesPerSecond"] for t in json.load(open(f"{out}/pytorch-{r}.json"))["results"]}
    for net in ["3x128", "4x256"]:
        o, p, p1 = ours[net], torch[(net, ranks)], torch[(net, 1)]
        print(f"{r:5d}  {net:7s}  {o:14,.0f}  {p:22,.0f}  {o / p:5.2f}×  {p1:17,.0f}")
PY
