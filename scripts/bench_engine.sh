#!/usr/bin/env bash
# faltung beside fft-convolver 0.4 (uniform and two-stage) in one run: every call timed,
# the engines taking turns every second of audio so that machine noise hits all alike.
# Default build (no target-cpu=native). Extra arguments go to the runner, e.g.
#   scripts/bench_engine.sh --seconds 10 --calls 64,128 --irs 2s,6s
# Prints the machine, then two markdown tables (per engine; ratios against the two-stage peer).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# commit: $(git describe --always --dirty 2>/dev/null || echo unknown), $(rustc --version)"
cargo bench --quiet --bench engine -- --table "$@"
