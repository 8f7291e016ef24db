//! The WAV header parser: RIFF, RF64 and BW64 files, read front to back without seeking
//! (so that a pipe works as well as a file).
//!
//! Accepted layouts: any chunk order before `data` (unknown chunks are skipped with their
//! pad byte when their size is odd), `fmt ` chunks of 16, 18, 20 or 40 bytes (anything
//! from 16 up), `WAVE_FORMAT_PCM` (1), `WAVE_FORMAT_IEEE_FLOAT` (3) and
//! `WAVE_FORMAT_EXTENSIBLE` with a PCM or float sub-format, RF64/BW64 sizes from the `ds64`
//! chunk. A data size of 0 or 0xFFFFFFFF (what sox and ffmpeg write when the length is
//! unknown, e.g. to a pipe) means "to the end of the file".

use std::io::Read;
use std::path::Path;

use super::{AudioFileError, SampleFormat};

/// What the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WavHeader {
    pub(super) channels: usize,
    pub(super) sample_rate_hz: u32,
    pub(super) format: SampleFormat,
    /// Bytes per sample in the file (24-bit samples may sit in 4 bytes).
    pub(super) bytes_per_sample: usize,
    /// Byte offset of the first sample.
    pub(super) data_start: u64,
    /// Length of the sample data in bytes; `None`: up to the end of the file.
    pub(super) data_len: Option<u64>,
}

/// Most channels a file may have (the WAV format's mask covers 18 speakers; 64 leaves room
/// for ambisonics and multitrack while refusing nonsense before any allocation).
pub const MAX_CHANNELS: usize = 64;
/// Highest sample rate accepted, in Hz.
pub const MAX_RATE_HZ: u32 = 768_000;

struct Counting<'a, R: Read> {
    inner: &'a mut R,
    pos: u64,
}

impl<R: Read> Counting<'_, R> {
    fn exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        self.inner.read_exact(buf)?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        let got = std::io::copy(&mut (&mut *self.inner).take(n), &mut std::io::sink())?;
        self.pos += got;
        if got < n {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

fn u16le(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}
fn u32le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}
fn u64le(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// Does `magic` (the first 12 bytes of a file) start a WAV file?
pub(super) fn is_wav(magic: &[u8]) -> bool {
    magic.len() >= 12
        && matches!(&magic[..4], b"RIFF" | b"RF64" | b"BW64")
        && &magic[8..12] == b"WAVE"
}

/// Parse the header from `r`, leaving it at the first sample.
pub(super) fn parse<R: Read>(r: &mut R, path: &Path) -> Result<WavHeader, AudioFileError> {
    let malformed = |reason: String| AudioFileError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    let io = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            malformed("file ends inside the header".into())
        } else {
            AudioFileError::Open {
                path: path.to_path_buf(),
                source: e,
            }
        }
    };
    let mut c = Counting { inner: r, pos: 0 };
    let mut head = [0u8; 12];
    c.exact(&mut head).map_err(io)?;
    if !is_wav(&head) {
        return Err(malformed("no RIFF/RF64 WAVE header".into()));
    }
    let rf64 = &head[..4] != b"RIFF";
    let mut ds64_data: Option<u64> = None;
    // (tag, channels, rate, block_align, bits, valid bits)
    let mut fmt: Option<(u16, u16, u32, u16, u16, u16)> = None;
    loop {
        let mut ch = [0u8; 8];
        c.exact(&mut ch).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                malformed("no data chunk".into())
            } else {
                io(e)
            }
        })?;
        let id = [ch[0], ch[1], ch[2], ch[3]];
        let size = u32le(&ch[4..]) as u64;
        match &id {
            b"ds64" => {
                if !(24..=1 << 16).contains(&size) {
                    return Err(malformed(format!("ds64 chunk of {size} bytes")));
                }
                let mut b = vec![0u8; size as usize];
                c.exact(&mut b).map_err(io)?;
                ds64_data = Some(u64le(&b[8..16]));
                if size % 2 == 1 {
                    c.skip(1).map_err(io)?;
                }
            }
            b"fmt " => {
                if !(16..=1 << 16).contains(&size) {
                    return Err(malformed(format!("fmt chunk of {size} bytes")));
                }
                let mut b = vec![0u8; size as usize];
                c.exact(&mut b).map_err(io)?;
                if size % 2 == 1 {
                    c.skip(1).map_err(io)?;
                }
                let mut tag = u16le(&b[0..]);
                let bits = u16le(&b[14..]);
                let mut valid = bits;
                if tag == 0xFFFE {
                    if size < 40 {
                        return Err(malformed(format!(
                            "WAVE_FORMAT_EXTENSIBLE fmt chunk of {size} bytes (needs 40)"
                        )));
                    }
                    valid = u16le(&b[18..]);
                    if valid == 0 {
                        valid = bits;
                    }
                    // The sub-format GUID starts with the format tag.
                    tag = u16le(&b[24..]);
                }
                fmt = Some((
                    tag,
                    u16le(&b[2..]),
                    u32le(&b[4..]),
                    u16le(&b[12..]),
                    bits,
                    valid,
                ));
            }
            b"data" => {
                let Some((tag, channels, rate, block_align, bits, valid)) = fmt else {
                    return Err(malformed("data chunk before the fmt chunk".into()));
                };
                let data_len = if rf64 && size == 0xFFFF_FFFF {
                    ds64_data
                } else if size == 0 || size == 0xFFFF_FFFF {
                    None
                } else {
                    Some(size)
                };
                let channels = channels as usize;
                if channels == 0 {
                    return Err(malformed("header says 0 channels".into()));
                }
                if channels > MAX_CHANNELS {
                    return Err(AudioFileError::Unsupported {
                        path: path.to_path_buf(),
                        reason: format!(
                            "{channels} channels (at most {MAX_CHANNELS} are supported)"
                        ),
                    });
                }
                if rate == 0 || rate > MAX_RATE_HZ {
                    return Err(AudioFileError::Unsupported {
                        path: path.to_path_buf(),
                        reason: format!(
                            "sample rate {rate} Hz (supported: 1 Hz to {MAX_RATE_HZ} Hz)"
                        ),
                    });
                }
                if block_align as usize % channels != 0 || block_align == 0 {
                    return Err(malformed(format!(
                        "block align {block_align} is not a whole number of bytes per channel for {channels} channels"
                    )));
                }
                let bytes = block_align as usize / channels;
                let unsupported = |reason: String| AudioFileError::Unsupported {
                    path: path.to_path_buf(),
                    reason,
                };
                let format = match (tag, valid, bytes) {
                    (3, 32, 4) => SampleFormat::F32,
                    (1, 1..=8, 1) => SampleFormat::I8,
                    (1, 9..=16, 2) => SampleFormat::I16,
                    (1, 17..=24, 3) | (1, 17..=24, 4) => SampleFormat::I24,
                    (1, 25..=32, 4) => SampleFormat::I32,
                    (1 | 3, _, _) => {
                        return Err(unsupported(format!(
                            "{} samples of {valid} bits in {bytes}-byte containers",
                            if tag == 3 { "float" } else { "integer" },
                        )))
                    }
                    _ => {
                        return Err(unsupported(format!(
                        "the WAV encoding (format tag {tag:#06x}) is not PCM integer or IEEE float"
                    )))
                    }
                };
                let _ = bits;
                return Ok(WavHeader {
                    channels,
                    sample_rate_hz: rate,
                    format,
                    bytes_per_sample: bytes,
                    data_start: c.pos,
                    data_len,
                });
            }
            _ => c.skip(size + size % 2).map_err(io)?,
        }
    }
}
