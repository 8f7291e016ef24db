//! Every read and write of an audio file: the only code that touches the WAV parser and
//! writer and the decoder.
//!
//! - [`AudioReader`]: streaming reader of every input: WAV (RIFF, RF64, BW64) through the
//!   fast path [`WavReader`], which decodes the sample data in bulk into interleaved `f32`
//!   in [-1, 1), block by block (constant memory whatever the file length); FLAC,
//!   AIFF/AIFC, Ogg Vorbis and MP3 through the decoder; `-` is standard input.
//! - [`WavWriter`]: streaming writer of `f32` or already-quantised integer samples.
//! - [`Quantizer`]: sample-format conversion with TPDF dither and clip counting.
//! - [`AtomicOutput`]: durable output through a temporary file renamed into place.
//! - [`AudioFileError`]: the one error type; every error names the file.

mod atomic;
mod decode;
mod error;
mod format;
mod quantize;
mod reader;
mod wav_header;
mod wav_read;
mod wav_write;

pub use atomic::{
    dest_dir, scratch_next_to, AtomicOutput, Output, OutputSink, OutputWriter, Writeback,
};
pub use error::AudioFileError;
pub use format::{AudioInfo, SampleFormat};
pub use quantize::Quantizer;
pub use reader::{is_std_stream, AudioReader};
pub use wav_header::{MAX_CHANNELS, MAX_RATE_HZ};
pub use wav_read::WavReader;
pub use wav_write::{check_wav_data_fits, WavWriter};

use std::path::Path;

/// Write interleaved `f32` samples as a 32-bit float WAV at `path`, atomically (a
/// temporary file renamed into place; nothing is left behind on an error). Unless `force`,
/// an existing `path` is an error.
pub fn write_f32_wav(
    path: &Path,
    channels: usize,
    sample_rate_hz: u32,
    interleaved: &[f32],
    force: bool,
) -> Result<(), AudioFileError> {
    let out = AtomicOutput::create(path, force)?;
    let mut w = WavWriter::new(
        out.writer()?,
        path,
        channels,
        sample_rate_hz,
        SampleFormat::F32,
    )?;
    w.write_f32(interleaved)?;
    let inner = w.finalize()?;
    out.sync(inner)?;
    out.commit(force)
}
