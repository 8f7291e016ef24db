//! The WAV reader's fast path: the header is parsed by [`super::wav_header`] (RIFF, RF64,
//! BW64; PCM integer of 8/16/24/32 bits, 24-bit in 4-byte containers, 32-bit float,
//! `WAVE_FORMAT_EXTENSIBLE`); the sample data is then decoded in bulk, block by block, into
//! interleaved `f32` in [-1, 1) (integers are scaled by `1 / 2^(bits-1)`). Float data is
//! checked for NaN/Inf, and a data chunk shorter than its header says is reported as
//! truncated. A stream (standard input) is read to its end: sox and ffmpeg announce sizes
//! of 0, 0xFFFFFFFF or a large placeholder when they write to a pipe.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::wav_header;
use super::{AudioFileError, AudioInfo, SampleFormat};

enum Source {
    File(BufReader<File>),
    Stream(Box<dyn Read + Send>),
}

impl Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Source::File(f) => f.read(buf),
            Source::Stream(s) => s.read(buf),
        }
    }
}

/// Streaming WAV reader.
pub struct WavReader {
    path: PathBuf,
    info: AudioInfo,
    src: Source,
    data_start: u64,
    /// Bytes per sample in the file (may exceed `bits / 8`, e.g. 24 bits in 4 bytes).
    bytes_per_sample: usize,
    /// Frames the data holds at most (a stream may end before).
    limit_frames: Option<u64>,
    frames_read: u64,
    ended: bool,
    raw: Vec<u8>,
}

impl WavReader {
    /// Open the WAV file `path` and read its header. Files announcing zero frames are an
    /// error.
    pub fn open(path: &Path) -> Result<WavReader, AudioFileError> {
        let file = File::open(path).map_err(|source| AudioFileError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_file(path, file)
    }

    /// Read the header of an open WAV file (at its start).
    pub(super) fn from_file(path: &Path, file: File) -> Result<WavReader, AudioFileError> {
        let p = path.to_path_buf();
        let meta = file.metadata().map_err(|source| AudioFileError::Open {
            path: p.clone(),
            source,
        })?;
        if meta.is_dir() {
            return Err(AudioFileError::Malformed {
                path: p,
                reason: "is a directory".into(),
            });
        }
        let mut file = BufReader::with_capacity(1 << 16, file);
        let h = wav_header::parse(&mut file, path)?;
        let frame_bytes = (h.bytes_per_sample * h.channels) as u64;
        // A size of 0 or 0xFFFFFFFF in a file: everything up to the end of the file.
        let data_len = h
            .data_len
            .unwrap_or_else(|| meta.len().saturating_sub(h.data_start));
        let frames = data_len / frame_bytes;
        if frames == 0 {
            return Err(AudioFileError::Empty { path: p });
        }
        Ok(WavReader {
            path: p,
            info: AudioInfo {
                channels: h.channels,
                sample_rate_hz: h.sample_rate_hz,
                frames: Some(frames),
                format: h.format,
            },
            src: Source::File(file),
            data_start: h.data_start,
            bytes_per_sample: h.bytes_per_sample,
            limit_frames: Some(frames),
            frames_read: 0,
            ended: false,
            raw: Vec::new(),
        })
    }

    /// Read the header of a WAV stream (standard input). Its length is unknown until it
    /// ends: [`AudioInfo::frames`] is `None`.
    pub(super) fn from_stream(
        path: &Path,
        mut stream: Box<dyn Read + Send>,
    ) -> Result<WavReader, AudioFileError> {
        let h = wav_header::parse(&mut stream, path)?;
        let frame_bytes = (h.bytes_per_sample * h.channels) as u64;
        Ok(WavReader {
            path: path.to_path_buf(),
            info: AudioInfo {
                channels: h.channels,
                sample_rate_hz: h.sample_rate_hz,
                frames: None,
                format: h.format,
            },
            src: Source::Stream(stream),
            data_start: h.data_start,
            bytes_per_sample: h.bytes_per_sample,
            limit_frames: h.data_len.map(|l| l / frame_bytes),
            frames_read: 0,
            ended: false,
            raw: Vec::new(),
        })
    }

    pub fn info(&self) -> AudioInfo {
        self.info
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames not read yet (for a stream, at most this many).
    fn remaining_frames(&self) -> u64 {
        if self.ended {
            return 0;
        }
        self.limit_frames
            .map_or(u64::MAX, |l| l.saturating_sub(self.frames_read))
    }

    /// Move to frame `frame` (clamped to the end). Files only.
    pub fn seek_frame(&mut self, frame: u64) -> Result<(), AudioFileError> {
        let frame = frame.min(self.limit_frames.unwrap_or(u64::MAX));
        let pos = self.data_start + frame * (self.info.channels * self.bytes_per_sample) as u64;
        let res = match &mut self.src {
            Source::File(f) => f.seek(SeekFrom::Start(pos)).map(|_| ()),
            Source::Stream(_) => Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "a stream cannot seek",
            )),
        };
        res.map_err(|e| AudioFileError::Truncated {
            path: self.path.clone(),
            frame,
            reason: e.to_string(),
        })?;
        self.frames_read = frame;
        self.ended = false;
        Ok(())
    }

