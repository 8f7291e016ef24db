//! # faltung
//!
//! A real-time streaming audio convolution engine: partitioned FFT convolution (uniform and
//! non-uniform partitions, overlap-save and overlap-add) for live audio, WAV files and
//! latency benchmarks, checked against a direct `f64` reference and against numpy/scipy.
//!
//! Layers (arrows point down):
//! `cli` → `live` / `offline` / `bench` → [`engine`] → [`kernel`], [`reference`](mod@reference), [`convolve`]
//! → [`wav`], [`error`].

pub mod convolve;
pub mod engine;
pub mod error;
pub mod kernel;
pub mod offline;
pub mod reference;
pub mod wav;

pub use engine::{BlockProcessor, Engine, Plan, PlanRequest, Routing};
