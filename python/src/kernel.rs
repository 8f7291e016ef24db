//! Kernels: `savgol_coeffs` (scipy.signal) and the CLI's kernel spec strings.

use faltung::kernel::savgol::{self, SavgolUse};
use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// scipy.signal.savgol_coeffs(window_length, polyorder, deriv, delta, pos, use).
#[pyfunction]
#[pyo3(signature = (window_length, polyorder, deriv, delta, pos, use_))]
pub fn savgol_coeffs<'py>(
    py: Python<'py>,
    window_length: usize,
    polyorder: usize,
    deriv: usize,
    delta: f64,
    pos: Option<usize>,
    use_: &str,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let use_ = match use_ {
        "conv" => SavgolUse::Conv,
        "dot" => SavgolUse::Dot,
        other => {
            return Err(PyValueError::new_err(format!(
                "use: must be 'conv' or 'dot', got {other:?}"
            )))
        }
    };
    let c = savgol::savgol_coeffs(window_length, polyorder, deriv, delta, pos, use_)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(c.into_pyarray(py))
}

/// The taps of a kernel spec string (`"hann:31"`, `"lowpass:255,cutoff=3400"` with
/// `rate`), as the CLI's `--kernel` makes them.
#[pyfunction]
#[pyo3(signature = (spec, rate=None))]
pub fn kernel<'py>(
    py: Python<'py>,
    spec: &str,
    rate: Option<u32>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let k = faltung::kernel::parse_spec(spec, rate)
        .map_err(|e| PyValueError::new_err(format!("spec: {e}")))?;
    let taps = k.channels.into_iter().next().unwrap_or_default();
    Ok(taps.into_pyarray(py))
}
