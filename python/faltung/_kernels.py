"""The CLI's kernel spec strings."""

from __future__ import annotations

from typing import Optional

import numpy as np

from . import _faltung


def kernel(spec: str, rate: Optional[int] = None) -> np.ndarray:
    """The taps (float64, 1-D) of a kernel spec string, exactly as ``faltung --kernel``
    makes them: ``"hann:31"``, ``"savgol:11,3,deriv=1"``, ``"gaussian:sigma=2.5"``,
    ``"lowpass:255,cutoff=3400"`` (cutoffs in Hz need ``rate``), ..."""
    if not isinstance(spec, str):
        raise TypeError(f"spec: must be a string, got {type(spec).__name__}")
    if rate is not None:
        import operator

        try:
            rate = operator.index(rate)
        except TypeError:
            raise TypeError(f"rate: must be an integer (Hz), got {rate!r}") from None
        if rate <= 0:
            raise ValueError(f"rate: must be positive, got {rate}")
    return _faltung.kernel(spec, rate)
