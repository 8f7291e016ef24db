//! Filters that keep the length of every lane along one axis: `convolve1d`,
//! `gaussian_filter1d` (scipy.ndimage) and `savgol_filter` (scipy.signal), each the
//! library's one-shot function applied lane by lane.

use crate::sample::Sample;
use faltung::filter::{self, Extend, FilterError, SavgolEdge};
use numpy::ndarray::{ArrayD, ArrayViewD, Axis, Zip};
use numpy::{IntoPyArray, PyArrayDyn, PyReadonlyArray1, PyReadonlyArrayDyn};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

fn filter_error(e: FilterError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn extend(mode: &str, cval: f64) -> PyResult<Extend> {
    Extend::from_scipy(mode, cval).ok_or_else(|| {
        PyValueError::new_err(format!(
            "mode: must be 'reflect', 'constant', 'nearest', 'mirror', 'wrap', \
             'grid-mirror', 'grid-constant' or 'grid-wrap', got {mode:?}"
        ))
    })
}

fn check_axis(ndim: usize, axis: usize) -> PyResult<()> {
    if axis >= ndim {
        return Err(PyValueError::new_err(format!(
            "axis: {axis} is out of range for {ndim}-D input"
        )));
    }
    Ok(())
}

/// `f` applied to every lane of `x` along `axis` (the output has `x`'s shape). `f` writes
/// its result straight into the output lane when that is a contiguous float64 slice (no
/// buffer of the lane's length besides the output itself), else into one buffer reused
/// for every lane and converted.
fn map_lanes<T: Sample>(
    x: ArrayViewD<'_, T>,
    axis: usize,
    f: impl Fn(&[f64], &mut [f64]) -> Result<(), FilterError>,
) -> Result<ArrayD<T>, FilterError> {
    let mut out = ArrayD::<T>::from_elem(x.raw_dim(), T::from_f64(0.0));
    let mut buf = Vec::new();
    let mut result = Ok(());
    Zip::from(x.lanes(Axis(axis)))
        .and(out.lanes_mut(Axis(axis)))
        .for_each(|xl, mut ol| {
            if result.is_err() {
                return;
            }
            let lane = T::lane_f64(xl);
            if let Some(o) = ol.as_slice_mut().and_then(T::as_f64_mut) {
                result = f(&lane, o);
                return;
            }
            buf.resize(lane.len(), 0.0);
            result = f(&lane, &mut buf);
            ol.iter_mut()
                .zip(&buf)
                .for_each(|(o, &v)| *o = T::from_f64(v));
        });
    result.map(|()| out)
}

macro_rules! filters_for {
    ($t:ty, $convolve1d:ident, $gaussian:ident, $savgol:ident) => {
        /// scipy.ndimage.convolve1d along `axis` (normalised, in range).
        #[pyfunction]
        #[allow(clippy::too_many_arguments)]
        pub fn $convolve1d<'py>(
            py: Python<'py>,
            x: PyReadonlyArrayDyn<'py, $t>,
            weights: PyReadonlyArray1<'py, f64>,
            axis: usize,
            mode: &str,
            cval: f64,
            origin: i64,
        ) -> PyResult<Bound<'py, PyArrayDyn<$t>>> {
            check_axis(x.as_array().ndim(), axis)?;
            let ext = extend(mode, cval)?;
            let w: Vec<f64> = weights.as_array().iter().copied().collect();
            let xv = x.as_array();
            let out = py
                .detach(|| map_lanes(xv, axis, |lane, o| filter::convolve1d_into(lane, &w, ext, origin, o)))
                .map_err(filter_error)?;
            Ok(out.into_pyarray(py))
        }

        /// scipy.ndimage.gaussian_filter1d along `axis`.
        #[pyfunction]
        #[allow(clippy::too_many_arguments)]
        #[pyo3(signature = (x, sigma, axis, order, mode, cval, truncate, radius=None))]
        pub fn $gaussian<'py>(
            py: Python<'py>,
            x: PyReadonlyArrayDyn<'py, $t>,
            sigma: f64,
            axis: usize,
            order: usize,
            mode: &str,
            cval: f64,
            truncate: f64,
            radius: Option<usize>,
        ) -> PyResult<Bound<'py, PyArrayDyn<$t>>> {
            check_axis(x.as_array().ndim(), axis)?;
            let ext = extend(mode, cval)?;
            let xv = x.as_array();
            let out = py
                .detach(|| {
                    map_lanes(xv, axis, |lane, o| {
                        filter::gaussian_filter1d_into(lane, sigma, order, ext, truncate, radius, o)
                    })
                })
                .map_err(filter_error)?;
            Ok(out.into_pyarray(py))
        }

        /// scipy.signal.savgol_filter along `axis`.
        #[pyfunction]
        #[allow(clippy::too_many_arguments)]
        pub fn $savgol<'py>(
            py: Python<'py>,
            x: PyReadonlyArrayDyn<'py, $t>,
            window_length: usize,
            polyorder: usize,
            deriv: usize,
            delta: f64,
            axis: usize,
            mode: &str,
            cval: f64,
        ) -> PyResult<Bound<'py, PyArrayDyn<$t>>> {
            check_axis(x.as_array().ndim(), axis)?;
            let edge = match mode {
                "interp" => SavgolEdge::Interp,
                "mirror" | "nearest" | "wrap" | "constant" => SavgolEdge::Extend(extend(mode, cval)?),
                other => {
                    return Err(PyValueError::new_err(format!(
                        "mode: must be 'mirror', 'constant', 'nearest', 'wrap' or 'interp', got {other:?}"
                    )))
                }
            };
            let xv = x.as_array();
            let out = py
                .detach(|| {
                    map_lanes(xv, axis, |lane, o| {
                        filter::savgol_filter_into(lane, window_length, polyorder, deriv, delta, edge, o)
                    })
                })
                .map_err(filter_error)?;
            Ok(out.into_pyarray(py))
        }
    };
}

filters_for!(
    f64,
    convolve1d_f64,
    gaussian_filter1d_f64,
    savgol_filter_f64
);
filters_for!(
    f32,
    convolve1d_f32,
    gaussian_filter1d_f32,
    savgol_filter_f32
);
