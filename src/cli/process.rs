//! `faltung process`: convolve audio files offline (one file, or many in parallel).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail};
use clap::{Args, ValueEnum};
use faltung::engine::{PlanRequest, Routing};
use faltung::kernel::{self, IrOptions, Kernel, Normalize};
use faltung::limits;

use super::kernel::IrArgs;
use faltung::audio_file::{is_std_stream, AudioInfo, AudioReader, SampleFormat};
use faltung::offline::{self, Edge, EngineCache, Mode, Options, Summary};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// All input + IR - 1 frames (the tail is kept).
    Full,
    /// Centred, as numpy.convolve(x, h, 'same') (or scipy.ndimage.convolve1d with --edge).
    Same,
    /// Only frames where the kernel fully overlaps the input (numpy 'valid').
    Valid,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum EdgeArg {
    Constant,
    Reflect,
    Mirror,
    Nearest,
    Wrap,
    /// Polynomial fit on the edge windows, as savgol_filter(mode='interp'); needs --kernel savgol:...
    Interp,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Same,
    F32,
    I16,
    I24,
    I32,
}

#[derive(Args, Debug)]
pub struct ProcessArgs {
    /// Input file(s): WAV, FLAC, AIFF, Ogg Vorbis or MP3; `-` is standard input (WAV or
    /// FLAC). With more than one, use --out-dir.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output file (one input): WAV, or FLAC for a .flac name; `-` writes a WAV stream to
    /// standard output.
    #[arg(short, long, conflicts_with = "out_dir")]
    pub output: Option<PathBuf>,
    /// Output folder (batch): each output gets its input's file name.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Impulse response file, WAV/FLAC/AIFF/Ogg/MP3 (1, 2 or 4 channels; 4 = true stereo LL, LR, RL, RR).
    #[arg(long, required_unless_present = "kernel", conflicts_with = "kernel")]
    pub ir: Option<PathBuf>,
    /// Kernel spec, e.g. flat:15, hann:31, savgol:11,3.
    #[arg(long)]
    pub kernel: Option<String>,
    /// Which part of the convolution to keep.
    #[arg(long, value_enum, default_value_t = ModeArg::Full)]
    pub mode: ModeArg,
    /// Edge rule for --mode same (scipy.ndimage meanings; interp = savgol_filter's).
    #[arg(long, value_enum)]
    pub edge: Option<EdgeArg>,
    /// Output sample format.
    #[arg(long, value_enum, default_value_t = FormatArg::Same)]
    pub format: FormatArg,
    /// Do not dither integer output.
    #[arg(long)]
    pub no_dither: bool,
    /// Write integer output even if samples clip.
    #[arg(long)]
    pub allow_clip: bool,
    /// Scale the output to a peak level: `peak` (-1 dBFS) or `peak=-3dB`.
    #[arg(long, num_args = 0..=1, default_missing_value = "peak", value_name = "peak[=DB]")]
    pub normalize: Option<String>,
    /// Wet share of the dry/wet mix, 0..1.
    #[arg(long, default_value_t = 1.0)]
    pub wet: f64,
    /// Output gain in dB.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub gain_db: f64,
    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
    /// Longest IR accepted, in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub max_ir_seconds: f64,
    /// An IR at another sample rate than the input is an error instead of being resampled.
    #[arg(long)]
    pub no_resample: bool,
    /// Kernel normalisation: none | peak | dc (sum of taps = 1) | energy (unit L2).
    #[arg(long, default_value = "none")]
    pub ir_normalize: Normalize,
    /// Kernel gain in dB (applied to the kernel, after its normalisation).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub ir_gain_db: f64,
    /// Trim the IR's leading silence below this level in dB re its peak (e.g. -60).
    #[arg(long, allow_negative_numbers = true)]
    pub trim_leading_db: Option<f64>,
    /// Trim the IR's tail below this level in dB re its peak (e.g. -90).
    #[arg(long, allow_negative_numbers = true)]
    pub trim_tail_db: Option<f64>,
    /// Reverse the kernel in time.
    #[arg(long)]
    pub reverse: bool,
    /// Render with the live engine's plan at calls of N frames (so the output equals a
    /// live run with --block N sample for sample) instead of the cheapest offline plan.
    #[arg(long, value_name = "N")]
    pub block: Option<usize>,
    /// Files processed at once in batch mode (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// No progress bar and no summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the plan and kernel details.
    #[arg(short, long)]
    pub verbose: bool,
}

static CANCEL: AtomicBool = AtomicBool::new(false);

