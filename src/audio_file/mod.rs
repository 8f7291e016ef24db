//! Every read and write of an audio file: the only code that touches the WAV parser and
//! writer, the decoder and the FLAC encoder.
//!
//! - [`AudioReader`]: streaming reader of every input: WAV (RIFF, RF64, BW64) through the
//!   fast path [`WavReader`], which decodes the sample data in bulk into interleaved `f32`
//!   in [-1, 1), block by block (constant memory whatever the file length); FLAC,
//!   AIFF/AIFC, Ogg Vorbis and MP3 through the decoder; `-` is standard input.
//! - [`AudioWriter`]: the output container chosen by the file name: [`WavWriter`]
//!   (streaming writer of `f32` or already-quantised integer samples, RF64 past 4 GiB) or
//!   [`FlacWriter`] (16/24-bit integers, pure-Rust encoder); [`output_format`] resolves
//!   `--format` against the container.
//! - [`Quantizer`]: sample-format conversion with TPDF dither and clip counting.
//! - [`AtomicOutput`]: durable output through a temporary file renamed into place.
//! - [`AudioFileError`]: the one error type; every error names the file.

mod atomic;
mod decode;
mod error;
mod flac_write;
mod format;
mod quantize;
mod reader;
mod wav_header;
mod wav_read;
mod wav_write;
mod writer;

pub use atomic::{
    dest_dir, scratch_next_to, AtomicOutput, Output, OutputSink, OutputWriter, Writeback,
};
pub use error::AudioFileError;
pub use flac_write::{FlacWriter, FLAC_MAX_CHANNELS, FLAC_MAX_RATE_HZ};
pub use format::{AudioInfo, SampleFormat};
pub use quantize::Quantizer;
pub use reader::{is_std_stream, AudioReader};
pub use wav_header::{MAX_CHANNELS, MAX_RATE_HZ};
pub use wav_read::WavReader;
pub use wav_write::WavWriter;
pub use writer::{is_flac_path, output_format, AudioWriter};

use std::path::Path;

/// Write interleaved `f32` samples at `path`, atomically (a temporary file renamed into
/// place; nothing is left behind on an error). A WAV holds them as 32-bit float, exactly;
/// a `.flac` as 24-bit integers, rounded without dither (full scale 1.0 saturates to the
/// largest code, within one LSB), and a sample beyond full scale is an error there. Unless
/// `force`, an existing `path` is an error.
pub fn write_samples(
    path: &Path,
    channels: usize,
    sample_rate_hz: u32,
    interleaved: &[f32],
    force: bool,
) -> Result<(), AudioFileError> {
    let format = output_format(path, None, SampleFormat::F32)?;
    if !format.is_float() {
        if let Some((i, v)) = interleaved
            .iter()
            .enumerate()
            .find(|(_, v)| v.is_nan() || v.abs() > 1.0)
        {
            return Err(AudioFileError::Write {
                path: path.to_path_buf(),
                reason: format!(
                    "sample {} on channel {} is {v}, beyond the full scale a {format} FLAC \
                     holds; write a .wav (32-bit float) instead",
                    i / channels.max(1),
                    i % channels.max(1)
                ),
            });
        }
    }
    let out = AtomicOutput::create(path, force)?;
    let mut w = AudioWriter::new(out.writer()?, path, channels, sample_rate_hz, format)?;
    Quantizer::new(format, false, 0).write(&mut w, interleaved)?;
    let inner = w.finalize()?;
    out.sync(inner)?;
    out.commit(force)
}
