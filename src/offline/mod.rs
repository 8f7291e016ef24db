//! Offline processing: an audio file in, an audio file out, streamed in blocks through the same
//! [`Engine`] as live audio. Memory is flat whatever the file length: the engine, a few
//! blocks of buffers, and (for edge modes) the first and last kernel-length frames of the
//! input.
//!
//! ## Modes (what numpy/scipy function each mirrors)
//! With `x` of `N` frames and a kernel `h` of `M` taps, `full = numpy.convolve(x, h)`:
//! - [`Mode::Full`]: all `N + M - 1` frames (the tail is kept).
//! - [`Mode::Same`] without an edge rule: `numpy.convolve(x, h, 'same')` — `max(N, M)`
//!   frames of `full` starting at `(min(N, M) - 1) / 2`.
//! - [`Mode::Same`] with an [`Edge`]: `scipy.ndimage.convolve1d(x, h, mode=edge)` —
//!   `N` frames; the input is extended at both ends by the rule (scipy.ndimage's
//!   meanings), convolved, and the centre kept. The centre is ndimage's: `M / 2`, which for
//!   even `M` is one frame later than numpy's.
//! - [`Edge::Interp`]: `scipy.signal.savgol_filter(x, ..., mode='interp')` — the
//!   `Edge::Constant` result, with the first and last `window / 2` frames replaced by a
//!   least-squares polynomial fitted to the first and last `window` input frames.
//! - [`Mode::Valid`]: `numpy.convolve(x, h, 'valid')` — `max(N, M) - min(N, M) + 1`
//!   frames of `full` starting at `min(N, M) - 1`.
//!
//! ## Levels
//! The output is `gain * (wet * convolved + (1 - wet) * dry)`, the dry signal delayed to
//! line up with the convolved one (engine latency, plus the kernel centre in `same` and
//! `valid` modes). Integer output is quantised with TPDF dither (two uniform variates,
//! +-1 LSB peak, seeded so runs are reproducible) unless turned off; a sample whose
//! undithered value rounds outside the integer range counts as clipped (dither alone is
//! saturated silently, it is under 1 LSB). `normalize` scales the whole output to a target
//! peak in two passes: the first writes the mixed `f32` output to an unnamed scratch file
//! next to the destination and measures its peak, the second reads it back, scales,
//! quantises and writes the WAV.
//!
//! ## Files and pipes
//! Inputs are read by [`crate::audio_file::AudioReader`] (WAV, RF64, FLAC, AIFF, Ogg
//! Vorbis, MP3; `-` is standard input, streamed in `full` mode). [`process_file`] writes
//! through [`crate::audio_file::AtomicOutput`]: a temporary file in the destination folder
//! that becomes the output only when complete; on any error or cancellation nothing is
//! left, and an existing output is left untouched. The container follows the output's
//! name: `.flac` is FLAC (16/24-bit), anything else WAV, which becomes RF64 past 4 GiB.
//! The output `-` is standard output (a WAV stream).
//!
//! ## Rooms
//! `geometry` (modes and edges), `stream` (the streaming run), `engine_cache` (engines
//! reused across a batch), `normalize` (the two-pass normalisation).

mod engine_cache;
mod geometry;
mod normalize;
mod stream;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::audio_file::{
    is_std_stream, output_format, AudioFileError, AudioReader, AudioWriter, Output, Quantizer,
    SampleFormat,
};
use crate::engine::{PlanRequest, Routing};
use crate::error::EngineError;
use crate::kernel::Kernel;

pub use crate::kernel::savgol::Savgol;
pub use engine_cache::{engine_for, EngineCache};
pub use geometry::{Edge, Mode};

use geometry::geometry;
use stream::Run;

