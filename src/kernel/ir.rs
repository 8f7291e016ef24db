//! Impulse responses from WAV files, and the options that shape a kernel after loading.
//!
//! Supported files (read by [`crate::audio_file`]): integer PCM of 8, 16, 24 or 32 bits and 32-bit IEEE
//! float, plain or `WAVE_FORMAT_EXTENSIBLE`. Integer samples are scaled to [-1, 1) by
//! `1 / 2^(bits-1)`.
//!
//! Channels: 1 = mono (the same IR on every channel), 2 = one IR per channel (or mono input
//! to stereo output), 4 = true stereo in the order **LL, LR, RL, RR**, where `LR` is the path
//! from the left input to the right output (the engine's [`crate::engine::Routing::auto`]
//! uses the same order). More channels than [`IrOptions::max_channels`] is an error.
//!
//! Options are applied in this order, each adding a note with the numbers it used:
//! resample to the stream rate, trim leading silence, trim the tail, reverse, normalise, gain.

use std::path::Path;

use super::{Kernel, KernelError};
use crate::audio_file::{AudioFileError, AudioReader, SampleFormat};

/// How to normalise a kernel. One factor is applied to all channels (their balance is
/// kept); it is set by the channel with the largest value of the measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalize {
    /// Leave the taps as they are.
    #[default]
    None,
    /// Largest absolute tap = 1.
    Peak,
    /// Sum of taps (DC gain) = 1.
    Dc,
    /// Unit L2 norm: sum of squared taps = 1.
    Energy,
}

impl std::str::FromStr for Normalize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Normalize::None),
            "peak" => Ok(Normalize::Peak),
            "dc" => Ok(Normalize::Dc),
            "energy" => Ok(Normalize::Energy),
            _ => Err(format!(
                "unknown normalisation `{s}` (expected none, peak, dc or energy)"
            )),
        }
    }
}

/// How to load and shape an impulse response.
#[derive(Debug, Clone, PartialEq)]
pub struct IrOptions {
    /// Longest IR accepted, in seconds (checked against the header before any sample is
    /// read, so a wrong file cannot eat all memory).
    pub max_seconds: f64,
    /// Most channels accepted (4 = true stereo).
    pub max_channels: usize,
    /// Sample rate of the stream the IR will run at; `None` keeps the file's rate.
    pub target_rate_hz: Option<u32>,
    /// Resample an IR whose rate differs from `target_rate_hz`; `false` makes it an error.
    pub resample: bool,
    /// Normalisation, applied after trims and reverse.
    pub normalize: Normalize,
    /// Gain in dB, applied last.
    pub gain_db: f64,
    /// Trim leading frames whose every channel is below this level in dB relative to the
    /// kernel's peak (e.g. `-60.0`). `None` (default) keeps the leading delay.
    pub trim_leading_below_db: Option<f64>,
    /// Trim trailing frames whose every channel is below this level in dB relative to the
    /// kernel's peak (e.g. `-90.0`). `None` keeps the whole tail.
    pub trim_tail_below_db: Option<f64>,
    /// Reverse the taps in time.
    pub reverse: bool,
}

impl Default for IrOptions {
    fn default() -> Self {
        IrOptions {
            max_seconds: 60.0,
            max_channels: 4,
            target_rate_hz: None,
            resample: true,
            normalize: Normalize::None,
            gain_db: 0.0,
            trim_leading_below_db: None,
            trim_tail_below_db: None,
            reverse: false,
        }
    }
}

/// A loaded kernel and human-readable notes on what was done to it (for `--verbose`).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedIr {
    pub kernel: Kernel,
    pub notes: Vec<String>,
}

/// Load an impulse response from a WAV file and apply `opts`. See [`load_ir_with_notes`]
/// for the notes saying what was done.
pub fn load_ir(path: &Path, opts: &IrOptions) -> Result<Kernel, KernelError> {
    load_ir_with_notes(path, opts).map(|l| l.kernel)
}

/// Load an impulse response from a WAV file, apply `opts`, and say what was done.
pub fn load_ir_with_notes(path: &Path, opts: &IrOptions) -> Result<LoadedIr, KernelError> {
    if !(opts.max_seconds.is_finite() && opts.max_seconds > 0.0) {
        // A NaN limit would let every comparison pass.
        return Err(KernelError::BadOption {
            name: path.display().to_string(),
            option: "max seconds",
            reason: format!(
                "the IR length limit must be a positive number of seconds, got {}",
                opts.max_seconds
            ),
        });
    }
    let (kernel, mut notes) = read_wav(path, opts)?;
    let kernel = apply_options(kernel, opts, &mut notes)?;
    Ok(LoadedIr { kernel, notes })
}

