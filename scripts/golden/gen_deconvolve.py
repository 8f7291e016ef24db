#!/usr/bin/env python3
"""Golden data for faltung's deconvolve (src/convolve.rs), = scipy.signal.deconvolve.

For each (len(signal), len(divisor)) in CASES, draws seeded standard-normal inputs (the
divisor's first coefficient kept away from 0 so that the division is well conditioned)
and writes tests/data/deconvolve/s{len(signal)}_d{len(divisor)}.bin holding

  signal, divisor, quotient, remainder

with quotient, remainder = scipy.signal.deconvolve(signal, divisor). A case with a
divisor longer than the signal gives an empty quotient and the signal as remainder. The
script checks signal == convolve(divisor, quotient) + remainder before writing, and that
scipy rejects a divisor with a leading zero (the Rust test checks faltung does too).

Same file format as gen_convolve.py: one ASCII header line
  faltung-golden-f64le 1 name:len name:len ...\\n
followed by the arrays' float64 little-endian values in header order.

Run from the repository root:  python3 scripts/golden/gen_deconvolve.py
"""

import os
import sys

import numpy as np
import scipy.signal as ss

CASES = [(1, 1), (5, 1), (5, 2), (8, 3), (16, 16), (3, 5), (64, 7), (200, 20), (1000, 4)]
SEED = 20261127


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    out_dir = os.path.join(root, "tests", "data", "deconvolve")
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for ns, nd in CASES:
        signal = rng.standard_normal(ns)
        divisor = rng.standard_normal(nd)
        # A dominant first coefficient keeps the recursion (an IIR filter) stable.
        divisor[0] = 2.0 + abs(divisor[0]) + np.sum(np.abs(divisor[1:]))
        q, r = ss.deconvolve(signal, divisor)
        if len(q):
            back = np.convolve(divisor, q) + r
            assert np.max(np.abs(back - signal)) <= 1e-10 * max(1.0, np.max(np.abs(signal)))
        arrays = [("signal", signal), ("divisor", divisor), ("quotient", q), ("remainder", r)]
        header = "faltung-golden-f64le 1 " + " ".join(f"{k}:{len(x)}" for k, x in arrays) + "\n"
        with open(os.path.join(out_dir, f"s{ns}_d{nd}.bin"), "wb") as f:
            f.write(header.encode("ascii"))
            for _, x in arrays:
                f.write(np.asarray(x, dtype="<f8").tobytes())
    try:
        ss.deconvolve([1.0, 2.0, 3.0], [0.0, 1.0])
    except ValueError:
        pass
    else:
        raise AssertionError("scipy accepted a divisor with a leading zero")
    print(f"wrote {len(CASES)} files to {os.path.relpath(out_dir)}", file=sys.stderr)


if __name__ == "__main__":
    main()