/// Options for [`process_file`].
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub mode: Mode,
    /// Edge rule for `same` mode; `None` is numpy's zero-padded `same`.
    pub edge: Option<Edge>,
    /// Output sample format; `None`: the input's (for a FLAC output, 24-bit when the
    /// input is float or 32-bit: FLAC holds 8- to 24-bit integers).
    pub format: Option<SampleFormat>,
    /// TPDF dither on integer output.
    pub dither: bool,
    pub dither_seed: u64,
    /// Write integer output even if samples clip (they are counted and reported).
    pub allow_clip: bool,
    /// Scale the output so its peak is this many dBFS (two passes).
    pub normalize_peak_db: Option<f64>,
    /// Wet share of the mix, 0..=1.
    pub wet: f64,
    pub gain_db: f64,
    /// Overwrite an existing output file.
    pub force: bool,
    /// Engine plan request; `None`: [`PlanRequest::offline`]. With a real-time request the
    /// file is fed in calls of its `call_frames`, as a live run would be.
    pub plan_request: Option<PlanRequest>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Full,
            edge: None,
            format: None,
            dither: true,
            dither_seed: 0x0FA1_7A96,
            allow_clip: false,
            normalize_peak_db: None,
            wet: 1.0,
            gain_db: 0.0,
            force: false,
            plan_request: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub input_frames: u64,
    pub output_frames: u64,
    pub sample_rate_hz: u32,
    pub input_channels: usize,
    pub output_channels: usize,
    pub output_format: SampleFormat,
    /// The engine plan, as it displays itself.
    pub plan: String,
    /// Peak of the written output, linear full scale (after normalisation).
    pub peak: f64,
    /// Integer samples that clipped (0 for float output).
    pub clipped: u64,
    /// Gain applied by `normalize`, linear (`None` without `normalize`, or when the
    /// output is silent and there is nothing to scale).
    pub normalize_gain: Option<f64>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn peak_dbfs(&self) -> f64 {
        20.0 * self.peak.log10()
    }

    /// Audio seconds processed per wall-clock second (input duration / elapsed).
    pub fn realtime_factor(&self) -> f64 {
        self.input_frames as f64 / self.sample_rate_hz as f64 / self.elapsed.as_secs_f64()
    }
}

/// Errors of offline processing. File errors name the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OfflineError {
    #[error(transparent)]
    File(AudioFileError),
    #[error("{input}: {input_channels} channel(s) with the {ir_channels}-channel kernel {kernel}: not a supported layout (mono IR on any channels, one IR per channel, mono input with a stereo IR, stereo input with a 4-channel true-stereo IR)")]
    Channels {
        input: PathBuf,
        input_channels: usize,
        kernel: String,
        ir_channels: usize,
    },
    #[error("{input}: engine: {source}")]
    Engine {
        input: PathBuf,
        #[source]
        source: EngineError,
    },
    #[error("{input}: the input is at {input_rate_hz} Hz but the kernel {kernel} is at {kernel_rate_hz} Hz; resample one of them first")]
    RateMismatch {
        input: PathBuf,
        input_rate_hz: u32,
        kernel: String,
        kernel_rate_hz: u32,
    },
    #[error("{output}: {count} sample(s) would clip in {format} (peak {peak_dbfs:+.2} dBFS); nothing written. Use --normalize, --gain-db, --format f32 or --allow-clip")]
    Clipped {
        output: PathBuf,
        count: u64,
        peak_dbfs: f64,
        format: SampleFormat,
    },
    #[error("{input}: output frame {frame} is {value} (beyond the 32-bit float range): the input, the kernel or --gain-db is too loud; nothing written. Lower --gain-db or the kernel's gain")]
    NonFinite {
        input: PathBuf,
        frame: u64,
        value: f32,
    },
    #[error("{path}: output is the input file; refusing to write over it")]
    OutputIsInput { path: PathBuf },
    #[error("{path}: already exists (use --force to overwrite)")]
    OutputExists { path: PathBuf },
    #[error("{path}: cannot write here: {source}")]
    Destination {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{input}: {reason}")]
    Invalid { input: PathBuf, reason: String },
    #[error("{input}: interrupted; nothing written")]
    Cancelled { input: PathBuf },
}

