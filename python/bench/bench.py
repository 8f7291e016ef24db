#!/usr/bin/env python3
"""The Python package's speed table: faltung against scipy (and pedalboard, Dask) side by
side in one run, as ratios. Run by scripts/bench_python.sh, which prepares the environment;
prints a Markdown table (BENCHMARKS.md keeps one).

Every timing is the minimum over `--repeats` rounds, the contenders of a row taking turns
within each round, so that the machine's noise falls on all of them alike. Everything runs
on one thread (scipy's FFTs use one worker by default; faltung's calls are single-threaded)
except the Dask rows.

    python python/bench/bench.py [--repeats 5] [--quick] [--skip-dask]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import tempfile
import threading
import time
import warnings
import wave
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np
import scipy
import scipy.ndimage as nd
import scipy.signal as ss

import faltung

RATE = 48000
ROOT = Path(__file__).resolve().parent.parent


def best_of(contenders: Dict[str, Callable[[], object]], repeats: int) -> Dict[str, float]:
    """Minimum seconds per contender over `repeats` rounds, taking turns in each round."""
    for f in contenders.values():  # warm up: plans, caches, page faults
        f()
    times = {k: float("inf") for k in contenders}
    for _ in range(repeats):
        for k, f in contenders.items():
            t0 = time.perf_counter()
            f()
            times[k] = min(times[k], time.perf_counter() - t0)
    return times


def ms(s: float) -> str:
    return f"{s * 1e3:.3g} ms" if s < 10 else f"{s:.1f} s"


class Table:
    def __init__(self) -> None:
        self.rows: List[Sequence[str]] = []

    def add(self, *cells: str) -> None:
        self.rows.append(cells)
        print(" | ".join(cells), file=sys.stderr, flush=True)

    def markdown(self) -> str:
        head = ["benchmark", "faltung", "compared with", "ratio", "target", "met"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


def verdict(ratio: float, target: float) -> str:
    return "yes" if ratio >= target else "**no**"


# --- rows ------------------------------------------------------------------------------


def row_float32_reverb(table: Table, repeats: int) -> None:
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((2, 60 * RATE)) * 0.1).astype(np.float32)
    n_ir = 2 * RATE
    ir = (rng.standard_normal(n_ir) * np.exp(-6.9 * np.arange(n_ir) / n_ir) * 0.05).astype(np.float32)
    h = ir[None, :]
    contenders = {
        "faltung.oaconvolve": lambda: faltung.oaconvolve(x, h, axes=-1),
        "scipy.signal.oaconvolve": lambda: ss.oaconvolve(x, h, axes=-1),
        "scipy.signal.fftconvolve": lambda: ss.fftconvolve(x, h, axes=-1),
    }
    try:
        import pedalboard

        conv = pedalboard.Convolution(ir, sample_rate=RATE)
        contenders["pedalboard.Convolution"] = lambda: conv.process(x, RATE, reset=True)
    except ImportError:
        print("bench: pedalboard not installed; its row is left out", file=sys.stderr)
    t = best_of(contenders, repeats)
    f = t.pop("faltung.oaconvolve")
    best_name = min(t, key=t.get)
    audio_s = 60.0
    for name, s in t.items():
        table.add(
            "float32 60 s stereo, 2 s IR",
            f"{ms(f)} ({audio_s / f:.0f}x RT)",
            f"`{name}` {ms(s)} ({audio_s / s:.0f}x RT)",
            f"{s / f:.2f}x",
            ">= 3x the best" if name == best_name else "",
            verdict(s / f, 3.0) if name == best_name else "",
        )


def label(n: int) -> str:
    """1000 as 1e3; other numbers as they are."""
    e = len(str(n)) - 1
    return f"1e{e}" if n == 10**e and e >= 3 else str(n)


def row_fftconvolve_grid(table: Table, repeats: int, quick: bool) -> None:
    rng = np.random.default_rng(2)
    signals = [10**3, 10**4, 10**5] + ([] if quick else [10**6])
    kernels = [16, 10**3, 10**5]
    for n in signals:
        x = rng.standard_normal(n)
        for m in kernels:
            if m > n:
                continue
            h = rng.standard_normal(m)
            r = max(repeats, int(2e6 / (n + m)))  # many rounds for the tiny cells
            t = best_of(
                {"f": lambda: faltung.fftconvolve(x, h), "s": lambda: ss.fftconvolve(x, h)},
                min(r, 200),
            )
            ratio = t["s"] / t["f"]
            long = n >= 10**5
            target = 2.0 if long else 1.0
            table.add(
                f"float64 fftconvolve {label(n)} x {label(m)}",
                ms(t["f"]),
                f"`scipy.signal.fftconvolve` {ms(t['s'])}",
                f"{ratio:.2f}x",
                ">= 2x" if long else ">= 1x",
                verdict(ratio, target),
            )


def row_filters(table: Table, repeats: int) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(10**6)
    cases = [
        ("savgol_filter 1e6, window 31, order 3", lambda: faltung.savgol_filter(x, 31, 3),
         "scipy.signal.savgol_filter", lambda: ss.savgol_filter(x, 31, 3)),
        ("gaussian_filter1d 1e6, sigma 4", lambda: faltung.gaussian_filter1d(x, 4.0),
         "scipy.ndimage.gaussian_filter1d", lambda: nd.gaussian_filter1d(x, 4.0)),
    ]
    for label, f, sname, s in cases:
        t = best_of({"f": f, "s": s}, repeats)
        ratio = t["s"] / t["f"]
        table.add(f"float64 {label}", ms(t["f"]), f"`{sname}` {ms(t['s'])}", f"{ratio:.2f}x", ">= 2x", verdict(ratio, 2.0))


def row_small_calls(table: Table, repeats: int) -> None:
    rng = np.random.default_rng(4)
    xs = [rng.standard_normal(1000) for _ in range(100)]
    hs = [rng.standard_normal(31) for _ in range(100)]
    calls = 10_000

    def run(f):
        def go():
            for i in range(calls):
                f(xs[i % 100], hs[i % 100])

        return go

    t = best_of({"f": run(faltung.convolve), "s": run(ss.convolve)}, max(2, repeats // 2))
    ratio = t["s"] / t["f"]
    table.add(
        "10,000 x convolve(1000, 31) float64",
        f"{ms(t['f'])} ({t['f'] / calls * 1e6:.1f} us/call)",
        f"`scipy.signal.convolve` {ms(t['s'])} ({t['s'] / calls * 1e6:.1f} us/call)",
        f"{ratio:.2f}x",
        ">= 1x",
        verdict(ratio, 1.0),
    )


# --- Dask ------------------------------------------------------------------------------


def load_example():
    spec = importlib.util.spec_from_file_location("dask_reverb", ROOT / "examples" / "dask_reverb.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def make_dataset(folder: Path, clips: int) -> None:
    """`clips` clips of 3 s (mono and stereo, 16-bit) and three IRs, as the Dask test's."""
    rng = np.random.default_rng(5)
    (folder / "clips").mkdir()
    (folder / "irs").mkdir()
    frames = 3 * RATE
    for i in range(clips):
        ch = 1 + i % 2
        x = rng.standard_normal((ch, frames)) * 0.05
        ints = np.clip(np.round(x * 32768), -32768, 32767).astype("<i2")
        with wave.open(str(folder / "clips" / f"clip{i:03d}.wav"), "wb") as w:
            w.setnchannels(ch)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(ints.T.tobytes())
    for name, ch, seconds in [("small", 1, 0.25), ("hall", 1, 0.6), ("wide", 2, 0.4)]:
        n = int(seconds * RATE)
        h = rng.standard_normal((ch, n)) * np.exp(-6.9 * np.arange(n) / n) * 0.05
        faltung.write(folder / "irs" / f"{name}.wav", h, RATE, format="f32")


