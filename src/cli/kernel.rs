//! `faltung kernel SPEC|FILE`: load or generate a kernel, print its summary, its taps
//! (`--text`), write it as a WAV (`-o`) or draw it (`--plot`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use clap::Args;
use faltung::kernel::analysis::{channel_names, DelayKind};
use faltung::kernel::{self, IrOptions, Kernel, Normalize};
use faltung::limits;
use faltung::text::excerpt;

/// Options that shape an impulse response; other subcommands can `#[command(flatten)]` them.
#[derive(Args, Debug, Clone)]
pub struct IrArgs {
    /// Normalisation: none | peak (max |tap| = 1) | dc (sum of taps = 1) | energy (unit L2).
    #[arg(long, default_value = "none")]
    pub normalize: Normalize,
    /// Gain in dB, applied after normalisation.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub gain_db: f64,
    /// Trim leading silence below this level in dB re peak (e.g. -60); off by default.
    #[arg(long, allow_negative_numbers = true)]
    pub trim_leading_db: Option<f64>,
    /// Trim the tail below this level in dB re peak (e.g. -90); off by default.
    #[arg(long, allow_negative_numbers = true)]
    pub trim_tail_db: Option<f64>,
    /// Reverse the kernel in time.
    #[arg(long)]
    pub reverse: bool,
    /// Treat a sample-rate mismatch between IR and stream as an error instead of resampling.
    #[arg(long)]
    pub no_resample: bool,
    /// Longest IR file accepted, in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub max_ir_seconds: f64,
}

impl IrArgs {
    /// Refuse values that would switch a check off or make the kernel non-finite
    /// (`--max-ir-seconds NaN`, `--gain-db inf`).
    pub fn validate(&self) -> anyhow::Result<()> {
        let s = self.max_ir_seconds;
        if !(s.is_finite() && s > 0.0) {
            bail!("--max-ir-seconds {s}: must be a positive number of seconds");
        }
        if !self.gain_db.is_finite() {
            bail!("--gain-db {}: must be a finite number of dB", self.gain_db);
        }
        for (name, v) in [
            ("--trim-leading-db", self.trim_leading_db),
            ("--trim-tail-db", self.trim_tail_db),
        ] {
            if let Some(db) = v {
                if !(db.is_finite() && db < 0.0) {
                    bail!("{name} {db}: must be below 0 dB (relative to the peak)");
                }
            }
        }
        Ok(())
    }

    /// The library options for a stream at `target_rate_hz`.
    pub fn options(&self, target_rate_hz: Option<u32>) -> IrOptions {
        IrOptions {
            max_seconds: self.max_ir_seconds,
            target_rate_hz,
            resample: !self.no_resample,
            normalize: self.normalize,
            gain_db: self.gain_db,
            trim_leading_below_db: self.trim_leading_db,
            trim_tail_below_db: self.trim_tail_db,
            reverse: self.reverse,
            ..IrOptions::default()
        }
    }
}

#[derive(Args)]
pub struct KernelArgs {
    /// A kernel spec (`hann:31`, `savgol:11,3`, `lowpass:255,cutoff=3400`, ...) or an IR
    /// file (WAV, FLAC, AIFF, Ogg Vorbis, MP3).
    pub kernel: String,
    /// Sample rate in Hz: for specs with cutoffs in Hz; for an IR file, the stream rate it
    /// is resampled to.
    #[arg(long)]
    pub rate: Option<u32>,
    /// Print the taps only, one frame per line in full precision (channels separated by tabs).
    #[arg(long)]
    pub text: bool,
    /// Write the kernel as a 32-bit float WAV, or as a 24-bit FLAC for a .flac name.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing -o file.
    #[arg(long)]
    pub force: bool,
    /// Draw impulse and magnitude response to an SVG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Convert to minimum phase (same magnitude response, energy as early as possible:
    /// a correction filter without latency).
    #[arg(long)]
    pub min_phase: bool,
    /// Print what was done to the kernel (resampling, trims, normalisation, gain).
    #[arg(short, long)]
    pub verbose: bool,
    #[command(flatten)]
    pub ir: IrArgs,
}

/// Names of the audio files faltung reads (a name ending so is a file, not a spec).
const AUDIO_EXTENSIONS: [&str; 10] = [
    ".wav", ".rf64", ".bw64", ".flac", ".aif", ".aiff", ".aifc", ".ogg", ".oga", ".mp3",
];