impl From<AudioFileError> for OfflineError {
    /// The output-side errors keep their own variants; the rest are file errors.
    fn from(e: AudioFileError) -> OfflineError {
        match e {
            AudioFileError::Exists { path } => OfflineError::OutputExists { path },
            AudioFileError::Destination { path, source } => {
                OfflineError::Destination { path, source }
            }
            other => OfflineError::File(other),
        }
    }
}

/// Check the kernel against the input before any output is made.
fn check_kernel(
    input: &Path,
    rate_hz: u32,
    kernel: &Kernel,
    opts: &Options,
) -> Result<(), OfflineError> {
    if let Some(k) = kernel.sample_rate_hz {
        if k != rate_hz {
            return Err(OfflineError::RateMismatch {
                input: input.to_path_buf(),
                input_rate_hz: rate_hz,
                kernel: kernel.name.clone(),
                kernel_rate_hz: k,
            });
        }
    }
    let bad = |reason: String| OfflineError::Invalid {
        input: input.to_path_buf(),
        reason,
    };
    if !(0.0..=1.0).contains(&opts.wet) {
        return Err(bad(format!("--wet {} is outside 0..1", opts.wet)));
    }
    if !opts.gain_db.is_finite() {
        return Err(bad("--gain-db must be finite".into()));
    }
    if opts.edge.is_some() && opts.mode != Mode::Same {
        return Err(bad("--edge applies to --mode same only".into()));
    }
    if let Some(Edge::Interp(sg)) = opts.edge {
        if sg.pos.is_some() {
            return Err(bad(
                "savgol_filter(mode='interp') evaluates at the window centre; drop pos= from the savgol kernel".into(),
            ));
        }
        if kernel.channel_count() != 1 || kernel.len_frames() != sg.window {
            return Err(bad(format!(
                "--edge interp needs the mono savgol kernel of {} taps, got {} channel(s) of {} taps",
                sg.window,
                kernel.channel_count(),
                kernel.len_frames()
            )));
        }
    }
    Ok(())
}

