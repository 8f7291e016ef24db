//! Compressed and non-WAV files (FLAC, AIFF/AIFC, Ogg Vorbis, MP3) through the symphonia
//! decoder, packet by packet: memory stays constant whatever the file length.

use std::path::{Path, PathBuf};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::wav_header::{MAX_CHANNELS, MAX_RATE_HZ};
use super::{AudioFileError, AudioInfo, SampleFormat};

/// A decoder on one file or stream.
pub(super) struct Decoded {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    channels: usize,
    buf: Option<SampleBuffer<f32>>,
    /// Decoded samples not handed out yet: `buf.samples()[pos..len]`.
    pos: usize,
    len: usize,
    frames_read: u64,
    /// Frames the stream holds by its container, where the decoder gives more: an Ogg
    /// Vorbis stream ends at the granule position of its last page (the decoder's last
    /// packet overlaps past it, by up to a block).
    end_frame: Option<u64>,
    ended: bool,
}

fn unsupported(path: &Path) -> AudioFileError {
    AudioFileError::Malformed {
        path: path.to_path_buf(),
        reason: "not a WAV, FLAC, AIFF, Ogg Vorbis or MP3 file".into(),
    }
}

impl Decoded {
    /// Probe `source` and set up the decoder of its first audio track. `extension` is a
    /// hint only; the content decides.
    pub(super) fn open(
        path: &Path,
        source: Box<dyn MediaSource>,
    ) -> Result<(Decoded, AudioInfo), AudioFileError> {
        let mss = MediaSourceStream::new(source, Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let fmt_opts = FormatOptions {
            enable_gapless: true,
            ..Default::default()
        };
        let probed = symphonia::default::get_probe()
            .format(&hint, mss, &fmt_opts, &MetadataOptions::default())
            .map_err(|e| match e {
                SymError::IoError(io) if io.kind() != std::io::ErrorKind::UnexpectedEof => {
                    AudioFileError::Open {
                        path: path.to_path_buf(),
                        source: io,
                    }
                }
                _ => unsupported(path),
            })?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| AudioFileError::Unsupported {
                path: path.to_path_buf(),
                reason: "no audio track".into(),
            })?;
        let params = track.codec_params.clone();
        let track_id = track.id;
        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|e| AudioFileError::Unsupported {
                path: path.to_path_buf(),
                reason: format!("codec: {e}"),
            })?;
        let malformed = |reason: String| AudioFileError::Malformed {
            path: path.to_path_buf(),
            reason,
        };
        let channels = params
            .channels
            .map(|c| c.count())
            .ok_or_else(|| malformed("the stream does not say its channel count".into()))?;
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(AudioFileError::Unsupported {
                path: path.to_path_buf(),
                reason: format!("{channels} channels (1 to {MAX_CHANNELS} are supported)"),
            });
        }
        let rate = params
            .sample_rate
            .ok_or_else(|| malformed("the stream does not say its sample rate".into()))?;
        if rate == 0 || rate > MAX_RATE_HZ {
            return Err(AudioFileError::Unsupported {
                path: path.to_path_buf(),
                reason: format!("sample rate {rate} Hz (supported: 1 Hz to {MAX_RATE_HZ} Hz)"),
            });
        }
        // Lossless integer sources keep their width; lossy ones (MP3, Vorbis) are written
        // as 16-bit by default, as sox and ffmpeg do.
        let sample_format = match params.bits_per_sample {
            Some(b) if b <= 8 => SampleFormat::I8,
            Some(b) if b <= 16 => SampleFormat::I16,
            Some(b) if b <= 24 => SampleFormat::I24,
            Some(_) => SampleFormat::I32,
            None => SampleFormat::I16,
        };
        // FLAC's STREAMINFO says the length exactly; for the others (encoder delay and
        // padding, container sizes) the end of the stream tells.
        let exact = params.codec == symphonia::core::codecs::CODEC_TYPE_FLAC;
        let frames = params.n_frames.filter(|&n| exact && n > 0);
        // symphonia 0.5 reads the last page's granule position into `n_frames` but does not
        // trim the last Vorbis packet to it; libvorbisfile (sox) and ffmpeg do.
        let end_frame = params
            .n_frames
            .filter(|&n| params.codec == symphonia::core::codecs::CODEC_TYPE_VORBIS && n > 0);
        let info = AudioInfo {
            channels,
            sample_rate_hz: rate,
            frames,
            format: sample_format,
        };
        Ok((
            Decoded {
                path: path.to_path_buf(),
                format,
                decoder,
                track_id,
                channels,
                buf: None,
                pos: 0,
                len: 0,
                frames_read: 0,
                end_frame,
                ended: false,
            },
            info,
        ))
    }

    /// Decode the next packet of the track into `buf`; false at the end of the stream.
    fn refill(&mut self) -> Result<bool, AudioFileError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(false)
                }
                Err(SymError::ResetRequired) => return Ok(false),
                Err(e) => return Err(self.truncated(e.to_string())),
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(d) => d,
                Err(e) => return Err(self.truncated(e.to_string())),
            };
            if decoded.frames() == 0 {
                continue;
            }
            if decoded.spec().channels.count() != self.channels {
                return Err(self.truncated("the channel count changes inside the stream".into()));
            }
            let need = decoded.capacity() as u64;
            if self
                .buf
                .as_ref()
                .is_none_or(|b| (b.capacity() as u64) < need * self.channels as u64)
            {
                self.buf = Some(SampleBuffer::new(need, *decoded.spec()));
            }
            let buf = self.buf.as_mut().expect("set above");
            buf.copy_interleaved_ref(decoded);
            self.pos = 0;
            self.len = buf.samples().len();
            return Ok(true);
        }
    }

    fn truncated(&self, reason: String) -> AudioFileError {
        AudioFileError::Truncated {
            path: self.path.clone(),
            frame: self.frames_read,
            reason,
        }
    }

    pub(super) fn frames_read(&self) -> u64 {
        self.frames_read
    }

    /// Up to `out.len() / channels` frames; fewer only at the end, 0 after it.
    pub(super) fn read_with<T>(
        &mut self,
        out: &mut [T],
        conv: impl Fn(f32) -> T,
    ) -> Result<usize, AudioFileError> {
        let mut want = out.len() / self.channels * self.channels;
        if let Some(end) = self.end_frame {
            let left = end.saturating_sub(self.frames_read);
            want = want.min(
                usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .saturating_mul(self.channels),
            );
        }
        let mut got = 0;
        while got < want {
            if self.pos == self.len && (self.ended || !self.refill()?) {
                self.ended = true;
                break;
            }
            let src = &self.buf.as_ref().expect("filled").samples()[self.pos..self.len];
            let k = src.len().min(want - got);
            for (o, &v) in out[got..got + k].iter_mut().zip(&src[..k]) {
                *o = conv(v);
            }
            self.pos += k;
            got += k;
        }
        let frames = got / self.channels;
        self.frames_read += frames as u64;
        Ok(frames)
    }
}
