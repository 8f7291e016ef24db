//! `faltung live`: microphone in, filtered audio out, with a status line and key controls.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use faltung::kernel::{load_ir_with_notes, parse_spec, IrOptions, Kernel, KernelError};
use faltung::live::devices::{self, noise};
use faltung::live::{Connection, Control, LiveError, LiveOptions, Session, SessionInfo, Timing};

#[derive(Args)]
pub struct LiveArgs {
    /// Impulse response file (WAV, FLAC, AIFF, Ogg Vorbis, MP3); repeat to cycle through several with the `n` key.
    #[arg(long = "ir", value_name = "IR.wav", required_unless_present = "kernel")]
    pub ir: Vec<PathBuf>,
    /// A generated kernel instead of a file, e.g. `flat:15`.
    #[arg(long, value_name = "SPEC", conflicts_with = "ir")]
    pub kernel: Option<String>,
    /// Audio host (e.g. alsa, jack); default: the platform's.
    #[arg(long)]
    pub host: Option<String>,
    /// Input device, by name (or a unique part of it) or index (see `faltung devices`).
    #[arg(long)]
    pub input: Option<String>,
    /// Output device, by name or index.
    #[arg(long)]
    pub output: Option<String>,
    /// Sample rate in Hz (default: the input device's).
    #[arg(long, value_name = "HZ")]
    pub rate: Option<u32>,
    /// Processing block in frames (default: the device period).
    #[arg(long, value_name = "FRAMES")]
    pub block: Option<usize>,
    /// Input channels (default: 1, or 2 for a 4-channel true-stereo IR).
    #[arg(long)]
    pub channels: Option<usize>,
    /// Wet level 0..1 (dry gets the rest).
    #[arg(long, default_value_t = 1.0)]
    pub wet: f32,
    /// Output gain in dB.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub gain_db: f32,
    /// Stop after this many seconds (exit 0).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Write the filtered output to this file: a WAV (32-bit float), or a FLAC (24-bit,
    /// dithered) for a .flac name.
    #[arg(long, value_name = "OUT.wav")]
    pub record: Option<PathBuf>,
    /// Longest IR accepted, in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub max_ir_seconds: f64,
    /// CPU shared by the audio callbacks and the processing thread: a number, `auto` (the
    /// last CPU this process may use) or `none` (leave it to the scheduler).
    #[arg(long, value_name = "N|auto|none", default_value = "auto")]
    pub cpu: faltung::rt::CpuChoice,
    /// Worker threads for the engine's tail (the levels beyond the first whose partitions
    /// have at least 1024 frames); 0 runs everything on the processing thread.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=64))]
    pub threads: u16,
    /// On JACK: connect faltung's input to these ports (`client:port`, comma-separated or
    /// repeated; `jack_lsp` lists them) instead of the default microphone.
    #[arg(
        long,
        value_name = "PORT[,PORT]",
        value_delimiter = ',',
        conflicts_with = "no_connect"
    )]
    pub connect_input: Vec<String>,
    /// On JACK: connect faltung's outputs to these ports instead of the default speakers.
    #[arg(
        long,
        value_name = "PORT[,PORT]",
        value_delimiter = ',',
        conflicts_with = "no_connect"
    )]
    pub connect_output: Vec<String>,
    /// On JACK: connect nothing (link the ports yourself: jack_connect, pw-link, a patchbay).
    #[arg(long)]
    pub no_connect: bool,
}

/// One side's connection choice from the command line.
fn connection(ports: &[String], no_connect: bool) -> Connection {
    if no_connect {
        Connection::Off
    } else if ports.is_empty() {
        Connection::Default
    } else {
        Connection::Ports(ports.to_vec())
    }
}

/// The processing block when none is given: 512 frames through ALSA's `default`/`pipewire`
/// (a sound server behind an ALSA plugin adds a buffer hop of its own and needs the slack on
/// a loaded machine), else `None`: the device period, or 256 frames.
fn default_block(a: &LiveArgs) -> Option<usize> {
    let alsa = devices::host_display_name(a.host.as_deref()) == "ALSA";
    let through_server = |d: &Option<String>| {
        d.as_deref()
            .is_none_or(|d| matches!(d, "default" | "pipewire" | "pulse" | "sysdefault"))
    };
    (alsa && through_server(&a.input) && through_server(&a.output)).then_some(512)
}

