//! One-shot convolution along one axis: the engine room of `faltung.convolve`,
//! `fftconvolve` and `oaconvolve` (the Python side maps scipy's modes, axes and
//! broadcasting onto an output window and equal-shaped batch dimensions).

use crate::sample::Sample;
use faltung::convolve::{convolve_range, Method};
use faltung::error::ConvolveError;
use numpy::ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Zip};
use numpy::{IntoPyArray, PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

fn parse_method(method: &str) -> PyResult<Method> {
    match method {
        "auto" => Ok(Method::Auto),
        "direct" => Ok(Method::Direct),
        "fft" => Ok(Method::Fft),
        "oa" => Ok(Method::OverlapAdd),
        other => Err(PyValueError::new_err(format!(
            "method: must be 'auto', 'direct', 'fft' or 'oa', got {other:?}"
        ))),
    }
}

fn convolve_error(e: ConvolveError) -> PyErr {
    match e {
        ConvolveError::EmptyInput { which } => {
            let name = if which == "a" { "in1" } else { "in2" };
            PyValueError::new_err(format!("{name}: cannot be empty"))
        }
        other => PyValueError::new_err(other.to_string()),
    }
}

/// Samples `lo..hi` of the full convolution of every lane of `x` with the matching lane of
/// `h` along `axis`. `x` and `h` have the same shape except along `axis`.
fn convolve_axis<T: Sample>(
    x: ArrayViewD<'_, T>,
    h: ArrayViewD<'_, T>,
    axis: usize,
    lo: usize,
    hi: usize,
    method: Method,
) -> Result<ArrayD<T>, ConvolveError> {
    let mut shape = x.shape().to_vec();
    shape[axis] = hi - lo;
    let mut out = ArrayD::<T>::from_elem(IxDyn(&shape), T::from_f64(0.0));
    let mut result = Ok(());
    Zip::from(x.lanes(Axis(axis)))
        .and(h.lanes(Axis(axis)))
        .and(out.lanes_mut(Axis(axis)))
        .for_each(|xl, hl, mut ol| {
            if result.is_err() {
                return;
            }
            match convolve_range(&T::lane_f64(xl), &T::lane_f64(hl), lo, hi, method) {
                Ok(y) => ol.iter_mut().zip(y).for_each(|(o, v)| *o = T::from_f64(v)),
                Err(e) => result = Err(e),
            }
        });
    result.map(|()| out)
}

fn check_shapes(x: &[usize], h: &[usize], axis: usize) -> PyResult<()> {
    let same_batch = x.len() == h.len()
        && x.iter()
            .zip(h)
            .enumerate()
            .all(|(i, (a, b))| i == axis || a == b);
    if axis >= x.len() || !same_batch {
        return Err(PyValueError::new_err(format!(
            "in1, in2: shapes {x:?} and {h:?} must agree except along axis {axis}"
        )));
    }
    Ok(())
}

macro_rules! convolve_axis_fn {
    ($name:ident, $t:ty) => {
        /// Samples `lo..hi` of the full convolution of `x` and `h` along `axis`, lane by
        /// lane (shapes equal except along `axis`); `method` is auto/direct/fft/oa.
        #[pyfunction]
        pub fn $name<'py>(
            py: Python<'py>,
            x: PyReadonlyArrayDyn<'py, $t>,
            h: PyReadonlyArrayDyn<'py, $t>,
            axis: usize,
            lo: usize,
            hi: usize,
            method: &str,
        ) -> PyResult<Bound<'py, PyArrayDyn<$t>>> {
            let method = parse_method(method)?;
            let (xv, hv) = (x.as_array(), h.as_array());
            check_shapes(xv.shape(), hv.shape(), axis)?;
            let out = py
                .detach(|| convolve_axis(xv, hv, axis, lo, hi, method))
                .map_err(convolve_error)?;
            Ok(out.into_pyarray(py))
        }
    };
}

convolve_axis_fn!(convolve_axis_f64, f64);
convolve_axis_fn!(convolve_axis_f32, f32);