/// Is `output` the same file as `input` (or will it be, after the rename)?
fn same_file(input: &Path, output: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(a), Ok(b)) = (std::fs::metadata(input), std::fs::metadata(output)) {
            return a.dev() == b.dev() && a.ino() == b.ino();
        }
    }
    match (input.canonicalize(), output.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Convolve the WAV file `input` with `kernel` and write `output`, atomically.
///
/// `progress(done, total)` is called after each block with output frames done (for
/// `normalize`, the total counts both passes). Setting `cancel` stops the run at the next
/// block with [`OfflineError::Cancelled`]; nothing is left behind.
pub fn process_file(
    input: &Path,
    output: &Path,
    kernel: &Kernel,
    opts: &Options,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<Summary, OfflineError> {
    let reader = AudioReader::open(input)?;
    let mut cache = EngineCache::new();
    process_reader(reader, output, kernel, opts, progress, cancel, &mut cache)
}

/// [`process_file`] on an input already open (standard input can be opened only once,
/// and its sample rate is needed to make the kernel), reusing the engine of the previous
/// file in `cache` when the kernel, channel count and plan request are the same (for
/// batches). `output` `-` is standard
/// output: a WAV stream whose sizes say "unknown".
///
/// An input whose length is unknown (standard input) streams in `full` mode; the other
/// modes and the edge rules need the length first and are refused for it.
pub fn process_reader(
    reader: AudioReader,
    output: &Path,
    kernel: &Kernel,
    opts: &Options,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
    cache: &mut EngineCache,
) -> Result<Summary, OfflineError> {
    let started = Instant::now();
    let input_path = reader.path().to_path_buf();
    let input = input_path.as_path();
    let info = reader.info();
    let to_stdout = is_std_stream(output);
    if !to_stdout && !is_std_stream(input) && same_file(input, output) {
        return Err(OfflineError::OutputIsInput {
            path: output.to_path_buf(),
        });
    }
    if !to_stdout && !opts.force && output.exists() {
        return Err(OfflineError::OutputExists {
            path: output.to_path_buf(),
        });
    }
    check_kernel(input, info.sample_rate_hz, kernel, opts)?;
    let out_ch = Routing::auto(info.channels, kernel.channel_count())
        .map_err(|_| OfflineError::Channels {
            input: input.to_path_buf(),
            input_channels: info.channels,
            kernel: kernel.name.clone(),
            ir_channels: kernel.channel_count(),
        })?
        .output_channels;
    // The length: from the header, by a counting pass over a file that does not say, or
    // (standard input) only at its end, which `full` mode without edges can wait for.
    let n = match info.frames {
        Some(n) => Some(n),
        None if opts.mode == Mode::Full && opts.edge.is_none() => None,
        None if is_std_stream(input) => {
            return Err(OfflineError::Invalid {
                input: input.to_path_buf(),
                reason: "--mode same/valid and --edge need the input's length, which standard input does not give; write the input to a file and process that".into(),
            })
        }
        None => Some(AudioReader::count_frames(input)?),
    };
    if n == Some(0) {
        return Err(AudioFileError::Empty {
            path: input.to_path_buf(),
        }
        .into());
    }
    let format = output_format(output, opts.format, info.format)?;
    let m = kernel.len_frames() as u64;
    let passes = if opts.normalize_peak_db.is_some() {
        2
    } else {
        1
    };
    // Unknown until the input ends: progress counts against 0.
    let total = n.map_or(0, |n| geometry(n, m, opts.mode, opts.edge).take * passes);
    let run = Run {
        input,
        frames: n,
        kernel,
        opts,
        cancel,
    };

    // A WAV output past 4 GiB becomes RF64 when it is finalised; a FLAC output is
    // chosen by the `.flac` name.
    let out = Output::create(output, opts.force)?;
    let sink = out.writer()?;
    let mut writer = if out.is_stream() {
        AudioWriter::new_stream(sink, output, out_ch, info.sample_rate_hz, format)?
    } else {
        AudioWriter::new(sink, output, out_ch, info.sample_rate_hz, format)?
    };
    let mut reader = Some(reader);
    let mut quant = Quantizer::new(format, opts.dither, opts.dither_seed);
    let streamed;
    let mut normalize_gain = None;
    let peak;
    match opts.normalize_peak_db {
        None => {
            streamed = run.stream(
                reader.take().expect("one pass"),
                cache,
                &mut |d| progress(d, total),
                &mut |s| quant.write(&mut writer, s).map_err(Into::into),
            )?;
            peak = streamed.peak;
        }
        Some(target_db) => {
            let n = normalize::two_pass(
                &run,
                reader.take().expect("one pass"),
                cache,
                output,
                target_db,
                &mut |s| quant.write(&mut writer, s),
                &mut |d| progress(d, total),
            )?;
            streamed = n.streamed;
            normalize_gain = n.gain;
            peak = n.peak;
        }
    }
    out.sync(writer.finalize()?)?;
    if quant.clipped() > 0 && !opts.allow_clip {
        return Err(OfflineError::Clipped {
            output: output.to_path_buf(),
            count: quant.clipped(),
            peak_dbfs: 20.0 * peak.log10(),
            format,
        });
    }
    out.commit(opts.force)?;
    Ok(Summary {
        input_frames: streamed.input_frames,
        output_frames: streamed.frames,
        sample_rate_hz: info.sample_rate_hz,
        input_channels: info.channels,
        output_channels: streamed.out_ch,
        output_format: format,
        plan: streamed.plan,
        peak,
        clipped: quant.clipped(),
        normalize_gain,
        elapsed: started.elapsed(),
    })
}
