#!/bin/bash
# bm's ten-step law from x0 = 0 at mu = -0.5, 0.05, 0.5 (target: mean error <= 0.004), with the data's
# own least-squares drift a + b mu beside it (the best any estimator can do on those data).
#
#   bash benchmarks/bm_ten_step.sh OUT [PATHS_PER_MU] [DATA_SEED]     # defaults: bm's default data, seed 1
#
# Runs simulate, label, train with defaults under `mpirun -n ${RANKS:-2}` (SDEFLOW_BIN or sdeflow-mpi on
# PATH), then 400 000 ten-step paths per mu (noise floor of the mean: sqrt(1/400 000) = 0.0016).
# Figures: BENCHMARKS.md, "fourteenth session".
set -euo pipefail
OUT=$1; P=${2:-}; S=${3:-1}; B=${SDEFLOW_BIN:-sdeflow-mpi}; R=(mpirun -n "${RANKS:-2}")
mkdir -p "$OUT"; cd "$OUT"
[ -f D/dataset.json ] || "${R[@]}" "$B" simulate --example bm ${P:+--paths-per-mu "$P"} --seed "$S" --output D
[ -f L/labels.json ] || "${R[@]}" "$B" label --data D --output L
[ -f M/model.json ] || "${R[@]}" "$B" train --labels L --output M
for mu in -0.5 0.05 0.5; do
    "${R[@]}" "$B" sample --model M --x0 0 --mu="$mu" --steps 10 --count 400000 --output "ten$mu.npy"
done
python3 - <<'P'
import numpy as np
x, y, mu = (np.load(f"D/{n}.npy")[:, 0] for n in ("x", "y", "mu"))
a, b = np.linalg.lstsq(np.stack([np.ones_like(mu), mu], 1), (y - x) / 0.1, rcond=None)[0]
for m in ("-0.5", "0.05", "0.5"):
    s = np.load(f"ten{m}.npy")[:, 10, 0]
    print(f"mu = {m}: ten-step mean error {s.mean() - float(m):+.4f} (variance {s.var():.4f}, exact 1); "
          f"the data's own a + b mu: {a + b * float(m) - float(m):+.4f}")
P
