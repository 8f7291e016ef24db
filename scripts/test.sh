#!/usr/bin/env bash
# The whole test suite: unit, integration and CLI tests, doctests, and the end-to-end tests
# on a JACK server with its dummy driver (scripts/with-jack.sh starts one if none runs; no
# sound card needed) and on a private PipeWire (scripts/with-pipewire.sh), then the Python
# package's tests (scripts/test_python.sh: a virtual environment under target/pyenv,
# `pip install ./python`, pytest). .ci/run runs the same commands.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages (ALSA/JACK headers, jackd): installed if missing (sudo when not root).
scripts/setup.sh

# Test binaries run one after another; inside tests/live_jack.rs the JACK tests take a
# lock, so they run one at a time on the one server. scripts/with-pipewire.sh adds a
# private headless PipeWire for tests/live_pipewire.rs (pw-jack; it leaves jackd alone).
scripts/with-jack.sh scripts/with-pipewire.sh cargo test --all-targets --no-fail-fast "$@"
# The forced PipeWire quantum changes, alone on a PipeWire of their own: after them
# PipeWire 0.3.65 drives no new JACK client (see tests/live_pipewire.rs).
scripts/with-pipewire.sh cargo test --test live_pipewire -- --ignored
# --all-targets leaves out doctests (the README is the crate doc and its example is one).
cargo test --doc --no-fail-fast "$@"
# The Python package: built and installed into target/pyenv, checked against scipy.
scripts/test_python.sh
