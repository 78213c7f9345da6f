# Sourced by the launch scripts: mpirun settings that are right on a workstation or a node.
# As root (containers, CI), Open MPI refuses to start without these two.
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# One BLAS thread per rank: ranks already fill the cores.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
# Not set here: OMPI_MCA_odls_base_sigkill_timeout. mpirun ends a job whose rank exits non-zero
# (an input error, a stop by signal) by SIGCONT, then SIGTERM that many seconds later, then
# SIGKILL as long again, and waits out both even when the ranks are gone: at 30 s every failed
# job took a minute to end. The launchers stop jobs through jobs/mpirun.sh (SIGUSR1 to the
# ranks), which needs no grace time; README.md ("Restarting a killed job") says when to raise it.
