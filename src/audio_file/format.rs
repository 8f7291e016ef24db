//! Sample formats and what a file holds.

/// Sample encoding of a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// 8-bit integer (stored unsigned with a 128 offset, as WAV requires).
    I8,
    I16,
    /// 24-bit integer in 3-byte containers (the reader also takes 4-byte containers).
    I24,
    I32,
    F32,
}

impl SampleFormat {
    /// Significant bits per sample.
    pub fn bits(self) -> u16 {
        match self {
            SampleFormat::I8 => 8,
            SampleFormat::I16 => 16,
            SampleFormat::I24 => 24,
            SampleFormat::I32 | SampleFormat::F32 => 32,
        }
    }

    pub fn is_float(self) -> bool {
        self == SampleFormat::F32
    }

    /// Bytes per sample as written by [`WavWriter`].
    pub fn container_bytes(self) -> usize {
        self.bits() as usize / 8
    }
}

impl std::fmt::Display for SampleFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SampleFormat::I8 => "8-bit int",
            SampleFormat::I16 => "16-bit int",
            SampleFormat::I24 => "24-bit int",
            SampleFormat::I32 => "32-bit int",
            SampleFormat::F32 => "32-bit float",
        })
    }
}

/// What an audio file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioInfo {
    pub channels: usize,
    pub sample_rate_hz: u32,
    /// Frames the file holds; `None` when only its end will tell (a stream on standard
    /// input, a compressed file whose header does not say).
    pub frames: Option<u64>,
    pub format: SampleFormat,
}
