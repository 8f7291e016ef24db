//! Offline processing: a WAV file in, a WAV file out, streamed in blocks through the same
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
//! peak in two passes: the first writes the mixed `f32` output to a temporary raw file next
//! to the destination and measures its peak, the second reads it back, scales, quantises
//! and writes the WAV.
//!
//! ## Nothing lost
//! [`process_file`] writes to a temporary file in the destination folder and renames it
//! over the output only when complete; on any error or cancellation the temporary file is
//! removed, and an existing output is left untouched.

use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::engine::{BlockProcessor, Engine, PlanRequest, Routing};
use crate::error::{EngineError, WavError};
use crate::kernel::Kernel;
use crate::wav::{SampleFormat, WavReader, WavWriter};

/// Which part of the full convolution to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Full,
    Same,
    Valid,
}

/// How `same` mode extends the input beyond its ends (scipy.ndimage's names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Edge {
    /// Zeros: `(0 0 0 0 | a b c d | 0 0 0 0)`.
    Constant,
    /// Half-sample symmetric: `(d c b a | a b c d | d c b a)`.
    Reflect,
    /// Whole-sample symmetric: `(d c b | a b c d | c b a)`.
    Mirror,
    /// Edge value repeated: `(a a a a | a b c d | d d d d)`.
    Nearest,
    /// Periodic: `(a b c d | a b c d | a b c d)`.
    Wrap,
    /// Savitzky–Golay polynomial fit on the edge windows (`savgol_filter(mode='interp')`).
    Interp(Savgol),
}

/// Savitzky–Golay parameters needed for [`Edge::Interp`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Savgol {
    pub window: usize,
    pub polyorder: usize,
    pub deriv: usize,
    pub delta: f64,
}

impl Savgol {
    /// Read the parameters from a kernel spec `savgol:W,P[,deriv=D][,delta=X]`.
    /// `None` if the spec is not a savgol spec.
    pub fn from_spec(spec: &str) -> Option<Result<Savgol, String>> {
        let (name, args) = spec.split_once(':').unwrap_or((spec, ""));
        if name.trim() != "savgol" {
            return None;
        }
        Some((|| {
            let mut pos = Vec::new();
            let (mut deriv, mut delta) = (0usize, 1.0f64);
            for a in args.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                match a.split_once('=') {
                    Some(("deriv", v)) => {
                        deriv = v.trim().parse().map_err(|_| format!("bad deriv `{v}`"))?
                    }
                    Some(("delta", v)) => {
                        delta = v.trim().parse().map_err(|_| format!("bad delta `{v}`"))?
                    }
                    Some(("window" | "window_length", v)) => pos.insert(0, v.trim()),
                    Some(("polyorder" | "order", v)) => pos.push(v.trim()),
                    Some(("pos", _)) => return Err(
                        "savgol_filter(mode='interp') evaluates at the window centre; drop pos="
                            .to_string(),
                    ),
                    Some((k, _)) => return Err(format!("unknown key `{k}`")),
                    None => pos.push(a),
                }
            }
            if pos.len() != 2 {
                return Err("expected savgol:WINDOW,POLYORDER".to_string());
            }
            let window: usize = pos[0]
                .parse()
                .map_err(|_| format!("bad window `{}`", pos[0]))?;
            let polyorder: usize = pos[1]
                .parse()
                .map_err(|_| format!("bad polyorder `{}`", pos[1]))?;
            if polyorder >= window {
                return Err("polyorder must be less than the window length".into());
            }
            if !(delta.is_finite() && delta > 0.0) {
                return Err("delta must be positive".into());
            }
            Ok(Savgol {
                window,
                polyorder,
                deriv,
                delta,
            })
        })())
    }
}

/// Options for [`process_file`].
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub mode: Mode,
    /// Edge rule for `same` mode; `None` is numpy's zero-padded `same`.
    pub edge: Option<Edge>,
    /// Output sample format; `None`: the input's.
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
    /// Gain applied by `normalize`, linear.
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
    Wav(#[from] WavError),
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

// ---------------------------------------------------------------------------------------
// Geometry: which part of the engine's output stream is kept.

/// How the engine's input stream is built from the file and which outputs are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    /// Extension frames before and after the file's frames.
    left: usize,
    right: usize,
    /// Convolution outputs skipped, then kept.
    discard: u64,
    take: u64,
    /// Dry signal delay relative to the engine input stream (the kernel centre).
    dry_lag: u64,
}

