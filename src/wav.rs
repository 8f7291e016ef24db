//! WAV input and output, streaming in blocks.
//!
//! - [`WavReader`]: hound parses the header (every layout hound reads: 8/16/24/32-bit
//!   integer, 24-bit in 4-byte containers, 32-bit float, `WAVE_FORMAT_EXTENSIBLE`); the
//!   sample data is then decoded in bulk from the file, block by block, into interleaved
//!   `f32` in [-1, 1) (integers are scaled by `1 / 2^(bits-1)`). Float data is checked for
//!   NaN/Inf, and a data chunk shorter than its header says is reported as truncated.
//! - [`WavWriter`]: writes interleaved `f32` or already-quantised integer samples to any
//!   `Write + Seek`, and patches the RIFF sizes on [`WavWriter::finalize`]. Integer formats
//!   above 16 bits and files with more than two channels get a `WAVE_FORMAT_EXTENSIBLE`
//!   header, as the format's documentation asks.
//!
//! Every error names the file.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::WavError;

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

/// What a WAV file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavInfo {
    pub channels: usize,
    pub sample_rate_hz: u32,
    /// Frames the header announces.
    pub frames: u64,
    pub format: SampleFormat,
}

/// Streaming WAV reader: header by hound, samples decoded in bulk.
pub struct WavReader {
    path: PathBuf,
    info: WavInfo,
    file: BufReader<File>,
    data_start: u64,
    /// Bytes per sample in the file (may exceed `bits / 8`, e.g. 24 bits in 4 bytes).
    bytes_per_sample: usize,
    frames_read: u64,
    raw: Vec<u8>,
}

