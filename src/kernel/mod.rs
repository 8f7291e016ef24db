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