/// What faltung asks of PipeWire on the JACK host, through the environment PipeWire's JACK
/// library (`pw-jack`) reads when it connects (jackd ignores it): a quantum of the
/// processing block, so that a player asking for 100 ms does not raise the period under
/// faltung. A user's own `PIPEWIRE_LATENCY` is kept. (Through ALSA the plugin sizes its own
/// buffers: a quantum as small as the ALSA period starves it.)
fn pipewire_requests(a: &LiveArgs, block: usize) {
    if devices::host_display_name(a.host.as_deref()) != "JACK" {
        return;
    }
    if std::env::var_os("PIPEWIRE_LATENCY").is_none() {
        let rate = a.rate.unwrap_or(48000);
        // Called before any thread starts (setting the environment is not thread-safe).
        std::env::set_var("PIPEWIRE_LATENCY", format!("{block}/{rate}"));
    }
}

/// After this long without a sample above digital silence the status line says so.
const SILENT_INPUT_HINT_SECS: f64 = 3.0;

/// Restores the terminal when dropped.
struct RawMode;

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

enum Key {
    Quit,
    Bypass,
    WetUp,
    WetDown,
    Next,
}

fn key_thread(stop: Arc<AtomicBool>, tx: crossbeam_channel::Sender<Key>) {
    use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(100)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => return,
            }
            let Ok(Event::Key(k)) = event::read() else {
                continue;
            };
            if k.kind == KeyEventKind::Release {
                continue;
            }
            let key = match k.code {
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Key::Quit,
                KeyCode::Char('q') | KeyCode::Esc => Key::Quit,
                KeyCode::Char('b') => Key::Bypass,
                KeyCode::Char('+') | KeyCode::Char('=') => Key::WetUp,
                KeyCode::Char('-') => Key::WetDown,
                KeyCode::Char('n') => Key::Next,
                _ => continue,
            };
            if tx.send(key).is_err() {
                return;
            }
        }
    });
}

/// The line logged when the device period (or, following it, the block) changed.
fn timing_line(info: &SessionInfo, was: &Timing, now: &Timing) -> String {
    let period = if was.period_frames == now.period_frames {
        format!("{} frames (unchanged)", now.period_frames)
    } else {
        format!("{} frames (was {})", now.period_frames, was.period_frames)
    };
    format!(
        "faltung: device period {period}, block {} frames, ring prefill {}: latency budget {} frames ({:.2} ms), faltung adds {} frames ({:.2} ms)",
        now.block_frames,
        now.lag_frames,
        now.budget_frames(),
        info.ms(now.budget_frames()),
        now.added_latency_frames(),
        info.ms(now.added_latency_frames()),
    )
}

/// Kernels for a session at `rate_hz`: specs in Hz are designed for it and IRs recorded at
/// another rate are resampled to it.
fn load_kernels(a: &LiveArgs, rate_hz: u32) -> anyhow::Result<Vec<Kernel>> {
    let opts = IrOptions {
        max_seconds: a.max_ir_seconds,
        target_rate_hz: Some(rate_hz),
        resample: true,
        ..IrOptions::default()
    };
    if let Some(spec) = &a.kernel {
        return Ok(vec![parse_spec(spec, Some(rate_hz))?]);
    }
    a.ir.iter()
        .map(|p| {
            let l = load_ir_with_notes(p, &opts)?;
            for n in &l.notes {
                println!("{}: {n}", p.display());
            }
            Ok(l.kernel)
        })
        .collect()
}

/// Run `f` (which opens devices) with what the audio libraries print to stderr caught: on
/// success faltung's own lines are passed on and the libraries' noise dropped; on failure
/// the error carries a summary of it and, for the known failures, what to do.
fn with_noise<T>(
    host: Option<&str>,
    f: impl FnOnce() -> Result<T, LiveError>,
) -> anyhow::Result<T> {
    let capture = noise::Capture::start();
    let result = f();
    let caught = capture.map(|c| c.finish()).unwrap_or_default();
    caught.replay_other();
    result.map_err(|e| {
        let reason = e.to_string();
        let mut msg = reason.clone();
        if let Some(s) = caught.summary() {
            msg.push_str(&format!(" ({s})"));
        }
        if let Some(hint) = noise::advice(&devices::host_display_name(host), &reason, &caught) {
            msg.push_str(&format!("; {hint}"));
        }
        anyhow::anyhow!(msg)
    })
}

