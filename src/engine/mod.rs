//! The streaming convolution engine (f32).
//!
//! - [`BlockProcessor`]: the trait every engine implements (interleaved frames in and out,
//!   any number of frames per call up to a maximum fixed at construction).
//! - [`Engine`]: partitioned FFT convolution — uniformly partitioned overlap-save (UPOLS) or
//!   overlap-add with a frequency-domain delay line, non-uniform partitions for long IRs at
//!   small blocks with the long stages' work spread over the blocks they span, or a direct
//!   FIR for very short kernels — over any [`Routing`] of inputs, IRs and outputs.
//! - [`plan`]: the planner that chooses a scheme from IR length, call size, channels and a
//!   latency budget, and can say what it chose.
//!
//! The engine knows nothing of files, devices or terminals.

pub mod crossfade;
mod direct;
mod facade;
mod level;
mod loops;
mod partitioned;
pub(crate) mod placed;
pub mod plan;
mod rfft;
mod ring;
mod routing;
mod schedule;
pub mod simd;
mod workers;

pub use self::facade::Engine;
pub use self::plan::{Plan, PlanRequest, Scheme, SchemeChoice, Variant};
pub use self::routing::{Path, Routing};
pub use self::workers::{
    TailStats, WorkerPriority, WorkerScheduler, WorkerStall, MIN_WORKER_PARTITION,
};
pub use crate::error::{EngineError, ProcessError};

/// `k` buffers of `n` zeros, each its own zeroed allocation (`vec![vec![0.0; n]; k]` would
/// copy the first into the others, touching every page).
fn zeroed(k: usize, n: usize) -> Vec<Vec<f32>> {
    (0..k).map(|_| vec![0.0; n]).collect()
}

/// A streaming block processor.
///
/// Buffers are interleaved: `input.len() == frames * input_channels()` and
/// `output.len() == frames * output_channels()`. Any `frames` from 0 up to
/// [`max_call_frames`](BlockProcessor::max_call_frames) is accepted on every call.
/// `process_block` never allocates, locks, blocks or does I/O.
pub trait BlockProcessor: Send {
    /// Convolve one call's worth of frames.
    fn process_block(&mut self, input: &[f32], output: &mut [f32]) -> Result<(), ProcessError>;
    /// Forget all history: the next call behaves like the first after construction.
    fn reset(&mut self);
    /// Frames by which the output lags the input beyond the kernel's own delay.
    /// A unit impulse at input frame 0 puts the kernel's tap 0 at output frame
    /// `latency_frames()`.
    fn latency_frames(&self) -> usize;
    fn input_channels(&self) -> usize;
    fn output_channels(&self) -> usize;
    fn max_call_frames(&self) -> usize;
}
