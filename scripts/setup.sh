#!/usr/bin/env bash
# Install the system packages faltung needs to build and test (Debian/Ubuntu):
# ALSA and JACK headers for cpal, the JACK server (its dummy driver runs the end-to-end
# tests without a sound card), sox for the demo's dry signal and the test tone, sox and
# ffmpeg for the audio-file tests (FLAC, AIFF, Ogg Vorbis and MP3 made at test time), flac
# to check and decode the FLAC files faltung writes (its MD5 check included), Python
# with venv for the Python package's tests (scripts/test_python.sh), and a headless PipeWire
# desktop for the PipeWire end-to-end tests (scripts/with-pipewire.sh: pipewire,
# wireplumber, pipewire-pulse with pactl/pacat, pipewire-jack for pw-jack, pipewire-alsa for
# ALSA's default device, a session bus). Idempotent; uses sudo when not root. Set
# FALTUNG_SKIP_APT=1 to skip.
set -euo pipefail
PKGS=(pkg-config libasound2-dev jackd2 libjack-jackd2-dev sox ffmpeg flac python3 python3-venv
  pipewire pipewire-bin wireplumber pipewire-pulse pulseaudio-utils pipewire-jack pipewire-alsa
  dbus-daemon tmux)
if [[ "${FALTUNG_SKIP_APT:-0}" == 1 ]] || ! command -v apt-get >/dev/null; then
  exit 0
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# jackd2 asks whether to enable real-time priority; answer no without a prompt.
echo "jackd2 jackd/tweak_rt_limits boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
