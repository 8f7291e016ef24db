//! [`AudioReader`]: one reader for every input. WAV (RIFF, RF64, BW64) takes the fast path
//! (bulk decoding of the sample data, seekable); FLAC, AIFF/AIFC, Ogg Vorbis and MP3 go
//! through the decoder. The path `-` is standard input (WAV or FLAC, read to its end).
//!
//! Inputs that are not regular files (FIFOs, devices, sockets) are refused before they are
//! opened, because opening a FIFO blocks until a writer appears; standard input is the way
//! to read a pipe.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::decode::Decoded;
use super::wav_header;
use super::wav_read::WavReader;
use super::{AudioFileError, AudioInfo};

/// Is `path` the name of standard input/output (`-`)?
pub fn is_std_stream(path: &Path) -> bool {
    path.as_os_str() == "-"
}

enum Inner {
    Wav(WavReader),
    Decoded(Box<Decoded>),
}

/// A streaming reader of interleaved `f32` (or `f64`) frames from any supported file.
pub struct AudioReader {
    path: PathBuf,
    info: AudioInfo,
    inner: Inner,
}

/// Refuse what would block or is not a file, from its metadata (no `open`).
fn check_regular(path: &Path) -> Result<(), AudioFileError> {
    let meta = std::fs::metadata(path).map_err(|source| AudioFileError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(());
    }
    let what = if ft.is_dir() {
        "is a directory"
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if ft.is_fifo() {
                "is a FIFO (named pipe); pipe it to standard input instead: faltung process - ... < FIFO"
            } else if ft.is_char_device() || ft.is_block_device() {
                "is a device, not a file"
            } else if ft.is_socket() {
                "is a socket, not a file"
            } else {
                "is not a regular file"
            }
        }
        #[cfg(not(unix))]
        {
            "is not a regular file"
        }
    };
    Err(AudioFileError::Malformed {
        path: path.to_path_buf(),
        reason: what.into(),
    })
}

impl AudioReader {
    /// Open `path` (`-`: standard input) and read its header.
    pub fn open(path: &Path) -> Result<AudioReader, AudioFileError> {
        if is_std_stream(path) {
            return Self::open_stdin(path);
        }
        check_regular(path)?;
        let mut file = File::open(path).map_err(|source| AudioFileError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut magic = [0u8; 12];
        let n = read_up_to(&mut file, &mut magic).map_err(|source| AudioFileError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        use std::io::Seek;
        file.rewind().map_err(|source| AudioFileError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        if wav_header::is_wav(&magic[..n]) {
            let r = WavReader::from_file(path, file)?;
            return Ok(AudioReader {
                path: path.to_path_buf(),
                info: r.info(),
                inner: Inner::Wav(r),
            });
        }
        if n >= 4 && &magic[..4] == b"RIFF" {
            return Err(AudioFileError::Malformed {
                path: path.to_path_buf(),
                reason: "a RIFF file that is not WAVE".into(),
            });
        }
        let (d, info) = Decoded::open(path, Box::new(file))?;
        Ok(AudioReader {
            path: path.to_path_buf(),
            info,
            inner: Inner::Decoded(Box::new(d)),
        })
    }

    fn open_stdin(path: &Path) -> Result<AudioReader, AudioFileError> {
        let mut stdin = BufReader::with_capacity(1 << 16, std::io::stdin());
        // Peek at the first bytes without consuming them.
        let head =
            std::io::BufRead::fill_buf(&mut stdin).map_err(|source| AudioFileError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        if head.is_empty() {
            return Err(AudioFileError::Empty {
                path: path.to_path_buf(),
            });
        }
        if head.len() >= 4 && &head[..4] == b"fLaC" {
            let src = symphonia::core::io::ReadOnlySource::new(stdin);
            let (d, info) = Decoded::open(path, Box::new(src))?;
            return Ok(AudioReader {
                path: path.to_path_buf(),
                info,
                inner: Inner::Decoded(Box::new(d)),
            });
        }
        let r = WavReader::from_stream(path, Box::new(stdin))?;
        Ok(AudioReader {
            path: path.to_path_buf(),
            info: r.info(),
            inner: Inner::Wav(r),
        })
    }

    pub fn info(&self) -> AudioInfo {
        self.info
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read up to `out.len() / channels` frames into `out` (interleaved `f32`, full scale
    /// 1.0). Returns the frames read: fewer than asked only at the end, 0 after it.
    pub fn read_frames(&mut self, out: &mut [f32]) -> Result<usize, AudioFileError> {
        match &mut self.inner {
            Inner::Wav(r) => r.read_frames(out),
            Inner::Decoded(d) => {
                let n = d.read_with(out, |v| v)?;
                check_finite(
                    &self.path,
                    d.frames_read() - n as u64,
                    self.info.channels,
                    &out[..n * self.info.channels],
                )?;
                Ok(n)
            }
        }
    }

    /// [`read_frames`](Self::read_frames) into `f64` (integer WAV samples of every width
    /// arrive exactly).
    pub fn read_frames_f64(&mut self, out: &mut [f64]) -> Result<usize, AudioFileError> {
        match &mut self.inner {
            Inner::Wav(r) => r.read_frames_f64(out),
            Inner::Decoded(d) => {
                let n = d.read_with(out, |v| v as f64)?;
                let ch = self.info.channels;
                if let Some(i) = out[..n * ch].iter().position(|v| !v.is_finite()) {
                    return Err(AudioFileError::NonFinite {
                        path: self.path.clone(),
                        frame: d.frames_read() - n as u64 + (i / ch) as u64,
                        channel: i % ch,
                    });
                }
                Ok(n)
            }
        }
    }

    /// Move to frame `frame`. WAV files seek; decoded files decode up to it (from the
    /// start again when it lies behind). Standard input cannot seek.
    pub fn seek_frame(&mut self, frame: u64) -> Result<(), AudioFileError> {
        if let Inner::Wav(r) = &mut self.inner {
            return r.seek_frame(frame);
        }
        if is_std_stream(&self.path) {
            return Err(AudioFileError::Truncated {
                path: self.path.clone(),
                frame,
                reason: "standard input cannot seek".into(),
            });
        }
        let behind = matches!(&self.inner, Inner::Decoded(d) if d.frames_read() > frame);
        if behind {
            *self = AudioReader::open(&self.path.clone())?;
        }
        let ch = self.info.channels;
        let mut scratch = vec![0f32; 4096 * ch];
        loop {
            let Inner::Decoded(d) = &mut self.inner else {
                return Ok(());
            };
            let left = frame - d.frames_read().min(frame);
            if left == 0 {
                return Ok(());
            }
            let k = (left as usize).min(4096);
            if d.read_with(&mut scratch[..k * ch], |v| v)? == 0 {
                return Ok(());
            }
        }
    }

    /// Count the frames of a file whose header does not say, by decoding it once.
    pub fn count_frames(path: &Path) -> Result<u64, AudioFileError> {
        let mut r = AudioReader::open(path)?;
        if let Some(n) = r.info.frames {
            return Ok(n);
        }
        let mut buf = vec![0f32; 8192 * r.info.channels];
        let mut n = 0u64;
        loop {
            let k = r.read_frames(&mut buf)?;
            if k == 0 {
                return Ok(n);
            }
            n += k as u64;
        }
    }
}

fn check_finite(path: &Path, first_frame: u64, ch: usize, v: &[f32]) -> Result<(), AudioFileError> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(AudioFileError::NonFinite {
            path: path.to_path_buf(),
            frame: first_frame + (i / ch) as u64,
            channel: i % ch,
        }),
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
