#!/usr/bin/env bash
# Sets up (installs Open MPI/OpenBLAS if missing, builds) and runs Example 1 on this machine:
#   bash jobs/local.sh                       # quick run on 2 ranks, prints accuracy (~1 min)
#   NP=4 bash jobs/local.sh --output runs/x  # more ranks (past the core count: oversubscribed)
#   bash jobs/local.sh --paper               # the paper's settings and method (about 70 s)
# Extra arguments go to `sdeflow-mpi run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash jobs/setup.sh
source jobs/env.sh
BIN="$(swift build -c release --show-bin-path)/sdeflow-mpi"
NP=${NP:-2}
args=(--example bm --output runs/bm-quick --quick)
if [ "${1:-}" = "--paper" ]; then shift; args=(--example bm --output runs/bm-paper --paper-method --paths-per-mu 5000); fi
set -x
jobs/mpirun.sh -n "$NP" --oversubscribe --hostfile hostfiles/localhost "$BIN" run "${args[@]}" "$@"