fn parse_normalize(s: &str) -> anyhow::Result<f64> {
    let s = s.trim();
    let rest = s
        .strip_prefix("peak")
        .ok_or_else(|| anyhow!("--normalize `{s}`: expected peak or peak=-1dB"))?;
    if rest.is_empty() {
        return Ok(-1.0);
    }
    let v = rest
        .strip_prefix('=')
        .ok_or_else(|| anyhow!("--normalize `{s}`: expected peak=-1dB"))?;
    let v = v.trim();
    let v = v
        .strip_suffix("dBFS")
        .or_else(|| v.strip_suffix("dB"))
        .or_else(|| v.strip_suffix("db"))
        .unwrap_or(v);
    let db: f64 = v
        .trim()
        .parse()
        .map_err(|_| anyhow!("--normalize `{s}`: `{v}` is not a number of dB"))?;
    if !db.is_finite() || db > 0.0 {
        bail!("--normalize `{s}`: the target peak must be at most 0 dBFS");
    }
    Ok(db)
}

fn options(a: &ProcessArgs) -> anyhow::Result<Options> {
    let edge = match a.edge {
        None => None,
        Some(EdgeArg::Constant) => Some(Edge::Constant),
        Some(EdgeArg::Reflect) => Some(Edge::Reflect),
        Some(EdgeArg::Mirror) => Some(Edge::Mirror),
        Some(EdgeArg::Nearest) => Some(Edge::Nearest),
        Some(EdgeArg::Wrap) => Some(Edge::Wrap),
        Some(EdgeArg::Interp) => {
            let spec = a.kernel.as_deref().unwrap_or("");
            match kernel::spec::parse_savgol(spec)? {
                Some(sg) if sg.pos.is_some() => bail!(
                    "--kernel `{spec}`: savgol_filter(mode='interp') evaluates at the window centre; drop pos="
                ),
                Some(sg) => Some(Edge::Interp(sg)),
                None => bail!(
                    "--edge interp needs --kernel savgol:WINDOW,POLYORDER[,deriv=D][,delta=X]"
                ),
            }
        }
    };
    let mode = match a.mode {
        ModeArg::Full => Mode::Full,
        ModeArg::Same => Mode::Same,
        ModeArg::Valid => Mode::Valid,
    };
    if edge.is_some() && mode != Mode::Same {
        bail!("--edge applies to --mode same only");
    }
    if !(0.0..=1.0).contains(&a.wet) {
        bail!("--wet {} is outside 0..1", a.wet);
    }
    if !a.gain_db.is_finite() {
        bail!("--gain-db must be a finite number");
    }
    ir_args(a).validate()?;
    Ok(Options {
        mode,
        edge,
        format: match a.format {
            FormatArg::Same => None,
            FormatArg::F32 => Some(SampleFormat::F32),
            FormatArg::I16 => Some(SampleFormat::I16),
            FormatArg::I24 => Some(SampleFormat::I24),
            FormatArg::I32 => Some(SampleFormat::I32),
        },
        dither: !a.no_dither,
        allow_clip: a.allow_clip,
        normalize_peak_db: a.normalize.as_deref().map(parse_normalize).transpose()?,
        wet: a.wet,
        gain_db: a.gain_db,
        force: a.force,
        plan_request: match a.block {
            Some(0) => bail!("--block must be at least 1 frame"),
            Some(n) => {
                limits::check_block_frames(n).map_err(|e| anyhow!("--block {n}: {e}"))?;
                Some(PlanRequest::realtime(0, 1, 1, n))
            }
            None => None,
        },
        ..Options::default()
    })
}

/// A kernel at one sample rate, with notes on what was done to it.
type Loaded = Arc<(Kernel, Vec<String>)>;

/// Kernels by input sample rate (IR files are resampled to each input's rate once, and
/// shared by the files at that rate without copies).
type KernelCache = Mutex<HashMap<u32, Loaded>>;

/// The kernel-shaping options of `process`, as `kernel` takes them.
fn ir_args(a: &ProcessArgs) -> IrArgs {
    IrArgs {
        normalize: a.ir_normalize,
        gain_db: a.ir_gain_db,
        trim_leading_db: a.trim_leading_db,
        trim_tail_db: a.trim_tail_db,
        reverse: a.reverse,
        no_resample: a.no_resample,
        max_ir_seconds: a.max_ir_seconds,
    }
}

