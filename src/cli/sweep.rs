//! `faltung sweep` (write a synchronized exponential sine sweep) and `faltung deconvolve`
//! (a recording of it, back into impulse responses).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use faltung::audio_file::{write_samples, AudioReader};
use faltung::kernel::decay::decay_times;
use faltung::measure::sweep::{deconvolve_sweep, peak_and_snr, synchronized_sweep, SweepSpec};

/// A level such as `-6dB`, `-6 dB` or `-6`, in dBFS.
pub fn parse_db(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("dB")
        .or_else(|| t.strip_suffix("db"))
        .or_else(|| t.strip_suffix("dBFS"))
        .unwrap_or(t);
    t.trim()
        .parse::<f64>()
        .map_err(|_| format!("`{s}` is not a level in dB (e.g. -6dB)"))
}

/// The sweep's length and frequencies, as `faltung sweep` and `faltung measure` take them.
#[derive(Args)]
pub struct SweepRange {
    /// The sweep's length in seconds, before its silence (rounded so that the sweep is
    /// synchronized).
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Start frequency in Hz.
    #[arg(long, default_value_t = 20.0)]
    pub f0: f64,
    /// End frequency in Hz.
    #[arg(long, default_value_t = 20_000.0)]
    pub f1: f64,
}

#[derive(Args)]
pub struct SweepArgs {
    /// The sweep's file (a WAV holds 32-bit float; a .flac 24-bit).
    #[arg(short, long)]
    pub output: PathBuf,
    #[arg(long, default_value_t = 48_000)]
    pub rate: u32,
    #[command(flatten)]
    pub range: SweepRange,
    /// Peak level, e.g. -6dB.
    #[arg(long, default_value = "-6dB", value_parser = parse_db, allow_hyphen_values = true)]
    pub level: f64,
    /// Seconds of silence after the sweep, for the room's tail.
    #[arg(long, default_value_t = 3.0)]
    pub silence: f64,
    /// The same sweep on this many channels.
    #[arg(long, default_value_t = 1)]
    pub channels: usize,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
}

pub fn run_sweep(a: SweepArgs) -> anyhow::Result<()> {
    if a.channels == 0 || a.channels > faltung::audio_file::MAX_CHANNELS {
        bail!(
            "--channels {}: must be 1 to {}",
            a.channels,
            faltung::audio_file::MAX_CHANNELS
        );
    }
    let (x, info) = synchronized_sweep(&SweepSpec {
        rate_hz: a.rate,
        seconds: a.range.seconds,
        f0_hz: a.range.f0,
        f1_hz: a.range.f1,
        level_db: a.level,
        silence_s: a.silence,
    })?;
    let interleaved: Vec<f32> = x
        .iter()
        .flat_map(|&v| std::iter::repeat_n(v as f32, a.channels))
        .collect();
    write_samples(&a.output, a.channels, a.rate, &interleaved, a.force)?;
    println!(
        "{}: sweep {:.1} Hz to {:.1} Hz, {:.3} s (L = {:.6} s) at {:.1} dBFS, then {:.3} s of silence, {} Hz, {} channel(s)",
        a.output.display(),
        info.f0_hz,
        info.f1_hz,
        info.active_frames as f64 / f64::from(a.rate),
        info.l_s,
        a.level,
        (x.len() - info.active_frames) as f64 / f64::from(a.rate),
        a.rate,
        a.channels
    );
    Ok(())
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum NormalizeIr {
    /// Keep the level (the system's gain).
    None,
    /// The largest |sample| over all channels becomes 1.
    Peak,
}

#[derive(Args)]
pub struct DeconvolveArgs {
    /// The recording, its first frame at the sweep's start.
    pub recording: PathBuf,
    /// The sweep that was played (its first channel is used).
    #[arg(long)]
    pub sweep: PathBuf,
    /// The IR's file (WAV: 32-bit float), one channel per recorded channel.
    #[arg(short, long)]
    pub output: PathBuf,
    /// IR length in seconds (default: the recording's length minus the sweep's).
    #[arg(long)]
    pub length: Option<f64>,
    /// Also write the 2nd..Nth harmonic IRs.
    #[arg(long, default_value_t = 1)]
    pub harmonics: usize,
    /// Where the harmonic IRs go (`<output stem>-h<k>.wav`; default: next to the output).
    #[arg(long)]
    pub harmonics_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = NormalizeIr::None)]
    pub normalize: NormalizeIr,
    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
}

