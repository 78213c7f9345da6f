# Sourced by the launch scripts: mpirun settings that are right on a workstation or a node.
# As root (containers, CI), Open MPI refuses to start without these two.
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# One BLAS thread per rank: ranks already fill the cores.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
# On SIGTERM or SIGINT, mpirun SIGTERMs the ranks and SIGKILLs them this many seconds later.
# Open MPI's default of 1 s cuts a training epoch before its state is saved; 30 s lets the
# ranks finish the epoch (or label block) in progress, save it and say how to resume.
export OMPI_MCA_odls_base_sigkill_timeout=${OMPI_MCA_odls_base_sigkill_timeout:-30}
