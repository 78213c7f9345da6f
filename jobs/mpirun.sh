#!/usr/bin/env bash
# `mpirun` whose exit status says a job was stopped: jobs/mpirun.sh -n 64 sdeflow-mpi run ...
#
# Why: Open MPI 4.1's mpirun, sent SIGTERM, SIGINT (Ctrl-C) or SIGHUP (a closed terminal or ssh
# session), SIGTERMs the ranks and then exits with status 1 whatever they return, so a scheduler or
# script cannot tell a stopped job from a failed one. This script passes SIGTERM, SIGINT and SIGHUP
# on to the ranks as SIGUSR1, which mpirun forwards: the ranks finish the label block or training
# epoch in progress, save it, print how to resume and exit 138. The script then exits with 128 +
# the signal it was sent (143 SIGTERM, 130 SIGINT, 129 SIGHUP), as a single process would. A
# second such signal goes to mpirun as it is, which ends the job at once. Any other end keeps
# mpirun's own status.
set -uo pipefail
got=0
pass_on() {  # runs in this shell when SIGTERM, SIGINT or SIGHUP arrives
    if [ "$got" -ne 0 ]; then kill "-$1" "$run" 2>/dev/null; return; fi
    got=$1
    echo "jobs/mpirun.sh: $(kill -l "$1" | sed 's/^/SIG/'): asking the ranks to save and stop (as SIGUSR1)" >&2
    kill -USR1 "$run" 2>/dev/null || true
}
trap 'pass_on 15' TERM
trap 'pass_on 2' INT
trap 'pass_on 1' HUP
# In the background so the traps run while the job works; a background job of a script ignores
# the terminal's SIGINT, so Ctrl-C reaches the ranks only through this script.
mpirun "$@" &
run=$!
while kill -0 "$run" 2>/dev/null; do wait "$run"; done  # a trapped signal ends `wait` early
wait "$run"
status=$?
if [ "$got" -ne 0 ] && [ "$status" -eq 138 ]; then exit $((128 + got)); fi
exit "$status"
