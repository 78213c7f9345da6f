#!/usr/bin/env bash
# PBS / Torque: qsub jobs/pbs.sh   (pass arguments with: qsub -v ARGS="--quick" jobs/pbs.sh)
#PBS -N sdeflow-mpi
#PBS -l select=2:ncpus=32:mpiprocs=32
#PBS -l walltime=01:00:00
#PBS -j oe
set -euo pipefail
cd "${PBS_O_WORKDIR:-.}"
export OPENBLAS_NUM_THREADS=1
BIN="${SDEFLOW_BIN:-$(swift build -c release --show-bin-path)/sdeflow-mpi}"
NP=$(wc -l < "$PBS_NODEFILE")
jobs/mpirun.sh -n "$NP" --hostfile "$PBS_NODEFILE" -x OPENBLAS_NUM_THREADS "$BIN" run --example bm --output "runs/bm-${PBS_JOBID%%.*}" ${ARGS:-}