pub fn run(a: LiveArgs) -> anyhow::Result<()> {
    if let Some(d) = a.duration {
        if !(d.is_finite() && d > 0.0) {
            bail!("--duration must be a positive number of seconds, got {d}");
        }
    }
    // A missing IR is named as such before any device is asked for its rate (a machine
    // without audio would otherwise report its devices first). Metadata only: opening a
    // FIFO here would block, and would consume what the loader must read.
    for p in &a.ir {
        if let Err(source) = std::fs::metadata(p) {
            return Err(KernelError::Open {
                path: p.clone(),
                source,
            }
            .into());
        }
    }
    let block = a.block.or_else(|| default_block(&a));
    pipewire_requests(&a, block.unwrap_or(256));
    // The rate first (the device's unless --rate), so that kernels are made for it.
    let rate_hz = match a.rate {
        Some(r) => r,
        None => with_noise(a.host.as_deref(), || {
            devices::session_rate(a.host.as_deref(), a.input.as_deref())
        })
        .context("cannot start live filtering")?,
    };
    let kernels = load_kernels(&a, rate_hz)?;
    let mut opts = LiveOptions::new(kernels);
    opts.host = a.host.clone();
    opts.input = a.input.clone();
    opts.output = a.output.clone();
    opts.rate_hz = Some(rate_hz);
    opts.block_frames = block;
    opts.input_channels = a.channels;
    opts.wet = a.wet;
    opts.gain_db = a.gain_db;
    opts.record = a.record.clone();
    opts.cpu = a.cpu;
    opts.worker_threads = usize::from(a.threads);
    opts.connect_input = connection(&a.connect_input, a.no_connect);
    opts.connect_output = connection(&a.connect_output, a.no_connect);

    let mut session = with_noise(a.host.as_deref(), || Session::start(&opts))
        .context("cannot start live filtering")?;
    let info = session.info().clone();
    let period = info.period_frames.unwrap_or(info.block_frames);
    let added = info.added_latency_frames();
    println!(
        "faltung live: host {}, input `{}` ({} ch) -> output `{}` ({} ch), {} Hz, device period {} frames{}",
        info.host,
        info.input_device,
        info.input_channels,
        info.output_device,
        info.output_channels,
        info.rate_hz,
        period,
        if info.period_frames.is_none() { " (requested)" } else { "" }
    );
    let priority = match (info.processing_priority, info.callback_priority) {
        (Some(p), Some(c)) => format!("real-time (SCHED_FIFO {p}, callbacks {c})"),
        (Some(p), None) => format!("real-time (SCHED_FIFO {p})"),
        (None, _) => "normal".to_string(),
    };
    let cpu = match info.audio_cpu {
        Some(c) => format!("CPU {c} (callbacks and processing)"),
        None => "any CPU".to_string(),
    };
    println!(
        "engine: {}, block {} frames; processing thread at {priority} priority; audio threads on {cpu}",
        info.plan, info.block_frames,
    );
    println!(
        "latency budget: input buffer {period} + ring prefill {} + engine {} + output buffer {period} = {} frames ({:.2} ms); faltung adds {added} frames ({:.2} ms) beyond the device buffers",
        info.lag_frames,
        info.engine_latency_frames,
        2 * period + added,
        info.ms(2 * period + added),
        info.ms(added),
    );
    for c in &info.connections {
        println!("connected {c}");
    }
    for n in &info.connection_notes {
        println!("faltung: {n}");
    }
    match &info.memory_lock {
        Ok(()) => println!("memory: locked in RAM (mlockall)"),
        Err(e) => println!("faltung: memory: {e}"),
    }
    println!("added_latency_frames={added}");

    let interactive = std::io::stdin().is_terminal();
    let tty_out = std::io::stdout().is_terminal();
    let quit = Arc::new(AtomicBool::new(false));
    {
        let q = quit.clone();
        // SIGINT/SIGTERM when no raw terminal swallows Ctrl-C.
        ctrlc::set_handler(move || q.store(true, Ordering::Relaxed))
            .context("cannot install the Ctrl-C handler")?;
    }
    let (key_tx, key_rx) = crossbeam_channel::unbounded::<Key>();
    let _raw = if interactive {
        println!("keys: q quit, b bypass, +/- wet, n next IR");
        let raw = crossterm::terminal::enable_raw_mode().ok().map(|_| RawMode);
        key_thread(quit.clone(), key_tx);
        raw
    } else {
        drop(key_tx);
        None
    };

    let started = Instant::now();
    let mut last_print = Instant::now();
    let print_every = if tty_out {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(5)
    };
    let mut last_sound = Instant::now();
    let mut timing = session.timing();
    let failure = loop {
        std::thread::sleep(Duration::from_millis(20));
        if let Some(msg) = session.failure() {
            break Some(msg);
        }
        if quit.load(Ordering::Relaxed) {
            break None;
        }
        if let Some(d) = a.duration {
            if started.elapsed().as_secs_f64() >= d {
                break None;
            }
        }
        while let Ok(k) = key_rx.try_recv() {
            match k {
                Key::Quit => quit.store(true, Ordering::Relaxed),
                Key::Bypass => session.control(Control::SetBypass(!session.bypass())),
                Key::WetUp => session.control(Control::SetWet(session.wet() + 0.1)),
                Key::WetDown => session.control(Control::SetWet(session.wet() - 0.1)),
                Key::Next => session.control(Control::NextIr),
            }
        }
        // A changed period (and the block and latency that follow it) is logged here, off
        // the audio thread, when the session's atomics show it.
        let now = session.timing();
        let first = timing.period_frames == 0;
        if now.period_frames != 0
            && (now.period_frames, now.block_frames, now.lag_frames)
                != (timing.period_frames, timing.block_frames, timing.lag_frames)
        {
            if !first {
                let line = timing_line(&info, &timing, &now);
                let mut out = std::io::stdout().lock();
                let _ = if tty_out {
                    write!(out, "\r{line}\x1b[K\r\n")
                } else {
                    writeln!(out, "[{:7.1} s] {line}", started.elapsed().as_secs_f64())
                };
                let _ = out.flush();
            }
            timing = now;
        }
        if last_print.elapsed() >= print_every {
            last_print = Instant::now();
            let s = session.stats();
            let cx = super::status::Context {
                latency_ms: info.ms(s.timing.added_latency_frames()),
                budget_ms: info.ms(s.timing.budget_frames()),
                ir_name: &s.ir_name,
            };
            // The width is read at every refresh, so the line follows resizes.
            let width = if tty_out {
                crossterm::terminal::size()
                    .ok()
                    .map(|(cols, _)| usize::from(cols))
            } else {
                None
            };
            let line = super::status::status_line(&s, &cx, width);
            // Digital silence (below -140 dBFS) for a while: most likely nothing is
            // connected to the input.
            if s.in_peak_db > -140.0 {
                last_sound = Instant::now();
            }
            let silent = last_sound.elapsed().as_secs_f64();
            let mut line = line;
            if silent >= SILENT_INPUT_HINT_SECS {
                let hint = format!(
                    "  [input silent for {silent:.0} s: is anything connected? link it (pw-link, jack_connect) or choose --input]"
                );
                // The hint is added only where it fits the terminal.
                if width.is_none_or(|w| line.chars().count() + hint.chars().count() <= w) {
                    line.push_str(&hint);
                }
            }
            let mut out = std::io::stdout().lock();
            if tty_out {
                let _ = write!(out, "\r{line}\x1b[K");
            } else {
                let _ = writeln!(out, "[{:7.1} s] {line}", started.elapsed().as_secs_f64());
            }
            let _ = out.flush();
        }
    };
    quit.store(true, Ordering::Relaxed);
    drop(_raw);
    if tty_out {
        println!();
    }
    if let Some(msg) = failure {
        // Finalise the recording, leave the dead streams alone, and fail.
        let summary = session.abandon();
        if let (Ok(s), Some(path)) = (&summary, &a.record) {
            eprintln!(
                "faltung: recording {} finalised ({} frames)",
                path.display(),
                s.recorded_frames.unwrap_or(0)
            );
        }
        bail!("audio stream lost: {msg}");
    }
    let s = session.stop().context("stopping")?;
    let t = s.timing;
    println!(
        "summary: seconds={:.1} input_frames={} output_frames={} underruns={} late_input={} input_gaps={} overruns={} xruns={} record_dropped={} period_frames={} block_frames={} period_changes={} added_latency_frames={} latency_budget_frames={} latency_budget_ms={:.2} tail_late={} tail_dropped={}{}",
        started.elapsed().as_secs_f64(),
        s.input_frames,
        s.output_frames,
        s.underruns,
        s.late_input,
        s.input_gaps,
        s.overruns,
        s.xruns,
        s.record_dropped,
        t.period_frames,
        t.block_frames,
        t.period_changes,
        t.added_latency_frames(),
        t.budget_frames(),
        info.ms(t.budget_frames()),
        s.tail_late,
        s.tail_dropped,
        match (s.recorded_frames, &a.record) {
            (Some(n), Some(p)) => format!(" recorded_frames={n} ({})", p.display()),
            _ => String::new(),
        }
    );
    Ok(())
}
