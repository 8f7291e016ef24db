//! The WAV writer: interleaved `f32` or already-quantised integer samples to any
//! `Write + Seek`, RIFF sizes patched on [`WavWriter::finalize`]. Integer formats above 16
//! bits and files with more than two channels get a `WAVE_FORMAT_EXTENSIBLE` header, as the
//! format's documentation asks.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{AudioFileError, SampleFormat, MAX_CHANNELS, MAX_RATE_HZ};

/// Largest RIFF size field a plain WAV file can hold; past it the file becomes RF64.
const MAX_RIFF_BYTES: u64 = u32::MAX as u64;

/// Bytes of the `JUNK` chunk reserved after `WAVE` (8 + 28), which becomes the `ds64`
/// chunk when the file outgrows the RIFF sizes.
const DS64_BYTES: usize = 36;

/// Streaming WAV writer. Write samples with [`write_f32`](WavWriter::write_f32) (float
/// format) or [`write_int`](WavWriter::write_int) (integer formats, values already in
/// range), then [`finalize`](WavWriter::finalize). A file past 4 GiB is finalised as RF64
/// (EBU Tech 3306), with the sizes in its `ds64` chunk.
pub struct WavWriter<W: Write + Seek> {
    inner: W,
    path: PathBuf,
    format: SampleFormat,
    channels: usize,
    /// Byte offset of the data size field.
    data_size_pos: u64,
    data_bytes: u64,
    /// Patch the sizes on finalize (false for a stream, whose sizes stay "unknown").
    patch: bool,
    buf: Vec<u8>,
}

