//! `--record`: the filtered output written to a WAV (32-bit float) or FLAC (24-bit) file
//! through [`crate::audio_file`], by an ordinary thread that drains an SPSC ring filled by
//! the processing step (never from a callback).

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ringbuf::traits::{Consumer, Observer};
use ringbuf::HeapCons;

use super::LiveError;
use crate::audio_file::{is_flac_path, AudioFileError, AudioWriter, Quantizer, SampleFormat};

/// The error's message without the path in front (the live error names the file).
fn reason(e: AudioFileError) -> String {
    let msg = e.to_string();
    let prefix = format!("{}: ", e.path().display());
    msg.strip_prefix(&prefix).map(str::to_string).unwrap_or(msg)
}

/// A running writer thread.
pub struct Recorder {
    done: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<u64, LiveError>>>,
    path: PathBuf,
}

impl Recorder {
    /// Create `path` and start draining `ring` into it: a 32-bit float WAV, or for a
    /// `.flac` name a 24-bit FLAC (TPDF-dithered; samples beyond full scale saturate).
    pub fn start(
        path: &Path,
        mut ring: HeapCons<f32>,
        channels: u16,
        rate_hz: u32,
    ) -> Result<Recorder, LiveError> {
        let err = |reason: String| LiveError::Record {
            path: path.to_path_buf(),
            reason,
        };
        let file = std::fs::File::create(path).map_err(|e| err(e.to_string()))?;
        let format = if is_flac_path(path) {
            SampleFormat::I24
        } else {
            SampleFormat::F32
        };
        let mut writer = AudioWriter::new(
            BufWriter::new(file),
            path,
            channels as usize,
            rate_hz,
            format,
        )
        .map_err(|e| {
            // Nothing was written yet: leave no empty file behind.
            let _ = std::fs::remove_file(path);
            err(reason(e))
        })?;
        let mut quant = Quantizer::new(format, true, 0x0FA1_7A96);
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let p = path.to_path_buf();
        let handle = std::thread::Builder::new()
            .name("faltung-record".into())
            .spawn(move || {
                let werr = |e: AudioFileError| LiveError::Record {
                    path: p.clone(),
                    reason: reason(e),
                };
                let mut buf = vec![0.0f32; 16384 * channels as usize];
                let mut samples = 0u64;
                loop {
                    // Read the flag before draining, so that everything pushed before the
                    // stop is written.
                    let finishing = flag.load(Ordering::Acquire);
                    let whole = buf.len() - buf.len() % channels as usize;
                    let n = ring.pop_slice(
                        &mut buf[..whole
                            .min(ring.occupied_len() / channels as usize * channels as usize)],
                    );
                    quant.write(&mut writer, &buf[..n]).map_err(werr)?;
                    samples += n as u64;
                    if n == 0 {
                        if finishing {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                writer.finalize().map_err(werr)?;
                Ok(samples / channels as u64)
            })
            .map_err(|e| err(e.to_string()))?;
        Ok(Recorder {
            done,
            handle: Some(handle),
            path: path.to_path_buf(),
        })
    }

    /// Write what is left and finalise the file; returns the frames written.
    pub fn finish(mut self) -> Result<u64, LiveError> {
        self.done.store(true, Ordering::Release);
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(r)) => r,
            _ => Err(LiveError::Record {
                path: self.path.clone(),
                reason: "writer thread panicked".into(),
            }),
        }
    }
}

impl Drop for Recorder {
    /// A recorder dropped without [`Recorder::finish`] still ends its thread, which
    /// finalises the file.
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio_file::AudioReader;
    use ringbuf::traits::{Producer, Split};
    use ringbuf::HeapRb;

    /// Record `samples` (interleaved stereo) to `name` in a fresh folder; read it back.
    fn record(name: &str, samples: &[f32]) -> (Vec<f32>, SampleFormat, u64) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let (mut prod, cons) = HeapRb::<f32>::new(samples.len()).split();
        assert_eq!(prod.push_slice(samples), samples.len());
        let rec = Recorder::start(&path, cons, 2, 48_000).unwrap();
        let frames = rec.finish().unwrap();
        let mut r = AudioReader::open(&path).unwrap();
        let format = r.info().format;
        let mut got = vec![0f32; samples.len() + 2];
        let mut n = 0;
        loop {
            let k = r.read_frames(&mut got[n..]).unwrap();
            if k == 0 {
                break;
            }
            n += k * 2;
        }
        got.truncate(n);
        (got, format, frames)
    }

    #[test]
    fn a_flac_recording_is_24_bit_within_dither_of_the_float_recording() {
        // 10 000 stereo frames: two full FLAC blocks and a short one; one sample beyond
        // full scale saturates.
        let mut samples: Vec<f32> = (0..20_000)
            .map(|i| 0.8 * (i as f32 * 0.013).sin() * if i % 2 == 0 { 1.0 } else { -0.5 })
            .collect();
        samples[101] = 1.5;
        let (wav, wf, wn) = record("r.wav", &samples);
        assert_eq!((wf, wn), (SampleFormat::F32, 10_000));
        assert_eq!(wav, samples, "a WAV recording is the float samples");
        let (flac, ff, fnum) = record("r.flac", &samples);
        assert_eq!((ff, fnum, flac.len()), (SampleFormat::I24, 10_000, 20_000));
        let lsb = 1.0 / 8_388_608.0;
        for (i, (&g, &s)) in flac.iter().zip(&samples).enumerate() {
            let want = s.clamp(-1.0, 1.0 - lsb as f32) as f64;
            // TPDF dither is under 1 LSB, rounding half an LSB.
            assert!((g as f64 - want).abs() <= 1.5 * lsb, "{i}: {g} vs {s}");
        }
    }
}
