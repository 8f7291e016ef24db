#!/usr/bin/env bash
# The Python package's tests: a virtual environment under target/pyenv with numpy, scipy
# and pytest, the package installed from ./python exactly as a user installs it
# (`pip install ./python`: maturin builds the extension in release mode), then pytest on
# python/tests. Extra arguments go to pytest (e.g. `-k savgol`).
set -euo pipefail
cd "$(dirname "$0")/.."

PYENV_WHO=test_python
source scripts/pyenv.sh
# distributed (Dask) for the scale-out example's test, pinned to a release known to work.
pyenv_install numpy scipy pytest "distributed==2026.8.0"

# The CLI binary, for the tests that compare process_file's output with `faltung process`
# byte for byte (already built when scripts/test.sh ran the cargo tests first).
cargo build --bin faltung -q
export FALTUNG_CLI="$PWD/target/debug/faltung"
# Tests that would skip when an optional package is missing fail instead: here it is installed.
export FALTUNG_PYTEST_ALL=1

# Run the pytest executable from python/ (not `python -m pytest`, which would put the
# source tree's faltung/ without its native module ahead of the installed package).
venv_abs=$(cd "$VENV" && pwd)
cd python
set +e
"$venv_abs/bin/pytest" -q -p no:cacheprovider tests "$@"
rc=$?
set -e
case $rc in
  0) ;;
  5) echo "test_python: pytest collected no tests" >&2 ;;
  *) echo "test_python: pytest failed (exit $rc)" >&2 ;;
esac
exit "$rc"
