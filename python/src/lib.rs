//! The native module `faltung._faltung`: thin PyO3 bindings over the faltung library.
//!
//! The pure-Python package (`python/faltung/`) holds the scipy-compatible argument handling
//! (dtypes, shapes, broadcasting, modes); the functions here take arrays of any memory layout
//! (strided, Fortran order, negative strides, zero strides from broadcasting), release the
//! GIL while the library works, and turn every library error into a Python exception that
//! names the argument. No DSP lives here.

use pyo3::prelude::*;

mod convolve;
mod convolver;
mod files;
mod filter;
mod kernel;
mod sample;

/// The native part of the `faltung` package (use `faltung`, not this module).
#[pymodule]
fn _faltung(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(convolve::convolve_axis_f64, m)?)?;
    m.add_function(wrap_pyfunction!(convolve::convolve_axis_f32, m)?)?;
    m.add_function(wrap_pyfunction!(convolve::deconvolve, m)?)?;
    m.add_function(wrap_pyfunction!(filter::convolve1d_f64, m)?)?;
    m.add_function(wrap_pyfunction!(filter::convolve1d_f32, m)?)?;
    m.add_function(wrap_pyfunction!(filter::gaussian_filter1d_f64, m)?)?;
    m.add_function(wrap_pyfunction!(filter::gaussian_filter1d_f32, m)?)?;
    m.add_function(wrap_pyfunction!(filter::savgol_filter_f64, m)?)?;
    m.add_function(wrap_pyfunction!(filter::savgol_filter_f32, m)?)?;
    m.add_function(wrap_pyfunction!(kernel::savgol_coeffs, m)?)?;
    m.add_function(wrap_pyfunction!(kernel::kernel, m)?)?;
    m.add_class::<convolver::NativeConvolver>()?;
    m.add_function(wrap_pyfunction!(files::read, m)?)?;
    m.add_function(wrap_pyfunction!(files::write, m)?)?;
    m.add_function(wrap_pyfunction!(files::load_ir, m)?)?;
    m.add_function(wrap_pyfunction!(files::process_file, m)?)?;
    Ok(())
}