/// Whether `what` names a file rather than a kernel spec: an existing file, or else
/// anything that does not start with a kernel name and a colon and looks like a path
/// (`lowpass:255,cutoff=3400/2` is a spec with a bad number, not a path).
pub fn looks_like_file(what: &str) -> bool {
    if Path::new(what).is_file() {
        return true;
    }
    let spec_name = what.split_once(':').map(|(n, _)| n.trim());
    if spec_name
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return false;
    }
    let lower = what.to_ascii_lowercase();
    AUDIO_EXTENSIONS.iter().any(|e| lower.ends_with(e)) || what.contains(std::path::MAIN_SEPARATOR)
}

/// A `--rate` value checked against the supported range.
pub fn check_rate(rate: Option<u32>) -> anyhow::Result<Option<u32>> {
    match rate {
        None => Ok(None),
        Some(r) => limits::check_rate_hz(r.into())
            .map(Some)
            .map_err(|e| anyhow!("--rate {r}: {e}")),
    }
}

/// Load a kernel from an audio file or a spec, apply the IR options, return it with notes.
pub fn load(what: &str, rate: Option<u32>, ir: &IrArgs) -> anyhow::Result<(Kernel, Vec<String>)> {
    ir.validate()?;
    let rate = check_rate(rate)?;
    let opts = ir.options(rate);
    let path = Path::new(what);
    if looks_like_file(what) {
        let l = kernel::load_ir_with_notes(path, &opts)?;
        Ok((l.kernel, l.notes))
    } else {
        let mut k = kernel::parse_spec(what, rate)?;
        // Smoothing kernels have no rate of their own; they run at the stream's.
        if k.sample_rate_hz.is_none() {
            k.sample_rate_hz = rate;
        }
        let mut notes = vec![format!(
            "generated {}: {} taps, {} channel(s)",
            excerpt(what),
            k.len_frames(),
            k.channel_count()
        )];
        let k = kernel::apply_options(k, &opts, &mut notes)?;
        Ok((k, notes))
    }
}

fn fmt_freq(cps: f64, rate: Option<u32>) -> String {
    match rate {
        Some(r) => format!("{:.1} Hz", cps * r as f64),
        None => format!("{cps:.6} cycles/sample"),
    }
}

fn fmt_frames(frames: f64, rate: Option<u32>) -> String {
    match rate {
        Some(r) => format!("{frames} frames ({:.3} ms)", frames * 1000.0 / r as f64),
        None => format!("{frames} frames"),
    }
}

fn print_summary(k: &Kernel, out: &mut impl Write) -> std::io::Result<()> {
    let s = kernel::summarize(k);
    writeln!(out, "kernel:       {}", k.name)?;
    writeln!(
        out,
        "length:       {}",
        fmt_frames(s.len_frames as f64, s.sample_rate_hz)
    )?;
    match s.sample_rate_hz {
        Some(r) => writeln!(out, "sample rate:  {r} Hz")?,
        None => writeln!(out, "sample rate:  none (give --rate for Hz and ms)")?,
    }
    let names = channel_names(s.channels.len());
    let order = if s.channels.len() == 4 {
        " (true stereo; LR = left input to right output)"
    } else {
        ""
    };
    writeln!(out, "channels:     {}{order}", s.channels.len())?;
    for (c, cs) in s.channels.iter().enumerate() {
        writeln!(out, "[{}]", names[c])?;
        let l1: f64 = k.channels[c].iter().map(|v| v.abs()).sum();
        if cs.dc_gain.abs() <= 1e-12 * l1 {
            writeln!(out, "  DC gain:      0 (the taps sum to zero)")?;
        } else {
            writeln!(
                out,
                "  DC gain:      {:.9} ({:+.3} dB)",
                cs.dc_gain,
                db(cs.dc_gain)
            )?;
        }
        writeln!(
            out,
            "  peak:         {:.9} at frame {}",
            cs.peak, cs.peak_frame
        )?;
        writeln!(
            out,
            "  energy:       {:.9} (L2 norm {:.9})",
            cs.energy,
            cs.energy.sqrt()
        )?;
        writeln!(
            out,
            "  group delay:  {} [{}]",
            fmt_frames(cs.group_delay_frames, s.sample_rate_hz),
            cs.delay_kind
        )?;
        if cs.delay_kind == DelayKind::Peak {
            writeln!(
                out,
                "  energy centroid: {}",
                fmt_frames(
                    (cs.energy_centroid_frames * 10.0).round() / 10.0,
                    s.sample_rate_hz
                )
            )?;
        }
        match (cs.cutoff_3db, cs.cutoff_6db) {
            (Some(f3), Some(f6)) => writeln!(
                out,
                "  low-pass:     -3 dB at {}, -6 dB at {}",
                fmt_freq(f3, s.sample_rate_hz),
                fmt_freq(f6, s.sample_rate_hz)
            )?,
            _ => writeln!(out, "  low-pass:     no (no -3/-6 dB points reported)")?,
        }
        if let Some(rate) = s.sample_rate_hz {
            let d = kernel::decay::decay_times(&k.channels[c], rate);
            let t = |v: Option<f64>, range: u32| {
                v.map_or(format!("- (the decay is shorter than {range} dB)"), |s| {
                    format!("{s:.3} s")
                })
            };
            writeln!(
                out,
                "  decay:        T20 {}, T30 {} (Schroeder)",
                t(d.t20_s, 25),
                t(d.t30_s, 35)
            )?;
        }
    }
    Ok(())
}

