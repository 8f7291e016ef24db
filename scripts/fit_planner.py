#!/usr/bin/env python3
"""Fit the planner's cost constants (src/engine/plan.rs) to measured layout timings.

Usage (numpy and scipy needed: the test environment target/pyenv has them):
    cargo build --release --example plan_layouts
    target/pyenv/bin/python scripts/fit_planner.py --measure layouts.txt   # one round, ~2 min
    target/pyenv/bin/python scripts/fit_planner.py layouts.txt [more.txt ...]

`--measure` times, on CPU 0, every layout of one to three levels beyond the first (sizes
power-of-two multiples of the call size up to 256 times it, as the real-time planner
allows) for the 0.5 s, 2 s and 6 s IRs at 32, 64, 128, 256 and 1024-frame calls, and
appends lines `ir_len call layout levels ns_per_frame`. Older files of
`layout levels ns_per_frame` lines are read too.

The fit: per frame, FFT points*log2 (4 FFTs of size 2P per period of P frames: a stereo
engine, 2 inputs and 2 outputs), FFT calls, and multiply-accumulated bins per path (2 paths)
in and out of cache; non-negative least squares weighted by 1/time (relative error), on
the fastest time of each layout. It prints the constants for several cache sizes and, per
cell, how much slower the layout the fitted model would pick measured than the fastest one.
"""
import collections
import itertools
import math
import subprocess
import sys

import numpy as np
from scipy.optimize import nnls

CELLS = [(ir, call) for ir in (24000, 96000, 288000) for call in (32, 64, 128, 256, 1024)]


def measure(path):
    with open(path, "a") as out:
        for ir, call in CELLS:
            sizes = []
            p = 2 * call
            while p <= min(65536, ir, 256 * call):
                sizes.append(p)
                p *= 2
            layouts = [str(call)] + [
                ",".join(map(str, (call,) + c))
                for k in (1, 2, 3)
                for c in itertools.combinations(sizes, k)
            ]
            for i in range(0, len(layouts), 40):
                cmd = ["taskset", "-c", "0", "target/release/examples/plan_layouts", str(ir)]
                r = subprocess.run(cmd + layouts[i : i + 40], capture_output=True, text=True, check=True)
                for line in r.stdout.splitlines():
                    f = line.split()
                    if len(f) >= 3 and "x" in f[1]:
                        out.write(f"{ir} {call} {f[0]} {f[1]} {f[2]}\n")
            print(f"IR {ir}, call {call}: {len(layouts)} layouts", file=sys.stderr)


def features(levels, cache_bytes):
    f = np.zeros(4)
    for part in levels.split("+"):
        count, size = map(int, part.split("x"))
        n = 2 * size
        f[0] += 4 * n * math.log2(n) / size
        f[1] += 4 / size
        bins = 2 * count * (size + 1) / size
        f[3 if count * (size + 1) * 16 > cache_bytes else 2] += bins
    return f


def main():
    if sys.argv[1] == "--measure":
        return measure(sys.argv[2])
    best = {}
    for path in sys.argv[1:]:
        for line in open(path):
            f = line.split()
            if len(f) == 5 and "x" in f[3]:
                key, ns = (int(f[0]), int(f[1]), f[3]), float(f[4])
            elif len(f) >= 3 and "x" in f[1]:
                key, ns = (0, 0, f[1]), float(f[2])
            else:
                continue
            best[key] = min(ns, best.get(key, math.inf))
    keys = list(best)
    y = np.array([best[k] for k in keys])
    for cache in [1 << 20, 2 << 20, 4 << 20]:
        x = np.array([features(k[2], cache) for k in keys])
        coef, _ = nnls(x / y[:, None], np.ones(len(y)))
        pred = x @ coef
        rel = (pred - y) / y
        print(f"cache {cache >> 20} MiB: FFT_NS_PER_POINT {coef[0]:.4f}  FFT_NS_CALL {coef[1]:.1f}  "
              f"CMAC_NS {coef[2]:.3f}  out of cache {coef[3]:.3f} (x{coef[3] / max(coef[2], 1e-9):.2f})  "
              f"rms rel err {np.sqrt(np.mean(rel ** 2)):.3f}")
        cells = collections.defaultdict(list)
        for k, p, t in zip(keys, pred, y):
            cells[k[:2]].append((p, t))
        regret = [min(v)[1] / min(t for _, t in v) for c, v in sorted(cells.items()) if c != (0, 0)]
        if regret:
            print(f"  pick / fastest measured per cell: mean {np.mean(regret):.3f}, max {max(regret):.3f}")


if __name__ == "__main__":
    main()