/// The kernel for one input, at the input's rate, with notes on what was done to it.
fn kernel_for(
    a: &ProcessArgs,
    cache: &KernelCache,
    input: &Path,
    info: AudioInfo,
) -> anyhow::Result<Loaded> {
    let (rate, input_channels) = (info.sample_rate_hz, info.channels);
    let routable = |k: &Kernel| -> anyhow::Result<()> {
        Routing::auto(input_channels, k.channel_count())
            .map(|_| ())
            .map_err(|_| {
                anyhow!(
                    "{}: {input_channels} channel(s) with the {}-channel kernel {}: not a \
                     supported layout (mono IR on any channels, one IR per channel, mono input \
                     with a stereo IR, stereo input with a 4-channel true-stereo IR)",
                    input.display(),
                    k.channel_count(),
                    k.name
                )
            })
    };
    if let Some(k) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&rate) {
        routable(&k.0)?;
        return Ok(Arc::clone(k));
    }
    let ir_args = ir_args(a);
    let loaded: Loaded = Arc::new(match (&a.ir, &a.kernel) {
        (Some(p), _) => {
            // The file as it is first: its layout is checked against the input before
            // resampling, which can take long and much memory for a long IR.
            let raw = IrOptions {
                max_seconds: ir_args.max_ir_seconds,
                ..IrOptions::default()
            };
            let mut l = kernel::load_ir_with_notes(p, &raw)?;
            routable(&l.kernel)?;
            let k = kernel::apply_options(l.kernel, &ir_args.options(Some(rate)), &mut l.notes)?;
            (k, l.notes)
        }
        (None, Some(spec)) => super::kernel::load(spec, Some(rate), &ir_args)?,
        (None, None) => bail!("give --ir FILE.wav or --kernel SPEC"),
    });
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(rate, Arc::clone(&loaded));
    Ok(loaded)
}

fn summary_line(input: &Path, output: &Path, s: &Summary) -> String {
    let secs = s.input_frames as f64 / s.sample_rate_hz as f64;
    let norm = s
        .normalize_gain
        .map(|g| format!(", normalized by {:+.2} dB", 20.0 * g.log10()))
        .unwrap_or_default();
    let clip = if s.clipped > 0 {
        format!(", {} samples clipped", s.clipped)
    } else {
        String::new()
    };
    format!(
        "{} -> {}: {} frames in, {} out ({:.2} s at {} Hz, {}->{} ch, {}), {:.0}x real time, plan: {}, peak out {:+.2} dBFS{norm}{clip}",
        input.display(),
        output.display(),
        s.input_frames,
        s.output_frames,
        secs,
        s.sample_rate_hz,
        s.input_channels,
        s.output_channels,
        s.output_format,
        s.realtime_factor(),
        s.plan,
        s.peak_dbfs(),
    )
}

/// Keep freed memory in the process for the next file (glibc): large buffers come from
/// the heap instead of fresh `mmap`s that are unmapped again at `free`. Every fresh page
/// costs a page fault (microseconds each on a VM), and in batch mode every unmap also
/// interrupts the other workers' cores to flush their TLBs; with this, a worker's second
/// file reuses the pages of its first.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator tunables; called before the worker threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

