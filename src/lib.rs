#![doc = include_str!("../README.md")]

pub mod audio_file;
pub mod bench;
pub mod convolve;
pub mod engine;
pub mod error;
pub mod filter;
pub mod kernel;
pub mod limits;
#[cfg(feature = "audio-io")]
pub mod live;
pub mod measure;
pub mod offline;
pub mod reference;
pub mod rng;
pub mod rt;
pub mod text;

pub use engine::{BlockProcessor, Engine, Plan, PlanRequest, Routing};