fn geometry(n: u64, m: u64, mode: Mode, edge: Option<Edge>) -> Geometry {
    let (lo, hi) = (n.min(m), n.max(m));
    match (mode, edge) {
        (Mode::Full, _) => Geometry {
            left: 0,
            right: 0,
            discard: 0,
            take: n + m - 1,
            dry_lag: 0,
        },
        (Mode::Same, None) => {
            let off = (lo - 1) / 2;
            Geometry {
                left: 0,
                right: 0,
                discard: off,
                take: hi,
                dry_lag: off,
            }
        }
        (Mode::Same, Some(_)) => {
            let off = m / 2;
            Geometry {
                left: (m - 1 - off) as usize,
                right: off as usize,
                discard: m - 1,
                take: n,
                dry_lag: off,
            }
        }
        (Mode::Valid, _) => Geometry {
            left: 0,
            right: 0,
            discard: lo - 1,
            take: hi - lo + 1,
            dry_lag: (m - 1) / 2,
        },
    }
}

/// Where index `j` (possibly outside `0..n`) reads from under `edge`; `None`: zero.
fn map_index(j: i64, n: i64, edge: Edge) -> Option<i64> {
    if (0..n).contains(&j) {
        return Some(j);
    }
    match edge {
        Edge::Constant | Edge::Interp(_) => None,
        Edge::Nearest => Some(j.clamp(0, n - 1)),
        Edge::Wrap => Some(j.rem_euclid(n)),
        Edge::Reflect => {
            let k = j.rem_euclid(2 * n);
            Some(if k < n { k } else { 2 * n - 1 - k })
        }
        Edge::Mirror => {
            if n == 1 {
                return Some(0);
            }
            let p = 2 * n - 2;
            let k = j.rem_euclid(p);
            Some(if k < n { k } else { p - k })
        }
    }
}

/// The first and last frames of the input, read before streaming (edge modes need them).
struct Ends {
    ch: usize,
    n: u64,
    head: Vec<f32>,
    /// Frames `n - tail_frames .. n` (empty when `head` holds the whole file).
    tail: Vec<f32>,
}

impl Ends {
    fn read(path: &Path, frames_each: u64) -> Result<Ends, WavError> {
        let mut r = WavReader::open(path)?;
        let info = r.info();
        let (ch, n) = (info.channels, info.frames);
        let whole = n <= 2 * frames_each;
        let head_frames = if whole { n } else { frames_each };
        let mut head = vec![0f32; head_frames as usize * ch];
        read_exact_frames(&mut r, &mut head)?;
        let mut tail = Vec::new();
        if !whole {
            tail = vec![0f32; frames_each as usize * ch];
            r.seek_frame(n - frames_each)?;
            read_exact_frames(&mut r, &mut tail)?;
        }
        Ok(Ends { ch, n, head, tail })
    }

    fn frame(&self, idx: u64) -> &[f32] {
        let ch = self.ch;
        let head_frames = (self.head.len() / ch) as u64;
        if idx < head_frames {
            let i = idx as usize * ch;
            &self.head[i..i + ch]
        } else {
            let tail_frames = (self.tail.len() / ch) as u64;
            let t = (idx - (self.n - tail_frames)) as usize * ch;
            &self.tail[t..t + ch]
        }
    }

    /// Frames `start .. start + len` of the extended input (interleaved).
    fn extension(&self, start: i64, len: usize, edge: Edge) -> Vec<f32> {
        let mut out = vec![0f32; len * self.ch];
        for k in 0..len {
            if let Some(src) = map_index(start + k as i64, self.n as i64, edge) {
                out[k * self.ch..(k + 1) * self.ch].copy_from_slice(self.frame(src as u64));
            }
        }
        out
    }

    /// Channel `c` of frames `start .. start + len` as f64.
    fn channel(&self, c: usize, start: u64, len: usize) -> Vec<f64> {
        (0..len as u64)
            .map(|k| self.frame(start + k)[c] as f64)
            .collect()
    }
}