/// Every channel of an audio file as f64, and its rate.
fn read_all(path: &Path) -> anyhow::Result<(Vec<Vec<f64>>, u32)> {
    // The library's errors name the file.
    let mut r = AudioReader::open(path)?;
    let info = r.info();
    let ch = info.channels;
    let mut chans = vec![Vec::new(); ch];
    let mut buf = vec![0.0f64; 4096 * ch];
    loop {
        let got = r.read_frames_f64(&mut buf)?;
        if got == 0 {
            break;
        }
        for f in buf[..got * ch].chunks_exact(ch) {
            for (c, v) in chans.iter_mut().zip(f) {
                c.push(*v);
            }
        }
    }
    Ok((chans, info.sample_rate_hz))
}

/// Write channels of f64 samples as one file (interleaved f32, the format by extension).
pub(super) fn write_channels(
    path: &Path,
    chans: &[Vec<f64>],
    rate: u32,
    force: bool,
) -> anyhow::Result<()> {
    let len = chans[0].len();
    let interleaved: Vec<f32> = (0..len)
        .flat_map(|i| chans.iter().map(move |c| c[i] as f32))
        .collect();
    write_samples(path, chans.len(), rate, &interleaved, force)?;
    Ok(())
}

/// The line for IR channel `i` (from 0): its peak `pos` and `snr` and its decay times.
pub(super) fn print_channel(i: usize, h: &[f64], rate: u32, pos: usize, snr: Option<f64>) {
    let dec = decay_times(h, rate);
    let t = |v: Option<f64>| v.map_or("-".to_string(), |s| format!("{s:.3} s"));
    println!(
        "channel {}: peak at frame {} ({:.3} ms), SNR {}, T20 {}, T30 {}",
        i + 1,
        pos,
        pos as f64 * 1e3 / f64::from(rate),
        snr.map_or("-".to_string(), |v| format!("{v:.1} dB")),
        t(dec.t20_s),
        t(dec.t30_s)
    );
}

pub fn run_deconvolve(a: DeconvolveArgs) -> anyhow::Result<()> {
    if a.harmonics == 0 || a.harmonics > 32 {
        bail!("--harmonics {}: must be 1 to 32", a.harmonics);
    }
    let (sweep, sweep_rate) = read_all(&a.sweep)?;
    let (rec, rate) = read_all(&a.recording)?;
    if rate != sweep_rate {
        bail!(
            "{}: {} Hz, but the sweep {} is at {} Hz",
            a.recording.display(),
            rate,
            a.sweep.display(),
            sweep_rate
        );
    }
    let length = match a.length {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some((s * f64::from(rate)).round() as usize),
        Some(s) => bail!("--length {s}: must be a positive number of seconds"),
    };
    let peak_in = rec.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    if peak_in == 0.0 {
        bail!(
            "{}: the recording is silent (every sample is zero): nothing to deconvolve",
            a.recording.display()
        );
    }
    if peak_in >= 0.999 {
        eprintln!(
            "faltung: warning: {} reaches full scale ({:.1} dBFS): the recording may have clipped, and the IR will show the distortion",
            a.recording.display(),
            20.0 * peak_in.log10()
        );
    }
    let mut d = deconvolve_sweep(&rec, &sweep[0], rate, length, a.harmonics)
        .with_context(|| format!("{} by {}", a.recording.display(), a.sweep.display()))?;
    let s = d.sweep;
    println!(
        "sweep {}: {:.1} Hz to {:.1} Hz, L = {:.6} s, {} frames",
        a.sweep.display(),
        s.f0_hz,
        s.f1_hz,
        s.l_s,
        s.active_frames
    );
    if a.normalize == NormalizeIr::Peak {
        let peak = d.irs.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
        if peak == 0.0 {
            bail!(
                "{}: the IR is silent, nothing to normalise",
                a.recording.display()
            );
        }
        for v in d.irs.iter_mut().flatten() {
            *v /= peak;
        }
        for v in d.harmonics.iter_mut().flatten().flatten() {
            *v /= peak;
        }
    }
    for (i, h) in d.irs.iter().enumerate() {
        let (pos, snr) = peak_and_snr(h);
        print_channel(i, h, rate, pos, snr);
    }
    write_channels(&a.output, &d.irs, rate, a.force)?;
    println!(
        "{}: {} channel(s), {} frames",
        a.output.display(),
        d.irs.len(),
        d.irs[0].len()
    );
    if !d.harmonics.is_empty() {
        let dir = a
            .harmonics_dir
            .clone()
            .unwrap_or_else(|| a.output.parent().map(Path::to_path_buf).unwrap_or_default());
        let stem = a
            .output
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "ir".into());
        for (i, h) in d.harmonics.iter().enumerate() {
            let k = i + 2;
            let p = dir.join(format!("{stem}-h{k}.wav"));
            write_channels(&p, h, rate, a.force)?;
            println!(
                "{}: harmonic {k}, {:.3} ms before the linear IR, {} frames",
                p.display(),
                s.harmonic_advance_s(k) * 1e3,
                h[0].len()
            );
        }
    }
    Ok(())
}
