#!/usr/bin/env bash
# faltung beside its peers, in one run.
#
# Part 1 (skip with SKIP_CRATES=1): fft-convolver 0.4 (uniform and two-stage), every call
# timed, the engines taking turns every second of audio so that machine noise hits all
# alike. Default build (no target-cpu=native). Extra arguments go to that runner, e.g.
#   scripts/bench_engine.sh --seconds 10 --calls 64,128 --irs 2s,6s
# It prints two markdown tables (per engine; ratios against the two-stage peer).
#
# Part 2 (skip with SKIP_ZITA=1): zita-convolver 4 (Debian's libzita-convolver-dev, with
# libfftw3-dev) on one core. A few lines of C++ (scripts/zita_bench.cc) are built here
# against the packages. For each IR (mono decaying noise of ZITA_IRS seconds) and call size
# (ZITA_CALLS), zita and faltung run one after the other, ZITA_RUNS times, each pinned to
# CPU 0 with all its threads:
#   taskset -c 0 zita_bench run IR CALL S      (Convproc 2 in/out, mono IR linked to both,
#                                               minpart = call, maxpart 8192, FFTW_MEASURE
#                                               + VECTOR_MODE, process(true) in a loop)
#   taskset -c 0 faltung bench --ir IR --block CALL --seconds S --channels 2
# and both are compared by real-time factor over CPU time (all threads of the process for
# zita, the calling thread for faltung, which has no other). The table gives the median
# over the runs of faltung's RTF, zita's and their ratio per cell.
#   ZITA_SECONDS (60) ZITA_IRS ("0.5 2 6") ZITA_CALLS ("32 64 128 256 1024") ZITA_RUNS (3)
set -euo pipefail
cd "$(dirname "$0")/.."
echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# commit: $(git describe --always --dirty 2>/dev/null || echo unknown), $(rustc --version)"
if [ "${SKIP_CRATES:-0}" != 1 ]; then
    cargo bench --quiet --bench engine -- --table "$@"
fi
[ "${SKIP_ZITA:-0}" = 1 ] && exit 0

seconds=${ZITA_SECONDS:-60}
irs=${ZITA_IRS:-"0.5 2 6"}
calls=${ZITA_CALLS:-"32 64 128 256 1024"}
runs=${ZITA_RUNS:-3}
dir=target/zita
mkdir -p "$dir"
if ! [ -f /usr/include/zita-convolver.h ]; then
    echo "zita-convolver headers not found: apt-get install libzita-convolver-dev libfftw3-dev" >&2
    exit 1
fi
${CXX:-g++} -O2 -o "$dir/zita_bench" scripts/zita_bench.cc -lzita-convolver -lfftw3f -lpthread
cargo build --release --quiet --bin faltung
faltung=${CARGO_TARGET_DIR:-target}/release/faltung
echo "# zita-convolver $(dpkg-query -W -f '${Version}' libzita-convolver4 2>/dev/null || echo '?'), \
${seconds} s of stereo noise per cell, ${runs} run(s), pinned to CPU 0"
results="$dir/results.txt"
: >"$results"
for run in $(seq 1 "$runs"); do
    for ir in $irs; do
        wav="$dir/ir${ir}s.wav"
        [ -f "$wav" ] || "$dir/zita_bench" ir "$wav" "$ir"
        for call in $calls; do
            z=$(taskset -c 0 "$dir/zita_bench" run "$wav" "$call" "$seconds" | sed -n 's/.*rtf_cpu=\([0-9.]*\).*/\1/p')
            f=$(taskset -c 0 "$faltung" bench --ir "$wav" --block "$call" --seconds "$seconds" --channels 2 --json - 2>/dev/null |
                python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["rtf_cpu"])')
            echo "$ir $call $f $z" >>"$results"
            echo "  run $run: ${ir} s IR, ${call} frames: faltung ${f}x, zita ${z}x" >&2
        done
    done
done
python3 - "$results" "$irs" "$calls" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
irs, calls = sys.argv[2].split(), sys.argv[3].split()
cell = {}
for ir, call, f, z in rows:
    cell.setdefault((ir, call), []).append((float(f), float(z)))
print()
print("RTF by CPU time, faltung / zita-convolver (median of runs; ratio = median of per-run ratios)")
print()
print("| IR \\ call | " + " | ".join(calls) + " |")
print("|---|" + "---|" * len(calls))
for ir in irs:
    out = []
    for c in calls:
        v = cell.get((ir, c), [])
        if not v:
            out.append("-")
            continue
        f = statistics.median(a for a, _ in v)
        z = statistics.median(b for _, b in v)
        r = statistics.median(a / b for a, b in v)
        out.append(f"{f:.0f} / {z:.0f} = **{r:.2f}x**")
    print(f"| {ir} s | " + " | ".join(out) + " |")
PY
