#!/usr/bin/env bash
# Run a command with a JACK server available: if none is running and jackd is installed,
# start `jackd --no-realtime -d dummy -r 48000 -p 256` (no sound card needed), run the
# command, and stop the server by its PID. In CI (CI=true) the JACK tests are mandatory:
# FALTUNG_REQUIRE_JACK=1 makes them fail instead of skipping when no server can be reached.
# FALTUNG_JACKD_FLAGS replaces `--no-realtime` (e.g. `-R` for a real-time server).
#
#   scripts/with-jack.sh cargo test --all-targets
set -euo pipefail

if [ "${CI:-}" = "true" ]; then
  export FALTUNG_REQUIRE_JACK=1
fi

jackd_pid=""
stop_jackd() {
  if [ -n "$jackd_pid" ]; then
    kill "$jackd_pid" 2>/dev/null || true
    wait "$jackd_pid" 2>/dev/null || true
  fi
}
trap stop_jackd EXIT

if command -v jackd >/dev/null && command -v jack_wait >/dev/null; then
  if [ "$(jack_wait -c 2>/dev/null)" = "running" ]; then
    echo "== using the running JACK server"
  else
    # A server killed with SIGKILL leaves its slot in JACK's shared-memory registry;
    # enough of them and new servers fail with "Too many servers already active". With no
    # jackd process alive, those entries are stale: remove ours.
    if ! pgrep -x jackd >/dev/null && ! pgrep -x jackdbus >/dev/null; then
      find /dev/shm -maxdepth 1 -user "$(id -u)" -name 'jack*' -exec rm -rf {} + 2>/dev/null || true
    fi
    jackd_flags=${FALTUNG_JACKD_FLAGS:---no-realtime}
    echo "== starting jackd $jackd_flags (dummy driver, 48000 Hz, 256-frame periods)"
    # shellcheck disable=SC2086
    JACK_NO_AUDIO_RESERVATION=1 jackd $jackd_flags -d dummy -r 48000 -p 256 \
      >"${TMPDIR:-/tmp}/faltung-test-jackd.log" 2>&1 &
    jackd_pid=$!
    if ! jack_wait -w -t 10 >/dev/null; then
      echo "jackd did not start; its log:" >&2
      cat "${TMPDIR:-/tmp}/faltung-test-jackd.log" >&2 || true
      exit 1
    fi
  fi
else
  echo "== jackd not installed: the JACK end-to-end tests will skip (or fail if FALTUNG_REQUIRE_JACK=1)"
fi

"$@"
