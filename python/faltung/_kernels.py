"""The CLI's kernel spec strings."""

from __future__ import annotations

from typing import Optional

import numpy as np

from . import _faltung
from ._arrays import rate_hz


def kernel(spec: str, rate: Optional[int] = None) -> np.ndarray:
    """The taps (float64, 1-D) of a kernel spec string, exactly as ``faltung --kernel``
    makes them: ``"hann:31"``, ``"savgol:11,3,deriv=1"``, ``"gaussian:sigma=2.5"``,
    ``"lowpass:255,cutoff=3400"`` (cutoffs in Hz need ``rate``), ..."""
    if not isinstance(spec, str):
        raise TypeError(f"spec: must be a string, got {type(spec).__name__}")
    if rate is not None:
        rate = rate_hz(rate)
    return _faltung.kernel(spec, rate)
