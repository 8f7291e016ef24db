//! `--record`: the filtered output written to a WAV file (through [`crate::audio_file`]) by an ordinary thread that drains
//! an SPSC ring filled by the processing step (never from a callback).

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ringbuf::traits::{Consumer, Observer};
use ringbuf::HeapCons;

use super::LiveError;
use crate::audio_file::{AudioFileError, SampleFormat, WavWriter};

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
    /// Create `path` (32-bit float WAV) and start draining `ring` into it.
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
        let mut writer = WavWriter::new(
            BufWriter::new(file),
            path,
            channels as usize,
            rate_hz,
            SampleFormat::F32,
        )
        .map_err(|e| err(reason(e)))?;
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
                    writer.write_f32(&buf[..n]).map_err(werr)?;
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
