//! The output container, chosen by the output's extension: `.flac` is FLAC, anything else
//! WAV (RF64 past 4 GiB); standard output is always a WAV stream. The sample format stays
//! the caller's choice (`--format`); [`output_format`] says which formats a container takes.

use std::io::{Seek, Write};
use std::path::Path;

use super::flac_write::{flac_holds, FlacWriter};
use super::{AudioFileError, SampleFormat, WavWriter};

/// Is `path` to be written as FLAC (its extension is `.flac`, in any case)?
pub fn is_flac_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("flac"))
}

/// The sample format an output at `path` gets: `requested` (`--format`), or else the
/// input's. A FLAC output holds 8-, 16- or 24-bit integers: a float or 32-bit request is
/// an error, and an input in one of those formats is written as 24-bit (as sox does).
pub fn output_format(
    path: &Path,
    requested: Option<SampleFormat>,
    input: SampleFormat,
) -> Result<SampleFormat, AudioFileError> {
    if !is_flac_path(path) || super::is_std_stream(path) {
        return Ok(requested.unwrap_or(input));
    }
    match requested {
        Some(f) if flac_holds(f) => Ok(f),
        Some(f) => Err(AudioFileError::Write {
            path: path.to_path_buf(),
            reason: format!(
                "FLAC holds 16- or 24-bit integer samples, not {f}; use --format i16 or i24, \
                 or write a .wav for {f}"
            ),
        }),
        None if flac_holds(input) => Ok(input),
        None => Ok(SampleFormat::I24),
    }
}

/// A WAV or FLAC writer.
pub enum AudioWriter<W: Write + Seek> {
    Wav(WavWriter<W>),
    /// Boxed: the encoder's state is much larger than a WAV writer's.
    Flac(Box<FlacWriter<W>>),
}

impl<W: Write + Seek> AudioWriter<W> {
    /// A file writer for `path`: FLAC for a `.flac` name, WAV otherwise. `path` is used
    /// for the choice and in messages; the bytes go to `inner`.
    pub fn new(
        inner: W,
        path: &Path,
        channels: usize,
        sample_rate_hz: u32,
        format: SampleFormat,
    ) -> Result<AudioWriter<W>, AudioFileError> {
        if is_flac_path(path) {
            FlacWriter::new(inner, path, channels, sample_rate_hz, format)
                .map(|w| AudioWriter::Flac(Box::new(w)))
        } else {
            WavWriter::new(inner, path, channels, sample_rate_hz, format, false)
                .map(AudioWriter::Wav)
        }
    }

    /// A WAV stream that is never sought (standard output); see [`WavWriter::new`].
    pub fn new_stream(
        inner: W,
        path: &Path,
        channels: usize,
        sample_rate_hz: u32,
        format: SampleFormat,
    ) -> Result<AudioWriter<W>, AudioFileError> {
        WavWriter::new(inner, path, channels, sample_rate_hz, format, true).map(AudioWriter::Wav)
    }

    pub fn channels(&self) -> usize {
        match self {
            AudioWriter::Wav(w) => w.channels(),
            AudioWriter::Flac(w) => w.channels(),
        }
    }

    /// Complete the file (sizes, FLAC's STREAMINFO), flush, and give back the inner writer.
    pub fn finalize(self) -> Result<W, AudioFileError> {
        match self {
            AudioWriter::Wav(w) => w.finalize(),
            AudioWriter::Flac(w) => (*w).finalize(),
        }
    }
}

impl<W: Write + Seek> AudioWriter<W> {
    pub fn format(&self) -> SampleFormat {
        match self {
            AudioWriter::Wav(w) => w.format(),
            AudioWriter::Flac(w) => w.format(),
        }
    }
    /// Interleaved float samples (float formats only: a FLAC writer refuses them).
    pub fn write_f32(&mut self, samples: &[f32]) -> Result<(), AudioFileError> {
        match self {
            AudioWriter::Wav(w) => w.write_f32(samples),
            AudioWriter::Flac(w) => w.write_f32(samples),
        }
    }
    /// Interleaved integer samples already within the format's range.
    pub fn write_int(&mut self, samples: &[i32]) -> Result<(), AudioFileError> {
        match self {
            AudioWriter::Wav(w) => w.write_int(samples),
            AudioWriter::Flac(w) => w.write_int(samples),
        }
    }
}
