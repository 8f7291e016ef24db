#!/usr/bin/env bash
# File-to-file offline convolution speed: faltung against its peers, side by side, on the
# same files in one run.
#
#   input : 60 s, stereo, 48 kHz, 32-bit float WAV (seeded noise)
#   kernel: 2 s mono IR (96000 taps, decaying noise), applied to both channels
#   peers : scipy.signal.oaconvolve / fftconvolve (incl. WAV read + write, one thread),
#           sox fir, ffmpeg -af afir (one filter thread)
#
# Prints wall-clock time, CPU time (user + sys) and the real-time factor of each (best of
# RUNS runs). Installs missing peers with apt-get / pip. Usage:
#   scripts/bench_offline.sh            # builds faltung in release mode first
#   RUNS=5 scripts/bench_offline.sh
set -euo pipefail

RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

need_apt() {
    command -v "$1" >/dev/null 2>&1 && return
    echo "installing $2 ..." >&2
    if command -v apt-get >/dev/null 2>&1; then
        (apt-get install -y -q "$2" || sudo apt-get install -y -q "$2") >/dev/null 2>&1 || true
    fi
}
need_apt sox sox
need_apt ffmpeg ffmpeg
python3 -c 'import numpy, scipy' 2>/dev/null || pip install -q numpy scipy

(cd "$ROOT" && cargo build --release -q)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/faltung

TIMEFORMAT='%3R %3U %3S'
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

python3 - "$WORK" <<'PY'
import sys, numpy as np
from scipy.io import wavfile
d = sys.argv[1]
r = np.random.default_rng(1)
x = (r.standard_normal((48000 * 60, 2)) * 0.1).astype(np.float32)
wavfile.write(f"{d}/in.wav", 48000, x)
n = 96000
t = np.arange(n) / 48000
h = (r.standard_normal(n) * np.exp(-3 * t) * 0.02).astype(np.float32)
wavfile.write(f"{d}/ir.wav", 48000, h)
np.savetxt(f"{d}/ir.txt", h.astype(np.float64))
PY

# Times itself from WAV read to WAV written (interpreter start-up and `import scipy`,
# about 1 s here, are left out) and prints "wall cpu" on stdout.
cat > "$WORK/scipy_conv.py" <<'PY'
import sys, time, numpy as np
from scipy import signal
from scipy.io import wavfile
method, inp, ir, out = sys.argv[1:5]
w0, c0 = time.perf_counter(), time.process_time()
_, x = wavfile.read(inp)
_, h = wavfile.read(ir)
f = signal.oaconvolve if method == "oaconvolve" else signal.fftconvolve
y = f(x, h[:, None], axes=0).astype(np.float32)
wavfile.write(out, 48000, y)
print(time.perf_counter() - w0, time.process_time() - c0)
PY

AUDIO_S=60
declare -a NAMES CMDS
add() { NAMES+=("$1"); CMDS+=("$2"); }
add "faltung process (1 thread)" "$BIN process $WORK/in.wav -o $WORK/out_faltung.wav --ir $WORK/ir.wav --force --quiet"
add "scipy oaconvolve + WAV I/O" "python3 $WORK/scipy_conv.py oaconvolve $WORK/in.wav $WORK/ir.wav $WORK/out_oa.wav"
add "scipy fftconvolve + WAV I/O" "python3 $WORK/scipy_conv.py fftconvolve $WORK/in.wav $WORK/ir.wav $WORK/out_fft.wav"
if command -v sox >/dev/null; then
    add "sox fir" "sox $WORK/in.wav -e floating-point $WORK/out_sox.wav fir $WORK/ir.txt"
fi
if command -v ffmpeg >/dev/null; then
    # No automatic IR gain: ffmpeg >= 6 calls it irnorm, 5.x gtype.
    if ffmpeg -hide_banner -h filter=afir 2>/dev/null | grep -q irnorm; then AFIR="afir=irnorm=-1"; else AFIR="afir=gtype=-1"; fi
    add "ffmpeg afir (1 filter thread)" "ffmpeg -nostdin -loglevel error -y -threads 1 -filter_threads 1 -i $WORK/in.wav -i $WORK/ir.wav -filter_complex [0:a][1:a]$AFIR[o] -map [o] -c:a pcm_f32le $WORK/out_ffmpeg.wav"