def local_client(workers: int):
    from distributed import Client

    # The example's cluster: workers that keep freed memory (see its local_cluster).
    cluster = load_example().local_cluster(workers)
    client = Client(cluster)
    client.wait_for_workers(workers, timeout=120)
    return cluster, client


def in_memory_batch(seeds: Sequence[int], irs: Sequence[np.ndarray]) -> float:
    """Runs on a worker: 3 s clips made from seeds, reverberated in memory (float32
    oaconvolve with the IR the seed picks), no files; returns a checksum."""
    import numpy as np

    import faltung

    total = 0.0
    for s in seeds:
        rng = np.random.default_rng(s)
        x = rng.standard_normal((2, 3 * 48000)).astype(np.float32)
        y = faltung.oaconvolve(x, irs[s % len(irs)], axes=-1)
        total += float(y[:, ::997].sum())
    return total


def dask_rows(table: Table, repeats: int, clips: int) -> None:
    example = load_example()
    with tempfile.TemporaryDirectory(prefix="faltung-bench-") as tmp:
        tmp = Path(tmp)
        make_dataset(tmp, clips)
        irs = example.ir_files([str(tmp / "irs")])
        jobs_for = lambda out: example.plan_jobs(tmp / "clips", out, irs, 7)  # noqa: E731
        options = {"format": "f32"}
        rates = {}
        for workers in (1, 2):
            cluster, client = local_client(workers)
            try:
                out = tmp / f"out{workers}"
                out.mkdir()
                best = 0.0
                for _ in range(repeats):
                    _, secs = example.run(client, jobs_for(out), options)
                    best = max(best, clips / secs)
                rates[workers] = best
            finally:
                client.close()
                cluster.close()
        # The ceiling: two independent single-worker runs side by side.
        pairs = [local_client(1), local_client(1)]
        try:
            outs = [tmp / "side0", tmp / "side1"]
            for o in outs:
                o.mkdir()
            best = 0.0
            for _ in range(repeats):
                done = [0.0, 0.0]

                def side(i):
                    done[i] = example.run(pairs[i][1], jobs_for(outs[i]), options)[1]

                t0 = time.perf_counter()
                threads = [threading.Thread(target=side, args=(i,)) for i in range(2)]
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
                best = max(best, 2 * clips / (time.perf_counter() - t0))
            ceiling = best
        finally:
            for cluster, client in pairs:
                client.close()
                cluster.close()
        table.add(f"Dask, {clips} clips of 3 s to files, 1 worker", f"{rates[1]:.1f} clips/s", "", "", "", "")
        table.add(
            f"Dask, {clips} clips of 3 s to files, 2 workers",
            f"{rates[2]:.1f} clips/s",
            f"ceiling (two 1-worker runs side by side) {ceiling:.1f} clips/s; 1 worker {rates[1]:.1f}",
            f"{rates[2] / ceiling:.2f}x ceiling, {rates[2] / rates[1]:.2f}x 1 worker",
            ">= 0.95x ceiling",
            verdict(rates[2] / ceiling, 0.95),
        )

        # In memory: no files, the clips made and reverberated on the workers.
        rng = np.random.default_rng(6)
        ir_arrays = []
        for n in (int(0.25 * RATE), int(0.6 * RATE), int(0.4 * RATE)):
            ir_arrays.append((rng.standard_normal((1, n)) * np.exp(-6.9 * np.arange(n) / n) * 0.05).astype(np.float32))
        seeds = list(range(clips))
        mem = {}
        for workers in (1, 2):
            cluster, client = local_client(workers)
            try:
                irs_f = client.scatter(ir_arrays, broadcast=True)
                # 8 parts a worker, their sizes differing by one clip at most: parts of a
                # fixed size leave a remainder part that keeps one worker busy alone.
                n_parts = min(clips, 8 * workers)
                parts = [seeds[i * clips // n_parts : (i + 1) * clips // n_parts] for i in range(n_parts)]
                best = 0.0
                for r in range(repeats + 1):
                    t0 = time.perf_counter()
                    futs = client.map(in_memory_batch, parts, irs=irs_f, pure=False)
                    client.gather(futs)
                    secs = time.perf_counter() - t0
                    if r > 0:  # the first round warms the workers (imports, plans)
                        best = max(best, clips / secs)
                mem[workers] = best
            finally:
                client.close()
                cluster.close()
        table.add(f"Dask, {clips} clips of 3 s in memory, 1 worker", f"{mem[1]:.1f} clips/s", "", "", "", "")
        table.add(
            f"Dask, {clips} clips of 3 s in memory, 2 workers",
            f"{mem[2]:.1f} clips/s",
            f"1 worker {mem[1]:.1f} clips/s",
            f"{mem[2] / mem[1]:.2f}x 1 worker",
            ">= 1.8x",
            verdict(mem[2] / mem[1], 1.8),
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="leave out the 1e6 fftconvolve cells")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--clips", type=int, default=200)
    args = ap.parse_args()

    # Two clusters side by side find the scheduler's HTTP port taken; they move on by
    # themselves (no dashboard is started).
    warnings.filterwarnings("ignore", message="Port .* is already in use")
    table = Table()
    row_float32_reverb(table, args.repeats)
    row_fftconvolve_grid(table, args.repeats, args.quick)
    row_filters(table, args.repeats)
    row_small_calls(table, args.repeats)
    if not args.skip_dask:
        dask_rows(table, args.repeats, args.clips)

    versions = [f"numpy {np.__version__}", f"scipy {scipy.__version__}"]
    for mod in ("pedalboard", "distributed"):
        try:
            versions.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            pass
    print(f"Python {platform.python_version()}, {', '.join(versions)}; {os.cpu_count()} CPUs; "
          f"min of {args.repeats} rounds\n")
    print(table.markdown())


if __name__ == "__main__":
    main()