/// A file error in the kernel's vocabulary: the variants IR loading always had keep their
/// meaning; the rest are file errors.
fn file_err(e: AudioFileError, frames: usize) -> KernelError {
    match e {
        AudioFileError::Open { path, source } => KernelError::Open { path, source },
        AudioFileError::Unsupported { path, reason } => KernelError::Unsupported { path, reason },
        AudioFileError::Empty { path } => KernelError::EmptyFile { path },
        AudioFileError::Truncated {
            path,
            frame,
            reason,
        } => KernelError::Truncated {
            path,
            frame: frame as usize,
            frames,
            reason,
        },
        AudioFileError::NonFinite {
            path,
            frame,
            channel,
        } => KernelError::NonFinite {
            path,
            frame: frame as usize,
            channel,
        },
        other => KernelError::File {
            path: other.path().to_path_buf(),
            source: other,
        },
    }
}

fn read_wav(path: &Path, opts: &IrOptions) -> Result<(Kernel, Vec<String>), KernelError> {
    let p = path.to_path_buf();
    let mut reader = AudioReader::open(path).map_err(|e| file_err(e, 0))?;
    let info = reader.info();
    let ch = info.channels;
    if info.sample_rate_hz == 0 {
        return Err(KernelError::Unsupported {
            path: p,
            reason: "sample rate 0 Hz".into(),
        });
    }
    if ch > opts.max_channels {
        return Err(KernelError::TooManyChannels {
            path: p,
            channels: ch,
            max_channels: opts.max_channels,
        });
    }
    let rate = info.sample_rate_hz as f64;
    let too_long = |frames: usize| KernelError::TooLong {
        path: p.clone(),
        frames,
        seconds: frames as f64 / rate,
        limit_seconds: opts.max_seconds,
    };
    // Decided from the header, before reading samples, where the header says; a file
    // that does not say is stopped as soon as it passes the limit.
    if let Some(f) = info.frames {
        if f as f64 / rate > opts.max_seconds {
            return Err(too_long(f as usize));
        }
    }
    let limit_frames = (opts.max_seconds * rate)
        .floor()
        .min(usize::MAX as f64 / 2.0) as usize;
    let frames = info.frames.map_or(0, |f| f as usize);
    let mut channels = vec![Vec::with_capacity(frames); ch];
    let mut block = vec![0f64; 8192 * ch];
    loop {
        let got = reader
            .read_frames_f64(&mut block)
            .map_err(|e| file_err(e, frames))?;
        if got == 0 {
            break;
        }
        if channels[0].len() + got > limit_frames {
            return Err(too_long(channels[0].len() + got));
        }
        for f in block[..got * ch].chunks_exact(ch) {
            for (c, &v) in channels.iter_mut().zip(f) {
                c.push(v);
            }
        }
    }
    let frames = channels[0].len();
    if frames == 0 {
        return Err(KernelError::EmptyFile { path: p });
    }
    if info.frames.is_some_and(|f| f as usize != frames) {
        return Err(KernelError::Truncated {
            path: p,
            frame: frames,
            frames: info.frames.unwrap_or(0) as usize,
            reason: "fewer samples than the header announces".into(),
        });
    }
    let seconds = frames as f64 / rate;
    if channels.iter().flatten().all(|&v| v == 0.0) {
        return Err(KernelError::AllZero { path: p });
    }
    let format = match info.format {
        SampleFormat::F32 => "32-bit float".to_string(),
        f => format!("{}-bit integer", f.bits()),
    };
    let notes = vec![format!(
        "read {}: {frames} frames, {ch} channel(s), {} Hz, {format} ({:.3} s)",
        path.display(),
        info.sample_rate_hz,
        seconds
    )];
    Ok((
        Kernel {
            channels,
            sample_rate_hz: Some(info.sample_rate_hz),
            name: path.display().to_string(),
        },
        notes,
    ))
}

fn peak_abs(k: &Kernel) -> f64 {
    k.channels
        .iter()
        .flatten()
        .fold(0.0f64, |m, &v| m.max(v.abs()))
}

