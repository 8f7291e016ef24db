"""Audio files through faltung's own readers and writers, and the CLI's `process`."""

from __future__ import annotations

import os
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _faltung
from ._arrays import as_real, rate_hz

PathLike = Union[str, "os.PathLike[str]"]


def _path(p: Any, name: str) -> str:
    try:
        return os.fspath(p)
    except TypeError:
        raise TypeError(f"{name}: must be a path (str or os.PathLike), got {type(p).__name__}") from None


def read(path: PathLike) -> Tuple[np.ndarray, int]:
    """Read a WAV file (8/16/24/32-bit integer or 32-bit float): ``(data, rate)`` with
    ``data`` float32 of shape (channels, frames) in [-1, 1). Errors are OSError subclasses
    naming the file (FileNotFoundError for a missing file)."""
    return _faltung.read(_path(path, "path"))


def write(path: PathLike, data: Any, rate: int, format: str = "f32") -> None:
    """Write ``data`` (channels, frames), or 1-D for mono, as a WAV file at ``rate`` Hz in
    ``format`` 'f32', 'i16', 'i24' or 'i32', atomically (a temporary file renamed into
    place; an existing file is replaced). Integer formats are TPDF-dithered as the CLI's
    output is; samples that would clip raise ValueError and nothing is written."""
    a = as_real(data, "data")
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ValueError(f"data: must be (channels, frames) or 1-D, got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError("data: needs at least one channel")
    if not np.all(np.isfinite(a)):
        raise ValueError("data: contains NaN or Inf")
    _faltung.write(_path(path, "path"), a.astype(np.float32, copy=False), rate_hz(rate), format)


def load_ir(path: PathLike, rate: Optional[int] = None, normalize: str = "none") -> Tuple[np.ndarray, Optional[int]]:
    """Load an impulse response as the CLI's ``--ir`` does: ``(ir, ir_rate)`` with ``ir``
    float64 of shape (channels, taps) (1, 2 or 4 channels; 4 = true stereo LL, LR, RL, RR),
    resampled to ``rate`` Hz when given; ``normalize`` 'none', 'peak', 'dc' or 'energy'."""
    if rate is not None:
        rate = rate_hz(rate)
    return _faltung.load_ir(_path(path, "path"), rate, normalize)


def _normalize_db(normalize: Any) -> Optional[float]:
    if normalize is None or normalize is False:
        return None
    if normalize is True:
        return -1.0
    if isinstance(normalize, str):
        s = normalize.strip()
        if s == "peak":
            return -1.0
        if s.startswith("peak="):
            v = s[5:].strip()
            for suffix in ("dBFS", "dB", "db"):
                if v.endswith(suffix):
                    v = v[: -len(suffix)]
                    break
            try:
                db = float(v)
            except ValueError:
                raise ValueError(f"normalize: {normalize!r} is not peak=<dB>") from None
        else:
            raise ValueError(f"normalize: expected 'peak', 'peak=-3dB' or a number of dBFS, got {normalize!r}")
    else:
        try:
            db = float(normalize)
        except (TypeError, ValueError):
            raise TypeError(f"normalize: expected None, True, 'peak[=dB]' or a number, got {normalize!r}") from None
    if not np.isfinite(db) or db > 0:
        raise ValueError(f"normalize: the target peak must be at most 0 dBFS, got {db}")
    return db


def process_file(
    input: PathLike,
    output: PathLike,
    ir: Optional[PathLike] = None,
    kernel: Optional[str] = None,
    mode: str = "full",
    edge: Optional[str] = None,
    normalize: Any = None,
    format: Optional[str] = None,
    force: bool = False,
) -> Dict[str, Any]:
    """``faltung process INPUT -o OUTPUT`` with ``--ir``/``--kernel``, ``--mode``,
    ``--edge``, ``--normalize[=DB]`` and ``--format``: the same engine, defaults and
    output bytes. ``normalize``: None, True or 'peak' (-1 dBFS), 'peak=-3dB' or a number
    of dBFS. An existing output is an error (FileExistsError) unless ``force``. Returns a
    summary dict: frames, output_frames, rate, channels, output_channels, format, plan,
    peak_dbfs, clipped, normalize_gain_db, seconds, realtime_factor."""
    if (ir is None) == (kernel is None):
        raise ValueError("ir, kernel: give exactly one of ir=PATH or kernel=SPEC")
    if kernel is not None and not isinstance(kernel, str):
        raise TypeError(f"kernel: must be a spec string, got {type(kernel).__name__}")
    return _faltung.process_file(
        _path(input, "input"),
        _path(output, "output"),
        None if ir is None else _path(ir, "ir"),
        kernel,
        mode,
        edge,
        _normalize_db(normalize),
        format,
        bool(force),
    )
