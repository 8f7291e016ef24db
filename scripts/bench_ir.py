#!/usr/bin/env python3
"""Write a synthetic reverb IR for `faltung bench`: seeded noise under an exponential
envelope falling 60 dB over its length, one different IR per channel, 32-bit float WAV.

    python3 scripts/bench_ir.py OUT.wav [--seconds 2] [--channels 2] [--rate 48000]
"""
import argparse

import numpy as np


def write_float_wav(path, data, rate):
    frames, channels = data.shape
    payload = data.astype("<f4").tobytes()
    fmt = (
        (3).to_bytes(2, "little")  # WAVE_FORMAT_IEEE_FLOAT
        + channels.to_bytes(2, "little")
        + rate.to_bytes(4, "little")
        + (rate * channels * 4).to_bytes(4, "little")
        + (channels * 4).to_bytes(2, "little")
        + (32).to_bytes(2, "little")
    )
    with open(path, "wb") as f:
        f.write(b"RIFF" + (4 + 8 + len(fmt) + 8 + len(payload)).to_bytes(4, "little") + b"WAVE")
        f.write(b"fmt " + len(fmt).to_bytes(4, "little") + fmt)
        f.write(b"data" + len(payload).to_bytes(4, "little") + payload)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--channels", type=int, default=2)
    p.add_argument("--rate", type=int, default=48000)
    a = p.parse_args()
    n = int(round(a.seconds * a.rate))
    rng = np.random.default_rng(1000)
    env = np.exp(-np.log(1000.0) * np.arange(n) / n)
    h = rng.uniform(-1.0, 1.0, size=(n, a.channels)) * env[:, None]
    h *= 0.5 / np.abs(h).max()
    write_float_wav(a.out, h, a.rate)


if __name__ == "__main__":
    main()
