//! The FLAC writer: already-quantised integer samples (8, 16 or 24 bits) to any
//! `Write + Seek`, encoded block by block with the pure-Rust `flacenc` encoder (constant
//! memory whatever the length). The `STREAMINFO` block (total frames, frame sizes, MD5 of
//! the samples) is written as a placeholder first and patched on
//! [`FlacWriter::finalize`], as the reference encoder does.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use flacenc::bitsink::MemSink;
use flacenc::component::{BitRepr, Stream, StreamInfo};
use flacenc::config::Encoder;
use flacenc::error::{Verified, Verify};
use flacenc::source::{Context, Fill, FrameBuf};

use super::{AudioFileError, SampleFormat};

/// Frames per FLAC block (the reference encoder's default at 44.1/48 kHz).
const BLOCK_FRAMES: usize = 4096;

/// Channels a FLAC stream holds.
pub const FLAC_MAX_CHANNELS: usize = 8;

/// Highest sample rate the encoder writes.
pub const FLAC_MAX_RATE_HZ: u32 = 96_000;

/// Bytes of `fLaC` and the `STREAMINFO` block (header 4 + body 34).
const HEADER_BYTES: usize = 42;

/// Is `format` a sample format a FLAC file can hold?
pub fn flac_holds(format: SampleFormat) -> bool {
    matches!(
        format,
        SampleFormat::I8 | SampleFormat::I16 | SampleFormat::I24
    )
}

/// Streaming FLAC writer. Write integer samples already in the format's range with
/// [`write_int`](FlacWriter::write_int), then [`finalize`](FlacWriter::finalize).
pub struct FlacWriter<W: Write + Seek> {
    inner: W,
    path: PathBuf,
    format: SampleFormat,
    channels: usize,
    config: Verified<Encoder>,
    info: StreamInfo,
    frame_buf: FrameBuf,
    context: Context,
    /// Interleaved samples of a block not yet full.
    pending: Vec<i32>,
    sink: MemSink<u8>,
    frame_bytes: Option<(usize, usize)>,
}

impl<W: Write + Seek> FlacWriter<W> {
    /// Check the layout and write the header to `inner`. `path` is only used in messages.
    pub fn new(
        mut inner: W,
        path: &Path,
        channels: usize,
        sample_rate_hz: u32,
        format: SampleFormat,
    ) -> Result<FlacWriter<W>, AudioFileError> {
        let fail = |reason: String| AudioFileError::Write {
            path: path.to_path_buf(),
            reason,
        };
        if !flac_holds(format) {
            return Err(fail(format!(
                "FLAC holds 16- or 24-bit integer samples, not {format}; use --format i16 or \
                 i24, or write a .wav"
            )));
        }
        if channels == 0 || channels > FLAC_MAX_CHANNELS {
            return Err(fail(format!(
                "FLAC holds 1 to {FLAC_MAX_CHANNELS} channels, not {channels}; write a .wav"
            )));
        }
        if sample_rate_hz == 0 || sample_rate_hz > FLAC_MAX_RATE_HZ {
            return Err(fail(format!(
                "FLAC at {sample_rate_hz} Hz is beyond the encoder (1 Hz to \
                 {FLAC_MAX_RATE_HZ} Hz); write a .wav"
            )));
        }
        let bits = format.bits() as usize;
        let info = StreamInfo::new(sample_rate_hz as usize, channels, bits)
            .map_err(|e| fail(format!("FLAC stream: {e}")))?;
        let mut config = Encoder::default();
        config.block_size = BLOCK_FRAMES;
        config.multithread = false;
        let config = config
            .into_verified()
            .map_err(|(_, e)| fail(format!("FLAC encoder: {e}")))?;
        let frame_buf = FrameBuf::with_size(channels, BLOCK_FRAMES)
            .map_err(|e| fail(format!("FLAC encoder: {e}")))?;
        let header = header_bytes(&info, path)?;
        inner.write_all(&header).map_err(|e| fail(e.to_string()))?;
        Ok(FlacWriter {
            inner,
            path: path.to_path_buf(),
            format,
            channels,
            config,
            info,
            frame_buf,
            context: Context::new(bits, channels),
            pending: Vec::with_capacity(BLOCK_FRAMES * channels),
            sink: MemSink::new(),
            frame_bytes: None,
        })
    }

