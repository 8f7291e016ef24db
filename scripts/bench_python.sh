#!/usr/bin/env bash
# The Python package's speed table (python/bench/bench.py): faltung beside scipy,
# pedalboard and Dask, side by side in one run. Uses the test environment target/pyenv
# (created as scripts/test_python.sh creates it), adds pedalboard and distributed, installs
# ./python (release), and prints a Markdown table. Extra arguments go to bench.py
# (e.g. `--repeats 9`, `--quick`, `--skip-dask`).
set -euo pipefail
cd "$(dirname "$0")/.."

PYENV_WHO=bench_python
source scripts/pyenv.sh
pyenv_install numpy scipy "distributed==2026.8.0" "pedalboard==0.9.26"
exec nice -n 5 "$VENV/bin/python" python/bench/bench.py "$@"
