//! The normalise pass: `normalize` scales the whole output to a target peak in two passes.
//! The first writes the mixed `f32` output to an unnamed scratch file next to the
//! destination (nothing is left behind, even by a killed run) and measures its peak; the second reads it back, scales it and hands it on.

use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::Ordering;

use super::engine_cache::EngineCache;
use super::stream::{Run, Streamed};
use super::OfflineError;
use crate::audio_file::{scratch_next_to, AudioFileError, AudioReader};

/// What the two passes did.
pub(super) struct Normalized {
    /// The first pass's run (its peak is before scaling).
    pub(super) streamed: Streamed,
    /// Linear gain applied; `None` when the output is silent (it is written as it is).
    pub(super) gain: Option<f64>,
    /// Peak of the scaled output.
    pub(super) peak: f64,
}

/// Run the stream once into a raw temporary file next to `output`, then scale it to
/// `target_db` dBFS peak and hand it to `sink`. `progress` counts both passes.
pub(super) fn two_pass(
    run: &Run,
    reader: AudioReader,
    cache: &mut EngineCache,
    output: &Path,
    target_db: f64,
    sink: &mut dyn FnMut(&[f32]) -> Result<(), AudioFileError>,
    progress: &mut dyn FnMut(u64),
) -> Result<Normalized, OfflineError> {
    // Pass 1: mixed f32 output to an unnamed scratch file, measuring the peak. Its
    // errors name the output (the scratch file has no name a user could act on).
    let raw = scratch_next_to(output)?;
    let raw_err = |e: std::io::Error| {
        OfflineError::from(AudioFileError::Write {
            path: output.to_path_buf(),
            reason: format!("normalise pass (scratch data beside the output): {e}"),
        })
    };
    let streamed;
    {
        let mut w = BufWriter::with_capacity(1 << 16, &raw);
        let mut bytes = Vec::new();
        streamed = run.stream(reader, cache, &mut *progress, &mut |s| {
            bytes.clear();
            for v in s {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            w.write_all(&bytes).map_err(raw_err)
        })?;
        w.flush().map_err(raw_err)?;
    }
    // Pass 2: scale to the target and write.
    // (A non-finite output never gets here: the stream refuses it.)
    let gain = (streamed.peak > 0.0).then(|| 10f64.powf(target_db / 20.0) / streamed.peak);
    let g = gain.unwrap_or(1.0);
    let out_ch = streamed.out_ch;
    (&raw).seek(SeekFrom::Start(0)).map_err(raw_err)?;
    let mut r = BufReader::with_capacity(1 << 16, &raw);
    let chunk = 4096 * out_ch;
    let mut bytes = vec![0u8; chunk * 4];
    let mut samples = vec![0f32; chunk];
    let mut left = streamed.frames * out_ch as u64;
    let mut peak = 0f64;
    let mut done = 0u64;
    while left > 0 {
        if run.cancel.load(Ordering::Relaxed) {
            return Err(OfflineError::Cancelled {
                input: run.input.to_path_buf(),
            });
        }
        let k = (left as usize).min(chunk);
        r.read_exact(&mut bytes[..k * 4]).map_err(raw_err)?;
        for (s, b) in samples[..k].iter_mut().zip(bytes.chunks_exact(4)) {
            *s = (f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64 * g) as f32;
            peak = peak.max(s.abs() as f64);
        }
        sink(&samples[..k])?;
        left -= k as u64;
        done += (k / out_ch) as u64;
        progress(streamed.frames + done);
    }
    Ok(Normalized {
        streamed,
        gain,
        peak,
    })
}