pub fn run(a: ProcessArgs) -> anyhow::Result<()> {
    keep_freed_memory();
    let opts = options(&a)?;
    let jobs: Vec<(PathBuf, PathBuf)> = match (&a.output, &a.out_dir) {
        (Some(o), None) => {
            if a.inputs.len() != 1 {
                bail!(
                    "-o names one output; with {} inputs use --out-dir",
                    a.inputs.len()
                );
            }
            super::kernel::check_output_path("-o", o)?;
            vec![(a.inputs[0].clone(), o.clone())]
        }
        (None, Some(dir)) => {
            if !dir.is_dir() {
                bail!("{}: --out-dir is not a folder", dir.display());
            }
            let mut seen = std::collections::HashSet::new();
            let mut v = Vec::new();
            for i in &a.inputs {
                if is_std_stream(i) {
                    bail!("standard input (-) can only be the one input of -o OUTPUT");
                }
                let name = i
                    .file_name()
                    .ok_or_else(|| anyhow!("{}: not a file name", i.display()))?;
                if !seen.insert(name.to_os_string()) {
                    bail!(
                        "{}: two inputs share the name {:?} and would write the same output",
                        i.display(),
                        name
                    );
                }
                v.push((i.clone(), dir.join(name)));
            }
            v
        }
        _ => bail!("give -o OUTPUT.wav (one input) or --out-dir DIR"),
    };
    let cache: KernelCache = Mutex::new(HashMap::new());
    let _ = ctrlc::set_handler(|| CANCEL.store(true, Ordering::SeqCst));

    let show = !a.quiet && std::io::stderr().is_terminal();
    // With the audio on standard output, every message goes to standard error.
    let to_stdout = jobs.iter().any(|(_, o)| is_std_stream(o));
    let mp = MultiProgress::with_draw_target(if show {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style = ProgressStyle::with_template(
        "{prefix:.bold} [{bar:32}] {percent:>3}% {elapsed_precise} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    let threads = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, jobs.len());
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(0usize);
    let written = std::sync::atomic::AtomicUsize::new(0);
    let say = |line: String| {
        if show {
            let _ = mp.println(line);
        } else {
            if to_stdout {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        }
    };
    let report_err = |line: String| {
        if show {
            let _ = mp.println(format!("faltung: error: {line}"));
        } else {
            eprintln!("faltung: error: {line}");
        }
    };

    let one = |input: &Path, output: &Path, engines: &mut EngineCache| -> anyhow::Result<()> {
        // Open the input once (standard input can be read only once): its rate makes the kernel.
        let reader = AudioReader::open(input)?;
        let loaded = kernel_for(&a, &cache, input, reader.info())?;
        let (kernel, notes) = (&loaded.0, &loaded.1);
        for n in notes {
            // Resampling is always worth a word; the rest under --verbose.
            if a.verbose || (!a.quiet && n.contains("resampled")) {
                say(format!("{}: kernel: {n}", input.display()));
            }
        }
        if a.verbose {
            say(format!(
                "{}: kernel {}: {} taps, {} channel(s){}",
                input.display(),
                kernel.name,
                kernel.len_frames(),
                kernel.channel_count(),
                kernel
                    .sample_rate_hz
                    .map(|r| format!(", {r} Hz"))
                    .unwrap_or_default()
            ));
        }
        let bar = mp.add(ProgressBar::new(1));
        bar.set_style(style.clone());
        bar.set_prefix(
            input
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let mut progress = |done: u64, total: u64| {
            bar.set_length(total.max(1));
            bar.set_position(done);
        };
        let res = offline::process_reader(
            reader,
            output,
            kernel,
            &opts,
            &mut progress,
            &CANCEL,
            engines,
        );
        bar.finish_and_clear();
        mp.remove(&bar);
        let s = res?;
        if !a.quiet {
            say(summary_line(input, output, &s));
        }
        if a.normalize.is_some() && s.normalize_gain.is_none() {
            say(format!(
                "{}: note: the output is silent; --normalize had nothing to scale",
                output.display()
            ));
        }
        if s.clipped > 0 {
            say(format!(
                "{}: warning: {} samples clipped (peak {:+.2} dBFS before clipping)",
                output.display(),
                s.clipped,
                s.peak_dbfs()
            ));
        } else if s.output_format == SampleFormat::F32 && s.peak > 1.0 && !a.quiet {
            say(format!(
                "{}: note: float output peaks above full scale ({:+.2} dBFS)",
                output.display(),
                s.peak_dbfs()
            ));
        }
        Ok(())
    };

    if jobs.len() == 1 {
        let (input, output) = &jobs[0];
        let res = one(input, output, &mut EngineCache::new());
        // A run that finished (the output is in place) is done, even if Ctrl-C came late.
        if CANCEL.load(Ordering::SeqCst) && res.is_err() {
            eprintln!("faltung: interrupted; no partial output written");
            std::process::exit(130);
        }
        return res.map_err(|e| anyhow!(super::one_line(&e)));
    }
    std::thread::scope(|sc| {
        for _ in 0..threads {
            sc.spawn(|| {
                // Files with the same kernel and layout reuse this worker's engine.
                let mut engines = EngineCache::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((input, output)) = jobs.get(i) else {
                        break;
                    };
                    if CANCEL.load(Ordering::SeqCst) {
                        break;
                    }
                    match one(input, output, &mut engines) {
                        Ok(()) => {
                            written.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            if !CANCEL.load(Ordering::SeqCst) {
                                report_err(super::one_line(&e));
                            }
                            *failures.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                        }
                    }
                }
            });
        }
    });
    // Interrupted only if a file was left undone: a Ctrl-C after the last file was in
    // place (during its final sync) changes nothing.
    let written = written.into_inner();
    if CANCEL.load(Ordering::SeqCst) && written < jobs.len() {
        eprintln!(
            "faltung: interrupted after {written} of {} files; no partial output written",
            jobs.len()
        );
        std::process::exit(130);
    }
    let failed = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    if failed > 0 {
        bail!("{failed} of {} files failed", jobs.len());
    }
    Ok(())
}
