#!/usr/bin/env bash
# Run a command on a private, headless PipeWire desktop: a session bus, pipewire,
# wireplumber and pipewire-pulse in a fresh XDG_RUNTIME_DIR, and null devices:
#   faltung_tone     a mono null sink,
#   faltung_mic      a mono source remapping faltung_tone's monitor: the default source
#                    (the "microphone", an Audio/Source like a real one),
#   faltung_speaker  a stereo null sink, the default sink (the "speakers"),
# and a 440 Hz tone at -12 dBFS (sox) played into faltung_tone by a player that asks for 100 ms
# of latency (as a desktop music player does). Then CMD runs with the environment pointing
# at this PipeWire (XDG_RUNTIME_DIR, PIPEWIRE_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS,
# PULSE_SERVER) and FALTUNG_PIPEWIRE=1; afterwards everything started here is stopped by
# its PID. No sound card, no stdin, works as root.
#
# The PipeWire JACK library (pw-jack) talks to this PipeWire only; a jackd running on the
# default JACK server name is neither used nor touched. ALSA's `default`/`pipewire` PCMs
# (pipewire-alsa) reach this PipeWire through XDG_RUNTIME_DIR.
#
# In CI (CI=true) FALTUNG_REQUIRE_PIPEWIRE=1 is set: the PipeWire tests then fail instead of
# skipping when no PipeWire can be reached. FALTUNG_PW_NO_TONE=1 starts no player.
#
#   scripts/with-pipewire.sh cargo test --test live_pipewire
set -euo pipefail

if [ "${CI:-}" = "true" ]; then
  export FALTUNG_REQUIRE_PIPEWIRE=1
fi

missing=()
for tool in pipewire wireplumber pipewire-pulse pw-jack pw-cli pw-metadata pactl pacat dbus-daemon; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== PipeWire harness: not installed (${missing[*]}): the PipeWire tests will skip" \
    "(or fail if FALTUNG_REQUIRE_PIPEWIRE=1); scripts/setup.sh installs them"
  exec "$@"
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/faltung-pipewire.XXXXXX")
chmod 700 "$dir"
pids=()
cleanup() {
  local status=$?
  # Players first, then the servers in reverse order of start.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[$i]}" 2>/dev/null || true
  done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    # Bounded wait: a process that ignores SIGTERM for 5 s gets SIGKILL.
    for _ in $(seq 50); do
      kill -0 "${pids[$i]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ] && [ -n "${FALTUNG_PW_KEEP_LOGS:-}" ]; then
    echo "== PipeWire logs kept in $dir" >&2
  else
    rm -rf "$dir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "with-pipewire.sh: $1" >&2
  for log in "$dir"/*.log; do
    [ -s "$log" ] || continue
    echo "--- $(basename "$log") (last lines)" >&2
    tail -n 20 "$log" >&2
  done
  exit 1
}

# Wait up to $1 tenths of a second for the command after it to succeed.
wait_for() {
  local tries=$1
  shift
  for _ in $(seq "$tries"); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# A private environment: nothing of a desktop session (a user's own PipeWire, its saved
# default devices, its config) leaks in or is changed.
export XDG_RUNTIME_DIR="$dir"
export PIPEWIRE_RUNTIME_DIR="$dir"
export PULSE_RUNTIME_PATH="$dir/pulse"
export XDG_CONFIG_HOME="$dir/config"
export XDG_STATE_HOME="$dir/state"
export XDG_DATA_HOME="$dir/data"
unset PIPEWIRE_REMOTE PULSE_SERVER PIPEWIRE_LATENCY PIPEWIRE_PROPS JACK_DEFAULT_SERVER
mkdir -p "$PULSE_RUNTIME_PATH" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$XDG_DATA_HOME"

echo "== starting a private PipeWire (session bus, pipewire, wireplumber, pipewire-pulse)"
dbus-daemon --session --nofork --nopidfile --nosyslog --address="unix:path=$dir/bus" \
  </dev/null >"$dir/dbus.log" 2>&1 &
pids+=($!)
wait_for 50 test -S "$dir/bus" || fail "the session bus did not start"
export DBUS_SESSION_BUS_ADDRESS="unix:path=$dir/bus"

pipewire </dev/null >"$dir/pipewire.log" 2>&1 &
pids+=($!)
wait_for 100 pw-cli info 0 || fail "pipewire did not start"

wireplumber </dev/null >"$dir/wireplumber.log" 2>&1 &
pids+=($!)
pipewire-pulse </dev/null >"$dir/pipewire-pulse.log" 2>&1 &
pids+=($!)
export PULSE_SERVER="unix:$PULSE_RUNTIME_PATH/native"
wait_for 100 pactl info || fail "pipewire-pulse did not start"
# WirePlumber is ready when it has published the default-device metadata.
wait_for 100 sh -c 'pw-metadata -n default 0 2>/dev/null | grep -q "key:"' ||
  wait_for 1 pw-cli ls Metadata || fail "wireplumber did not start"

pactl load-module module-null-sink sink_name=faltung_tone channels=1 channel_map=mono \
  rate=48000 sink_properties=device.description=faltung-tone >/dev/null ||
  fail "cannot create the null sink faltung_tone"
pactl load-module module-remap-source master=faltung_tone.monitor source_name=faltung_mic \
  channels=1 channel_map=mono source_properties=device.description=faltung-mic >/dev/null ||
  fail "cannot create the source faltung_mic"
pactl load-module module-null-sink sink_name=faltung_speaker channels=2 rate=48000 \
  sink_properties=device.description=faltung-speaker >/dev/null ||
  fail "cannot create the null sink faltung_speaker"
wait_for 100 sh -c 'pactl list short sinks | grep -q faltung_speaker' ||
  fail "the null sinks did not appear"
pactl set-default-sink faltung_speaker
pactl set-default-source faltung_mic
wait_for 100 sh -c 'pactl get-default-source | grep -qx faltung_mic' ||
  fail "the default source is not faltung_mic"
wait_for 100 sh -c 'pactl get-default-sink | grep -qx faltung_speaker' ||
  fail "the default sink is not faltung_speaker"

if [ -z "${FALTUNG_PW_NO_TONE:-}" ]; then
  # The tone: an hour of raw float samples from sox, played with pacat asking for 100 ms
  # of latency.
  sox -q -n -r 48000 -c 1 -b 32 -e floating-point -t raw - synth 3600 sine 440 vol 0.25 \
    2>"$dir/sox.log" | pacat --playback --raw --format=float32le --rate=48000 --channels=1 \
    --channel-map=mono --device=faltung_tone --latency-msec=100 --client-name=faltung-tone \
    --stream-name=tone >"$dir/tone.log" 2>&1 &
  pids+=($!)
  wait_for 200 sh -c 'pactl list short sink-inputs | grep -q .' ||
    fail "the tone player did not start"
  echo "== tone playing into faltung_mic (440 Hz, -12 dBFS, 100 ms player latency)"
fi

export FALTUNG_PIPEWIRE=1
echo "== PipeWire ready in $dir: default source faltung_mic, default sink faltung_speaker"
set +e
"$@"
status=$?
set -e
exit "$status"
