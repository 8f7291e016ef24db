"""Scale-out on Dask: python/examples/dask_reverb.py run on a LocalCluster of worker
processes writes exactly the bytes that single-process `faltung.process_file` writes, and a
Convolver travels to a worker process and computes there what it computes here.

scripts/test_python.sh installs `distributed` and sets FALTUNG_PYTEST_ALL=1, so that in CI
a missing `distributed` fails instead of skipping."""

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

import faltung

if os.environ.get("FALTUNG_PYTEST_ALL"):
    import distributed  # noqa: F401  (CI: must be installed)
else:
    pytest.importorskip("distributed")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "dask_reverb.py"
RATE = 48000
CLIPS = 200
SEED = 7


def make_clips(folder: Path, rng) -> None:
    """CLIPS clips of 3 s, mono and stereo alternately, 16-bit (written by the standard
    library's `wave`): noise bursts with pauses."""
    folder.mkdir()
    frames = 3 * RATE
    for i in range(CLIPS):
        channels = 1 + i % 2
        x = rng.standard_normal((channels, frames)) * 0.05
        gate = (np.arange(frames) // (RATE // 4) + i) % 3 != 0
        ints = np.clip(np.round(x * gate * 32768), -32768, 32767).astype("<i2")
        with wave.open(str(folder / f"clip{i:03d}.wav"), "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(ints.T.tobytes())


def make_irs(folder: Path, rng) -> list:
    """Three room-like IRs (decaying noise): mono 0.25 s, mono 0.6 s, stereo 0.4 s."""
    folder.mkdir()
    paths = []
    for name, channels, seconds in [("small", 1, 0.25), ("hall", 1, 0.6), ("wide", 2, 0.4)]:
        n = int(seconds * RATE)
        decay = np.exp(-6.9 * np.arange(n) / n)
        h = rng.standard_normal((channels, n)) * decay * 0.05
        h[:, 0] = 0.5
        p = folder / f"{name}.wav"
        faltung.write(p, h, RATE, format="f32")
        paths.append(p)
    return paths


def run_example(clips: Path, out: Path, irs: Path, workers: int) -> dict:
    cmd = [sys.executable, str(EXAMPLE), str(clips), str(out), "--irs", str(irs),
           "--seed", str(SEED), "--workers", str(workers), "--format", "f32"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                       cwd=out.parent)
    assert r.returncode == 0, f"dask_reverb.py failed ({r.returncode}):\n{r.stderr[-3000:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def load_example():
    import importlib.util

    spec = importlib.util.spec_from_file_location("dask_reverb", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_dask_reverb_on_two_worker_processes_writes_the_single_process_bytes(tmp_path, rng, capsys):
    clips, irs = tmp_path / "clips", tmp_path / "irs"
    make_clips(clips, rng)
    ir_paths = make_irs(irs, rng)

    # The single-process truth: the same pairing of clip and IR, by the example's own rule,
    # rendered here one after the other.
    example = load_example()
    jobs = example.plan_jobs(clips, tmp_path / "ref", example.ir_files([str(irs)]), SEED)
    assert len(jobs) == CLIPS
    used = {ir for _, _, ir in jobs}
    assert used == {str(p) for p in ir_paths}, "the seed should spread the clips over every IR"
    (tmp_path / "ref").mkdir()
    for clip, out, ir in jobs:
        faltung.process_file(clip, out, ir=ir, format="f32")

    rates = {}
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        summary = run_example(clips, out, irs, workers)
        assert summary["clips"] == CLIPS and summary["workers"] == workers
        names = sorted(os.listdir(out))
        assert names == sorted(Path(o).name for _, o, _ in jobs), "one output per clip, nothing else"
        for _, ref, _ in jobs:
            got = (out / Path(ref).name).read_bytes()
            assert got == Path(ref).read_bytes(), f"{Path(ref).name}: differs from process_file's output"
        rates[workers] = summary["clips_per_second"]
        with capsys.disabled():
            print(f"\n[dask_reverb] {CLIPS} clips of 3 s on {workers} worker(s): "
                  f"{summary['clips_per_second']:.1f} clips/s ({summary['seconds']:.2f} s)")
    with capsys.disabled():
        print(f"[dask_reverb] 2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")


def test_a_convolver_pickles_to_a_worker_process_and_computes_the_same_there(rng):
    from distributed import Client, LocalCluster

    ir = rng.standard_normal((2, 3000)).astype(np.float32)
    conv = faltung.Convolver(ir, block_size=512, channels=2)
    x = rng.standard_normal((2, 512)).astype(np.float32)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=40) as cluster, Client(cluster) as client:
        remote = client.submit(conv.process, x, pure=False).result(timeout=120)
        plan = client.submit(getattr, conv, "plan", pure=False).result(timeout=120)
    local = faltung.Convolver(ir, block_size=512, channels=2).process(x)
    np.testing.assert_array_equal(remote, local)
    assert plan == conv.plan


def worker_settings(keys):
    """Runs on a worker: its value of each Dask setting, and its MALLOC_TRIM_THRESHOLD_."""
    import os

    import dask

    return {k: dask.config.get(k) for k in keys}, os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_the_example_cluster_runs_its_workers_with_the_batch_settings(monkeypatch):
    import dask
    from distributed import Client

    # A cluster started with Dask's defaults earlier in this process (another test) left
    # MALLOC_TRIM_THRESHOLD_ in os.environ: a Nanny sets its pre-spawn variables there and
    # never removes them. The example runs in a process of its own.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)

    example = load_example()
    tuned = {k: v for k, v in example.BATCH_CONFIG.items() if "pre-spawn-environ" not in k}
    # Every setting is one Dask knows: a renamed key would otherwise be ignored silently.
    for key in tuned:
        assert dask.config.get(key, default=KeyError) is not KeyError, f"Dask has no setting {key}"
        assert dask.config.get(key) != tuned[key], f"{key} is already {tuned[key]!r} by default"
    cluster = example.local_cluster(1)
    try:
        with Client(cluster) as client:
            (values, trim), = client.run(worker_settings, list(tuned)).values()
        # The scheduler runs in this process and read its settings when it started.
        stealing = "stealing" in cluster.scheduler.extensions
    finally:
        cluster.close()
    assert values == tuned
    assert not stealing
    assert trim is None
