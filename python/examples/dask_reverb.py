#!/usr/bin/env python3
"""Reverberate a folder of clips on a Dask cluster with faltung.

Every clip in INPUT_DIR (WAV, FLAC, AIFF, Ogg, MP3) is convolved with one impulse response
from IR_DIR (or the IR files given), chosen per clip by ``--seed`` and the clip's name, so
the same seed gives the same pairing whatever the cluster, the order or the number of
workers. Each output is written to OUTPUT_DIR under the clip's name with ``.wav`` by
``faltung.process_file``: the same bytes as ``faltung process CLIP -o OUT --ir IR``.

    python dask_reverb.py clips/ reverbed/ --irs impulses/ --seed 7            # LocalCluster
    python dask_reverb.py clips/ reverbed/ --irs impulses/ --scheduler tcp://host:8786

Without ``--scheduler`` it starts a ``distributed.LocalCluster`` of ``--workers`` processes
with one thread each (every core by default). Each clip is one task, ``faltung.process_file``
itself (nothing of this script has to travel to the workers; the scheduler's per-task
overhead, about a millisecond, is small against a clip's rendering and its fsync). The last
line printed is a JSON summary (clips, seconds, clips_per_second, workers).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

AUDIO_SUFFIXES = {".wav", ".wave", ".flac", ".aif", ".aiff", ".aifc", ".ogg", ".mp3"}

Job = Tuple[str, str, str]  # (clip, output, ir)


def audio_files(folder: Path) -> List[Path]:
    """The audio files directly in `folder`, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def choose_ir(seed: int, clip_name: str, irs: Sequence[str]) -> str:
    """The IR for one clip: a pure function of the seed and the clip's name (string seeds
    of `random.Random` are hashed with SHA-512, the same in every process)."""
    return irs[random.Random(f"{seed}/{clip_name}").randrange(len(irs))]


def plan_jobs(input_dir: Path, output_dir: Path, irs: Sequence[str], seed: int) -> List[Job]:
    clips = audio_files(input_dir)
    if not clips:
        raise SystemExit(f"dask_reverb: {input_dir}: no audio files")
    return [
        (str(c), str(output_dir / (c.stem + ".wav")), choose_ir(seed, c.name, irs))
        for c in clips
    ]


def run(client: Any, jobs: Sequence[Job], options: Dict[str, Any]) -> Tuple[List[Dict[str, Any]], float]:
    """Process every job on `client`'s cluster, one task per clip (`faltung.process_file`
    itself, which every worker imports by name); returns the per-clip summaries and the
    seconds from the first submission to the last result."""
    import faltung

    clips, outputs, irs = (list(col) for col in zip(*jobs))
    t0 = time.perf_counter()
    futures = client.map(faltung.process_file, clips, outputs, irs, force=True, pure=False, **options)
    summaries = client.gather(futures)
    return summaries, time.perf_counter() - t0


def ir_files(specs: Sequence[str]) -> List[str]:
    out: List[str] = []
    for s in specs:
        p = Path(s)
        out.extend(str(f) for f in audio_files(p)) if p.is_dir() else out.append(str(p))
    if not out:
        raise SystemExit("dask_reverb: --irs: no impulse responses found")
    return out


#: Dask settings for a batch of equal, CPU-bound tasks. Dask's defaults serve interactive
#: work: each worker samples its task thread's stack every 10 ms for the dashboard's profile,
#: every server checks its event loop every 20 ms, the memory and system monitors poll
#: several times a second, and the scheduler looks for work to steal every 100 ms. Reverberating
#: 3 s clips in memory on the 2-core test machine, that housekeeping kept a worker's own
#: event loop at 6 % of a core and the driver process (scheduler, nannies, client) at 6 %,
#: beside a task thread at 98 %; with these settings 1.6 % and 2.1 %. Two workers then come
#: within a few percent of twice one worker (BENCHMARKS.md, Python package section, the
#: table re-measured at `66e8db2`).
BATCH_CONFIG: Dict[str, Any] = {
    # Freed memory stays with the worker (see local_cluster).
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing": False,
}


def local_cluster(workers: int) -> Any:
    """A ``LocalCluster`` of ``workers`` processes with one thread each, started with
    `BATCH_CONFIG`: workers that keep the memory they free for reuse, and less housekeeping.

    Dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (``distributed.nanny.
    pre-spawn-environ``), which hands freed memory back to the system at once and, because
    it is set, also stops glibc from raising its mmap threshold: every buffer of more than
    128 KiB a clip needs is then mapped fresh and faulted in page by page. Reverberating 3 s
    stereo clips in memory, that cost 20 to 30 % of a worker's throughput on the 2-core test
    machine (67 against 85 clips/s in one process, the same code), and more with two workers
    faulting at once. Unset here, glibc reuses the buffers of the previous clip.

    For a cluster started elsewhere (``--scheduler``), give its scheduler and workers the
    same settings in their Dask configuration (YAML or ``DASK_*`` environment variables,
    e.g. ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False``)."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(BATCH_CONFIG):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,  # logging.ERROR
        )


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input_dir", type=Path)
    ap.add_argument("output_dir", type=Path)
    ap.add_argument("--irs", nargs="+", required=True, help="IR files or folders of IR files")
    ap.add_argument("--seed", type=int, default=0, help="chooses each clip's IR (default 0)")
    ap.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler (default: a LocalCluster)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="LocalCluster worker processes")
    ap.add_argument("--format", choices=["f32", "i16", "i24", "i32"], help="output format (default: the clip's)")
    ap.add_argument("--normalize", help="'peak' or a peak in dBFS, as faltung process --normalize")
    args = ap.parse_args(argv)

    from distributed import Client

    irs = ir_files(args.irs)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    jobs = plan_jobs(args.input_dir, args.output_dir, irs, args.seed)
    options: Dict[str, Any] = {"format": args.format}
    if args.normalize is not None:
        options["normalize"] = args.normalize

    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = local_cluster(args.workers)
        client = Client(cluster)
    try:
        client.wait_for_workers(1 if args.scheduler else args.workers, timeout=120)
        records, seconds = run(client, jobs, options)
        workers = len(client.nthreads())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    summary = {
        "clips": len(records),
        "seconds": seconds,
        "clips_per_second": len(records) / seconds if seconds > 0 else math.inf,
        "workers": workers,
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
