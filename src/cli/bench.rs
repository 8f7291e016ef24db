//! `faltung bench`: what each call size costs — per-call time percentiles, headroom against
//! the deadline, real-time factor, verdict — and what latency it adds, for one or more
//! plans side by side. With `--roundtrip --host jack`: the live pipeline's real latency on
//! a JACK server, measured with impulses, next to the sum of its parts.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};
use faltung::bench::plot::{plot_distribution, Curve, Panel};
use faltung::bench::{noise, run_interleaved, set_realtime_priority, Report, RunInfo, RunSpec};
use faltung::engine::{BlockProcessor, Engine, PlanRequest, Routing, SchemeChoice};
use faltung::kernel::{load_ir, parse_spec, IrOptions, Kernel};
use faltung::limits;
use indicatif::{ProgressBar, ProgressStyle};

mod capacity;

#[derive(Args)]
pub struct BenchArgs {
    /// Impulse response file, WAV/FLAC/AIFF/Ogg/MP3 (every channel; see --channels for the routing).
    #[arg(long, required_unless_present = "kernel", conflicts_with = "kernel")]
    pub ir: Option<PathBuf>,
    /// Kernel spec instead of a file, e.g. `flat:63`.
    #[arg(long)]
    pub kernel: Option<String>,
    /// Frames per call to measure (comma-separated) [default: 32,64,128,256,1024; with
    /// --roundtrip: the server period].
    #[arg(long, value_delimiter = ',')]
    pub block: Vec<usize>,
    /// Sample rate in Hz (sets the deadline). Default: the IR file's rate, else 48000.
    #[arg(long)]
    pub rate: Option<u32>,
    /// Input channels. Default: 2 for a mono, stereo or 4-channel (true stereo) IR, else
    /// the IR's channel count; with --roundtrip as `faltung live` (2 for a 4-channel IR,
    /// else 1).
    #[arg(long)]
    pub channels: Option<usize>,
    /// Seconds of audio per call size and plan.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Plans to measure side by side (comma-separated or repeated).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "auto")]
    pub plan: Vec<PlanArg>,
    /// Worker threads for the engine's tail (the levels beyond the first whose partitions
    /// have at least 1024 frames), comma-separated
    /// to compare side by side; 0 runs everything on the calling thread.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub threads: Vec<usize>,
    /// Latency the engine may add, in frames (0: none).
    #[arg(long, default_value_t = 0)]
    pub latency_budget: usize,
    /// Write the results as JSON to OUT (`-` or no value: standard output; the table then
    /// goes to standard error).
    #[arg(long, value_name = "OUT|-", num_args = 0..=1, default_missing_value = "-")]
    pub json: Option<String>,
    /// Run the timed calls at real-time priority (SCHED_FIFO, 1..=99), as an audio thread
    /// runs, so that other processes do not preempt them; worker threads (--threads) keep
    /// normal priority, as in `faltung live`. Needs the right to (Linux).
    #[arg(long, value_name = "PRIO", value_parser = clap::value_parser!(i32).range(1..=99))]
    pub rt_priority: Option<i32>,
    /// Call at the audio rate, one call per call's duration as a device's callbacks come,
    /// instead of back to back: the run takes as long as the audio (times the plans and
    /// thread counts compared), and worker threads (--threads) get the period to do the
    /// tail in, as in a live session.
    #[arg(long)]
    pub paced: bool,
    /// Find the capacity instead: per call size, plan and thread count, the most engines
    /// (each a convolver as above with --threads worker threads of its own) that one
    /// calling thread, paced as with --paced, runs for --seconds with no period whose calls
    /// together take longer than the period and no late or dropped tail period. Searched
    /// with trials of at most 5 s, confirmed by a run of --seconds at the capacity and one
    /// above it; a count fails when --tries trials of it all fail. --rt-priority applies to
    /// the calling thread; the worker threads keep normal priority, as in `faltung live`.
    #[arg(long, conflicts_with_all = ["roundtrip", "plot"])]
    pub capacity: bool,
    /// Most engines --capacity builds (each holds its IR's spectra; a 6 s stereo IR at 64
    /// frames takes about 10 MB) [default: 256].
    #[arg(long, value_name = "N")]
    pub max_engines: Option<usize>,
    /// Tries --capacity gives each count of engines before it counts as failed: a machine's
    /// rare stall (which does not depend on the count) then does not end the search, where
    /// an overload fails every try. 1 is the strict search [default: 2].
    #[arg(long, value_name = "N")]
    pub tries: Option<usize>,
    /// Draw the per-call time distribution per call size into an SVG file.
    #[arg(long, value_name = "OUT.svg")]
    pub plot: Option<PathBuf>,
    /// Measure the live pipeline's round trip on an audio server instead: impulses sent
    /// through `faltung live`'s path and detected in its output (needs --host jack).
    #[arg(long, conflicts_with_all = ["plan", "seconds", "plot", "rt_priority", "latency_budget", "paced"])]
    pub roundtrip: bool,
    /// Audio host for --roundtrip (only `jack` is supported).
    #[arg(long, requires = "roundtrip")]
    pub host: Option<String>,
    /// Impulses per round-trip measurement [default: 8].
    #[arg(long, requires = "roundtrip")]
    pub repeats: Option<usize>,
}