fn db(v: f64) -> f64 {
    20.0 * v.abs().log10()
}

/// Write `k` as a 32-bit float WAV, or a 24-bit FLAC for a `.flac` name (atomically: a
/// temporary file renamed into place).
fn write_wav(k: &Kernel, rate: u32, path: &Path, force: bool) -> anyhow::Result<()> {
    let interleaved: Vec<f32> = (0..k.len_frames())
        .flat_map(|i| k.channels.iter().map(move |c| c[i] as f32))
        .collect();
    faltung::audio_file::write_samples(path, k.channel_count(), rate, &interleaved, force)?;
    Ok(())
}

/// Refuse an output path that cannot become a file (a folder, a missing folder) before
/// any work is done.
pub fn check_output_path(option: &str, p: &Path) -> anyhow::Result<()> {
    if p.as_os_str().is_empty() {
        bail!("{option}: the file name is empty");
    }
    if p.is_dir() {
        bail!("{option} {}: is a folder, not a file name", p.display());
    }
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        bail!(
            "{option} {}: the folder {} does not exist",
            p.display(),
            parent.display()
        );
    }
    Ok(())
}

pub fn run(a: KernelArgs) -> anyhow::Result<()> {
    check_rate(a.rate)?;
    a.ir.validate()?;
    if let Some(p) = &a.output {
        check_output_path("-o", p)?;
    }
    if let Some(p) = &a.plot {
        check_output_path("--plot", p)?;
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        if ext.as_deref() != Some("svg") {
            bail!(
                "{}: --plot writes SVG only (give a .svg file name); PNG needs a font rasteriser that is not built in",
                p.display()
            );
        }
    }
    let (mut k, notes) = load(&a.kernel, a.rate, &a.ir)?;
    if a.min_phase {
        for c in k.channels.iter_mut() {
            *c = kernel::minphase::minimum_phase(c);
        }
        k.name = format!("{} (minimum phase)", k.name);
    }
    if let Some(p) = &a.plot {
        // Checked before the summary and the WAV, so that a plot that cannot be drawn
        // leaves nothing half done.
        kernel::plot::check_drawable(&k)
            .map_err(|reason| anyhow!("{}: cannot write plot: {reason}", p.display()))?;
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if a.verbose {
        for n in &notes {
            eprintln!("faltung: {n}");
        }
    }
    if a.text {
        for i in 0..k.len_frames() {
            let line: Vec<String> = k.channels.iter().map(|c| format!("{:e}", c[i])).collect();
            writeln!(out, "{}", line.join("\t"))?;
        }
    } else {
        print_summary(&k, &mut out)?;
    }
    if let Some(p) = &a.output {
        let (rate, note) = match k.sample_rate_hz.or(a.rate) {
            Some(r) => (r, String::new()),
            None => (
                48000,
                " (kernel has no rate; 48000 Hz written, give --rate)".into(),
            ),
        };
        write_wav(&k, rate, p, a.force)?;
        eprintln!(
            "faltung: wrote {} ({}, {} ch, {rate} Hz){note}",
            p.display(),
            if faltung::audio_file::is_flac_path(p) {
                "24-bit int FLAC"
            } else {
                "32-bit float"
            },
            k.channel_count()
        );
    }
    if let Some(p) = &a.plot {
        kernel::plot::plot_svg(&k, p)?;
        eprintln!("faltung: wrote {}", p.display());
    }
    Ok(())
}
