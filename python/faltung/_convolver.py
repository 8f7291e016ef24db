"""`Convolver`: faltung's real-time engine, block by block."""

from __future__ import annotations

import operator
from typing import Any, Optional, Tuple

import numpy as np

from . import _faltung
from ._arrays import as_real


def _count(value: Any, name: str, minimum: int) -> int:
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: must be an integer, got {value!r}") from None
    if v < minimum:
        raise ValueError(f"{name}: must be at least {minimum}, got {v}")
    return v


class Convolver:
    """The streaming engine: ``process(x)`` takes the next frames of a float32 signal of
    shape (channels, frames), ``frames <= block_size``, and returns the next frames of the
    convolution, shape (output_channels, frames). Concatenated, the outputs equal the first
    frames of ``scipy.signal.oaconvolve(x, ir[path], axes=-1)`` summed per the routing,
    delayed by ``latency`` frames.

    ``ir``: 1-D (one impulse response) or (ir_channels, taps). ``routing``: ``'auto'`` (a
    mono IR on every channel, one IR per channel, mono input with a stereo IR, stereo input
    with a 4-channel true-stereo IR LL, LR, RL, RR), or one of ``'mono'``,
    ``'per_channel'``, ``'mono_to_stereo'``, ``'true_stereo'``. ``channels``: input
    channels (default: implied by the IR and routing). ``latency``: frames of latency the
    caller accepts in exchange for a cheaper plan (0: none at calls of ``block_size``).
    ``threads``: worker threads for the tail (0: all on the calling thread). The levels of
    long partitions then run on the workers while ``process`` runs the first levels, so a
    call paced at the audio rate costs the caller a fraction; a call that comes before its
    worker has finished waits for it (``late_periods`` counts those), so the output is the
    same, bit for bit, at any call rate.

    The GIL is released while the engine works; a Convolver pickles (it is rebuilt from its
    IR and arguments, with fresh history), so it can be shipped to worker processes.
    """

    def __init__(
        self,
        ir: Any,
        block_size: int,
        channels: Optional[int] = None,
        routing: str = "auto",
        latency: int = 0,
        threads: int = 0,
    ) -> None:
        h = as_real(ir, "ir")
        if h.ndim == 1:
            h = h[None, :]
        if h.ndim != 2:
            raise ValueError(f"ir: must be 1-D or (channels, taps), got shape {h.shape}")
        if h.shape[0] == 0 or h.shape[1] == 0:
            raise ValueError(f"ir: cannot be empty (shape {h.shape})")
        if not np.all(np.isfinite(h)):
            raise ValueError("ir: contains NaN or Inf")
        h = np.ascontiguousarray(h, dtype=np.float32)
        block_size = _count(block_size, "block_size", 1)
        if channels is not None:
            channels = _count(channels, "channels", 1)
        latency = _count(latency, "latency", 0)
        threads = _count(threads, "threads", 0)
        if threads > 64:
            raise ValueError(f"threads: at most 64 worker threads, got {threads}")
        if not isinstance(routing, str):
            raise TypeError(f"routing: must be a string, got {routing!r}")
        self._engine = _faltung.NativeConvolver(
            h, block_size, channels, routing, latency, threads
        )
        self._args: Tuple[Any, ...] = (h, block_size, channels, routing, latency, threads)

    def process(self, x: Any, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Convolve the next frames of ``x`` (channels, frames); returns ``out`` (a new
        float32 array (output_channels, frames) when not given)."""
        a = as_real(x, "x")
        if a.ndim != 2:
            raise ValueError(f"x: must be (channels, frames), got shape {a.shape}")
        if a.dtype != np.float32:
            a = a.astype(np.float32)
        if not np.all(np.isfinite(a)):
            raise ValueError("x: contains NaN or Inf (the engine's history would keep it)")
        if out is None:
            out = np.empty((self._engine.output_channels, a.shape[1]), np.float32)
        elif not isinstance(out, np.ndarray) or out.dtype != np.float32:
            raise TypeError("out: must be a float32 numpy array")
        elif np.shares_memory(out, a):
            raise ValueError("out: must not overlap x")
        return self._engine.process(a, out)

    def reset(self) -> None:
        """Forget all history: the next call behaves like the first."""
        self._engine.reset()

    @property
    def latency(self) -> int:
        """Frames by which the output lags the input (beyond the IR's own delay)."""
        return self._engine.latency

    @property
    def plan(self) -> str:
        """The partition plan the engine chose, e.g. 'uniform overlap-save partitions 94x256'."""
        return self._engine.plan

    @property
    def block_size(self) -> int:
        return self._engine.block_size

    @property
    def channels(self) -> int:
        return self._engine.channels

    @property
    def output_channels(self) -> int:
        return self._engine.output_channels

    @property
    def routing(self) -> str:
        return self._engine.routing

    @property
    def threads(self) -> int:
        """Worker threads running the tail (0 when the plan has no level long enough)."""
        return self._engine.threads

    @property
    def late_periods(self) -> int:
        """Tail periods whose worker had not finished when ``process`` needed them."""
        return self._engine.late_periods

    def __reduce__(self):
        return (Convolver, self._args)

    def __repr__(self) -> str:
        h = self._args[0]
        asked = self._args[5]
        # The plan may have fewer long levels than threads asked for: say how many run.
        running = "" if self.threads == asked else f" ({self.threads} running)"
        return (
            f"Convolver(ir of {h.shape[0]}x{h.shape[1]}, block_size={self.block_size}, "
            f"channels={self.channels}, routing={self.routing!r}, latency={self.latency}, "
            f"threads={asked}{running}, "
            f"plan={self.plan!r})"
        )
