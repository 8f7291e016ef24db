#!/usr/bin/env bash
# The main job on a shipped impulse, no sound card needed: installs what is needed, builds
# faltung, makes a dry test signal, convolves it with the shipped hall IR, and prints
# what was done. Output: target/demo/wet.wav (listen to it, or compare with dry.wav).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
mkdir -p target/demo
# A dry signal: a plucked note followed by silence for the reverb tail, 48 kHz mono.
sox -q -n -r 48000 -c 1 -b 16 target/demo/dry.wav synth 0.4 pluck C4 pad 0 1.6 gain -6
BIN=target/release/faltung
$BIN kernel impulses/large_hall.wav
$BIN process target/demo/dry.wav -o target/demo/wet.wav --ir impulses/large_hall.wav --force --verbose
echo "demo: wrote target/demo/wet.wav (dry input: target/demo/dry.wav)"
