#!/usr/bin/env python3
"""Golden data for `faltung process` (tests/offline.rs, tests/process_cli.rs).

Writes tests/data/process/golden.txt: one array per line, `name count v0 v1 ...`, values
printed with repr (full double precision). Signals are float32-representable so that a
32-bit float WAV holds them exactly; references are computed in float64 from those values.

    numpy.convolve(x, h, mode)                 for mode in full, same, valid
    scipy.ndimage.convolve1d(x, h, mode=edge)  for edge in constant, reflect, mirror, nearest, wrap
    scipy.signal.savgol_filter(x, w, p, deriv, delta, mode='interp')
    scipy.signal.savgol_coeffs(w, p, deriv, delta, use='conv')

Run from the repository root: python3 scripts/golden/gen_process.py
"""
import os

import numpy as np
from scipy import ndimage, signal

OUT = os.path.join("tests", "data", "process", "golden.txt")


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def main():
    rng = np.random.default_rng(20240611)
    t = np.arange(64)
    signals = {
        # A smooth curve plus noise (what smoothing kernels are for), and a short one
        # for kernels longer than the signal.
        "x_long": f32(0.5 * np.sin(2 * np.pi * t / 23.0) + 0.1 * rng.standard_normal(64)),
        "x_short": f32(0.3 * rng.standard_normal(5)),
    }
    kernels = {
        "h7": f32(rng.standard_normal(7) * 0.3),
        "h8": f32(rng.standard_normal(8) * 0.3),
        "h13": f32(rng.standard_normal(13) * 0.2),
    }
    lines = []

    def put(name, arr):
        arr = np.asarray(arr, dtype=np.float64)
        lines.append(f"{name} {len(arr)} " + " ".join(repr(float(v)) for v in arr))

    for name, x in signals.items():
        put(name, x)
    for name, h in kernels.items():
        put(name, h)
    for xn, x in signals.items():
        for hn, h in kernels.items():
            for mode in ("full", "same", "valid"):
                put(f"{xn}.{hn}.{mode}", np.convolve(x, h, mode))
            for edge in ("constant", "reflect", "mirror", "nearest", "wrap"):
                put(f"{xn}.{hn}.edge_{edge}", ndimage.convolve1d(x, h, mode=edge))
    x = signals["x_long"]
    for w, p, d, delta in [(7, 2, 0, 1.0), (11, 3, 0, 1.0), (11, 3, 1, 0.5), (9, 4, 2, 1.0), (10, 3, 0, 1.0)]:
        tag = f"savgol_{w}_{p}_{d}_{delta:g}"
        put(f"{tag}.coeffs", signal.savgol_coeffs(w, p, deriv=d, delta=delta, use="conv"))
        put(f"x_long.{tag}.interp",
            signal.savgol_filter(x, w, p, deriv=d, delta=delta, mode="interp"))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {OUT}: {len(lines)} arrays")


if __name__ == "__main__":
    main()
