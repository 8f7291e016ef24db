"""`convolve1d`, `gaussian_filter1d` (scipy.ndimage) and `savgol_filter`,
`savgol_coeffs` (scipy.signal): argument handling; the library does the work."""

from __future__ import annotations

import operator
from typing import Any, Optional

import numpy as np

from . import _faltung
from ._arrays import as_real


def _index(value: Any, name: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: must be an integer, got {value!r}") from None


def _axis(axis: Any, ndim: int) -> int:
    axis = _index(axis, "axis")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis: {axis} is out of range for {ndim}-D input")
    return axis % ndim


def _float(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: must be a real number, got {value!r}") from None
    return v


def _work_dtype(x: np.ndarray, output: Any) -> type:
    """The precision to compute in: float32 only when the input is float32 and the
    requested output (if any) is float32 too (scipy.ndimage computes in float64 and casts
    to the output's type)."""
    if x.dtype != np.float32 or output is None:
        return x.dtype.type
    out_dtype = output.dtype if isinstance(output, np.ndarray) else np.dtype(output)
    return np.float32 if out_dtype == np.float32 else np.float64


def _out(result: np.ndarray, output: Any) -> np.ndarray:
    """scipy.ndimage's `output`: None, a dtype, or an array to write into."""
    if output is None:
        return result
    if isinstance(output, np.ndarray):
        if output.shape != result.shape:
            raise ValueError(f"output: shape {output.shape} != result shape {result.shape}")
        output[...] = result
        return output
    return result.astype(np.dtype(output))


def _signal(x: Any, name: str) -> np.ndarray:
    a = as_real(x, name)
    if a.ndim == 0:
        raise ValueError(f"{name}: must have at least one dimension")
    return a


def convolve1d(
    input: Any,
    weights: Any,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int = 0,
) -> np.ndarray:
    """``scipy.ndimage.convolve1d``: convolve along one axis with the ends extended by
    ``mode`` ('reflect', 'constant', 'nearest', 'mirror', 'wrap' and the 'grid-' names).
    float32 stays float32; integers are computed and returned as float64."""
    x = _signal(input, "input")
    w = as_real(weights, "weights")
    if w.ndim != 1 or w.shape[0] < 1:
        raise ValueError("weights: no filter weights given (need a non-empty 1-D array)")
    ax = _axis(axis, x.ndim)
    cval = _float(cval, "cval")
    origin = _index(origin, "origin")
    w = w.astype(np.float64, copy=False)
    x = x.astype(_work_dtype(x, output), copy=False)
    if x.size == 0:
        return _out(x.copy(), output)
    f = _faltung.convolve1d_f32 if x.dtype == np.float32 else _faltung.convolve1d_f64
    return _out(f(x, w, ax, mode, cval, origin), output)


def gaussian_filter1d(
    input: Any,
    sigma: float,
    axis: int = -1,
    order: int = 0,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    *,
    radius: Optional[int] = None,
) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter1d``: Gaussian smoothing (``order=0``) or its
    derivatives along one axis."""
    x = _signal(input, "input")
    ax = _axis(axis, x.ndim)
    order = _index(order, "order")
    if order < 0:
        raise ValueError(f"order: must be non-negative, got {order}")
    sigma = _float(sigma, "sigma")
    truncate = _float(truncate, "truncate")
    cval = _float(cval, "cval")
    if radius is not None:
        radius = _index(radius, "radius")
        if radius < 0:
            raise ValueError(f"radius: must be a non-negative integer, got {radius}")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma: must be positive and finite, got {sigma}")
    x = x.astype(_work_dtype(x, output), copy=False)
    if x.size == 0:
        return _out(x.copy(), output)
    f = _faltung.gaussian_filter1d_f32 if x.dtype == np.float32 else _faltung.gaussian_filter1d_f64
    return _out(f(x, sigma, ax, order, mode, cval, truncate, radius), output)


def savgol_coeffs(
    window_length: int,
    polyorder: int,
    deriv: int = 0,
    delta: float = 1.0,
    pos: Optional[int] = None,
    use: str = "conv",
) -> np.ndarray:
    """``scipy.signal.savgol_coeffs``: Savitzky-Golay filter coefficients (float64)."""
    window_length = _index(window_length, "window_length")
    polyorder = _index(polyorder, "polyorder")
    deriv = _index(deriv, "deriv")
    delta = _float(delta, "delta")
    if window_length < 1:
        raise ValueError(f"window_length: must be at least 1, got {window_length}")
    if polyorder < 0:
        raise ValueError(f"polyorder: must be non-negative, got {polyorder}")
    if polyorder >= window_length:
        raise ValueError("polyorder: must be less than window_length")
    if deriv < 0:
        raise ValueError(f"deriv: must be non-negative, got {deriv}")
    if pos is not None:
        pos = _index(pos, "pos")
        if not 0 <= pos < window_length:
            raise ValueError("pos: must be nonnegative and less than window_length")
    if use not in ("conv", "dot"):
        raise ValueError(f"use: must be 'conv' or 'dot', got {use!r}")
    return _faltung.savgol_coeffs(window_length, polyorder, deriv, delta, pos, use)


def savgol_filter(
    x: Any,
    window_length: int,
    polyorder: int,
    deriv: int = 0,
    delta: float = 1.0,
    axis: int = -1,
    mode: str = "interp",
    cval: float = 0.0,
) -> np.ndarray:
    """``scipy.signal.savgol_filter``: Savitzky-Golay smoothing or differentiation along
    one axis; ``mode`` 'interp' (polynomial fit on the end windows), 'mirror', 'constant',
    'nearest' or 'wrap'."""
    if mode not in ("mirror", "constant", "nearest", "interp", "wrap"):
        raise ValueError(
            f"mode: must be 'mirror', 'constant', 'nearest', 'wrap' or 'interp', got {mode!r}"
        )
    a = _signal(x, "x")
    # Validate window/order/deriv/delta exactly as savgol_coeffs does.
    savgol_coeffs(window_length, polyorder, deriv, delta)
    ax = _axis(axis, a.ndim)
    window_length = operator.index(window_length)
    if mode == "interp" and window_length > a.shape[ax]:
        raise ValueError(
            "window_length: if mode is 'interp', window_length must be less than or equal "
            f"to the size of x along axis ({a.shape[ax]})"
        )
    if a.size == 0:
        return a.copy()
    f = _faltung.savgol_filter_f32 if a.dtype == np.float32 else _faltung.savgol_filter_f64
    return f(
        a,
        window_length,
        operator.index(polyorder),
        operator.index(deriv),
        float(delta),
        ax,
        mode,
        _float(cval, "cval"),
    )
