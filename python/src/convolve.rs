//! One-shot convolution along one axis: the engine room of `faltung.convolve`,
//! `fftconvolve` and `oaconvolve` (the Python side maps scipy's modes, axes and
//! broadcasting onto an output window and equal-shaped batch dimensions).

use crate::sample::Sample;
use faltung::convolve::{choose_method, convolve_range, convolve_range_into, Method, Mode};
use faltung::engine::{BlockProcessor, Engine, PlanRequest, Routing};
use faltung::error::ConvolveError;
use numpy::ndarray::{s, ArrayD, ArrayView1, ArrayViewD, ArrayViewMut1, Axis, IxDyn, Zip};
use numpy::{IntoPyArray, PyArray1, PyArrayDyn, PyReadonlyArray1, PyReadonlyArrayDyn};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::borrow::Cow;

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

/// An output array with `hi - lo` samples along `axis`, each output lane filled by `f` from
/// the matching lanes of `x` and `h` (same shape except along `axis`); stops at the first
/// error.
fn map_lanes<T: Sample, E>(
    x: ArrayViewD<'_, T>,
    h: ArrayViewD<'_, T>,
    axis: usize,
    lo: usize,
    hi: usize,
    mut f: impl FnMut(ArrayView1<'_, T>, ArrayView1<'_, T>, ArrayViewMut1<'_, T>) -> Result<(), E>,
) -> Result<ArrayD<T>, E> {
    let mut shape = x.shape().to_vec();
    shape[axis] = hi - lo;
    let mut out = ArrayD::<T>::from_elem(IxDyn(&shape), T::from_f64(0.0));
    let mut result = Ok(());
    Zip::from(x.lanes(Axis(axis)))
        .and(h.lanes(Axis(axis)))
        .and(out.lanes_mut(Axis(axis)))
        .for_each(|xl, hl, ol| {
            if result.is_ok() {
                result = f(xl, hl, ol);
            }
        });
    result.map(|()| out)
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
    map_lanes(x, h, axis, lo, hi, |xl, hl, mut ol| {
        let (xs, hs) = (T::lane_f64(xl), T::lane_f64(hl));
        // A contiguous float64 output lane (a 1-D result, the last axis) takes the samples
        // directly; others get a copy.
        if let Some(out) = ol.as_slice_mut().and_then(T::as_f64_mut) {
            return convolve_range_into(&xs, &hs, lo, method, out);
        }
        let y = convolve_range(&xs, &hs, lo, hi, method)?;
        ol.iter_mut().zip(y).for_each(|(o, v)| *o = T::from_f64(v));
        Ok(())
    })
}

/// Whether float32 lanes of `n` and `m` samples go through the streaming engine (in
/// float32, as scipy computes float32 input): when the method is FFT-based and the shorter
/// input is at most half the longer one, the overlap-add regime where the engine's
/// partitioned convolution beats one long transform. Otherwise the f64 one-shot path
/// computes them (direct sums, one FFT of nearly equal lengths) and rounds to float32.
fn engine_wanted(n: usize, m: usize, method: Method) -> bool {
    let (long, short) = (n.max(m), n.min(m));
    let fft_based = match method {
        Method::Direct => false,
        Method::Auto => choose_method(long, short, Mode::Full) != Method::Direct,
        Method::Fft | Method::OverlapAdd => true,
    };
    fft_based && short >= 2 && short * 2 <= long
}

/// The contiguous samples of a lane: borrowed when it already is contiguous.
fn lane_f32<'a>(lane: &ArrayView1<'a, f32>) -> Cow<'a, [f32]> {
    match lane.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(lane.iter().copied().collect()),
    }
}

/// Samples `lo..hi` of the full convolution of `signal` with the IR the engine was built
/// for, streamed through `engine` (reset first) in whole calls of its preferred size;
/// the engine's latency is skipped.
fn stream_lane(
    engine: &mut Engine,
    signal: &[f32],
    lo: usize,
    hi: usize,
    out: &mut ArrayViewMut1<'_, f32>,
    inbuf: &mut Vec<f32>,
    outbuf: &mut Vec<f32>,
) -> Result<(), faltung::engine::ProcessError> {
    engine.reset();
    let block = engine
        .plan()
        .preferred_call_frames()
        .clamp(1, engine.max_call_frames());
    let latency = engine.latency_frames();
    inbuf.resize(block, 0.0);
    outbuf.resize(block, 0.0);
    // Engine output frame `f` is sample `f - latency` of the full convolution.
    let (start, end) = (lo + latency, hi + latency);
    // Every call is a whole block, the last one padded with zeros: a partial block would
    // make a zero-latency plan compute its head directly (block x block multiply-adds).
    let mut t = 0;
    while t < end {
        let k = block;
        let have = signal.len().saturating_sub(t).min(k);
        if have > 0 {
            inbuf[..have].copy_from_slice(&signal[t..t + have]);
        }
        inbuf[have..k].fill(0.0);
        engine.process_block(&inbuf[..k], &mut outbuf[..k])?;
        let (a, b) = (t.max(start), (t + k).min(end));
        if a < b {
            out.slice_mut(s![a - start..b - start])
                .iter_mut()
                .zip(&outbuf[a - t..b - t])
                .for_each(|(o, v)| *o = *v);
        }
        t += k;
    }
    Ok(())
}

