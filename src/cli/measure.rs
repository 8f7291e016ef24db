//! `faltung measure`: play a sweep, record it through the room, write the IR.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use faltung::live::PlayRecordOptions;
use faltung::measure::room::{measure, MeasureOptions, Progress};

use super::sweep::{parse_db, print_channel, write_channels, NormalizeIr, SweepRange};

#[derive(Args)]
pub struct MeasureArgs {
    /// The IR's file (WAV: 32-bit float), one channel per recorded input channel.
    #[arg(short = 'o', value_name = "IR.wav")]
    pub file: PathBuf,
    /// Audio host (e.g. alsa, jack); default: the platform's.
    #[arg(long)]
    pub host: Option<String>,
    /// Input device (the microphone), by name (or a unique part of it) or index.
    #[arg(long, value_name = "DEV")]
    pub input: Option<String>,
    /// Output device (the speaker), by name or index; the sweep plays on all its channels.
    #[arg(long, value_name = "DEV")]
    pub output: Option<String>,
    /// Sample rate in Hz (default: the input device's).
    #[arg(long, value_name = "HZ")]
    pub rate: Option<u32>,
    /// Processing block in frames (default: the device period).
    #[arg(long, value_name = "FRAMES")]
    pub block: Option<usize>,
    /// Input channels to record (one IR channel each).
    #[arg(long, default_value_t = 1)]
    pub channels: usize,
    #[command(flatten)]
    pub range: SweepRange,
    /// The sweep's peak level, e.g. -12dB.
    #[arg(long, default_value = "-12dB", value_parser = parse_db, allow_hyphen_values = true)]
    pub level: f64,
    /// Seconds of silence after each sweep for the room's decay: the IR's length.
    #[arg(long, default_value_t = 2.0)]
    pub tail: f64,
    /// Seconds of silence before the first sweep (devices settle; ports can be patched).
    #[arg(long, default_value_t = 1.0)]
    pub preroll: f64,
    /// Sweeps played and averaged (each repeat lowers the noise by 3 dB per doubling).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Remove the known round trip (faltung's ring prefill, and on JACK the latency of the
    /// ports' connections) so that the IR starts at the acoustic delay.
    #[arg(long)]
    pub compensate_latency: bool,
    /// The smallest IR peak-to-noise ratio accepted, in dB.
    #[arg(long, default_value_t = 20.0, allow_hyphen_values = true)]
    pub min_snr: f64,
    #[arg(long, value_enum, default_value_t = NormalizeIr::None)]
    pub normalize: NormalizeIr,
    /// CPU shared by the audio callbacks and the processing thread (as `faltung live`).
    #[arg(long, value_name = "N|auto|none", default_value = "auto")]
    pub cpu: faltung::rt::CpuChoice,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// A short meter: 10 cells over -60..0 dBFS.
fn meter(db: f64) -> String {
    let cells = if db.is_finite() {
        ((db + 60.0) / 6.0).clamp(0.0, 10.0).round() as usize
    } else {
        0
    };
    format!("{}{}", "#".repeat(cells), ".".repeat(10 - cells))
}

fn status(p: &Progress) -> String {
    let pct = 100.0 * p.frames_done as f64 / p.frames_total.max(1) as f64;
    let what = if p.repeat == 0 {
        "preroll".to_string()
    } else {
        format!("sweep {}/{}", p.repeat, p.repeats)
    };
    let db = |v: f64| {
        if v.is_finite() {
            format!("{v:6.1}")
        } else {
            "  -inf".into()
        }
    };
    format!(
        "{what:<12} {pct:3.0}%  in [{}] {} dBFS  out [{}] {} dBFS",
        meter(p.in_peak_db),
        db(p.in_peak_db),
        meter(p.out_peak_db),
        db(p.out_peak_db)
    )
}

pub fn run(a: MeasureArgs) -> anyhow::Result<()> {
    if !a.force && a.file.exists() {
        bail!(
            "{}: already exists (use --force to overwrite)",
            a.file.display()
        );
    }
    if let Some(dir) = a.file.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            bail!(
                "{}: the folder {} does not exist",
                a.file.display(),
                dir.display()
            );
        }
    }
    if a.channels == 0 || a.channels > faltung::audio_file::MAX_CHANNELS {
        bail!(
            "--channels {}: must be 1 to {}",
            a.channels,
            faltung::audio_file::MAX_CHANNELS
        );
    }
    let opts = MeasureOptions {
        devices: PlayRecordOptions {
            host: a.host.clone(),
            input: a.input.clone(),
            output: a.output.clone(),
            rate_hz: a.rate,
            input_channels: a.channels,
            block_frames: a.block,
            cpu: a.cpu,
        },
        seconds: a.range.seconds,
        f0_hz: a.range.f0,
        f1_hz: a.range.f1,
        level_db: a.level,
        tail_s: a.tail,
        preroll_s: a.preroll,
        repeats: a.repeats,
        compensate_latency: a.compensate_latency,
        min_snr_db: a.min_snr,
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let s = stop.clone();
        let _ = ctrlc::set_handler(move || s.store(true, Ordering::Relaxed));
    }
    let tty = std::io::stderr().is_terminal();
    let mut last_repeat = usize::MAX;
    let result = measure(&opts, &stop, |p| {
        let mut err = std::io::stderr();
        if tty {
            let _ = write!(err, "\r{}\x1b[K", status(p));
        } else if p.repeat != last_repeat {
            let _ = writeln!(err, "{}", status(p));
        }
        last_repeat = p.repeat;
        let _ = err.flush();
    });
    if tty {
        eprintln!();
    }
    let mut m = result.with_context(|| format!("measuring for {}", a.file.display()))?;
    let rate = m.rate_hz;
    let ms = |f: usize| f as f64 * 1e3 / f64::from(rate);
    println!(
        "input `{}`, output `{}`: {} Hz, period {}, {} repeat(s) of a {:.1} Hz to {:.1} Hz sweep, recording peak {:.1} dBFS",
        m.input_device,
        m.output_device,
        rate,
        m.period_frames
            .map_or("variable".to_string(), |p| format!("{p} frames")),
        a.repeats,
        m.sweep.f0_hz,
        m.sweep.f1_hz,
        m.recording_peak_db
    );
    let device = m
        .device_latency_frames
        .map_or("unknown on this host".to_string(), |d| {
            format!("{d} frames ({:.3} ms)", ms(d))
        });
    if a.compensate_latency {
        println!(
            "latency removed: {} frames ({:.3} ms) = ring prefill {} + device {}",
            m.compensated_frames,
            ms(m.compensated_frames),
            m.lag_frames,
            device
        );
    } else {
        println!(
            "latency kept in the IR: ring prefill {} frames, device {} (remove it with --compensate-latency)",
            m.lag_frames, device
        );
    }
    if m.disturbed() {
        eprintln!(
            "faltung: warning: the run was disturbed (server xruns {}, underruns {}, input gaps {}, overruns {}, recording dropped {}): the IR may be wrong; measure again",
            m.xruns, m.underruns, m.input_gaps, m.overruns, m.record_dropped
        );
    }
    if a.normalize == NormalizeIr::Peak {
        let peak = m.irs.iter().flatten().fold(0.0f64, |x, v| x.max(v.abs()));
        if peak > 0.0 {
            for v in m.irs.iter_mut().flatten() {
                *v /= peak;
            }
        }
    }
    for (i, (h, (pos, snr))) in m.irs.iter().zip(&m.peaks).enumerate() {
        print_channel(i, h, rate, *pos, *snr);
    }
    write_channels(&a.file, &m.irs, rate, a.force)?;
    println!(
        "{}: {} channel(s), {} frames; try it with `faltung live --ir {}`",
        a.file.display(),
        m.irs.len(),
        m.irs[0].len(),
        a.file.display()
    );
    Ok(())
}