fn read_exact_frames(r: &mut WavReader, buf: &mut [f32]) -> Result<(), WavError> {
    let ch = r.info().channels;
    let mut done = 0;
    while done < buf.len() {
        let got = r.read_frames(&mut buf[done..])?;
        if got == 0 {
            break;
        }
        done += got * ch;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Savitzky–Golay edge fit (numpy.polyfit + polyval on the edge windows).

/// Least-squares polynomial of degree `order` through `y` at `t = 0..y.len()`, its
/// `deriv`-th derivative evaluated at each of `at`, divided by `delta^deriv`. Solved by
/// Householder QR on a centred, scaled abscissa.
pub fn polyfit_eval(y: &[f64], order: usize, deriv: usize, delta: f64, at: &[f64]) -> Vec<f64> {
    let m = y.len();
    let n = order + 1;
    let c = (m as f64 - 1.0) / 2.0;
    let s = c.max(1.0);
    // a: m x n, row-major.
    let mut a = vec![0f64; m * n];
    for i in 0..m {
        let u = (i as f64 - c) / s;
        let mut p = 1.0;
        for k in 0..n {
            a[i * n + k] = p;
            p *= u;
        }
    }
    let mut b = y.to_vec();
    for k in 0..n.min(m) {
        let norm = (k..m).map(|i| a[i * n + k].powi(2)).sum::<f64>().sqrt();
        if norm == 0.0 {
            continue;
        }
        let alpha = if a[k * n + k] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (k..m).map(|i| a[i * n + k]).collect();
        v[0] -= alpha;
        let vv: f64 = v.iter().map(|x| x * x).sum();
        if vv == 0.0 {
            continue;
        }
        for j in k..n {
            let d: f64 = (k..m).map(|i| v[i - k] * a[i * n + j]).sum();
            let f = 2.0 * d / vv;
            for i in k..m {
                a[i * n + j] -= f * v[i - k];
            }
        }
        let d: f64 = (k..m).map(|i| v[i - k] * b[i]).sum();
        let f = 2.0 * d / vv;
        for i in k..m {
            b[i] -= f * v[i - k];
        }
    }
    let mut coef = vec![0f64; n];
    for k in (0..n.min(m)).rev() {
        let mut acc = b[k];
        for j in k + 1..n {
            acc -= a[k * n + j] * coef[j];
        }
        coef[k] = if a[k * n + k] != 0.0 {
            acc / a[k * n + k]
        } else {
            0.0
        };
    }
    // Differentiate `deriv` times in u, then convert to t: d/dt = (1/s) d/du.
    for _ in 0..deriv {
        for k in 0..n {
            coef[k] = if k + 1 < n {
                coef[k + 1] * (k + 1) as f64
            } else {
                0.0
            };
        }
    }
    let scale = 1.0 / (s.powi(deriv as i32) * delta.powi(deriv as i32));
    at.iter()
        .map(|&t| {
            let u = (t - c) / s;
            coef.iter().rev().fold(0.0, |acc, &ck| acc * u + ck) * scale
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Quantisation with TPDF dither.

/// splitmix64: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }
}

/// Writes mixed f32 samples to a WAV writer in its format, with dither and clip counting.
struct Quantizer {
    format: SampleFormat,
    dither: bool,
    rng: Rng,
    ints: Vec<i32>,
    clipped: u64,
}

impl Quantizer {
    fn new(format: SampleFormat, dither: bool, seed: u64) -> Quantizer {
        Quantizer {
            format,
            dither,
            rng: Rng(seed),
            ints: Vec::new(),
            clipped: 0,
        }
    }

    fn write<W: Write + Seek>(
        &mut self,
        w: &mut WavWriter<W>,
        samples: &[f32],
    ) -> Result<(), WavError> {
        if self.format.is_float() {
            return w.write_f32(samples);
        }
        let full = (1u64 << (self.format.bits() - 1)) as f64;
        let (lo, hi) = (-full, full - 1.0);
        self.ints.clear();
        for &v in samples {
            let x = v as f64 * full;
            if x.round() > hi || x.round() < lo {
                self.clipped += 1;
            }
            let d = if self.dither {
                (self.rng.next_f32() - self.rng.next_f32()) as f64
            } else {
                0.0
            };
            self.ints.push((x + d).round().clamp(lo, hi) as i32);
        }
        w.write_int(&self.ints)
    }
}

// ---------------------------------------------------------------------------------------
// The streaming core.

/// A delay line over interleaved frames.
struct Delay {
    buf: Vec<f32>,
    pos: usize,
}

impl Delay {
    fn new(frames: usize, ch: usize) -> Delay {
        Delay {
            buf: vec![0.0; frames * ch],
            pos: 0,
        }
    }

    fn run(&mut self, input: &[f32], out: &mut [f32]) {
        if self.buf.is_empty() {
            out.copy_from_slice(input);
            return;
        }
        for (o, &i) in out.iter_mut().zip(input) {
            *o = self.buf[self.pos];
            self.buf[self.pos] = i;
            self.pos += 1;
            if self.pos == self.buf.len() {
                self.pos = 0;
            }
        }
    }
}

/// Largest absolute value in `v` (0 for an empty slice; NaNs are ignored), in 16
/// independent lanes with a plain comparison so that it vectorises to `maxps`.
fn peak_abs(v: &[f32]) -> f32 {
    #[inline(always)]
    fn max_abs(m: f32, x: f32) -> f32 {
        let a = x.abs();
        if a > m {
            a
        } else {
            m
        }
    }
    let mut lanes = [0f32; 16];
    let mut chunks = v.chunks_exact(16);
    for c in &mut chunks {
        for (m, &x) in lanes.iter_mut().zip(c) {
            *m = max_abs(*m, x);
        }
    }
    let tail = chunks.remainder().iter().fold(0f32, |m, &x| max_abs(m, x));
    lanes.iter().fold(tail, |m, &x| max_abs(m, x))
}

/// Settings of one streaming run, resolved from the file and the options.
struct Run<'a> {
    input: &'a Path,
    kernel: &'a Kernel,
    opts: &'a Options,
    cancel: &'a AtomicBool,
}

/// Peak and frame count of the mixed output.
struct Streamed {
    peak: f64,
    frames: u64,
    plan: String,
    out_ch: usize,
}

/// Build the engine for `kernel` on `in_ch` channels.
///
/// `request` chooses the plan: `None` is [`PlanRequest::offline`] (the cheapest plan,
/// latency free); a real-time request renders exactly what a live run with that call size
/// would produce.
pub fn engine_for(
    input: &Path,
    kernel: &Kernel,
    in_ch: usize,
    request: Option<&PlanRequest>,
) -> Result<(Engine, Routing), OfflineError> {
    engine_for_taps(input, kernel, &kernel.to_f32(), in_ch, request)
}

/// Engines kept between the files of a batch (one cache per worker thread): a file with
/// the same kernel taps, input channel count and plan request as the cache's last one reuses
/// that engine, reset, instead of planning FFTs and allocating and prefaulting its buffers
/// again (milliseconds per file for long IRs). A reset engine renders exactly what a new one
/// does.
#[derive(Default)]
pub struct EngineCache {
    last: Option<CachedEngine>,
}

struct CachedEngine {
    taps: Vec<Vec<f32>>,
    in_ch: usize,
    request: Option<PlanRequest>,
    engine: Engine,
    routing: Routing,
}

impl EngineCache {
    pub fn new() -> EngineCache {
        EngineCache::default()
    }

    /// The cached engine if it was built for exactly this kernel (as f32 taps), channel
    /// count and request; otherwise a new one.
    fn take(
        &mut self,
        input: &Path,
        kernel: &Kernel,
        in_ch: usize,
        request: Option<&PlanRequest>,
    ) -> Result<CachedEngine, OfflineError> {
        if let Some(mut c) = self.last.take() {
            let same_taps = c.taps.len() == kernel.channels.len()
                && c.taps.iter().zip(&kernel.channels).all(|(a, b)| {
                    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| x == y as f32)
                });
            if same_taps && c.in_ch == in_ch && c.request.as_ref() == request {
                c.engine.reset();
                return Ok(c);
            }
        }
        let taps = kernel.to_f32();
        let (engine, routing) = engine_for_taps(input, kernel, &taps, in_ch, request)?;
        Ok(CachedEngine {
            taps,
            in_ch,
            request: request.cloned(),
            engine,
            routing,
        })
    }
}

fn engine_for_taps(
    input: &Path,
    kernel: &Kernel,
    taps: &[Vec<f32>],
    in_ch: usize,
    request: Option<&PlanRequest>,
) -> Result<(Engine, Routing), OfflineError> {
    let routing =
        Routing::auto(in_ch, kernel.channel_count()).map_err(|_| OfflineError::Channels {
            input: input.to_path_buf(),
            input_channels: in_ch,
            kernel: kernel.name.clone(),
            ir_channels: kernel.channel_count(),
        })?;
    let req = request
        .cloned()
        .unwrap_or_else(|| PlanRequest::offline(0, 1, 1));
    let engine =
        Engine::new(taps, routing.clone(), req).map_err(|source| OfflineError::Engine {
            input: input.to_path_buf(),
            source,
        })?;
    Ok((engine, routing))
}

impl Run<'_> {
    /// Stream the input through the engine; `sink` gets the mixed output in order.
    fn stream(
        &self,
        cache: &mut EngineCache,
        progress: &mut dyn FnMut(u64),
        sink: &mut dyn FnMut(&[f32]) -> Result<(), OfflineError>,
    ) -> Result<Streamed, OfflineError> {
        let mut reader = WavReader::open(self.input)?;
        let info = reader.info();
        let (n, m) = (info.frames, self.kernel.len_frames() as u64);
        let in_ch = info.channels;
        let mut cached = cache.take(
            self.input,
            self.kernel,
            in_ch,
            self.opts.plan_request.as_ref(),
        )?;
        let (engine, routing) = (&mut cached.engine, cached.routing.clone());
        let out_ch = routing.output_channels;
        let geo = geometry(n, m, self.opts.mode, self.opts.edge);
        let edge = self.opts.edge.unwrap_or(Edge::Constant);

        // Edge context and savgol edge values.
        let savgol = match self.opts.edge {
            Some(Edge::Interp(sg)) => Some(sg),
            _ => None,
        };
        let mut left_ext = Vec::new();
        let mut right_ext = Vec::new();
        let mut fit_left: Vec<Vec<f64>> = Vec::new();
        let mut fit_right: Vec<Vec<f64>> = Vec::new();
        let halflen = savgol.map_or(0, |s| (s.window / 2) as u64);
        if geo.left > 0 || geo.right > 0 || savgol.is_some() {
            let need =
                (geo.left.max(geo.right) as u64 + 1).max(savgol.map_or(0, |s| s.window as u64));
            let ends = Ends::read(self.input, need)?;
            left_ext = ends.extension(-(geo.left as i64), geo.left, edge);
            right_ext = ends.extension(n as i64, geo.right, edge);
            if let Some(sg) = savgol {
                let w = sg.window as u64;
                if n < w {
                    return Err(OfflineError::Invalid {
                        input: self.input.to_path_buf(),
                        reason: format!(
                            "{n} frames is shorter than the savgol window of {w} (needed by --edge interp)"
                        ),
                    });
                }
                let at_left: Vec<f64> = (0..halflen).map(|t| t as f64).collect();
                let at_right: Vec<f64> = (w - halflen..w).map(|t| t as f64).collect();
                for c in 0..in_ch {
                    let yl = ends.channel(c, 0, sg.window);
                    let yr = ends.channel(c, n - w, sg.window);
                    fit_left.push(polyfit_eval(
                        &yl,
                        sg.polyorder,
                        sg.deriv,
                        sg.delta,
                        &at_left,
                    ));
                    fit_right.push(polyfit_eval(
                        &yr,
                        sg.polyorder,
                        sg.deriv,
                        sg.delta,
                        &at_right,
                    ));
                }
            }
        }

        // Calls of the request's size (a live run's), else the plan's cheapest size.
        let block = self
            .opts
            .plan_request
            .as_ref()
            .and_then(|r| r.call_frames)
            .unwrap_or_else(|| engine.plan().preferred_call_frames())
            .clamp(1, engine.max_call_frames());
        let lat = engine.latency_frames() as u64;
        let wet = self.opts.wet as f32;
        let gain = 10f64.powf(self.opts.gain_db / 20.0) as f32;
        let use_dry = wet < 1.0;
        let mut dry = Delay::new(
            if use_dry {
                (lat + geo.dry_lag) as usize
            } else {
                0
            },
            in_ch,
        );
        let mut inbuf = vec![0f32; block * in_ch];
        let mut outbuf = vec![0f32; block * out_ch];
        let mut drybuf = vec![0f32; if use_dry { block * in_ch } else { 0 }];

        // Engine input stream position (frames) and raw engine output count.
        let stream_len = geo.left as u64 + n + geo.right as u64;
        let mut fed: u64 = 0;
        let keep_from = lat + geo.discard;
        let keep_to = keep_from + geo.take;
        let mut peak = 0f64;
        let mut emitted = 0u64;
        while fed < keep_to {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(OfflineError::Cancelled {
                    input: self.input.to_path_buf(),
                });
            }
            // Fill the input block from extension, file, extension, zeros.
            let mut k = 0usize; // frames filled
            while k < block {
                let pos = fed + k as u64;
                let dst = &mut inbuf[k * in_ch..];
                if pos < geo.left as u64 {
                    let take = (geo.left as u64 - pos).min((block - k) as u64) as usize;
                    let s = pos as usize * in_ch;
                    dst[..take * in_ch].copy_from_slice(&left_ext[s..s + take * in_ch]);
                    k += take;
                } else if pos < geo.left as u64 + n {
                    let want = (geo.left as u64 + n - pos).min((block - k) as u64) as usize;
                    let got = reader.read_frames(&mut dst[..want * in_ch])?;
                    if got == 0 {
                        return Err(WavError::Truncated {
                            path: self.input.to_path_buf(),
                            frame: pos - geo.left as u64,
                            reason: "unexpected end of data".into(),
                        }
                        .into());
                    }
                    k += got;
                } else if pos < stream_len {
                    let take = (stream_len - pos).min((block - k) as u64) as usize;
                    let s = (pos - geo.left as u64 - n) as usize * in_ch;
                    dst[..take * in_ch].copy_from_slice(&right_ext[s..s + take * in_ch]);
                    k += take;
                } else {
                    dst[..(block - k) * in_ch].fill(0.0);
                    k = block;
                }
            }
            engine
                .process_block(&inbuf, &mut outbuf)
                .map_err(|e| OfflineError::Invalid {
                    input: self.input.to_path_buf(),
                    reason: format!("engine: {e}"),
                })?;
            if use_dry {
                dry.run(&inbuf, &mut drybuf);
            }
            // Keep raw outputs fed..fed+block that fall in keep_from..keep_to.
            let lo = keep_from.max(fed);
            let hi = keep_to.min(fed + block as u64);
            if lo < hi {
                let (j0, j1) = ((lo - fed) as usize, (hi - fed) as usize);
                // Mixed in place: the engine overwrites the whole buffer on the next call.
                let mixed = &mut outbuf[j0 * out_ch..j1 * out_ch];
                if savgol.is_some() {
                    for r in lo..hi {
                        let i = r - keep_from; // output frame index
                        let fit = if i < halflen {
                            Some((&fit_left, i as usize))
                        } else if i >= n - halflen {
                            Some((&fit_right, (i - (n - halflen)) as usize))
                        } else {
                            None
                        };
                        if let Some((fit, k)) = fit {
                            let at = (r - lo) as usize * out_ch;
                            for c in 0..out_ch {
                                mixed[at + c] = fit[c][k] as f32;
                            }
                        }
                    }
                }
                if use_dry {
                    let dry = &drybuf[j0 * in_ch..j1 * in_ch];
                    for (f, v) in mixed.chunks_exact_mut(out_ch).enumerate() {
                        for (c, v) in v.iter_mut().enumerate() {
                            let d = dry[f * in_ch + if in_ch == out_ch { c } else { 0 }];
                            *v = wet * *v + (1.0 - wet) * d;
                        }
                    }
                }
                if gain != 1.0 {
                    mixed.iter_mut().for_each(|v| *v *= gain);
                }
                peak = peak.max(peak_abs(mixed) as f64);
                sink(mixed)?;
                emitted += hi - lo;
                progress(emitted);
            }
            fed += block as u64;
        }
        let plan = engine.plan().to_string();
        cache.last = Some(cached);
        Ok(Streamed {
            peak,
            frames: emitted,
            plan,
            out_ch,
        })
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

/// The output file, with its data handed to the disk as it is written: every
/// [`Writeback::CHUNK_BYTES`] a non-blocking `sync_file_range(SYNC_FILE_RANGE_WRITE)` (Linux)
/// starts writeback of the chunk, so that the `fsync` before the rename, which makes the
/// output durable, finds most of the file already on its way and does not wait for all of
/// it at the end (on other systems it is a plain file, and the `fsync` does all the work).
struct Writeback {
    file: std::fs::File,
    pos: u64,
    /// Bytes from 0 up to here have had writeback started.
    started: u64,
}

impl Writeback {
    const CHUNK_BYTES: u64 = 4 << 20;

    fn new(file: std::fs::File) -> Writeback {
        Writeback {
            file,
            pos: 0,
            started: 0,
        }
    }

    fn into_file(self) -> std::fs::File {
        self.file
    }

    fn start_writeback(&mut self) {
        if self.pos < self.started + Self::CHUNK_BYTES {
            return;
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::io::AsRawFd;
            // Advisory: an error here only means the final fsync does all the work.
            // SAFETY: a plain syscall on a file descriptor we own; no memory is passed.
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    self.started as libc::off64_t,
                    (self.pos - self.started) as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
        }
        self.started = self.pos;
    }
}

impl Write for Writeback {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.pos += n as u64;
        self.start_writeback();
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Seek for Writeback {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.pos = self.file.seek(to)?;
        self.started = self.started.min(self.pos);
        Ok(self.pos)
    }
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

fn dest_dir(output: &Path) -> PathBuf {
    match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn temp_in(output: &Path, suffix: &str) -> Result<tempfile::NamedTempFile, OfflineError> {
    let name = output
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let prefix = format!(".{name}.");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix).suffix(suffix);
    // Outputs get ordinary file permissions, not the 0600 of a private temp file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o644));
    }
    b.tempfile_in(dest_dir(output))
        .map_err(|source| OfflineError::Destination {
            path: output.to_path_buf(),
            source,
        })
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
    let mut cache = EngineCache::new();
    process_file_cached(input, output, kernel, opts, progress, cancel, &mut cache)
}

/// [`process_file`] reusing the engine of the previous file in `cache` when the kernel,
/// channel count and plan request are the same (for batches).
pub fn process_file_cached(
    input: &Path,
    output: &Path,
    kernel: &Kernel,
    opts: &Options,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
    cache: &mut EngineCache,
) -> Result<Summary, OfflineError> {
    let started = Instant::now();
    let info = WavReader::open(input)?.info();
    if same_file(input, output) {
        return Err(OfflineError::OutputIsInput {
            path: output.to_path_buf(),
        });
    }
    if !opts.force && output.exists() {
        return Err(OfflineError::OutputExists {
            path: output.to_path_buf(),
        });
    }
    check_kernel(input, info.sample_rate_hz, kernel, opts)?;
    let format = opts.format.unwrap_or(info.format);
    let n = info.frames;
    let m = kernel.len_frames() as u64;
    let geo = geometry(n, m, opts.mode, opts.edge);
    let passes = if opts.normalize_peak_db.is_some() {
        2
    } else {
        1
    };
    let total = geo.take * passes;
    let run = Run {
        input,
        kernel,
        opts,
        cancel,
    };
    let out_ch = Routing::auto(info.channels, kernel.channel_count())
        .map_err(|_| OfflineError::Channels {
            input: input.to_path_buf(),
            input_channels: info.channels,
            kernel: kernel.name.clone(),
            ir_channels: kernel.channel_count(),
        })?
        .output_channels;

    let tmp = temp_in(output, ".part")?;
    let file = tmp
        .as_file()
        .try_clone()
        .map_err(|source| OfflineError::Destination {
            path: output.to_path_buf(),
            source,
        })?;
    let mut writer = WavWriter::new(
        BufWriter::with_capacity(1 << 16, Writeback::new(file)),
        output,
        out_ch,
        info.sample_rate_hz,
        format,
    )?;
    let mut quant = Quantizer::new(format, opts.dither, opts.dither_seed);
    let streamed;
    let mut normalize_gain = None;
    let peak;
    match opts.normalize_peak_db {
        None => {
            streamed = run.stream(cache, &mut |d| progress(d, total), &mut |s| {
                quant.write(&mut writer, s).map_err(Into::into)
            })?;
            peak = streamed.peak;
        }
        Some(target_db) => {
            // Pass 1: mixed f32 output to a raw temporary file, measuring the peak.
            let raw = temp_in(output, ".pass1")?;
            let raw_err = |e: std::io::Error| {
                OfflineError::from(WavError::Write {
                    path: raw.path().to_path_buf(),
                    reason: e.to_string(),
                })
            };
            {
                let mut w = BufWriter::with_capacity(1 << 16, raw.as_file());
                let mut bytes = Vec::new();
                streamed = run.stream(cache, &mut |d| progress(d, total), &mut |s| {
                    bytes.clear();
                    for v in s {
                        bytes.extend_from_slice(&v.to_le_bytes());
                    }
                    w.write_all(&bytes).map_err(raw_err)
                })?;
                w.flush().map_err(raw_err)?;
            }
            // Pass 2: scale to the target and write.
            let g = if streamed.peak > 0.0 {
                10f64.powf(target_db / 20.0) / streamed.peak
            } else {
                1.0
            };
            normalize_gain = Some(g);
            let mut r = BufReader::with_capacity(1 << 16, raw.reopen().map_err(raw_err)?);
            let chunk = 4096 * out_ch;
            let mut bytes = vec![0u8; chunk * 4];
            let mut samples = vec![0f32; chunk];
            let mut left = streamed.frames * out_ch as u64;
            let mut p2peak = 0f64;
            let mut done = 0u64;
            while left > 0 {
                if cancel.load(Ordering::Relaxed) {
                    return Err(OfflineError::Cancelled {
                        input: input.to_path_buf(),
                    });
                }
                let k = (left as usize).min(chunk);
                r.read_exact(&mut bytes[..k * 4]).map_err(raw_err)?;
                for (s, b) in samples[..k].iter_mut().zip(bytes.chunks_exact(4)) {
                    *s = (f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64 * g) as f32;
                    p2peak = p2peak.max(s.abs() as f64);
                }
                quant.write(&mut writer, &samples[..k])?;
                left -= k as u64;
                done += (k / out_ch) as u64;
                progress(geo.take + done, total);
            }
            peak = p2peak;
        }
    }
    let file = writer.finalize()?;
    let file = file
        .into_inner()
        .map_err(|e| WavError::Write {
            path: output.to_path_buf(),
            reason: e.error().to_string(),
        })?
        .into_file();
    file.sync_all().map_err(|e| WavError::Write {
        path: output.to_path_buf(),
        reason: e.to_string(),
    })?;
    drop(file);
    if quant.clipped > 0 && !opts.allow_clip {
        return Err(OfflineError::Clipped {
            output: output.to_path_buf(),
            count: quant.clipped,
            peak_dbfs: 20.0 * peak.log10(),
            format,
        });
    }
    let persisted = if opts.force {
        tmp.persist(output).map(|_| ())
    } else {
        tmp.persist_noclobber(output).map(|_| ())
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            OfflineError::OutputExists {
                path: output.to_path_buf(),
            }
        } else {
            OfflineError::Destination {
                path: output.to_path_buf(),
                source: e.error,
            }
        }
    })?;
    Ok(Summary {
        input_frames: n,
        output_frames: streamed.frames,
        sample_rate_hz: info.sample_rate_hz,
        input_channels: info.channels,
        output_channels: streamed.out_ch,
        output_format: format,
        plan: streamed.plan,
        peak,
        clipped: quant.clipped,
        normalize_gain,
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_maps_match_scipy_ndimage_pictures() {
        // n = 4: a b c d at 0..4; three frames each side.
        let pic = |e| (-3..7).map(|j| map_index(j, 4, e)).collect::<Vec<_>>();
        let s = |v: &[i64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
        assert_eq!(pic(Edge::Reflect), s(&[2, 1, 0, 0, 1, 2, 3, 3, 2, 1]));
        assert_eq!(pic(Edge::Mirror), s(&[3, 2, 1, 0, 1, 2, 3, 2, 1, 0]));
        assert_eq!(pic(Edge::Nearest), s(&[0, 0, 0, 0, 1, 2, 3, 3, 3, 3]));
        assert_eq!(pic(Edge::Wrap), s(&[1, 2, 3, 0, 1, 2, 3, 0, 1, 2]));
        assert_eq!(pic(Edge::Constant)[0], None);
    }

    #[test]
    fn polyfit_reproduces_a_polynomial_and_its_derivatives() {
        // y = 2 - 3t + 0.5t^2 - 0.01t^3 on 0..11, fitted with order 3: exact.
        let f = |t: f64| 2.0 - 3.0 * t + 0.5 * t * t - 0.01 * t * t * t;
        let df = |t: f64| -3.0 + t - 0.03 * t * t;
        let y: Vec<f64> = (0..11).map(|t| f(t as f64)).collect();
        let at = [0.0, 1.5, 10.0];
        let v = polyfit_eval(&y, 3, 0, 1.0, &at);
        let d = polyfit_eval(&y, 3, 1, 0.5, &at);
        for (k, &t) in at.iter().enumerate() {
            assert!((v[k] - f(t)).abs() < 1e-12, "{} vs {}", v[k], f(t));
            assert!((d[k] - df(t) / 0.5).abs() < 1e-11);
        }
    }

    #[test]
    fn savgol_spec_parameters() {
        assert_eq!(
            Savgol::from_spec("savgol:11,3,deriv=1,delta=0.5"),
            Some(Ok(Savgol {
                window: 11,
                polyorder: 3,
                deriv: 1,
                delta: 0.5
            }))
        );
        assert!(Savgol::from_spec("flat:3").is_none());
        assert!(matches!(Savgol::from_spec("savgol:5,5"), Some(Err(_))));
        assert!(matches!(
            Savgol::from_spec("savgol:11,3,pos=2"),
            Some(Err(_))
        ));
    }
}
