#!/usr/bin/env bash
# The test suite: installs what it needs (Open MPI, OpenBLAS, NumPy for the .npy round trips),
# builds, and runs every test, including the multi-rank ones that spawn mpirun.
set -euo pipefail
cd "$(dirname "$0")/.."
bash jobs/setup.sh
python3 -c "import numpy" 2>/dev/null || python3 -m pip install -q numpy
source jobs/env.sh
swift test -c release