impl WavReader {
    /// Open `path` and read its header. Files announcing zero frames are an error.
    pub fn open(path: &Path) -> Result<WavReader, WavError> {
        let p = path.to_path_buf();
        let file = File::open(path).map_err(|source| WavError::Open {
            path: p.clone(),
            source,
        })?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(WavError::Malformed {
                path: p,
                reason: "is a directory".into(),
            });
        }
        let reader = hound::WavReader::new(BufReader::new(file)).map_err(|e| match e {
            hound::Error::Unsupported => WavError::Unsupported {
                path: p.clone(),
                reason: "the WAV encoding is not PCM integer or IEEE float".into(),
            },
            hound::Error::IoError(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
                WavError::Malformed {
                    path: p.clone(),
                    reason: "file ends inside the header".into(),
                }
            }
            other => WavError::Malformed {
                path: p.clone(),
                reason: other.to_string(),
            },
        })?;
        let spec = reader.spec();
        let samples = reader.len() as u64;
        let channels = spec.channels as usize;
        let mut file = reader.into_inner();
        let data_start = file.stream_position().map_err(|source| WavError::Open {
            path: p.clone(),
            source,
        })?;
        if channels == 0 {
            return Err(WavError::Malformed {
                path: p,
                reason: "header says 0 channels".into(),
            });
        }
        if samples == 0 {
            return Err(WavError::Empty { path: p });
        }
        // hound has checked that the data chunk length is a whole number of samples; read
        // it back to learn the container size (24-bit samples may use 4 bytes).
        let data_len = {
            file.seek(SeekFrom::Start(data_start - 4))
                .and_then(|_| {
                    let mut b = [0u8; 4];
                    file.read_exact(&mut b)
                        .map(|_| u32::from_le_bytes(b) as u64)
                })
                .map_err(|e| WavError::Malformed {
                    path: p.clone(),
                    reason: e.to_string(),
                })?
        };
        let bytes_per_sample = (data_len / samples) as usize;
        let format = match (spec.sample_format, spec.bits_per_sample, bytes_per_sample) {
            (hound::SampleFormat::Float, 32, 4) => SampleFormat::F32,
            (hound::SampleFormat::Int, 8, 1) => SampleFormat::I8,
            (hound::SampleFormat::Int, 16, 2) => SampleFormat::I16,
            (hound::SampleFormat::Int, 24, 3) | (hound::SampleFormat::Int, 24, 4) => {
                SampleFormat::I24
            }
            (hound::SampleFormat::Int, 32, 4) => SampleFormat::I32,
            (fmt, bits, bytes) => {
                return Err(WavError::Unsupported {
                    path: p,
                    reason: format!(
                        "{bits}-bit {} samples in {bytes}-byte containers",
                        if fmt == hound::SampleFormat::Float {
                            "float"
                        } else {
                            "integer"
                        }
                    ),
                })
            }
        };
        Ok(WavReader {
            path: p,
            info: WavInfo {
                channels,
                sample_rate_hz: spec.sample_rate,
                frames: samples / channels as u64,
                format,
            },
            file,
            data_start,
            bytes_per_sample,
            frames_read: 0,
            raw: Vec::new(),
        })
    }

    pub fn info(&self) -> WavInfo {
        self.info
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames not read yet.
    pub fn remaining_frames(&self) -> u64 {
        self.info.frames - self.frames_read
    }

    /// Move to frame `frame` (clamped to the end).
    pub fn seek_frame(&mut self, frame: u64) -> Result<(), WavError> {
        let frame = frame.min(self.info.frames);
        let pos = self.data_start + frame * (self.info.channels * self.bytes_per_sample) as u64;
        self.file
            .seek(SeekFrom::Start(pos))
            .map_err(|e| WavError::Truncated {
                path: self.path.clone(),
                frame,
                reason: e.to_string(),
            })?;
        self.frames_read = frame;
        Ok(())
    }

    /// Fill `buf` from the data chunk; the file ending first is a truncation error.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), WavError> {
        let ch = self.info.channels;
        let mut got = 0;
        while got < buf.len() {
            match self.file.read(&mut buf[got..]) {
                Ok(0) => {
                    let frame = self.frames_read + (got / (ch * self.bytes_per_sample)) as u64;
                    return Err(WavError::Truncated {
                        path: self.path.clone(),
                        frame,
                        reason: format!(
                            "the file ends but the header announces {} frames",
                            self.info.frames
                        ),
                    });
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(WavError::Truncated {
                        path: self.path.clone(),
                        frame: self.frames_read,
                        reason: e.to_string(),
                    })
                }
            }
        }
        Ok(())
    }

    /// Read up to `out.len() / channels` frames into `out` (interleaved). Returns the
    /// number of frames read: fewer than asked only at the end of the data, 0 after it.
    pub fn read_frames(&mut self, out: &mut [f32]) -> Result<usize, WavError> {
        let ch = self.info.channels;
        let want = ((out.len() / ch) as u64).min(self.remaining_frames()) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n_samples = want * ch;
        let n_bytes = n_samples * self.bytes_per_sample;
        if self.info.format == SampleFormat::F32 && cfg!(target_endian = "little") {
            // Little-endian IEEE floats are already what `out` holds: read them in place.
            let out = &mut out[..n_samples];
            self.fill(f32_bytes_mut(out))?;
            if let Some(i) = first_non_finite(out) {
                return Err(WavError::NonFinite {
                    path: self.path.clone(),
                    frame: self.frames_read + (i / ch) as u64,
                    channel: i % ch,
                });
            }
            self.frames_read += want as u64;
            return Ok(want);
        }
        let mut raw = std::mem::take(&mut self.raw);
        raw.resize(n_bytes, 0);
        let filled = self.fill(&mut raw[..n_bytes]);
        self.raw = raw;
        filled?;
        let out = &mut out[..n_samples];
        let raw = &self.raw[..n_bytes];
        match (self.info.format, self.bytes_per_sample) {
            (SampleFormat::F32, _) => {
                for (o, b) in out.iter_mut().zip(raw.chunks_exact(4)) {
                    *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
                if let Some(i) = first_non_finite(out) {
                    return Err(WavError::NonFinite {
                        path: self.path.clone(),
                        frame: self.frames_read + (i / ch) as u64,
                        channel: i % ch,
                    });
                }
            }
            (SampleFormat::I8, _) => {
                for (o, &b) in out.iter_mut().zip(raw) {
                    *o = (b as i32 - 128) as f32 * (1.0 / 128.0);
                }
            }
            (SampleFormat::I16, _) => {
                for (o, b) in out.iter_mut().zip(raw.chunks_exact(2)) {
                    *o = i16::from_le_bytes([b[0], b[1]]) as f32 * (1.0 / 32768.0);
                }
            }
            (SampleFormat::I24, 3) => {
                for (o, b) in out.iter_mut().zip(raw.chunks_exact(3)) {
                    let v = i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8;
                    *o = v as f32 * (1.0 / 8_388_608.0);
                }
            }
            (SampleFormat::I24, _) => {
                // 24 bits right-justified in 4 bytes (as hound reads them).
                for (o, b) in out.iter_mut().zip(raw.chunks_exact(4)) {
                    let v = i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8;
                    *o = v as f32 * (1.0 / 8_388_608.0);
                }
            }
            (SampleFormat::I32, _) => {
                for (o, b) in out.iter_mut().zip(raw.chunks_exact(4)) {
                    let v = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    *o = (v as f64 * (1.0 / 2_147_483_648.0)) as f32;
                }
            }
        }
        self.frames_read += want as u64;
        Ok(want)
    }
}

/// Largest data chunk a RIFF file can describe.
const MAX_DATA_BYTES: u64 = u32::MAX as u64 - 80;

