//! Kernels: impulse responses read from WAV files and generated FIR kernels (windows,
//! Savitzky–Golay, Gaussian, windowed-sinc designs), described by a spec string.

/// A convolution kernel: one or more channels of taps in `f64`.
///
/// Channel meaning follows [`crate::engine::Routing::auto`]: 1 channel = the same IR on
/// every channel, N = one per channel, 4 = true stereo in the order LL, LR, RL, RR.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    /// Taps per channel; every channel has the same length (at least 1).
    pub channels: Vec<Vec<f64>>,
    /// Sample rate the kernel was made for, if it has one (IR files do; smoothing kernels
    /// do not).
    pub sample_rate_hz: Option<u32>,
    /// What the kernel is, for messages: a file name or a spec string.
    pub name: String,
}

impl Kernel {
    /// Number of taps (frames) per channel.
    pub fn len_frames(&self) -> usize {
        self.channels.first().map_or(0, |c| c.len())
    }

    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// The taps converted to `f32` for the engine.
    pub fn to_f32(&self) -> Vec<Vec<f32>> {
        self.channels
            .iter()
            .map(|c| c.iter().map(|&v| v as f32).collect())
            .collect()
    }
}

pub mod analysis;
pub mod decay;
pub mod firwin;
pub mod gaussian;
pub mod ir;
pub mod minphase;
pub mod plot;
pub mod resample;
pub mod savgol;
pub mod savgol_fit;
pub mod spec;
pub mod window;

pub use analysis::{summarize, KernelSummary};
pub use ir::{apply_options, load_ir, load_ir_with_notes, IrOptions, LoadedIr, Normalize};
pub use spec::parse as parse_spec;

use std::path::PathBuf;

/// Errors making or loading a kernel. File errors name the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// The file could not be read as audio (the source says why and names the file).
    #[error("{path}: not a readable audio file")]
    File {
        path: PathBuf,
        #[source]
        source: crate::audio_file::AudioFileError,
    },
    #[error("{path}: cannot open impulse response")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: impulse response has no samples")]
    EmptyFile { path: PathBuf },
    #[error("{path}: impulse response is all zeros")]
    AllZero { path: PathBuf },
    #[error("{path}: sample {frame} of channel {channel} is not finite (NaN or Inf)")]
    NonFinite {
        path: PathBuf,
        frame: usize,
        channel: usize,
    },
    #[error("{path}: unsupported format: {reason}")]
    Unsupported { path: PathBuf, reason: String },
    #[error("{path}: {frames} frames ({seconds:.1} s) is longer than the limit of {limit_seconds:.1} s (raise it with --max-ir-seconds)")]
    TooLong {
        path: PathBuf,
        frames: usize,
        seconds: f64,
        limit_seconds: f64,
    },
    /// A generator (window, Savitzky–Golay, Gaussian, FIR design) was called with
    /// parameters it cannot use; `kernel` names the generator.
    #[error("{kernel}: {reason}")]
    BadParameter {
        kernel: &'static str,
        reason: String,
    },
    #[error("kernel spec `{spec}`: {reason}")]
    BadSpec { spec: String, reason: String },
    #[error("{path}: {channels} channels, more than the {max_channels} supported (1 = mono, 2 = one per channel, 4 = true stereo LL, LR, RL, RR)")]
    TooManyChannels {
        path: PathBuf,
        channels: usize,
        max_channels: usize,
    },
    #[error("{path}: truncated or unreadable sample data at frame {frame} of {frames} announced in the header: {reason}")]
    Truncated {
        path: PathBuf,
        frame: usize,
        frames: usize,
        reason: String,
    },
    #[error("{name}: impulse response is at {ir_rate_hz} Hz but the stream runs at {stream_rate_hz} Hz (resampling is off)")]
    RateMismatch {
        name: String,
        ir_rate_hz: u32,
        stream_rate_hz: u32,
    },
    #[error("{name}: resampling from {from_hz} Hz to {to_hz} Hz failed: {reason}")]
    Resample {
        name: String,
        from_hz: u32,
        to_hz: u32,
        reason: String,
    },
    #[error("{name}: {option}: {reason}")]
    BadOption {
        name: String,
        option: &'static str,
        reason: String,
    },
    #[error("{path}: cannot write plot: {reason}")]
    Plot { path: PathBuf, reason: String },
}
