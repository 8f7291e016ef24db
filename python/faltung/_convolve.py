"""`convolve`, `fftconvolve`, `oaconvolve`: scipy.signal's semantics (modes, axes,
broadcasting, dtypes), computed by the library along one axis; and `deconvolve`."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from . import _faltung
from ._arrays import AxesLike, as_real, check_mode, common_dtype, normalize_axes

_METHODS = ("auto", "direct", "fft", "oa")


def _conv(in1: Any, in2: Any, mode: str, axes: AxesLike, method: str, empty_ok: bool):
    mode = check_mode(mode)
    a = as_real(in1, "in1")
    b = as_real(in2, "in2")
    if a.ndim == 0 and b.ndim == 0:
        return a * b
    if a.ndim != b.ndim:
        raise ValueError(
            f"in1, in2: should have the same dimensionality, got {a.ndim}-D and {b.ndim}-D"
        )
    if a.size == 0 or b.size == 0:
        if empty_ok:
            return np.array([])
        raise ValueError(f"{'in1' if a.size == 0 else 'in2'}: cannot be empty")
    dtype = common_dtype(a, b)
    a = a.astype(dtype, copy=False)
    b = b.astype(dtype, copy=False)
    noaxes = axes is None
    axes_t = normalize_axes(axes, a.ndim)
    if not noaxes and not axes_t:
        raise ValueError("axes: when provided, axes cannot be empty")
    s1, s2 = a.shape, b.shape
    # Axes where either input has length 1 are plain broadcasting (scipy does the same).
    conv = [ax for ax in axes_t if s1[ax] != 1 and s2[ax] != 1]
    if len(conv) > 1:
        raise NotImplementedError(
            f"axes: convolution over {len(conv)} axes {tuple(conv)} (shapes {s1} and {s2}) "
            "is not implemented; faltung convolves along one axis: pass axes=<one axis>"
        )
    for ax in range(a.ndim):
        if ax not in conv and not (s1[ax] == s2[ax] or s1[ax] == 1 or s2[ax] == 1):
            raise ValueError(f"in1, in2: incompatible shapes {s1} and {s2}")
    if mode == "valid":
        ok1 = all(s1[ax] >= s2[ax] for ax in conv)
        ok2 = all(s2[ax] >= s1[ax] for ax in conv)
        if not (ok1 or ok2):
            raise ValueError(
                "in1, in2: for 'valid' mode, one must be at least as large as the other "
                "in every dimension"
            )
        if not ok1:
            a, b = b, a
            s1, s2 = s2, s1
    if mode == "same":
        # scipy centres the result on in1 along every axis: where in1 has length 1 and
        # in2 more, that keeps in2's middle index.
        index = tuple(
            slice((s2[ax] - 1) // 2, (s2[ax] - 1) // 2 + 1)
            if ax not in conv and s1[ax] == 1 and s2[ax] > 1
            else slice(None)
            for ax in range(a.ndim)
        )
        b = b[index]
        s2 = b.shape
    if not conv:
        return a * b
    ax = conv[0]
    n1, n2 = s1[ax], s2[ax]
    full = n1 + n2 - 1
    if mode == "full":
        lo, hi = 0, full
    elif mode == "same":
        lo = (n2 - 1) // 2
        hi = lo + n1
    else:
        lo, hi = n2 - 1, n1
    batch = np.broadcast_shapes(
        s1[:ax] + (1,) + s1[ax + 1 :], s2[:ax] + (1,) + s2[ax + 1 :]
    )
    a = np.broadcast_to(a, batch[:ax] + (n1,) + batch[ax + 1 :])
    b = np.broadcast_to(b, batch[:ax] + (n2,) + batch[ax + 1 :])
    if dtype == np.float32:
        return _faltung.convolve_axis_f32(a, b, ax, lo, hi, method)
    return _faltung.convolve_axis_f64(a, b, ax, lo, hi, method)


def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> np.ndarray:
    """Convolve two arrays: ``scipy.signal.convolve`` (``numpy.convolve`` for 1-D inputs
    in ``'full'`` and ``'valid'`` modes; ``'same'`` is centred on ``in1`` as in scipy).

    ``method`` is ``'auto'``, ``'direct'``, ``'fft'`` or ``'oa'`` (overlap-add); every method
    gives the same numbers up to rounding. N-D inputs are convolved over every axis where
    both have more than one sample; more than one such axis raises NotImplementedError.
    Integer inputs are computed and returned as float64 (scipy keeps integers for
    ``method='direct'``)."""
    if method not in _METHODS:
        raise ValueError(f"method: must be one of {_METHODS}, got {method!r}")
    return _conv(in1, in2, mode, None, method, empty_ok=False)


def fftconvolve(in1: Any, in2: Any, mode: str = "full", axes: AxesLike = None) -> np.ndarray:
    """``scipy.signal.fftconvolve``: convolve along ``axes`` (all by default) with the
    other axes broadcast as scipy broadcasts them. Convolution over more than one axis of
    length > 1 raises NotImplementedError (pass one axis, e.g. ``axes=-1``).

    The numbers are scipy's up to rounding; the algorithm is the cheapest for the lengths
    (``method='auto'`` of :func:`convolve`: one FFT, overlap-add, or a direct sum for very
    short kernels), where scipy always takes one FFT of the full length."""
    return _conv(in1, in2, mode, axes, "auto", empty_ok=True)


def oaconvolve(in1: Any, in2: Any, mode: str = "full", axes: AxesLike = None) -> np.ndarray:
    """``scipy.signal.oaconvolve``: overlap-add convolution along ``axes``, otherwise as
    :func:`fftconvolve`."""
    return _conv(in1, in2, mode, axes, "oa", empty_ok=True)


def deconvolve(signal: Any, divisor: Any) -> Tuple[Any, np.ndarray]:
    """``scipy.signal.deconvolve``: deconvolve ``divisor`` out of ``signal`` by inverse
    filtering (polynomial division), so that
    ``signal = convolve(divisor, quotient) + remainder``.

    Both are non-empty 1-D real arrays (a scalar counts as one sample). Returns
    ``(quotient, remainder)`` in float64, ``quotient`` with ``len(signal) - len(divisor) + 1``
    samples and ``remainder`` with ``len(signal)``. As scipy, a divisor longer than the
    signal gives ``([], signal)``, and a divisor starting with 0 raises ``ValueError``."""
    num = np.atleast_1d(np.asarray(signal))
    den = np.atleast_1d(np.asarray(divisor))
    for name, a in (("signal", num), ("divisor", den)):
        if not (a.ndim == 1 and a.size > 0):
            raise ValueError(
                f"Parameter {name} must be non-empty 1d array, but its shape is {a.shape}!"
            )
    if den.shape[0] > num.shape[0]:
        return [], num  # scipy returns here, before looking at the values
    n = as_real(num, "signal").astype(np.float64, copy=False)
    d = as_real(den, "divisor").astype(np.float64, copy=False)
    return _faltung.deconvolve(n, d)