impl BenchArgs {
    fn repeats(&self) -> usize {
        self.repeats.unwrap_or(DEFAULT_REPEATS)
    }
}

/// Impulses per round-trip measurement when --repeats is not given.
const DEFAULT_REPEATS: usize = 8;

/// Most timed calls per call size and plan: each call's time is kept (8 bytes), so this
/// bounds the memory of a run (128 MiB per plan) whatever --seconds says.
const MAX_CALLS: f64 = (1u64 << 24) as f64;

/// Call sizes measured when --block is not given.
const DEFAULT_BLOCKS: [usize; 5] = [32, 64, 128, 256, 1024];

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanArg {
    Auto,
    Uniform,
    Nonuniform,
    Direct,
}

impl PlanArg {
    fn choice(self) -> SchemeChoice {
        match self {
            PlanArg::Auto => SchemeChoice::Auto,
            PlanArg::Uniform => SchemeChoice::Uniform(None),
            PlanArg::Nonuniform => SchemeChoice::NonUniform,
            PlanArg::Direct => SchemeChoice::Direct,
        }
    }

    fn name(self) -> &'static str {
        match self {
            PlanArg::Auto => "auto",
            PlanArg::Uniform => "uniform",
            PlanArg::Nonuniform => "nonuniform",
            PlanArg::Direct => "direct",
        }
    }
}

/// Seconds of distinct noise generated; longer runs reuse it cyclically.
const NOISE_SECONDS: f64 = 10.0;
const DEFAULT_RATE_HZ: u32 = 48_000;

fn load_kernel(a: &BenchArgs) -> anyhow::Result<Kernel> {
    match (&a.ir, &a.kernel) {
        (Some(path), _) => Ok(load_ir(path, &IrOptions::default())?),
        (None, Some(spec)) => Ok(parse_spec(spec, Some(a.rate.unwrap_or(DEFAULT_RATE_HZ)))?),
        (None, None) => bail!("give an impulse response (--ir FILE) or a kernel (--kernel SPEC)"),
    }
}