    pub fn format(&self) -> SampleFormat {
        self.format
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    fn fail(&self, reason: String) -> AudioFileError {
        AudioFileError::Write {
            path: self.path.clone(),
            reason,
        }
    }

    /// Encode one block (at most [`BLOCK_FRAMES`] frames, interleaved) and write it.
    fn encode_block(&mut self, block: &[i32]) -> Result<(), AudioFileError> {
        let fill = (&mut self.frame_buf, &mut self.context).fill_interleaved(block);
        fill.map_err(|e| self.fail(format!("FLAC encoder: {e}")))?;
        let number = self.context.current_frame_number().unwrap_or(0);
        let frame =
            flacenc::encode_fixed_size_frame(&self.config, &self.frame_buf, number, &self.info)
                .map_err(|e| self.fail(format!("FLAC encoder: {e}")))?;
        self.sink.clear();
        frame
            .write(&mut self.sink)
            .map_err(|e| self.fail(format!("FLAC encoder: {e}")))?;
        let bytes = self.sink.as_slice();
        let n = bytes.len();
        self.frame_bytes = Some(match self.frame_bytes {
            None => (n, n),
            Some((lo, hi)) => (lo.min(n), hi.max(n)),
        });
        let res = self.inner.write_all(bytes);
        res.map_err(|e| self.fail(e.to_string()))
    }

    /// Float samples cannot go into FLAC: an error (the constructor refuses float formats,
    /// so only a caller's mistake gets here).
    pub fn write_f32(&mut self, _samples: &[f32]) -> Result<(), AudioFileError> {
        Err(self.fail("float samples given to a FLAC writer (FLAC holds integers)".into()))
    }

    /// Write interleaved integer samples, each already within the format's range
    /// (e.g. -32768..=32767 for 16 bits).
    pub fn write_int(&mut self, samples: &[i32]) -> Result<(), AudioFileError> {
        let block = BLOCK_FRAMES * self.channels;
        let mut rest = samples;
        if !self.pending.is_empty() {
            let take = (block - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() < block {
                return Ok(());
            }
            let full = std::mem::take(&mut self.pending);
            let res = self.encode_block(&full);
            self.pending = full;
            self.pending.clear();
            res?;
        }
        let mut chunks = rest.chunks_exact(block);
        for c in &mut chunks {
            self.encode_block(c)?;
        }
        self.pending.extend_from_slice(chunks.remainder());
        Ok(())
    }

    /// Encode what is left, patch `STREAMINFO` (total frames, frame sizes, MD5), flush,
    /// and give back the inner writer.
    pub fn finalize(mut self) -> Result<W, AudioFileError> {
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.encode_block(&last)?;
        }
        let frames = self.context.total_samples() as u64;
        let info = &mut self.info;
        let set = (|| {
            info.set_block_sizes(BLOCK_FRAMES, BLOCK_FRAMES)?;
            let (lo, hi) = self.frame_bytes.unwrap_or((0, 0));
            info.set_frame_sizes(lo, hi)
        })();
        set.map_err(|e| self.fail(format!("FLAC stream: {e}")))?;
        // 36 bits of frame count; 0 says "unknown" to a reader when a stream is longer.
        self.info
            .set_total_samples(if frames < 1 << 36 { frames as usize } else { 0 });
        self.info.set_md5_digest(&self.context.md5_digest());
        let header = header_bytes(&self.info, &self.path)?;
        let res: std::io::Result<()> = (|| {
            let end = self.inner.stream_position()?;
            self.inner.seek(SeekFrom::Start(0))?;
            self.inner.write_all(&header)?;
            self.inner.seek(SeekFrom::Start(end))?;
            self.inner.flush()
        })();
        res.map_err(|e| self.fail(e.to_string()))?;
        Ok(self.inner)
    }
}

/// `fLaC` and the `STREAMINFO` block holding `info` (the only, so the last, metadata block).
fn header_bytes(info: &StreamInfo, path: &Path) -> Result<Vec<u8>, AudioFileError> {
    let mut sink = MemSink::<u8>::new();
    Stream::with_stream_info(info.clone())
        .write(&mut sink)
        .map_err(|e| AudioFileError::Write {
            path: path.to_path_buf(),
            reason: format!("FLAC stream header: {e}"),
        })?;
    let bytes = sink.into_inner();
    debug_assert_eq!(bytes.len(), HEADER_BYTES);
    Ok(bytes)
}
