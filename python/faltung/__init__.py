"""faltung: real-time streaming audio convolution.

Functions with scipy's names, parameters and numbers (float64 to 1e-10 of the peak,
float32 to 1e-5), computed by faltung's Rust library with the GIL released:

- ``convolve``, ``fftconvolve``, ``oaconvolve``, ``deconvolve``, ``savgol_filter``,
  ``savgol_coeffs`` (``scipy.signal``)
- ``convolve1d``, ``gaussian_filter1d`` (``scipy.ndimage``)
- ``kernel(spec, rate)``: the CLI's kernel spec strings
- ``Convolver``: the real-time engine, block by block (pickles)
- ``read``, ``write``, ``load_ir``, ``process_file``: audio files as the CLI reads and
  writes them
"""

from ._convolver import Convolver
from ._convolve import convolve, deconvolve, fftconvolve, oaconvolve
from ._files import load_ir, process_file, read, write
from ._filters import convolve1d, gaussian_filter1d, savgol_coeffs, savgol_filter
from ._kernels import kernel

__all__ = [
    "Convolver",
    "convolve",
    "convolve1d",
    "deconvolve",
    "fftconvolve",
    "gaussian_filter1d",
    "kernel",
    "load_ir",
    "oaconvolve",
    "process_file",
    "read",
    "savgol_coeffs",
    "savgol_filter",
    "write",
]