/// Check every size and output before anything is allocated or measured.
fn validate(a: &BenchArgs) -> anyhow::Result<()> {
    // clap's `requires` is skipped when an option that conflicts with --roundtrip is
    // given (`--host jack --seconds 3`), so check again here.
    if !a.roundtrip {
        if let Some(h) = &a.host {
            bail!("--host {h}: applies to --roundtrip only (add --roundtrip, or drop --host)");
        }
        if let Some(r) = a.repeats {
            bail!(
                "--repeats {r}: applies to --roundtrip only (add --roundtrip, or drop --repeats)"
            );
        }
    }
    if let Some(n) = a.max_engines {
        if !a.capacity {
            bail!("--max-engines {n}: applies to --capacity only (add --capacity, or drop --max-engines)");
        }
        if n == 0 {
            bail!("--max-engines 0: the capacity search needs room for at least 1 engine");
        }
    }
    if let Some(n) = a.tries {
        if !a.capacity {
            bail!("--tries {n}: applies to --capacity only (add --capacity, or drop --tries)");
        }
        if n == 0 {
            bail!("--tries 0: each count of engines needs at least 1 try");
        }
    }
    if let Some(b) = a.block.iter().find(|&&b| b == 0) {
        bail!("--block {b}: a call needs at least 1 frame");
    }
    for &b in &a.block {
        limits::check_block_frames(b).map_err(|e| anyhow!("--block {b}: {e}"))?;
    }
    if let Some(r) = a.rate {
        limits::check_rate_hz(r.into()).map_err(|e| anyhow!("--rate {r}: {e}"))?;
    }
    if let Some(c) = a.channels {
        limits::check_channels(c).map_err(|e| anyhow!("--channels {c}: {e}"))?;
    }
    if let Some(p) = &a.plot {
        super::kernel::check_output_path("--plot", p)?;
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        if ext.as_deref() != Some("svg") {
            bail!(
                "--plot {}: writes SVG only (give a .svg file name); PNG needs a font \
                 rasteriser that is not built in",
                p.display()
            );
        }
    }
    if let Some(j) = a.json.as_deref().filter(|&j| j != "-") {
        super::kernel::check_output_path("--json", Path::new(j))?;
    }
    Ok(())
}