    /// Fill `buf` from the data. A file ending first is a truncation error; a stream
    /// ending is its end (the bytes got are returned; a partial frame is an error).
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, AudioFileError> {
        let frame_bytes = self.info.channels * self.bytes_per_sample;
        let mut got = 0;
        while got < buf.len() {
            match self.src.read(&mut buf[got..]) {
                Ok(0) => {
                    let frame = self.frames_read + (got / frame_bytes) as u64;
                    if self.info.frames.is_some() {
                        return Err(AudioFileError::Truncated {
                            path: self.path.clone(),
                            frame,
                            reason: format!(
                                "the file ends but the header announces {} frames",
                                self.limit_frames.unwrap_or(0)
                            ),
                        });
                    }
                    if got % frame_bytes != 0 {
                        return Err(AudioFileError::Truncated {
                            path: self.path.clone(),
                            frame,
                            reason: "the stream ends inside a frame".into(),
                        });
                    }
                    self.ended = true;
                    return Ok(got);
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(AudioFileError::Truncated {
                        path: self.path.clone(),
                        frame: self.frames_read,
                        reason: e.to_string(),
                    })
                }
            }
        }
        Ok(got)
    }

    /// Read up to `out.len() / channels` frames into `out` (interleaved). Returns the
    /// number of frames read: fewer than asked only at the end of the data, 0 after it.
    pub fn read_frames(&mut self, out: &mut [f32]) -> Result<usize, AudioFileError> {
        let ch = self.info.channels;
        let want = ((out.len() / ch) as u64).min(self.remaining_frames()) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n_samples = want * ch;
        if self.info.format == SampleFormat::F32 && cfg!(target_endian = "little") {
            // Little-endian IEEE floats are already what `out` holds: read them in place.
            let out = &mut out[..n_samples];
            let got = self.fill(f32_bytes_mut(out))? / (4 * ch);
            if let Some(i) = first_non_finite(&out[..got * ch]) {
                return Err(self.non_finite(i));
            }
            self.frames_read += got as u64;
            return Ok(got);
        }
        self.read_converted(&mut out[..n_samples])
    }

    /// [`read_frames`](Self::read_frames) into `f64`: integer samples of every width,
    /// 32 bits included, arrive exactly (`v / 2^(bits-1)`).
    pub fn read_frames_f64(&mut self, out: &mut [f64]) -> Result<usize, AudioFileError> {
        let ch = self.info.channels;
        let want = ((out.len() / ch) as u64).min(self.remaining_frames()) as usize;
        if want == 0 {
            return Ok(0);
        }
        self.read_converted(&mut out[..want * ch])
    }

    fn non_finite(&self, i: usize) -> AudioFileError {
        let ch = self.info.channels;
        AudioFileError::NonFinite {
            path: self.path.clone(),
            frame: self.frames_read + (i / ch) as u64,
            channel: i % ch,
        }
    }

