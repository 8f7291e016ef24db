# Type stubs of the native module (python/src/). Use the functions in `faltung` instead.
import numpy as np
import numpy.typing as npt

def convolve_axis_f64(
    x: npt.NDArray[np.float64],
    h: npt.NDArray[np.float64],
    axis: int,
    lo: int,
    hi: int,
    method: str,
) -> npt.NDArray[np.float64]: ...
def convolve_axis_f32(
    x: npt.NDArray[np.float32],
    h: npt.NDArray[np.float32],
    axis: int,
    lo: int,
    hi: int,
    method: str,
) -> npt.NDArray[np.float32]: ...