pub fn run(mut a: BenchArgs) -> anyhow::Result<()> {
    validate(&a)?;
    if a.roundtrip {
        return roundtrip(&a);
    }
    if a.block.is_empty() {
        a.block = DEFAULT_BLOCKS.to_vec();
    }
    if !(a.seconds.is_finite() && a.seconds > 0.0) {
        bail!("--seconds {}: must be a positive number", a.seconds);
    }
    if a.rate == Some(0) {
        bail!("--rate 0: the sample rate must be positive");
    }
    let kernel = load_kernel(&a)?;
    let rate_hz = a.rate.or(kernel.sample_rate_hz).unwrap_or(DEFAULT_RATE_HZ);
    let ir_channels = kernel.channel_count();
    let channels = a.channels.unwrap_or(match ir_channels {
        1 | 2 | 4 => 2,
        n => n,
    });
    let routing = Routing::auto(channels, ir_channels)
        .with_context(|| format!("{}: cannot route {channels} input channels", kernel.name))?;
    let irs = kernel.to_f32();
    let total = (a.seconds * f64::from(rate_hz)).round();
    if let Some(&b) = a.block.iter().find(|&&b| total / b as f64 > MAX_CALLS) {
        bail!(
            "--seconds {}: {:.0} calls of {b} frames at {rate_hz} Hz, more than the limit of \
             {MAX_CALLS} calls per call size (at most {:.0} s here)",
            a.seconds,
            total / b as f64,
            MAX_CALLS * b as f64 / f64::from(rate_hz)
        );
    }
    let total_frames = total as usize;
    if let Some(&b) = a.block.iter().find(|&&b| b > total_frames) {
        bail!(
            "--seconds {}: shorter than one call of {b} frames at {rate_hz} Hz",
            a.seconds
        );
    }
    let mut plans = a.plan.clone();
    plans.dedup();
    let mut threads = a.threads.clone();
    threads.dedup();
    if let Some(t) = threads.iter().find(|&&t| t > 64) {
        bail!("--threads {t}: at most 64 worker threads");
    }
    let noise_frames = total_frames.min((NOISE_SECONDS * f64::from(rate_hz)) as usize);
    let input = noise(noise_frames * channels, 0.5, 1);

    // --capacity gives the priority to the thread that calls the engines only (it runs
    // the trials on a thread of its own); worker threads follow `worker_priority`.
    if let Some(prio) = a.rt_priority.filter(|_| !a.capacity) {
        set_realtime_priority(prio)
            .with_context(|| format!("--rt-priority {prio}: cannot get real-time priority"))?;
    }
    let json_to_stdout = a.json.as_deref() == Some("-");
    let mut table: Box<dyn Write> = if json_to_stdout {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    if a.capacity {
        writeln!(
            table,
            "{}: {} taps x {ir_channels} channel(s), {channels} input channel(s), {rate_hz} Hz: \
             capacity of one calling thread",
            kernel.name,
            kernel.len_frames(),
        )?;
        let bar = if std::io::stderr().is_terminal() {
            let b = ProgressBar::new(1000);
            b.set_style(
                ProgressStyle::with_template("{bar:40} {percent:>3}% {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        } else {
            ProgressBar::hidden()
        };
        let setup = capacity::Setup {
            kernel_name: &kernel.name,
            irs: &irs,
            routing: &routing,
            channels,
            rate_hz,
            plans: &plans,
            threads: &threads,
            input: &input,
        };
        let reports = capacity::run(&a, &setup, &mut table, &bar)?;
        return write_json(a.json.as_deref(), &reports);
    }
    writeln!(
        table,
        "{}: {} taps x {ir_channels} channel(s), {channels} input channel(s), {rate_hz} Hz, \
         {} s of noise per call size and plan",
        kernel.name,
        kernel.len_frames(),
        a.seconds
    )?;

    let runs = (a.block.len() * plans.len() * threads.len()) as u64;
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(runs * 1000);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {percent:>3}% {msg} (eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };

    // The worker threads run at normal priority, as in `faltung live`, where they would
    // otherwise take the main thread's real-time priority (--rt-priority) as they start:
    // at the calling thread's SCHED_FIFO priority a worker would keep it from its CPU
    // until the worker's period is done.
    let worker_priority = faltung::rt::priority::worker_priority();
    let mut reports = Vec::new();
    let mut panels = Vec::new();
    for (bi, &block) in a.block.iter().enumerate() {
        // Build every plan's engine for this call size, then run them taking turns.
        let mut engines: Vec<(PlanArg, usize, Engine)> = Vec::new();
        for &p in &plans {
            for &t in &threads {
                let req = PlanRequest {
                    choice: p.choice(),
                    latency_budget_frames: a.latency_budget,
                    worker_threads: t,
                    ..PlanRequest::realtime(0, channels, routing.paths.len(), block)
                };
                match Engine::new(&irs, routing.clone(), req).and_then(|e| {
                    e.with_worker_priority(&worker_priority)
                        .with_worker_threads(t)
                }) {
                    Ok(e) => engines.push((p, t, e)),
                    Err(e) => writeln!(
                        table,
                        "  {block} frames, plan {}, {t} worker thread(s): not available: {e}",
                        p.name()
                    )?,
                }
            }
        }
        if engines.is_empty() {
            continue;
        }
        bar.set_message(format!("{block} frames"));
        let base = (bi * plans.len() * threads.len()) as u64 * 1000;
        let n_eng = engines.len() as u64;
        let mut procs: Vec<&mut dyn BlockProcessor> = engines
            .iter_mut()
            .map(|(_, _, e)| e as &mut dyn BlockProcessor)
            .collect();
        if a.paced {
            // Paced runs stand for `faltung live`, which locks its memory into RAM once its
            // engine is built (--capacity locks per trial, in its calling thread).
            let _ = faltung::rt::memory::lock_current();
        }
        let times = run_interleaved(
            &mut procs,
            &input,
            channels,
            RunSpec {
                call_frames: block,
                segment_frames: rate_hz as usize,
                total_frames,
                warmup_frames: rate_hz as usize / 4,
                rest_fraction: if a.rt_priority.is_some() && !a.paced {
                    0.15
                } else {
                    0.0
                },
                pace: a
                    .paced
                    .then(|| std::time::Duration::from_secs_f64(block as f64 / f64::from(rate_hz))),
            },
            &mut |f| bar.set_position(base + (f * 1000.0 * n_eng as f64) as u64),
        )
        .with_context(|| format!("{}: processing failed", kernel.name))?;
        let mut curves = Vec::new();
        let mut rows = Vec::new();
        for ((p, threads_used, e), t) in engines.iter().zip(&times) {
            // The request, and the worker threads when any were asked for.
            let label = if threads.iter().any(|&t| t > 0) {
                format!("{} {}t", p.name(), threads_used)
            } else {
                p.name().to_string()
            };
            let info = RunInfo {
                block_frames: block,
                latency_frames: e.latency_frames(),
                plan_request: label.clone(),
                plan: e.plan().to_string(),
                rate_hz,
                channels,
                worker_threads: e.worker_threads(),
            };
            if let Some(mut r) = Report::new(&info, t) {
                let stats = e.tail_stats();
                r.late_periods = stats.late.load(Ordering::Relaxed);
                r.dropped_periods = stats.dropped.load(Ordering::Relaxed);
                rows.push(r);
            }
            curves.push(Curve {
                label,
                per_call_ns: t.per_call_ns.clone(),
            });
        }
        bar.suspend(|| print_rows(&mut table, block, rate_hz, &rows))?;
        panels.push(Panel {
            block_frames: block,
            deadline_us: block as f64 / f64::from(rate_hz) * 1e6,
            curves,
        });
        reports.extend(rows);
    }
    bar.finish_and_clear();
    // Wall time well above CPU time means the calls were preempted: say so, since the
    // percentiles then describe the machine's load as much as the engine.
    let worst = reports
        .iter()
        .filter_map(|r| r.rtf_cpu.map(|c| c / r.rtf))
        .fold(1.0f64, f64::max);
    if worst > 1.25 {
        writeln!(
            table,
            "note: calls took up to {worst:.1}x more wall time than CPU time: other processes \
             preempted them, and p99/p99.9/max include that. Measure on a quiet machine or \
             with --rt-priority."
        )?;
    }
    writeln!(
        table,
        "verdict: safe = p99.9 <= 50% of the deadline and no call over it; will drop out = \
         p99.9 >= deadline or RTF < 1; tight = in between. RTF = audio time / summed \
         wall time of the calls; RTF cpu = the same by the thread's CPU time (unaffected by \
         other load on the machine; the calling thread only: worker threads not counted)"
    )?;

    write_json(a.json.as_deref(), &reports)?;
    if let Some(svg) = &a.plot {
        plot_distribution(svg, &panels)?;
    }
    Ok(())
}

/// The reports as JSON to `out` (`-`: standard output), if asked for.
fn write_json<T: serde::Serialize>(out: Option<&str>, reports: &[T]) -> anyhow::Result<()> {
    if let Some(out) = out {
        let text = serde_json::to_string_pretty(reports)?;
        if out == "-" {
            println!("{text}");
        } else {
            std::fs::write(out, text + "\n").with_context(|| format!("{out}: cannot write"))?;
        }
    }
    Ok(())
}

fn print_rows(
    w: &mut dyn Write,
    block: usize,
    rate_hz: u32,
    rows: &[Report],
) -> std::io::Result<()> {
    let deadline_us = block as f64 / f64::from(rate_hz) * 1e6;
    writeln!(w)?;
    writeln!(
        w,
        "{block} frames per call: deadline {deadline_us:.1} us; times per call in us"
    )?;
    writeln!(
        w,
        "  {:<13} {:>17} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>9} {:>9}  {:<13} plan",
        "request",
        "latency",
        "min",
        "p50",
        "p99",
        "p99.9",
        "max",
        "headroom",
        "RTF",
        "RTF cpu",
        "verdict"
    )?;
    for r in rows {
        writeln!(
            w,
            "  {:<13} {:>17} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>7.1}% {:>8.1}x {:>9}  {:<13} {}{}",
            r.plan_request,
            format!("{} fr ({:.2} ms)", r.latency_frames, r.latency_ms),
            r.min_us,
            r.p50_us,
            r.p99_us,
            r.p999_us,
            r.max_us,
            r.headroom_pct,
            r.rtf,
            r.rtf_cpu.map_or("-".to_string(), |v| format!("{v:.1}x")),
            r.verdict,
            r.plan,
            if r.worker_threads > 0 {
                format!(
                    "; {} worker thread(s), {} late / {} dropped tail periods",
                    r.worker_threads, r.late_periods, r.dropped_periods
                )
            } else {
                String::new()
            }
        )?;
    }
    Ok(())
}

/// `--roundtrip`: check the host, then measure (JACK only).
fn roundtrip(a: &BenchArgs) -> anyhow::Result<()> {
    match a.host.as_deref() {
        Some(h) if h.eq_ignore_ascii_case("jack") => {}
        Some(h) => {
            bail!("--roundtrip --host {h}: only JACK is supported for the round trip (--host jack)")
        }
        None => bail!("--roundtrip needs --host jack (only JACK is supported for the round trip)"),
    }
    if a.repeats() == 0 {
        bail!("--repeats 0: measure at least one impulse");
    }
    #[cfg(feature = "jack")]
    {
        roundtrip_jack::run(a)
    }
    #[cfg(not(feature = "jack"))]
    {
        bail!("--roundtrip: this faltung was built without JACK support (cargo feature `jack`)")
    }
}

#[cfg(feature = "jack")]
mod roundtrip_jack {
    use super::*;
    use faltung::measure::roundtrip::{Harness, RoundTripOptions, RoundTripReport};

    pub(super) fn run(a: &BenchArgs) -> anyhow::Result<()> {
        let mut harness = Harness::connect()?;
        let rate_hz = harness.rate_hz();
        let period = harness.period_frames();
        if let Some(r) = a.rate.filter(|&r| r != rate_hz) {
            bail!("--rate {r}: the JACK server runs at {rate_hz} Hz (the round trip uses the server's rate)");
        }
        let kernel = match (&a.ir, &a.kernel) {
            (Some(path), _) => load_ir(path, &IrOptions::default())?,
            (None, Some(spec)) => parse_spec(spec, Some(rate_hz))?,
            (None, None) => {
                bail!("give an impulse response (--ir FILE) or a kernel (--kernel SPEC)")
            }
        };
        let blocks: Vec<Option<usize>> = if a.block.is_empty() {
            vec![None]
        } else {
            a.block.iter().map(|&b| Some(b)).collect()
        };
        let json_to_stdout = a.json.as_deref() == Some("-");
        let mut out: Box<dyn Write> = if json_to_stdout {
            Box::new(std::io::stderr())
        } else {
            Box::new(std::io::stdout())
        };
        writeln!(
            out,
            "round trip through faltung's live path on JACK ({rate_hz} Hz, period {period} frames): \
             {}, {} taps x {} channel(s)",
            kernel.name,
            kernel.len_frames(),
            kernel.channel_count()
        )?;
        let mut reports = Vec::new();
        for block in blocks {
            let mut opts = RoundTripOptions::new(kernel.clone());
            opts.block_frames = block;
            opts.input_channels = a.channels;
            opts.repeats = a.repeats();
            let spinner = if std::io::stderr().is_terminal() {
                let s = ProgressBar::new_spinner();
                s.set_message(format!(
                    "measuring the round trip at block {}: {} impulses",
                    block.map_or_else(|| period.to_string(), |b| b.to_string()),
                    a.repeats()
                ));
                s.enable_steady_tick(std::time::Duration::from_millis(100));
                s
            } else {
                ProgressBar::hidden()
            };
            let r = harness.measure(&opts);
            spinner.finish_and_clear();
            let r = r.with_context(|| {
                format!(
                    "{}: round trip at block {}",
                    kernel.name,
                    block.unwrap_or(period)
                )
            })?;
            print_roundtrip(&mut out, &r)?;
            reports.push(r);
        }
        if let Some(dest) = &a.json {
            let text = serde_json::to_string_pretty(&reports)?;
            if dest == "-" {
                println!("{text}");
            } else {
                std::fs::write(dest, text + "\n")
                    .with_context(|| format!("{dest}: cannot write"))?;
            }
        }
        Ok(())
    }

    fn print_roundtrip(w: &mut dyn Write, r: &RoundTripReport) -> std::io::Result<()> {
        let fr = |f: usize| format!("{f:>6} fr {:>7.2} ms", r.ms(f as f64));
        writeln!(w)?;
        writeln!(
            w,
            "block {} frames, {} in / {} out channel(s), {} impulses at offsets {}..{} in the period{}",
            r.block_frames,
            r.input_channels,
            r.output_channels,
            r.repeats,
            r.offsets_frames.first().copied().unwrap_or(0),
            r.offsets_frames.last().copied().unwrap_or(0),
            if r.realtime_priority {
                ""
            } else {
                " (processing thread without real-time priority)"
            }
        )?;
        writeln!(
            w,
            "  measured round trip: min {} fr ({:.2} ms), median {} fr ({:.2} ms), max {} fr ({:.2} ms)",
            r.min_frames,
            r.min_ms,
            r.median_frames,
            r.median_ms,
            r.max_frames,
            r.max_ms
        )?;
        writeln!(w, "  sum of the parts:")?;
        writeln!(
            w,
            "    input buffer    {}  JACK capture latency of what feeds faltung (the harness)",
            fr(r.input_buffer_frames)
        )?;
        writeln!(
            w,
            "    ring prefill    {}  the {}-frame block rounded up to whole {}-frame periods",
            fr(r.ring_prefill_frames),
            r.block_frames,
            r.period_frames
        )?;
        writeln!(
            w,
            "    engine latency  {}  {}",
            fr(r.engine_latency_frames),
            r.plan
        )?;
        writeln!(
            w,
            "    output buffer   {}  JACK playback latency of what faltung feeds (the harness)",
            fr(r.output_buffer_frames)
        )?;
        writeln!(w, "    total           {}", fr(r.budget_frames))?;
        let verdict = if r.min_frames == r.budget_frames && r.max_frames == r.budget_frames {
            "every impulse came back exactly at the budget".to_string()
        } else {
            format!(
                "measured - budget: {:+} .. {:+} frames",
                r.min_frames as i64 - r.budget_frames as i64,
                r.max_frames as i64 - r.budget_frames as i64
            )
        };
        writeln!(
            w,
            "  {verdict}; detection mismatch at most {:.1e} of the response peak",
            r.match_error
        )?;
        if let (Some(c), Some(p), Some(t), Some(ms)) = (
            r.system_capture_frames,
            r.system_playback_frames,
            r.system_round_trip_frames,
            r.system_round_trip_ms,
        ) {
            writeln!(
                w,
                "  through the sound card's ports: system:capture {c} + faltung {} + \
                 system:playback {p} = {t} fr ({ms:.2} ms)",
                r.ring_prefill_frames + r.engine_latency_frames
            )?;
        }
        if r.disturbed() {
            writeln!(
                w,
                "  warning: disturbed by {} server xrun(s), {} underrun(s), {} input gap(s), \
                 {} overrun(s): the figures may be off; measure again on a quieter machine",
                r.server_xruns, r.underruns, r.input_gaps, r.overruns
            )?;
        }
        Ok(())
    }
}
