#!/usr/bin/env bash
# Checksums of the label, model and sample files of a small fixed run: the guard of refactors
# that must not change what users get. Prints one "sha256  file" line per output file;
# compare two builds with `diff <(bash jobs/checksums.sh) saved.txt`.
#   bash jobs/checksums.sh [OUT_DIR]      (default: runs/checksums; needs a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
source jobs/env.sh
BIN=$(swift build -c release --show-bin-path)/sdeflow-mpi
OUT=${1:-runs/checksums}
rm -rf "$OUT"; mkdir -p "$OUT"
{
    mpirun -n 2 "$BIN" run --example bm --quick --max-epochs 20 --eval-samples 2000 --path-samples 200 --output "$OUT/bm"
    mpirun -n 2 "$BIN" sample --model "$OUT/bm/model" --x0 2 --mu 0.35 --steps 5 --count 300 --output "$OUT/bm/paths.npy"
    mpirun -n 2 "$BIN" simulate --example ou2d --paths-per-mu 200 --output "$OUT/ou2d-data"
    for n in 1 2 4; do
        mpirun -n $n --oversubscribe "$BIN" label --data "$OUT/ou2d-data" --labels 2000 --neighbors 3000 --output "$OUT/ou2d-labels-n$n"
    done
} > "$OUT/log.txt" 2>&1
cd "$OUT"
sha256sum bm/labels/*.npy bm/labels/labels.json bm/model/*.npy bm/model/model.json bm/paths.npy \
    ou2d-labels-n*/*.npy ou2d-labels-n*/labels.json | sed 's/-n[124]\//-nN\//' | sort -k2 | uniq
