#!/usr/bin/env bash
# The whole test suite: unit, integration and CLI tests, plus the end-to-end tests on a
# JACK server with its dummy driver (started here if jackd is installed; no sound card needed).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --all-targets --no-fail-fast "$@"
