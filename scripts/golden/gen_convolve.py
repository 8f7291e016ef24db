#!/usr/bin/env python3
"""Golden data for faltung's one-shot convolution (src/convolve.rs).

For each pair of lengths (len(a), len(v)) in CASES, draws seeded standard-normal inputs and
writes tests/data/convolve/a{len(a)}_v{len(v)}.bin holding:

  a, v                       the inputs
  numpy_{full,same,valid}    numpy.convolve(a, v, mode)
  fft_{full,same,valid}      scipy.signal.fftconvolve
  oa_{full,same,valid}       scipy.signal.oaconvolve
  circ_{n}                   MATLAB cconv(a, v, n) for a few periods n, computed in numpy the
                             way cconv does it: wrap each input modulo n, multiply length-n
                             DFTs, take the real part of the inverse.

numpy swaps a and v when v is longer, so its 'same' has max(len) samples centred on the
longer input; scipy's 'same' is centred on in1. To get scipy's numbers for numpy's 'same',
scipy is called with the longer input first in 'same' mode ('full' and 'valid' are called
as (a, v): they agree with numpy in either order). The script checks every scipy result
against numpy's length and values (1e-9 relative) before writing.

File format (little-endian): one ASCII header line
  faltung-golden-f64le 1 name:len name:len ...\n
followed by the arrays' float64 values in header order, nothing else.

Run from the repository root:  python3 scripts/golden/gen_convolve.py
"""

import os
import sys

import numpy as np
import scipy.signal as ss

CASES = [
    (1, 1), (1, 5), (5, 1), (2, 1), (7, 3), (3, 7), (8, 4), (4, 8), (6, 6),
    (100, 31), (31, 100), (1000, 257), (257, 1000), (4096, 4096), (10000, 1000),
]
MODES = ("full", "same", "valid")
SEED = 20260523


def cconv(a, v, n):
    """MATLAB cconv(a, v, n): wrap both inputs modulo n, length-n DFT product."""
    def wrap(x):
        y = np.zeros(n)
        np.add.at(y, np.arange(len(x)) % n, x)
        return y
    return np.real(np.fft.ifft(np.fft.fft(wrap(a)) * np.fft.fft(wrap(v))))


def periods(na, nv):
    full = na + nv - 1
    ps = {1, 2, max(1, min(na, nv) // 2), min(na, nv), max(na, nv), full + 5}
    if full < 100:
        ps.add(full)
    return sorted(ps)


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    out_dir = os.path.join(root, "tests", "data", "convolve")
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(SEED)
    total = 0
    for na, nv in CASES:
        a = rng.standard_normal(na)
        v = rng.standard_normal(nv)
        longer, shorter = (v, a) if nv > na else (a, v)
        arrays = [("a", a), ("v", v)]
        for mode in MODES:
            ref = np.convolve(a, v, mode)
            arrays.append((f"numpy_{mode}", ref))
            for name, fn in (("fft", ss.fftconvolve), ("oa", ss.oaconvolve)):
                got = fn(longer, shorter, mode) if mode == "same" else fn(a, v, mode)
                assert got.shape == ref.shape, (na, nv, name, mode, got.shape, ref.shape)
                scale = max(1.0, np.max(np.abs(ref)))
                assert np.max(np.abs(got - ref)) <= 1e-9 * scale, (na, nv, name, mode)
                arrays.append((f"{name}_{mode}", got))
        full = np.convolve(a, v, "full")
        for n in periods(na, nv):
            c = cconv(a, v, n)
            # Cross-check against the definition: the full result wrapped modulo n.
            w = np.zeros(n)
            np.add.at(w, np.arange(len(full)) % n, full)
            assert np.max(np.abs(c - w)) <= 1e-9 * max(1.0, np.max(np.abs(w))), (na, nv, n)
            arrays.append((f"circ_{n}", c))
        header = "faltung-golden-f64le 1 " + " ".join(f"{k}:{len(x)}" for k, x in arrays) + "\n"
        path = os.path.join(out_dir, f"a{na}_v{nv}.bin")
        with open(path, "wb") as f:
            f.write(header.encode("ascii"))
            for _, x in arrays:
                f.write(np.asarray(x, dtype="<f8").tobytes())
        total += os.path.getsize(path)
    print(f"wrote {len(CASES)} files, {total} bytes, to {os.path.relpath(out_dir)}", file=sys.stderr)


if __name__ == "__main__":
    main()