    /// Read `out.len()` samples (whole frames, within the data) and convert them.
    fn read_converted<T: OutSample>(&mut self, out: &mut [T]) -> Result<usize, AudioFileError> {
        let n_bytes = out.len() * self.bytes_per_sample;
        let mut raw = std::mem::take(&mut self.raw);
        raw.resize(n_bytes, 0);
        let filled = self.fill(&mut raw[..n_bytes]);
        self.raw = raw;
        let n_bytes = filled?;
        let out = &mut out[..n_bytes / self.bytes_per_sample];
        let raw = &self.raw[..n_bytes];
        match (self.info.format, self.bytes_per_sample) {
            (SampleFormat::F32, _) => {
                for (o, b) in out.iter_mut().zip(raw.chunks_exact(4)) {
                    *o = T::from_f32(f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                }
                if let Some(i) = out.iter().position(|v| !v.finite()) {
                    return Err(self.non_finite(i));
                }
            }
            (SampleFormat::I8, _) => {
                for (o, &b) in out.iter_mut().zip(raw) {
                    *o = T::from_int(b as i32 - 128, 1.0 / 128.0);
                }
            }
            (SampleFormat::I16, _) => {
                for (o, b) in out.iter_mut().zip(raw.chunks_exact(2)) {
                    *o = T::from_int(i16::from_le_bytes([b[0], b[1]]) as i32, 1.0 / 32768.0);
                }
            }
            (SampleFormat::I24, 3) => {
                for (o, b) in out.iter_mut().zip(raw.chunks_exact(3)) {
                    let v = i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8;
                    *o = T::from_int(v, 1.0 / 8_388_608.0);
                }
            }
            (SampleFormat::I24, _) => {
                // 24 bits right-justified in 4 bytes (as hound reads them).
                for (o, b) in out.iter_mut().zip(raw.chunks_exact(4)) {
                    let v = i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8;
                    *o = T::from_int(v, 1.0 / 8_388_608.0);
                }
            }
            (SampleFormat::I32, _) => {
                for (o, b) in out.iter_mut().zip(raw.chunks_exact(4)) {
                    let v = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    *o = T::from_int(v, 1.0 / 2_147_483_648.0);
                }
            }
        }
        let frames = out.len() / self.info.channels;
        self.frames_read += frames as u64;
        Ok(frames)
    }
}

/// A sample type the reader decodes into.
trait OutSample: Copy {
    /// `v * scale`, with `scale` a power of two (exact in f64; in f32 for up to 24 bits).
    fn from_int(v: i32, scale: f64) -> Self;
    fn from_f32(v: f32) -> Self;
    fn finite(self) -> bool;
}

impl OutSample for f32 {
    #[inline(always)]
    fn from_int(v: i32, scale: f64) -> f32 {
        (v as f64 * scale) as f32
    }
    #[inline(always)]
    fn from_f32(v: f32) -> f32 {
        v
    }
    #[inline(always)]
    fn finite(self) -> bool {
        self.is_finite()
    }
}

impl OutSample for f64 {
    #[inline(always)]
    fn from_int(v: i32, scale: f64) -> f64 {
        v as f64 * scale
    }
    #[inline(always)]
    fn from_f32(v: f32) -> f64 {
        v as f64
    }
    #[inline(always)]
    fn finite(self) -> bool {
        self.is_finite()
    }
}

/// Index of the first NaN or infinity in `v`. Blocks of 64 are screened with a branch-free
/// test that vectorises (`x * 0` is 0 for finite `x`, NaN otherwise); only a block that
/// fails is searched.
fn first_non_finite(v: &[f32]) -> Option<usize> {
    let mut base = 0;
    for block in v.chunks(64) {
        let mut acc = [0f32; 8];
        let mut lanes = block.chunks_exact(8);
        for c in &mut lanes {
            for (a, &x) in acc.iter_mut().zip(c) {
                *a += x * 0.0;
            }
        }
        let tail: f32 = lanes.remainder().iter().map(|&x| x * 0.0).sum();
        if acc.iter().sum::<f32>() + tail != 0.0 {
            return block.iter().position(|x| !x.is_finite()).map(|i| base + i);
        }
        base += block.len();
    }
    None
}

/// The bytes of `v` in memory order, writable (every bit pattern is a valid f32).
fn f32_bytes_mut(v: &mut [f32]) -> &mut [u8] {
    // SAFETY: any initialised f32 is 4 initialised bytes; u8 has alignment 1; the length covers exactly the same memory;; every byte pattern written through the result is a valid
    // f32 (NaNs and infinities included), and the borrow of `v` is held for its lifetime.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_non_finite_finds_the_first_nan_or_infinity_anywhere() {
        let v: Vec<f32> = (0..300).map(|i| (i as f32 * 0.1).sin() * 1e30).collect();
        assert_eq!(first_non_finite(&v), None);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for at in [0, 7, 63, 64, 130, 299] {
                let mut w = v.clone();
                w[at] = bad;
                if at < 299 {
                    w[299] = f32::NAN; // a later one must not win
                }
                assert_eq!(first_non_finite(&w), Some(at), "{bad} at {at}");
            }
        }
    }

    #[test]
    fn reads_24_bit_in_4_byte_containers_as_hound_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 24,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new_with_spec_ex(
            std::io::BufWriter::new(File::create(&path).unwrap()),
            hound::WavSpecEx {
                spec,
                bytes_per_sample: 4,
            },
        )
        .unwrap();
        let vals = [-8_388_608, 8_388_607, -1, 1, 12345, -54321];
        for v in vals {
            w.write_sample(v).unwrap();
        }
        w.finalize().unwrap();
        let mut r = WavReader::open(&path).unwrap();
        let mut buf = [0f32; 6];
        assert_eq!(r.read_frames(&mut buf).unwrap(), 3);
        for (g, v) in buf.iter().zip(vals) {
            assert_eq!(*g as f64, v as f64 / 8_388_608.0);
        }
    }
}
