//! The sizes faltung accepts: sample rates, channel counts, call sizes, IR lengths.
//!
//! Every size that reaches an allocation is checked against these limits first, so that a
//! typo (`--rate 0`, `--block 18446744073709551615`) gives a clear error instead of a
//! division by zero, a capacity overflow or an attempt to allocate terabytes.

/// Lowest sample rate accepted, in Hz.
pub const MIN_RATE_HZ: u32 = 1;
/// Highest sample rate accepted, in Hz (the highest rate audio interfaces offer).
pub const MAX_RATE_HZ: u32 = 768_000;
/// Most channels of a stream or a file.
pub const MAX_CHANNELS: usize = 64;
/// Largest call (block) size in frames: about 22 s at 48 kHz.
pub const MAX_BLOCK_FRAMES: usize = 1 << 20;
/// Longest impulse response in frames, after any resampling (about 350 s at 48 kHz,
/// 22 s at 768 kHz). An engine for it holds a few hundred MB per convolution path.
pub const MAX_IR_FRAMES: usize = 1 << 24;

/// A size outside the accepted range; the message says the range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    #[error("sample rate {rate_hz} Hz is outside the supported {MIN_RATE_HZ}..={MAX_RATE_HZ} Hz")]
    Rate { rate_hz: u64 },
    #[error("{channels} channels is outside the supported 1..={MAX_CHANNELS}")]
    Channels { channels: usize },
    #[error("{frames} frames per call is outside the supported 1..={MAX_BLOCK_FRAMES}")]
    Block { frames: usize },
    #[error("an impulse response of {frames} frames is outside the supported 1..={MAX_IR_FRAMES} frames")]
    IrFrames { frames: usize },
}

/// `rate_hz` within [`MIN_RATE_HZ`]..=[`MAX_RATE_HZ`].
pub fn check_rate_hz(rate_hz: u64) -> Result<u32, LimitError> {
    if (MIN_RATE_HZ as u64..=MAX_RATE_HZ as u64).contains(&rate_hz) {
        Ok(rate_hz as u32)
    } else {
        Err(LimitError::Rate { rate_hz })
    }
}

/// `channels` within 1..=[`MAX_CHANNELS`].
pub fn check_channels(channels: usize) -> Result<usize, LimitError> {
    if (1..=MAX_CHANNELS).contains(&channels) {
        Ok(channels)
    } else {
        Err(LimitError::Channels { channels })
    }
}

/// `frames` per call within 1..=[`MAX_BLOCK_FRAMES`].
pub fn check_block_frames(frames: usize) -> Result<usize, LimitError> {
    if (1..=MAX_BLOCK_FRAMES).contains(&frames) {
        Ok(frames)
    } else {
        Err(LimitError::Block { frames })
    }
}

/// An impulse response length within 1..=[`MAX_IR_FRAMES`].
pub fn check_ir_frames(frames: usize) -> Result<usize, LimitError> {
    if (1..=MAX_IR_FRAMES).contains(&frames) {
        Ok(frames)
    } else {
        Err(LimitError::IrFrames { frames })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_accept_their_ends_and_refuse_one_beyond() {
        assert_eq!(check_rate_hz(1), Ok(1));
        assert_eq!(check_rate_hz(768_000), Ok(768_000));
        assert!(check_rate_hz(0).is_err());
        assert!(check_rate_hz(768_001).is_err());
        assert!(check_rate_hz(u64::MAX).is_err());
        assert!(check_channels(0).is_err() && check_channels(65).is_err());
        assert_eq!(check_channels(64), Ok(64));
        assert!(check_block_frames(0).is_err());
        assert!(check_block_frames(usize::MAX).is_err());
        assert_eq!(check_block_frames(1 << 20), Ok(1 << 20));
        assert!(check_ir_frames(0).is_err() && check_ir_frames((1 << 24) + 1).is_err());
    }
}
