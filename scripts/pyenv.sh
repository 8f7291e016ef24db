# Sourced by the Python scripts (test_python.sh, bench_python.sh): the virtual environment
# under target/pyenv (or $FALTUNG_PYENV), created if missing, with the packages given to
# `pyenv_install` and this repository's package installed from ./python (maturin builds
# the extension in release mode), exactly as a user installs it.
# Sets VENV and PIP; callers name themselves in PYENV_WHO for the messages.
VENV=${FALTUNG_PYENV:-target/pyenv}
PYTHON=${PYTHON:-python3}
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

pyenv_install() {
  if [[ ! -x "$VENV/bin/python" ]]; then
    echo "${PYENV_WHO:-pyenv}: creating $VENV" >&2
    "$PYTHON" -m venv "$VENV"
  fi
  "${PIP[@]}" install "$@"
  echo "${PYENV_WHO:-pyenv}: pip install ./python" >&2
  "${PIP[@]}" install ./python
}