/// Streaming WAV writer. Write samples with [`write_f32`](WavWriter::write_f32) (float
/// format) or [`write_int`](WavWriter::write_int) (integer formats, values already in
/// range), then [`finalize`](WavWriter::finalize).
pub struct WavWriter<W: Write + Seek> {
    inner: W,
    path: PathBuf,
    format: SampleFormat,
    channels: usize,
    /// Byte offset of the RIFF size field and of the data size field.
    data_size_pos: u64,
    data_bytes: u64,
    buf: Vec<u8>,
}

impl<W: Write + Seek> WavWriter<W> {
    /// Write the header to `inner`. `path` is only used in error messages.
    pub fn new(
        mut inner: W,
        path: &Path,
        channels: usize,
        sample_rate_hz: u32,
        format: SampleFormat,
    ) -> Result<WavWriter<W>, WavError> {
        let p = path.to_path_buf();
        if channels == 0 || channels > u16::MAX as usize {
            return Err(WavError::Write {
                path: p,
                reason: format!("cannot write {channels} channels"),
            });
        }
        let bits = format.bits();
        let bytes = format.container_bytes() as u16;
        let block_align = bytes * channels as u16;
        let extensible = channels > 2 || (!format.is_float() && bits > 16);
        let tag: u16 = if format.is_float() { 3 } else { 1 };
        let mut h: Vec<u8> = Vec::with_capacity(80);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&0u32.to_le_bytes()); // patched in finalize
        h.extend_from_slice(b"WAVE");
        h.extend_from_slice(b"fmt ");
        h.extend_from_slice(&(if extensible { 40u32 } else { 16 }).to_le_bytes());
        h.extend_from_slice(&(if extensible { 0xFFFEu16 } else { tag }).to_le_bytes());
        h.extend_from_slice(&(channels as u16).to_le_bytes());
        h.extend_from_slice(&sample_rate_hz.to_le_bytes());
        h.extend_from_slice(&(sample_rate_hz * block_align as u32).to_le_bytes());
        h.extend_from_slice(&block_align.to_le_bytes());
        h.extend_from_slice(&(bytes * 8).to_le_bytes());
        if extensible {
            let mask: u32 = match channels {
                1 => 0x4,
                2 => 0x3,
                4 => 0x33,
                6 => 0x3F,
                _ => 0,
            };
            h.extend_from_slice(&22u16.to_le_bytes());
            h.extend_from_slice(&bits.to_le_bytes());
            h.extend_from_slice(&mask.to_le_bytes());
            h.extend_from_slice(&(tag as u32).to_le_bytes());
            h.extend_from_slice(&[
                0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
            ]);
        }
        h.extend_from_slice(b"data");
        let data_size_pos = h.len() as u64;
        h.extend_from_slice(&0u32.to_le_bytes());
        inner.write_all(&h).map_err(|e| write_err(&p, e))?;
        Ok(WavWriter {
            inner,
            path: p,
            format,
            channels,
            data_size_pos,
            data_bytes: 0,
            buf: Vec::new(),
        })
    }

    pub fn format(&self) -> SampleFormat {
        self.format
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    fn push(&mut self) -> Result<(), WavError> {
        let buf = std::mem::take(&mut self.buf);
        let res = self.push_bytes(&buf);
        self.buf = buf;
        res
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), WavError> {
        self.data_bytes += bytes.len() as u64;
        if self.data_bytes > MAX_DATA_BYTES {
            return Err(WavError::Write {
                path: self.path.clone(),
                reason: "output exceeds the 4 GiB limit of the WAV format".into(),
            });
        }
        self.inner
            .write_all(bytes)
            .map_err(|e| write_err(&self.path, e))
    }

    /// Write interleaved float samples (format [`SampleFormat::F32`] only).
    pub fn write_f32(&mut self, samples: &[f32]) -> Result<(), WavError> {
        if self.format != SampleFormat::F32 {
            return Err(WavError::Write {
                path: self.path.clone(),
                reason: "float samples given to an integer writer".into(),
            });
        }
        if cfg!(target_endian = "little") {
            // The samples' bytes are the file's bytes: write them without a copy.
            return self.push_bytes(f32_bytes(samples));
        }
        self.buf.resize(samples.len() * 4, 0);
        for (b, v) in self.buf.chunks_exact_mut(4).zip(samples) {
            b.copy_from_slice(&v.to_le_bytes());
        }
        self.push()
    }

    /// Write interleaved integer samples, each already within the format's range
    /// (e.g. -32768..=32767 for 16 bits).
    pub fn write_int(&mut self, samples: &[i32]) -> Result<(), WavError> {
        self.buf.clear();
        match self.format {
            SampleFormat::I8 => self
                .buf
                .extend(samples.iter().map(|&v| (v + 128).clamp(0, 255) as u8)),
            SampleFormat::I16 => {
                for &v in samples {
                    self.buf.extend_from_slice(&(v as i16).to_le_bytes());
                }
            }
            SampleFormat::I24 => {
                for &v in samples {
                    self.buf.extend_from_slice(&v.to_le_bytes()[..3]);
                }
            }
            SampleFormat::I32 => {
                for &v in samples {
                    self.buf.extend_from_slice(&v.to_le_bytes());
                }
            }
            SampleFormat::F32 => {
                return Err(WavError::Write {
                    path: self.path.clone(),
                    reason: "integer samples given to a float writer".into(),
                })
            }
        }
        self.push()
    }

    /// Patch the sizes in the header, flush, and give back the inner writer.
    pub fn finalize(mut self) -> Result<W, WavError> {
        let p = self.path.clone();
        let riff = (self.data_size_pos + 4 + self.data_bytes - 8) as u32;
        let res: std::io::Result<()> = (|| {
            if self.data_bytes % 2 == 1 {
                self.inner.write_all(&[0])?; // RIFF chunks are word aligned
            }
            let end = self.inner.stream_position()?;
            self.inner.seek(SeekFrom::Start(4))?;
            self.inner.write_all(&riff.to_le_bytes())?;
            self.inner.seek(SeekFrom::Start(self.data_size_pos))?;
            self.inner
                .write_all(&(self.data_bytes as u32).to_le_bytes())?;
            self.inner.seek(SeekFrom::Start(end))?;
            self.inner.flush()
        })();
        res.map_err(|e| write_err(&p, e))?;
        Ok(self.inner)
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

/// The bytes of `v` in memory order (the WAV byte order on little-endian machines).
fn f32_bytes(v: &[f32]) -> &[u8] {
    // SAFETY: any initialised f32 is 4 initialised bytes; u8 has alignment 1; the length
    // covers exactly the same memory.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// The bytes of `v` in memory order, writable (every bit pattern is a valid f32).
fn f32_bytes_mut(v: &mut [f32]) -> &mut [u8] {
    // SAFETY: as for `f32_bytes`; every byte pattern written through the result is a valid
    // f32 (NaNs and infinities included), and the borrow of `v` is held for its lifetime.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

fn write_err(path: &Path, e: std::io::Error) -> WavError {
    WavError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(format: SampleFormat, channels: usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wav");
        let frames = 37;
        let full = match format {
            SampleFormat::I8 => 127,
            SampleFormat::I16 => 32767,
            SampleFormat::I24 => 8_388_607,
            SampleFormat::I32 => i32::MAX,
            SampleFormat::F32 => 0,
        };
        let ints: Vec<i32> = (0..frames * channels)
            .map(|i| ((i as i64 * 7919 % 201 - 100) * full as i64 / 100) as i32)
            .collect();
        let floats: Vec<f32> = (0..frames * channels)
            .map(|i| (i as f32 * 0.37).sin())
            .collect();
        let f = File::create(&path).unwrap();
        let mut w =
            WavWriter::new(std::io::BufWriter::new(f), &path, channels, 44_100, format).unwrap();
        if format.is_float() {
            w.write_f32(&floats).unwrap();
        } else {
            w.write_int(&ints).unwrap();
        }
        w.finalize().unwrap();
        // hound reads what we wrote, sample for sample.
        let mut h = hound::WavReader::open(&path).unwrap();
        assert_eq!(h.spec().channels as usize, channels);
        assert_eq!(h.spec().bits_per_sample, format.bits());
        if format.is_float() {
            let got: Vec<f32> = h.samples::<f32>().map(|s| s.unwrap()).collect();
            assert_eq!(got, floats);
        } else {
            let got: Vec<i32> = h.samples::<i32>().map(|s| s.unwrap()).collect();
            assert_eq!(got, ints);
        }
        // And our reader gives the same values scaled by 2^-(bits-1).
        let mut r = WavReader::open(&path).unwrap();
        assert_eq!(r.info().frames, frames as u64);
        assert_eq!(r.info().format, format);
        let mut buf = vec![0f32; frames * channels + 5];
        let n = r.read_frames(&mut buf).unwrap();
        assert_eq!(n, frames);
        for i in 0..frames * channels {
            let want = if format.is_float() {
                floats[i] as f64
            } else {
                ints[i] as f64 / 2f64.powi(format.bits() as i32 - 1)
            };
            assert!(
                (buf[i] as f64 - want).abs() <= want.abs() * 1e-7,
                "{format:?} {i}"
            );
        }
        assert_eq!(r.read_frames(&mut buf).unwrap(), 0);
    }

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
    fn every_format_round_trips_through_hound() {
        for f in [
            SampleFormat::I8,
            SampleFormat::I16,
            SampleFormat::I24,
            SampleFormat::I32,
            SampleFormat::F32,
        ] {
            for ch in [1, 2, 3] {
                roundtrip(f, ch);
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