fn db_to_amp(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

fn ms(frames: usize, rate: Option<u32>) -> String {
    match rate {
        Some(r) => format!(" ({:.3} ms)", frames as f64 * 1000.0 / r as f64),
        None => String::new(),
    }
}

/// Apply the shaping options of `opts` (resampling to `target_rate_hz`, trims, reverse,
/// normalisation, gain) to a kernel, appending a note per step with the numbers it used.
/// Works for kernels from files and from specs alike (a kernel without a sample rate is
/// never resampled).
pub fn apply_options(
    mut k: Kernel,
    opts: &IrOptions,
    notes: &mut Vec<String>,
) -> Result<Kernel, KernelError> {
    let bad = |k: &Kernel, option: &'static str, reason: String| KernelError::BadOption {
        name: k.name.clone(),
        option,
        reason,
    };
    if k.len_frames() == 0 || k.channels.iter().any(|c| c.len() != k.len_frames()) {
        return Err(bad(
            &k,
            "kernel",
            "channels must be non-empty and of equal length".into(),
        ));
    }
    if let (Some(from), Some(to)) = (k.sample_rate_hz, opts.target_rate_hz) {
        if from != to {
            if !opts.resample {
                return Err(KernelError::RateMismatch {
                    name: k.name.clone(),
                    ir_rate_hz: from,
                    stream_rate_hz: to,
                });
            }
            let before = k.len_frames();
            k = super::resample::resample_kernel(&k, to)?;
            notes.push(format!(
                "resampled from {from} Hz to {to} Hz: {before} -> {} frames, taps scaled by {from}/{to} = {:.6} so the DC gain is kept",
                k.len_frames(),
                from as f64 / to as f64
            ));
        }
    }
    if let Some(db) = opts.trim_leading_below_db {
        if db >= 0.0 || db.is_nan() {
            return Err(bad(
                &k,
                "trim leading silence",
                format!("threshold must be below 0 dB (relative to the peak), got {db}"),
            ));
        }
        let thr = peak_abs(&k) * db_to_amp(db);
        let first = (0..k.len_frames())
            .find(|&i| k.channels.iter().any(|c| c[i].abs() >= thr))
            .unwrap_or(0);
        for c in &mut k.channels {
            c.drain(..first);
        }
        notes.push(format!(
            "trimmed {first} frames{} of leading silence below {db} dB re peak (delay removed)",
            ms(first, k.sample_rate_hz)
        ));
    }
    if let Some(db) = opts.trim_tail_below_db {
        if db >= 0.0 || db.is_nan() {
            return Err(bad(
                &k,
                "trim tail",
                format!("threshold must be below 0 dB (relative to the peak), got {db}"),
            ));
        }
        let thr = peak_abs(&k) * db_to_amp(db);
        let n = k.len_frames();
        let last = (0..n)
            .rev()
            .find(|&i| k.channels.iter().any(|c| c[i].abs() >= thr))
            .unwrap_or(n - 1);
        for c in &mut k.channels {
            c.truncate(last + 1);
        }
        notes.push(format!(
            "trimmed {} frames{} of tail below {db} dB re peak: {n} -> {} frames",
            n - (last + 1),
            ms(n - (last + 1), k.sample_rate_hz),
            last + 1
        ));
    }
    if opts.reverse {
        for c in &mut k.channels {
            c.reverse();
        }
        notes.push(format!("reversed {} frames in time", k.len_frames()));
    }
    let norm = match opts.normalize {
        Normalize::None => None,
        Normalize::Peak => Some(("peak", peak_abs(&k))),
        Normalize::Dc => {
            // The signed sum of the channel with the largest |sum|.
            let s = k
                .channels
                .iter()
                .map(|c| c.iter().sum::<f64>())
                .fold(0.0f64, |m, s| if s.abs() > m.abs() { s } else { m });
            Some(("dc", s))
        }
        Normalize::Energy => Some((
            "energy",
            k.channels
                .iter()
                .map(|c| c.iter().map(|v| v * v).sum::<f64>().sqrt())
                .fold(0.0f64, f64::max),
        )),
    };
    if let Some((what, m)) = norm {
        let tiny = 1e-12 * peak_abs(&k).max(f64::MIN_POSITIVE);
        if m.abs() <= tiny || !m.is_finite() {
            return Err(bad(
                &k,
                "normalise",
                format!("cannot normalise by {what}: it is {m:e} (zero)"),
            ));
        }
        let f = 1.0 / m;
        for v in k.channels.iter_mut().flatten() {
            *v *= f;
        }
        let desc = match what {
            "peak" => "largest |tap| = 1",
            "dc" => "sum of taps = 1",
            _ => "sum of squared taps = 1",
        };
        notes.push(format!(
            "normalised by {what} ({desc}): measure was {m:.6e}, factor {f:.6e} ({:+.3} dB)",
            20.0 * f.abs().log10()
        ));
    }
    if opts.gain_db != 0.0 {
        if !opts.gain_db.is_finite() {
            return Err(bad(
                &k,
                "gain",
                format!("gain must be finite, got {}", opts.gain_db),
            ));
        }
        let f = db_to_amp(opts.gain_db);
        let peak = peak_abs(&k);
        if !(peak * f).is_finite() {
            return Err(bad(
                &k,
                "gain",
                format!(
                    "{:+} dB makes the largest tap ({peak:e}) overflow 64-bit floating point",
                    opts.gain_db
                ),
            ));
        }
        for v in k.channels.iter_mut().flatten() {
            *v *= f;
        }
        notes.push(format!(
            "applied gain {:+.3} dB (factor {f:.6e})",
            opts.gain_db
        ));
    }
    Ok(k)
}
