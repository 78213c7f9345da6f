#!/usr/bin/env bash
# Strong and weak scaling of `sdeflow-mpi bench`: runs it at 1, 2, 4, … ranks, collects the JSON
# into one CSV and renders a self-contained HTML page (speed-up and efficiency per stage).
#
#   bash jobs/scaling-study.sh                  # ranks 1 2 4, small sizes (< 3 min on 2 cores)
#   bash jobs/scaling-study.sh 64               # ranks 1 2 4 … 64 (or MAX_RANKS=64)
#   RANKS="1 2 3 4" bash jobs/scaling-study.sh  # any list
#   SIZE=paper bash jobs/scaling-study.sh 32    # bench's own defaults (paper-sized) as the base problem
#   HOSTFILE=hostfiles/cluster bash jobs/scaling-study.sh 128     # mpirun over several nodes
#   sbatch --ntasks=64 --wrap "bash jobs/scaling-study.sh 64"     # inside Slurm: ranks started by srun
#
# Strong scaling keeps the problem fixed; weak scaling multiplies it by the rank count (queries,
# pairs, training rows and global batch), so the work per rank stays the same.
# Speed-up = throughput(n) / throughput(1) (aggregate neighbour-steps/s, K-NN queries/s, training
# samples/s); efficiency = speed-up / n. Runs with more ranks than CPUs on a node are flagged as
# oversubscribed (from the bench JSON) on the page: they time-share cores and do not measure scaling.
#
# Environment:
#   MAX_RANKS (or $1)  largest rank count, powers of 2 from 1 (default 4)
#   RANKS              explicit list instead, e.g. "1 2 4 8 12"
#   STUDY              strong, weak or both (default both)
#   LAUNCHER           mpirun or srun (default: srun inside a Slurm job, i.e. when SLURM_JOB_ID is set)
#   HOSTFILE           mpirun --hostfile (default: none, this machine)
#   MPIRUN_ARGS, SRUN_ARGS   extra launcher arguments
#   SIZE               small (default) or paper; PAIRS, QUERIES, ODE_STEPS, NEIGHBORS, EPOCHS,
#                      TRAIN_ROWS, BATCH override the base (1-rank) problem
#   WEAK_MAX_PAIRS     cap on the weak study's pairs (default 16000000: every rank holds all (x, μ) of
#                      the K-NN section, 16 bytes a pair, before cutting its shard); the page shows the
#                      pairs of every run
#   BENCH_ARGS         extra `bench` arguments (e.g. "--skip training")
#   OUT                results folder (default runs/scaling-<date>-<time>)
#   SDEFLOW_BIN        a built binary (default: build with `swift build -c release`)
set -euo pipefail
cd "$(dirname "$0")/.."
source jobs/env.sh

MAX_RANKS=${1:-${MAX_RANKS:-4}}
if [ -z "${RANKS:-}" ]; then
    RANKS=""; n=1
    while [ "$n" -le "$MAX_RANKS" ]; do RANKS="$RANKS $n"; n=$((n * 2)); done
fi
STUDY=${STUDY:-both}
case "$STUDY" in strong) STUDIES="strong" ;; weak) STUDIES="weak" ;; both) STUDIES="strong weak" ;;
    *) echo "scaling-study: STUDY must be strong, weak or both" >&2; exit 2 ;; esac
if [ -z "${LAUNCHER:-}" ]; then
    if [ -n "${SLURM_JOB_ID:-}" ]; then LAUNCHER=srun; else LAUNCHER=mpirun; fi
fi

if [ "${SIZE:-small}" = "paper" ]; then
    : "${PAIRS:=1050000}" "${QUERIES:=256}" "${ODE_STEPS:=1000}" "${EPOCHS:=2}"
else
    : "${PAIRS:=210000}" "${QUERIES:=128}" "${ODE_STEPS:=1000}" "${EPOCHS:=2}"
fi
: "${NEIGHBORS:=2000}" "${TRAIN_ROWS:=45000}" "${BATCH:=1024}"
OUT=${OUT:-runs/scaling-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

if [ -z "${SDEFLOW_BIN:-}" ]; then
    echo "scaling-study: building (release)" >&2
    swift build -c release 2>&1 | grep -E "error|Build complete" >&2 || true
    SDEFLOW_BIN="$(swift build -c release --show-bin-path)/sdeflow-mpi"
fi
test -x "$SDEFLOW_BIN" || { echo "scaling-study: no binary at $SDEFLOW_BIN" >&2; exit 1; }

launch() {  # launch N command...
    local n=$1; shift
    if [ "$LAUNCHER" = srun ]; then
        # shellcheck disable=SC2086
        srun -n "$n" ${SRUN_ARGS:-} "$@"
    else
        local hf=()
        [ -n "${HOSTFILE:-}" ] && hf=(--hostfile "$HOSTFILE")
        # shellcheck disable=SC2086
        mpirun -n "$n" --oversubscribe "${hf[@]}" -x OPENBLAS_NUM_THREADS ${MPIRUN_ARGS:-} "$@"
    fi
}

echo "scaling-study: $STUDIES scaling at ranks$RANKS via $LAUNCHER; base problem: $PAIRS pairs, $QUERIES queries," \
     "K = $NEIGHBORS, $ODE_STEPS ODE steps, $TRAIN_ROWS training rows, batch $BATCH, $EPOCHS epoch(s); results in $OUT" >&2
started=$(date +%s)
failed=0
for study in $STUDIES; do
    for n in $RANKS; do
        m=1; [ "$study" = weak ] && m=$n
        json="$OUT/$study-n$n.json"
        pairs=$((PAIRS * m)); [ "$pairs" -gt "${WEAK_MAX_PAIRS:-16000000}" ] && pairs=${WEAK_MAX_PAIRS:-16000000}
        args=(bench --pairs "$pairs" --queries $((QUERIES * m)) --neighbors "$NEIGHBORS" --ode-steps "$ODE_STEPS"
              --train-rows $((TRAIN_ROWS * m)) --batch-size $((BATCH * m)) --epochs-to-time "$EPOCHS" --json "$json")
        echo "scaling-study: $study, $n rank(s): ${args[*]} ${BENCH_ARGS:-}" >&2
        t0=$(date +%s)
        # shellcheck disable=SC2086
        if launch "$n" "$SDEFLOW_BIN" "${args[@]}" ${BENCH_ARGS:-} > "$OUT/$study-n$n.log" 2>&1; then
            echo "scaling-study:   done in $(( $(date +%s) - t0 )) s" >&2
        else
            echo "scaling-study:   FAILED (see $OUT/$study-n$n.log)" >&2; failed=$((failed + 1))
        fi
    done
done
python3 jobs/scaling-report.py "$OUT"
echo "scaling-study: $(( $(date +%s) - started )) s; page: $OUT/scaling.html, table: $OUT/scaling.csv" >&2
[ "$failed" -eq 0 ] || { echo "scaling-study: $failed run(s) failed" >&2; exit 1; }