fi

printf '\n%-32s %9s %9s %12s %12s\n' "tool" "wall s" "cpu s" "x real time" "x rt (cpu)"
printf '%-32s %9s %9s %12s %12s\n' "--------------------------------" "------" "-----" "-----------" "----------"
for i in "${!NAMES[@]}"; do
    best_wall=""; best_cpu=""
    for _ in $(seq "$RUNS"); do
        if [[ ${NAMES[$i]} == scipy* ]]; then
            t=$(${CMDS[$i]} 2>/dev/null) || continue
            read -r w c <<<"$t"
        else
            { time ${CMDS[$i]} >/dev/null 2>&1; } 2>"$WORK/time" || continue
            read -r w u s <<<"$(tail -1 "$WORK/time")"
            c=$(echo "$u + $s" | bc -l)
        fi
        if [ -z "$best_wall" ] || (( $(echo "$w < $best_wall" | bc -l) )); then best_wall=$w; fi
        if [ -z "$best_cpu" ] || (( $(echo "$c < $best_cpu" | bc -l) )); then best_cpu=$c; fi
    done
    if [ -z "$best_wall" ]; then
        printf '%-32s %9s\n' "${NAMES[$i]}" "failed"
        continue
    fi
    printf '%-32s %9.3f %9.3f %12.0f %12.0f\n' "${NAMES[$i]}" "$best_wall" "$best_cpu" \
        "$(echo "$AUDIO_S / $best_wall" | bc -l)" "$(echo "$AUDIO_S / $best_cpu" | bc -l)"
done

# Batch scaling: four copies of the file, one job vs one per core (best of RUNS each), and
# the machine's own ceiling for two files at once: two independent faltung processes of two
# files each, run side by side (no threads or memory shared between them).
for k in 1 2 3 4; do cp "$WORK/in.wav" "$WORK/b$k.wav"; done
mkdir -p "$WORK/bo"
best_batch() {
    local best=""
    for _ in $(seq "$RUNS"); do
        { time eval "$1" >/dev/null 2>&1; } 2>"$WORK/time"
        read -r t _ <<<"$(tail -1 "$WORK/time")"
        if [ -z "$best" ] || (( $(echo "$t < $best" | bc -l) )); then best=$t; fi
    done
    echo "$best"
}
BATCH="$BIN process $WORK/b1.wav $WORK/b2.wav $WORK/b3.wav $WORK/b4.wav --out-dir $WORK/bo --ir $WORK/ir.wav --force --quiet"
HALF1="$BIN process $WORK/b1.wav $WORK/b2.wav --out-dir $WORK/bo --ir $WORK/ir.wav --force --quiet --jobs 1"
HALF2="$BIN process $WORK/b3.wav $WORK/b4.wav --out-dir $WORK/bo --ir $WORK/ir.wav --force --quiet --jobs 1"
echo
t1=$(best_batch "$BATCH --jobs 1")
t2=$(best_batch "$BATCH --jobs 2")
tp=$(best_batch "$HALF1 & $HALF2; wait")
printf 'batch of 4 files, --jobs 1:                 %6.3f s wall, %5.0fx real time\n' "$t1" "$(echo "4 * $AUDIO_S / $t1" | bc -l)"
printf 'batch of 4 files, --jobs 2:                 %6.3f s wall, %5.0fx real time, %.2fx the 1-job speed\n' "$t2" "$(echo "4 * $AUDIO_S / $t2" | bc -l)" "$(echo "$t1 / $t2" | bc -l)"
printf 'ceiling: 2 processes x 2 files side by side: %6.3f s wall, %5.0fx real time, %.2fx the 1-job speed\n' "$tp" "$(echo "4 * $AUDIO_S / $tp" | bc -l)" "$(echo "$t1 / $tp" | bc -l)"
echo "(machine: $(getconf _NPROCESSORS_ONLN) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
