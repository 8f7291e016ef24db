//! The WAV writer: interleaved `f32` or already-quantised integer samples to any
//! `Write + Seek`, RIFF sizes patched on [`WavWriter::finalize`]. Integer formats above 16
//! bits and files with more than two channels get a `WAVE_FORMAT_EXTENSIBLE` header, as the
//! format's documentation asks.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{AudioFileError, SampleFormat};

/// Largest data chunk a RIFF file can describe.
const MAX_DATA_BYTES: u64 = u32::MAX as u64 - 80;

/// Refuse, before anything is written, an output of `frames` frames of `channels` x
/// `format` that is larger than a RIFF data chunk can describe.
pub fn check_wav_data_fits(
    path: &Path,
    frames: u64,
    channels: usize,
    format: SampleFormat,
) -> Result<(), AudioFileError> {
    let bytes = frames as u128 * channels as u128 * format.container_bytes() as u128;
    if bytes > MAX_DATA_BYTES as u128 {
        return Err(AudioFileError::Write {
            path: path.to_path_buf(),
            reason: format!(
                "{frames} frames x {channels} channel(s) of {format} is {bytes} bytes, more \
                 than the 4 GiB limit of the WAV format (nothing written; shorten the input \
                 or choose a smaller --format)"
            ),
        });
    }
    Ok(())
}

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
    ) -> Result<WavWriter<W>, AudioFileError> {
        let p = path.to_path_buf();
        if channels == 0 || channels > u16::MAX as usize {
            return Err(AudioFileError::Write {
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

    fn push(&mut self) -> Result<(), AudioFileError> {
        let buf = std::mem::take(&mut self.buf);
        let res = self.push_bytes(&buf);
        self.buf = buf;
        res
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), AudioFileError> {
        self.data_bytes += bytes.len() as u64;
        if self.data_bytes > MAX_DATA_BYTES {
            return Err(AudioFileError::Write {
                path: self.path.clone(),
                reason: "output exceeds the 4 GiB limit of the WAV format".into(),
            });
        }
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

    /// Patch the sizes in the header, flush, and give back the inner writer.
    pub fn finalize(mut self) -> Result<W, AudioFileError> {
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
}
