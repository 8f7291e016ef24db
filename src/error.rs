//! Error types shared across the library.
//!
//! Each concern has its own enum (`#[non_exhaustive]`, named fields). Errors that can be
//! returned from the audio path ([`ProcessError`]) carry no heap data.

/// Errors raised while building an engine (off the audio thread).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error("impulse response is empty (0 taps)")]
    EmptyIr,
    #[error("impulse response {index} has {len} taps, expected at least 1")]
    EmptyIrChannel { index: usize, len: usize },
    #[error("impulse response contains a non-finite value (NaN or Inf) at tap {tap} of channel {channel}")]
    NonFiniteIr { channel: usize, tap: usize },
    #[error("invalid configuration: {what}")]
    InvalidConfig { what: String },
    #[error("routing: {input_channels} input channel(s) with a {ir_channels}-channel impulse response is not a supported layout (supported: mono IR on any channels, one IR per channel, mono input with a stereo IR, stereo input with a 4-channel true-stereo IR)")]
    UnsupportedRouting {
        input_channels: usize,
        ir_channels: usize,
    },
    #[error("routing refers to impulse response {ir} but only {available} were given")]
    RoutingIrOutOfRange { ir: usize, available: usize },
    #[error("routing refers to channel {channel} but the engine has {channels}")]
    RoutingChannelOutOfRange { channel: usize, channels: usize },
}

/// Errors returned by `process_block` on the audio path. Plain data, no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    #[error("call of {frames} frames exceeds the maximum of {max_frames} fixed at construction")]
    TooManyFrames { frames: usize, max_frames: usize },
    #[error("buffer length {len} is not a multiple of the channel count {channels}")]
    BadInterleave { len: usize, channels: usize },
    #[error("input has {input_frames} frames but output has {output_frames}")]
    FrameMismatch {
        input_frames: usize,
        output_frames: usize,
    },
}

/// Errors of the one-shot convolution API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvolveError {
    #[error("input `{which}` is empty")]
    EmptyInput { which: &'static str },
    #[error("circular convolution period must be at least 1, got {period}")]
    BadPeriod { period: usize },
    /// `deconvolve`'s divisor starts with 0 (scipy: "BUG: filter coefficient a[0] == 0
    /// not supported yet").
    #[error("divisor starts with 0: the first coefficient of the divisor must be non-zero")]
    LeadingZeroDivisor,
    #[error("output range {lo}..{hi} is not inside the full result of {full_len} samples")]
    BadRange {
        lo: usize,
        hi: usize,
        full_len: usize,
    },
}
