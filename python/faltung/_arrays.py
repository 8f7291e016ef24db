"""Argument handling shared by the wrappers: dtypes as scipy resolves them, axes."""

from __future__ import annotations

import operator
from typing import Any, Sequence, Tuple, Union

import numpy as np

AxesLike = Union[int, Sequence[int], None]


def as_real(x: Any, name: str) -> np.ndarray:
    """`x` as an array the bindings compute on: float64 or float32 kept as they are (any
    memory layout, no copy), integers converted to float64 as scipy does. Complex, bool,
    object and other dtypes raise TypeError naming the argument."""
    a = np.asarray(x)
    kind = a.dtype.kind
    if kind == "f":
        if a.dtype == np.float64 or a.dtype == np.float32:
            return a
        raise TypeError(
            f"{name}: dtype {a.dtype} is not supported (use float64 or float32)"
        )
    if kind in "iu":
        return a.astype(np.float64)
    if kind == "c":
        raise TypeError(f"{name}: complex input is not supported (dtype {a.dtype})")
    if kind == "b":
        raise TypeError(f"{name}: bool input is not supported; convert it to float")
    raise TypeError(f"{name}: dtype {a.dtype} is not a real number type")


def common_dtype(*arrays: np.ndarray) -> type:
    """float32 when every input is float32 (scipy then computes in float32), else float64."""
    if all(a.dtype == np.float32 for a in arrays):
        return np.float32
    return np.float64


def normalize_axes(axes: AxesLike, ndim: int) -> Tuple[int, ...]:
    """scipy's axes: None is every axis; ints may be negative; duplicates and axes out of
    range are errors."""
    if axes is None:
        return tuple(range(ndim))
    if np.ndim(axes) == 0:
        axes = [axes]  # type: ignore[list-item]
    out = []
    for a in axes:  # type: ignore[union-attr]
        try:
            a = operator.index(a)
        except TypeError:
            raise TypeError(f"axes: must be integers, got {a!r}") from None
        if not -ndim <= a < ndim:
            raise ValueError(f"axes: axis {a} is out of range for {ndim}-D input")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError("axes: all axes must be unique")
    if not out:
        raise ValueError("axes: when provided, axes cannot be empty")
    return tuple(out)


def rate_hz(rate: Any, name: str = "rate") -> int:
    """A sample rate argument: an integer number of Hz, positive and below 2**32."""
    try:
        rate = operator.index(rate)
    except TypeError:
        raise TypeError(f"{name}: must be an integer (Hz), got {rate!r}") from None
    if not 0 < rate < 2**32:
        raise ValueError(f"{name}: must be a positive number of Hz, got {rate}")
    return rate


def check_mode(mode: str) -> str:
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"mode: must be 'full', 'same' or 'valid', got {mode!r}")
    return mode
