#!/usr/bin/env bash
# Soak benchmark (not part of CI): `faltung live` on a private JACK server with its dummy
# driver at 64-frame periods, filtering through a 2 s stereo IR for 10 minutes, then the
# underrun count from faltung's summary line.
#
#   scripts/soak.sh                 # 600 s, 64-frame periods, jackd --no-realtime
#   SOAK_SECONDS=60 scripts/soak.sh # a short run
#   SOAK_PERIOD=128 SOAK_JACKD_FLAGS=-R scripts/soak.sh
#   SOAK_LIVE_ARGS="--cpu none" scripts/soak.sh   # extra `faltung live` arguments (A/B runs)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${SOAK_SECONDS:-600}
period=${SOAK_PERIOD:-64}
rate=48000
jackd_flags=${SOAK_JACKD_FLAGS:---no-realtime}
live_args=${SOAK_LIVE_ARGS:-}
server="faltung-soak-$$"
work=$(mktemp -d)

jackd_pid=""
cleanup() {
  if [ -n "$jackd_pid" ]; then
    kill "$jackd_pid" 2>/dev/null || true
    wait "$jackd_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building (release)"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/faltung"

echo "== 2 s stereo IR (decaying noise, 16-bit PCM)"
python3 - "$work/ir2s.wav" "$rate" <<'PY'
import math, random, struct, sys, wave
path, rate = sys.argv[1], int(sys.argv[2])
n = 2 * rate
rnd = random.Random(1)
frames = bytearray()
for i in range(n):
    env = math.exp(-i / (0.4 * rate))
    for _ in range(2):
        v = max(-1.0, min(1.0, rnd.gauss(0.0, 0.3) * env))
        frames += struct.pack('<h', int(v * 32767))
with wave.open(path, 'wb') as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(rate); w.writeframes(bytes(frames))
PY

echo "== jackd $jackd_flags -d dummy -r $rate -p $period (server $server)"
# shellcheck disable=SC2086
JACK_NO_AUDIO_RESERVATION=1 jackd -n "$server" $jackd_flags -d dummy -r "$rate" -p "$period" \
  >"$work/jackd.log" 2>&1 &
jackd_pid=$!
export JACK_DEFAULT_SERVER="$server"
jack_wait -w -t 10 >/dev/null

echo "== faltung live for $seconds s ${live_args}"
# shellcheck disable=SC2086
"$bin" live --host jack --ir "$work/ir2s.wav" --duration "$seconds" $live_args </dev/null \
  | tee "$work/live.log"

summary=$(grep '^summary:' "$work/live.log")
underruns=$(sed -n 's/.*underruns=\([0-9]*\).*/\1/p' <<<"$summary")
late=$(sed -n 's/.*late_input=\([0-9]*\).*/\1/p' <<<"$summary")
gaps=$(sed -n 's/.*input_gaps=\([0-9]*\).*/\1/p' <<<"$summary")
xruns=$(sed -n 's/.*xruns=\([0-9]*\).*/\1/p' <<<"$summary")
echo "== soak: $seconds s, 2 s IR, $period-frame periods: underruns=$underruns (late input: $late) input_gaps=$gaps server_xruns=$xruns"
[ "$underruns" = "0" ]