impl<W: Write + Seek> WavWriter<W> {
    /// Write the header to `inner`. `path` is only used in error messages. A `stream`
    /// cannot seek back (standard output): its RIFF and data sizes are 0xFFFFFFFF,
    /// "unknown", as ffmpeg writes to a pipe, readers read to the end, and `inner` is never
    /// sought; otherwise the sizes are patched on [`finalize`](Self::finalize).
    pub fn new(
        mut inner: W,
        path: &Path,
        channels: usize,
        sample_rate_hz: u32,
        format: SampleFormat,
        stream: bool,
    ) -> Result<WavWriter<W>, AudioFileError> {
        let patch = !stream;
        let p = path.to_path_buf();
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(AudioFileError::Write {
                path: p,
                reason: format!(
                    "cannot write {channels} channels (1 to {MAX_CHANNELS} are supported)"
                ),
            });
        }
        if sample_rate_hz == 0 || sample_rate_hz > MAX_RATE_HZ {
            return Err(AudioFileError::Write {
                path: p,
                reason: format!(
                    "cannot write a sample rate of {sample_rate_hz} Hz (1 Hz to {MAX_RATE_HZ} Hz are supported)"
                ),
            });
        }
        let bits = format.bits();
        let bytes = format.container_bytes() as u16;
        // At most 64 channels of 4 bytes at 768 kHz: every field below fits its width.
        let block_align = bytes * channels as u16;
        let byte_rate = sample_rate_hz
            .checked_mul(block_align as u32)
            .expect("bounded by MAX_RATE_HZ and MAX_CHANNELS");
        let extensible = channels > 2 || (!format.is_float() && bits > 16);
        let tag: u16 = if format.is_float() { 3 } else { 1 };
        let unknown = if patch { 0u32 } else { u32::MAX };
        let mut h: Vec<u8> = Vec::with_capacity(120);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&unknown.to_le_bytes()); // patched in finalize
        h.extend_from_slice(b"WAVE");
        if patch {
            // Room for a ds64 chunk, should the file grow past 4 GiB.
            h.extend_from_slice(b"JUNK");
            h.extend_from_slice(&((DS64_BYTES - 8) as u32).to_le_bytes());
            h.extend_from_slice(&[0u8; DS64_BYTES - 8]);
        }
        h.extend_from_slice(b"fmt ");
        h.extend_from_slice(&(if extensible { 40u32 } else { 16 }).to_le_bytes());
        h.extend_from_slice(&(if extensible { 0xFFFEu16 } else { tag }).to_le_bytes());
        h.extend_from_slice(&(channels as u16).to_le_bytes());
        h.extend_from_slice(&sample_rate_hz.to_le_bytes());
        h.extend_from_slice(&byte_rate.to_le_bytes());
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
        h.extend_from_slice(&unknown.to_le_bytes());
        inner.write_all(&h).map_err(|e| write_err(&p, e))?;
        Ok(WavWriter {
            inner,
            path: p,
            format,
            channels,
            data_size_pos,
            data_bytes: 0,
            patch,
            buf: Vec::new(),
        })
    }

    pub fn format(&self) -> SampleFormat {
        self.format
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    fn push(&mut self) -> Result<(), AudioFileError> {
        let buf = std::mem::take(&mut self.buf);
        let res = self.push_bytes(&buf);
        self.buf = buf;
        res
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), AudioFileError> {
        self.data_bytes += bytes.len() as u64;
        self.inner
            .write_all(bytes)
            .map_err(|e| write_err(&self.path, e))
    }

    /// Write interleaved float samples (format [`SampleFormat::F32`] only).
    pub fn write_f32(&mut self, samples: &[f32]) -> Result<(), AudioFileError> {
        if self.format != SampleFormat::F32 {
            return Err(AudioFileError::Write {
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
    pub fn write_int(&mut self, samples: &[i32]) -> Result<(), AudioFileError> {
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
                return Err(AudioFileError::Write {
                    path: self.path.clone(),
                    reason: "integer samples given to a float writer".into(),
                })
            }
        }
        self.push()
    }

    /// Patch the sizes in the header (RF64 past 4 GiB), flush, and give back the inner
    /// writer. The RIFF size counts the pad byte of an odd-sized data chunk.
    pub fn finalize(mut self) -> Result<W, AudioFileError> {
        let p = self.path.clone();
        let pad = self.data_bytes % 2;
        let riff = self.data_size_pos + 4 + self.data_bytes + pad - 8;
        let frames = self.data_bytes / (self.channels * self.format.container_bytes()) as u64;
        let res: std::io::Result<()> = (|| {
            if pad == 1 {
                self.inner.write_all(&[0])?; // RIFF chunks are word aligned
            }
            if self.patch {
                let end = self.inner.stream_position()?;
                let (riff32, data32) = if riff <= MAX_RIFF_BYTES {
                    (riff as u32, self.data_bytes as u32)
                } else {
                    // RF64: the JUNK chunk becomes ds64 with the 64-bit sizes.
                    self.inner.seek(SeekFrom::Start(0))?;
                    self.inner.write_all(b"RF64")?;
                    self.inner.seek(SeekFrom::Start(12))?;
                    let mut ds64 = Vec::with_capacity(DS64_BYTES);
                    ds64.extend_from_slice(b"ds64");
                    ds64.extend_from_slice(&((DS64_BYTES - 8) as u32).to_le_bytes());
                    ds64.extend_from_slice(&riff.to_le_bytes());
                    ds64.extend_from_slice(&self.data_bytes.to_le_bytes());
                    ds64.extend_from_slice(&frames.to_le_bytes());
                    ds64.extend_from_slice(&0u32.to_le_bytes()); // no table entries
                    self.inner.write_all(&ds64)?;
                    (u32::MAX, u32::MAX)
                };
                self.inner.seek(SeekFrom::Start(4))?;
                self.inner.write_all(&riff32.to_le_bytes())?;
                self.inner.seek(SeekFrom::Start(self.data_size_pos))?;
                self.inner.write_all(&data32.to_le_bytes())?;
                self.inner.seek(SeekFrom::Start(end))?;
            }
            self.inner.flush()
        })();
        res.map_err(|e| write_err(&p, e))?;
        Ok(self.inner)
    }
}

/// The bytes of `v` in memory order (the WAV byte order on little-endian machines).
fn f32_bytes(v: &[f32]) -> &[u8] {
    // SAFETY: any initialised f32 is 4 initialised bytes; u8 has alignment 1; the length
    // covers exactly the same memory.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

fn write_err(path: &Path, e: std::io::Error) -> AudioFileError {
    AudioFileError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio_file::WavReader;
    use std::fs::File;

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
        let mut w = WavWriter::new(
            std::io::BufWriter::new(f),
            &path,
            channels,
            44_100,
            format,
            false,
        )
        .unwrap();
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
        assert_eq!(r.info().frames, Some(frames as u64));
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

    /// Keeps the first bytes written and counts the rest, so that a file of several GiB can
    /// be "written" in a test.
    struct Sparse {
        head: Vec<u8>,
        pos: u64,
        len: u64,
    }

    impl Write for Sparse {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            for (i, &b) in buf.iter().enumerate() {
                let at = self.pos as usize + i;
                if at < 256 {
                    if self.head.len() <= at {
                        self.head.resize(at + 1, 0);
                    }
                    self.head[at] = b;
                } else {
                    break;
                }
            }
            self.pos += buf.len() as u64;
            self.len = self.len.max(self.pos);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Seek for Sparse {
        fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
            self.pos = match to {
                SeekFrom::Start(p) => p,
                SeekFrom::End(d) => (self.len as i64 + d) as u64,
                SeekFrom::Current(d) => (self.pos as i64 + d) as u64,
            };
            Ok(self.pos)
        }
    }

    fn sparse() -> Sparse {
        Sparse {
            head: Vec::new(),
            pos: 0,
            len: 0,
        }
    }

    #[test]
    fn past_4_gib_the_file_becomes_rf64_with_its_sizes_in_ds64() {
        let p = Path::new("big.wav");
        let mut w = WavWriter::new(sparse(), p, 2, 48_000, SampleFormat::F32, false).unwrap();
        let block = vec![0.25f32; 1 << 20]; // 4 MiB
        let blocks = 1025u64; // 4100 MiB of data
        for _ in 0..blocks {
            w.write_f32(&block).unwrap();
        }
        let out = w.finalize().unwrap();
        let data_bytes = blocks * (1 << 22);
        let h = &out.head;
        assert_eq!(&h[0..4], b"RF64");
        assert_eq!(u32::from_le_bytes(h[4..8].try_into().unwrap()), u32::MAX);
        assert_eq!(&h[12..16], b"ds64");
        let u64at = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().unwrap());
        assert_eq!(u64at(20), out.len - 8, "RIFF size");
        assert_eq!(u64at(28), data_bytes, "data size");
        assert_eq!(u64at(36), data_bytes / 8, "frames");
        // And the reader's header parser takes these sizes.
        let parsed =
            super::super::wav_header::parse(&mut std::io::Cursor::new(h.clone()), p).unwrap();
        assert_eq!(parsed.data_len, Some(data_bytes));
        assert_eq!(parsed.data_start, out.len - data_bytes);
    }

    #[test]
    fn header_arithmetic_is_checked_before_anything_is_written() {
        let p = Path::new("x.wav");
        for (ch, rate) in [
            (0, 48_000),
            (65, 48_000),
            (65_535, 48_000),
            (2, 0),
            (2, 768_001),
            (1, 4_000_000_000),
        ] {
            let e = WavWriter::new(sparse(), p, ch, rate, SampleFormat::F32, false)
                .err()
                .unwrap_or_else(|| panic!("{ch} ch at {rate} Hz accepted"));
            assert!(e.to_string().starts_with("x.wav: cannot write"), "{e}");
        }
        for (ch, rate) in [(1, 1), (64, 768_000)] {
            let w = WavWriter::new(sparse(), p, ch, rate, SampleFormat::I32, false).unwrap();
            let h = w.finalize().unwrap().head;
            let parsed = super::super::wav_header::parse(&mut std::io::Cursor::new(h.clone()), p);
            // An empty data chunk: the header itself is consistent.
            let parsed = parsed.unwrap();
            assert_eq!((parsed.channels, parsed.sample_rate_hz), (ch, rate));
        }
    }

    #[test]
    fn an_odd_data_chunk_is_padded_and_the_riff_size_counts_the_pad() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd.wav");
        let f = File::create(&path).unwrap();
        let mut w = WavWriter::new(
            std::io::BufWriter::new(f),
            &path,
            1,
            8000,
            SampleFormat::I8,
            false,
        )
        .unwrap();
        w.write_int(&[1, -1, 5]).unwrap();
        w.finalize().unwrap();
        let b = std::fs::read(&path).unwrap();
        assert_eq!(b.len() % 2, 0);
        assert_eq!(
            u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize,
            b.len() - 8
        );
        let mut r = WavReader::open(&path).unwrap();
        let mut out = [0f32; 4];
        assert_eq!(r.read_frames(&mut out).unwrap(), 3);
        assert_eq!(&out[..3], &[1.0 / 128.0, -1.0 / 128.0, 5.0 / 128.0]);
    }
}