/// float32 convolution along `axis` through the streaming engine, lane by lane: the
/// shorter input of each pair is the impulse response (an offline plan, latency free,
/// the cheapest partitions for its length). Lanes that share one IR lane (broadcast) reuse
/// one engine, reset between lanes.
fn convolve_axis_engine(
    x: ArrayViewD<'_, f32>,
    h: ArrayViewD<'_, f32>,
    axis: usize,
    lo: usize,
    hi: usize,
) -> Result<ArrayD<f32>, String> {
    let mut cached: Option<((usize, isize, usize), Engine)> = None;
    let (mut inbuf, mut outbuf) = (Vec::new(), Vec::new());
    map_lanes(x, h, axis, lo, hi, |xl, hl, mut ol| {
        let (sig, ir) = if hl.len() <= xl.len() {
            (xl, hl)
        } else {
            (hl, xl)
        };
        let key = (ir.as_ptr() as usize, ir.strides()[0], ir.len());
        let mut engine = match cached.take() {
            Some((k, e)) if k == key => e,
            _ => {
                let taps = vec![ir.iter().copied().collect::<Vec<f32>>()];
                Engine::new(&taps, Routing::mono_ir(1), PlanRequest::offline(0, 1, 1))
                    .map_err(|e| format!("in2: {e}"))?
            }
        };
        let signal = lane_f32(&sig);
        stream_lane(
            &mut engine,
            &signal,
            lo,
            hi,
            &mut ol,
            &mut inbuf,
            &mut outbuf,
        )
        .map_err(|e| format!("in1: {e}"))?;
        cached = Some((key, engine));
        Ok(())
    })
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

/// float32 `convolve_axis`: computed in float32 by the streaming engine where the method is
/// FFT-based and one input is at most half the other (see [`engine_wanted`]); otherwise by
/// the f64 one-shot path, rounded to float32.
#[pyfunction]
pub fn convolve_axis_f32<'py>(
    py: Python<'py>,
    x: PyReadonlyArrayDyn<'py, f32>,
    h: PyReadonlyArrayDyn<'py, f32>,
    axis: usize,
    lo: usize,
    hi: usize,
    method: &str,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let method = parse_method(method)?;
    let (xv, hv) = (x.as_array(), h.as_array());
    check_shapes(xv.shape(), hv.shape(), axis)?;
    let (n, m) = (xv.shape()[axis], hv.shape()[axis]);
    if n == 0 || m == 0 {
        return Err(convolve_error(ConvolveError::EmptyInput {
            which: if n == 0 { "a" } else { "v" },
        }));
    }
    if lo > hi || hi > n + m - 1 {
        return Err(convolve_error(ConvolveError::BadRange {
            lo,
            hi,
            full_len: n + m - 1,
        }));
    }
    let out = if engine_wanted(n, m, method) {
        py.detach(|| convolve_axis_engine(xv, hv, axis, lo, hi))
            .map_err(PyValueError::new_err)?
    } else {
        py.detach(|| convolve_axis(xv, hv, axis, lo, hi, method))
            .map_err(convolve_error)?
    };
    Ok(out.into_pyarray(py))
}

/// `scipy.signal.deconvolve` of 1-D float64 arrays (the wrapper checks shapes and dtypes
/// and handles a divisor longer than the signal): `(quotient, remainder)`.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn deconvolve<'py>(
    py: Python<'py>,
    signal: PyReadonlyArray1<'py, f64>,
    divisor: PyReadonlyArray1<'py, f64>,
) -> PyResult<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>)> {
    let (s, d) = (signal.as_array(), divisor.as_array());
    let (s, d) = (f64::lane_f64(s), f64::lane_f64(d));
    let (q, r) = py
        .detach(|| faltung::convolve::deconvolve(&s, &d))
        .map_err(|e| match e {
            ConvolveError::EmptyInput { which } => {
                PyValueError::new_err(format!("{which}: must be a non-empty 1-d array"))
            }
            other => PyValueError::new_err(format!("divisor: {other}")),
        })?;
    Ok((q.into_pyarray(py), r.into_pyarray(py)))
}
