#!/usr/bin/env python3
"""Fit the planner's cost constants (src/engine/plan.rs) to measured layout timings.

Usage:
    cargo run --release --example plan_layouts -- 96000 64,512,8192 ... > layouts.txt
    python3 scripts/fit_planner.py layouts.txt

Each input line is `layout levels ns_per_frame` (levels like 15x64+30x512+10x8192), for a
stereo engine (2 inputs, 2 outputs, 2 paths). Features per frame: FFT points*log2 (4 FFTs
of size 2P per period of P frames), and multiply-accumulated bins per path in and out of
cache; non-negative least squares weighted by 1/time (relative error).
"""
import math
import sys

import numpy as np
from scipy.optimize import nnls


def features(levels, cache_bytes):
    f = np.zeros(3)
    for part in levels.split("+"):
        count, size = map(int, part.split("x"))
        n = 2 * size
        f[0] += 4 * n * math.log2(n) / size
        bins = 2 * count * (size + 1) / size
        if count * (size + 1) * 16 > cache_bytes:
            f[2] += bins
        else:
            f[1] += bins
    return f


def main():
    rows = [l.split()[:3] for l in open(sys.argv[1]) if len(l.split()) >= 3 and "x" in l.split()[1]]
    y = np.array([float(r[2]) for r in rows])
    for cache in [1 << 20, 2 << 20, 4 << 20]:
        x = np.array([features(r[1], cache) for r in rows])
        coef, _ = nnls(x / y[:, None], np.ones(len(y)))
        pred = x @ coef
        rel = (pred - y) / y
        print(f"cache {cache >> 20} MiB: FFT_NS_PER_POINT {coef[0]:.3f}  CMAC_NS {coef[1]:.3f}  "
              f"out-of-cache {coef[2]:.3f} (x{coef[2] / max(coef[1], 1e-9):.2f})  "
              f"rms rel err {np.sqrt(np.mean(rel ** 2)):.3f}")


if __name__ == "__main__":
    main()
