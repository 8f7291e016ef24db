//! `faltung.Convolver`: the real-time engine behind a block-by-block `process` call.
//!
//! Arrays are (channels, frames) float32 of any layout; the engine works on interleaved
//! buffers sized once at construction, so `process` allocates nothing but its output array
//! (none when `out` is given). The GIL is released while the engine runs.

use faltung::engine::{BlockProcessor, Engine, PlanRequest, Routing, TailStats};
use numpy::ndarray::ArrayView2;
use numpy::{PyArray2, PyArrayMethods, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

struct State {
    engine: Engine,
    input: Vec<f32>,
    output: Vec<f32>,
}

/// The native engine; `faltung.Convolver` wraps it (argument checks, pickling).
#[pyclass(module = "faltung._faltung", name = "NativeConvolver")]
pub struct NativeConvolver {
    state: Mutex<State>,
    channels: usize,
    output_channels: usize,
    block_size: usize,
    latency: usize,
    plan: String,
    routing: String,
    threads: usize,
    tail_stats: Arc<TailStats>,
}

fn routing_for(name: &str, channels: Option<usize>, ir_channels: usize) -> PyResult<Routing> {
    let need = |want: usize, what: &str| -> PyResult<()> {
        match channels {
            Some(c) if c != want => Err(PyValueError::new_err(format!(
                "channels: routing '{what}' takes {want} input channel(s), got {c}"
            ))),
            _ => Ok(()),
        }
    };
    let irs = |want: usize, what: &str| -> PyResult<()> {
        if ir_channels != want {
            return Err(PyValueError::new_err(format!(
                "ir: routing '{what}' needs {want} impulse response channel(s), got {ir_channels}"
            )));
        }
        Ok(())
    };
    let r = match name {
        "auto" => {
            let ch = channels.unwrap_or(match ir_channels {
                4 => 2,
                n => n,
            });
            Routing::auto(ch, ir_channels).map_err(|e| PyValueError::new_err(e.to_string()))?
        }
        "mono" => {
            irs(1, name)?;
            Routing::mono_ir(channels.unwrap_or(1))
        }
        "per_channel" => {
            need(ir_channels, name)?;
            Routing::per_channel(ir_channels)
        }
        "mono_to_stereo" => {
            irs(2, name)?;
            need(1, name)?;
            Routing::mono_to_stereo()
        }
        "true_stereo" => {
            irs(4, name)?;
            need(2, name)?;
            Routing::true_stereo()
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "routing: must be 'auto', 'mono', 'per_channel', 'mono_to_stereo' or \
                 'true_stereo', got {other:?}"
            )))
        }
    };
    if r.input_channels == 0 {
        return Err(PyValueError::new_err("channels: must be at least 1"));
    }
    Ok(r)
}

#[pymethods]
impl NativeConvolver {
    #[new]
    #[pyo3(signature = (ir, block_size, channels, routing, latency, threads))]
    fn new(
        py: Python<'_>,
        ir: PyReadonlyArray2<'_, f32>,
        block_size: usize,
        channels: Option<usize>,
        routing: &str,
        latency: usize,
        threads: usize,
    ) -> PyResult<Self> {
        if block_size == 0 {
            return Err(PyValueError::new_err("block_size: must be at least 1"));
        }
        let irv = ir.as_array();
        let irs: Vec<Vec<f32>> = irv.rows().into_iter().map(|r| r.to_vec()).collect();
        let r = routing_for(routing, channels, irs.len())?;
        let request = PlanRequest {
            max_call_frames: block_size,
            latency_budget_frames: latency,
            worker_threads: threads,
            ..PlanRequest::realtime(0, 1, 1, block_size)
        };
        let (ch, och) = (r.input_channels, r.output_channels);
        let mut engine = py
            .detach(|| Engine::new(&irs, r, request))
            .map_err(|e| PyValueError::new_err(format!("ir: {e}")))?
            .with_worker_threads(threads)
            .map_err(|e| PyValueError::new_err(format!("threads: {e}")))?;
        // Python calls come when the caller likes, often faster than real time: a late
        // worker is waited for, never dropped, so the output is exact at any call rate.
        engine.set_unbounded_worker_wait(true);
        Ok(NativeConvolver {
            threads: engine.worker_threads(),
            tail_stats: engine.tail_stats(),
            channels: ch,
            output_channels: och,
            block_size,
            latency: engine.latency_frames(),
            plan: engine.plan().to_string(),
            routing: routing.to_string(),
            state: Mutex::new(State {
                engine,
                input: vec![0.0; block_size * ch],
                output: vec![0.0; block_size * och],
            }),
        })
    }

    /// Convolve the next `frames <= block_size` frames of `x` (channels, frames) into
    /// `out` (output_channels, frames), which is returned.
    fn process<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        out: Bound<'py, PyArray2<f32>>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let xv: ArrayView2<'_, f32> = x.as_array();
        let (ch, frames) = xv.dim();
        if ch != self.channels {
            return Err(PyValueError::new_err(format!(
                "x: has {ch} channel(s), this Convolver takes {}",
                self.channels
            )));
        }
        if frames > self.block_size {
            return Err(PyValueError::new_err(format!(
                "x: {frames} frames is more than block_size ({})",
                self.block_size
            )));
        }
        let mut ow = out
            .try_readwrite()
            .map_err(|e| PyValueError::new_err(format!("out: not writeable ({e})")))?;
        let mut ov = ow.as_array_mut();
        if ov.dim() != (self.output_channels, frames) {
            return Err(PyValueError::new_err(format!(
                "out: shape {:?} must be ({}, {frames})",
                ov.dim(),
                self.output_channels
            )));
        }
        let och = self.output_channels;
        let result = py.detach(|| {
            let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let st = &mut *guard;
            for ((c, f), v) in xv.indexed_iter() {
                st.input[f * ch + c] = *v;
            }
            st.engine
                .process_block(&st.input[..frames * ch], &mut st.output[..frames * och])?;
            for ((c, f), o) in ov.indexed_iter_mut() {
                *o = st.output[f * och + c];
            }
            Ok::<(), faltung::engine::ProcessError>(())
        });
        drop(ow);
        result.map_err(|e| PyValueError::new_err(format!("x: {e}")))?;
        Ok(out)
    }

    /// Forget all history: the next call behaves like the first.
    fn reset(&self) {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        guard.engine.reset();
    }

    #[getter]
    fn latency(&self) -> usize {
        self.latency
    }
    #[getter]
    fn plan(&self) -> &str {
        &self.plan
    }
    #[getter]
    fn channels(&self) -> usize {
        self.channels
    }
    #[getter]
    fn output_channels(&self) -> usize {
        self.output_channels
    }
    #[getter]
    fn block_size(&self) -> usize {
        self.block_size
    }
    #[getter]
    fn routing(&self) -> &str {
        &self.routing
    }
    #[getter]
    fn threads(&self) -> usize {
        self.threads
    }
    /// Tail periods whose worker had not finished when their result was due (the call
    /// waited for it, or ran the period itself).
    #[getter]
    fn late_periods(&self) -> u64 {
        self.tail_stats.late.load(Ordering::Relaxed)
    }
}
