#!/usr/bin/env bash
# Installs what sdeflow-mpi needs if it is missing (Debian/Ubuntu: Open MPI, OpenBLAS) and
# builds the release binary. Prints nothing but progress; the binary ends up at
# $(swift build -c release --show-bin-path)/sdeflow-mpi.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
pkg-config --exists ompi-c 2>/dev/null && command -v mpirun >/dev/null || need_apt+=(libopenmpi-dev openmpi-bin)
pkg-config --exists openblas 2>/dev/null || need_apt+=(libopenblas-dev)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
if ((${#need_apt[@]})); then
    echo "setup: installing ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "setup: building (release)"
swift build -c release 2>&1 | grep -E "error|warning: unre|Compiling sdeflow|Build complete" || true
test -x "$(swift build -c release --show-bin-path)/sdeflow-mpi"
