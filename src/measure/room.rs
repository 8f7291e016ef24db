//! `faltung measure`: play the synchronized sweep on the output device, record the input
//! on the same clock, average the repeats, deconvolve.
//!
//! The play-and-record harness is the live path's ([`Session::start_play_record`]): the
//! same devices, streams and clock alignment as `faltung live`, with a step that plays
//! the signal and records the input in place of the engine. The signal is `preroll` of
//! silence, then `repeats` times the sweep followed by `tail` of silence; the recording
//! runs on for [`POSTROLL_S`] after the last repeat.
//!
//! ## Timing
//! Recording frame `k` is input frame `k`, and signal frame `j` is played `lag` frames
//! (the ring prefill, [`SessionInfo::lag_frames`](crate::live::SessionInfo::lag_frames))
//! after input frame `j` was captured. The response of a system with round trip `d`
//! (device buffers, cables, air) to a sweep starting at signal frame `s` starts at
//! recording frame `s + lag + d`. Without compensation the IR's time zero is the sweep's
//! start in the signal: its delay is `lag + d`. With `compensate_latency`, the known part
//! of `d` is removed as well as `lag`: on JACK the capture latency of faltung's input
//! ports and the playback latency of its output ports, as the server reports them
//! (`jack_port_get_latency_range`), so the IR starts at the acoustic delay (what lies
//! between the sound card's ports). On other hosts only `lag` is known.
//!
//! ## Checks
//! A recording that reaches full scale is an error (the IR would hold the distortion), as
//! is a silent one, and an IR whose peak stands less than `min_snr_db` above its noise
//! floor ([`peak_and_snr`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::live::{LiveError, PlayRecordOptions, PlaySignal, Session};
use crate::measure::sweep::{
    deconvolve_sweep, peak_and_snr, synchronized_sweep, SweepError, SweepInfo, SweepSpec,
};

/// Seconds recorded after the last repeat (room for the latency compensation).
pub const POSTROLL_S: f64 = 0.5;

/// Recording peak at or above this is taken as clipped (-0.01 dBFS).
const CLIP_LEVEL: f64 = 0.9989;

/// Errors of a room measurement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeasureError {
    #[error(transparent)]
    Live(#[from] LiveError),
    #[error(transparent)]
    Sweep(#[from] SweepError),
    #[error("invalid setting: {what}")]
    Invalid { what: String },
    #[error("the audio device failed during the measurement: {reason}")]
    Failed { reason: String },
    #[error("interrupted")]
    Interrupted,
    #[error(
        "the recording on input `{device}` is silent: nothing came back from output \
         `{output}` (is the input connected, unmuted, the right device?)"
    )]
    Silent { device: String, output: String },
    #[error(
        "the recording on input `{device}` clipped (peak {peak_db:.2} dBFS on channel \
         {channel}): lower --level or the input gain, and measure again"
    )]
    Clipped {
        device: String,
        channel: usize,
        peak_db: f64,
    },
    #[error(
        "the SNR on input `{device}` channel {channel} is {snr_db:.1} dB, below the \
         {min_db:.1} dB needed (raise --level or the input gain, measure with more \
         --repeats, or accept it with --min-snr)"
    )]
    LowSnr {
        device: String,
        channel: usize,
        snr_db: f64,
        min_db: f64,
    },
    #[error(
        "the latency to compensate ({frames} frames) is longer than the {postroll} frames \
         recorded after the last sweep"
    )]
    LatencyTooLong { frames: usize, postroll: usize },
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct MeasureOptions {
    pub devices: PlayRecordOptions,
    /// The sweep's length in seconds, its band and its peak level.
    pub seconds: f64,
    pub f0_hz: f64,
    pub f1_hz: f64,
    pub level_db: f64,
    /// Silence after each sweep, for the room's decay: the IR's length.
    pub tail_s: f64,
    /// Silence before the first sweep.
    pub preroll_s: f64,
    pub repeats: usize,
    pub compensate_latency: bool,
    /// The smallest SNR accepted, in dB.
    pub min_snr_db: f64,
}

/// Where a measurement is, for a level meter and a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub frames_done: usize,
    pub frames_total: usize,
    /// The repeat being played (1-based; 0 during the preroll).
    pub repeat: usize,
    pub repeats: usize,
    /// Input and output peaks since the previous report, in dBFS.
    pub in_peak_db: f64,
    pub out_peak_db: f64,
}

/// A finished measurement.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// One IR per input channel.
    pub irs: Vec<Vec<f64>>,
    pub rate_hz: u32,
    pub sweep: SweepInfo,
    pub input_device: String,
    pub output_device: String,
    pub period_frames: Option<usize>,
    /// The ring prefill between recording and playing.
    pub lag_frames: usize,
    /// Device latency reported by the host (JACK: capture + playback), if known.
    pub device_latency_frames: Option<usize>,
    /// Frames removed from the IR's start by `compensate_latency` (0 without).
    pub compensated_frames: usize,
    /// The recording's peak over all repeats, in dBFS.
    pub recording_peak_db: f64,
    /// Per IR channel: peak position and SNR (see [`peak_and_snr`]).
    pub peaks: Vec<(usize, Option<f64>)>,
    /// Disturbances from the first sweep on: server xruns, output underruns, input gaps
    /// and overruns, samples the recording could not take.
    pub xruns: u64,
    pub underruns: u64,
    pub input_gaps: u64,
    pub overruns: u64,
    pub record_dropped: u64,
}

impl Measurement {
    pub fn disturbed(&self) -> bool {
        self.xruns + self.underruns + self.input_gaps + self.overruns + self.record_dropped > 0
    }
}

fn invalid(what: impl Into<String>) -> MeasureError {
    MeasureError::Invalid { what: what.into() }
}

/// The frame layout of the signal at `rate`.
struct Layout {
    preroll: usize,
    segment: usize,
    postroll: usize,
    repeats: usize,
}

impl Layout {
    fn total(&self) -> usize {
        self.preroll + self.repeats * self.segment + self.postroll
    }
}

fn check(opts: &MeasureOptions) -> Result<(), MeasureError> {
    if opts.repeats == 0 || opts.repeats > 100 {
        return Err(invalid(format!(
            "--repeats {}: must be 1 to 100",
            opts.repeats
        )));
    }
    if !(opts.preroll_s.is_finite() && (0.0..=60.0).contains(&opts.preroll_s)) {
        return Err(invalid(format!(
            "--preroll {}: must be 0 to 60 seconds",
            opts.preroll_s
        )));
    }
    if !(opts.tail_s.is_finite() && opts.tail_s > 0.0 && opts.tail_s <= 600.0) {
        return Err(invalid(format!(
            "--tail {}: must be above 0 and at most 600 seconds",
            opts.tail_s
        )));
    }
    if opts.min_snr_db.is_nan() {
        return Err(invalid("--min-snr must be a number of dB"));
    }
    Ok(())
}

/// Measure: play, record, average, deconvolve. `progress` is called about 10 times a
/// second; `stop` set (e.g. by Ctrl-C) ends the run with [`MeasureError::Interrupted`].
pub fn measure(
    opts: &MeasureOptions,
    stop: &AtomicBool,
    mut progress: impl FnMut(&Progress),
) -> Result<Measurement, MeasureError> {
    check(opts)?;
    let mut made: Option<(Vec<f64>, SweepInfo, Layout)> = None;
    let make_signal = |rate: u32| -> Result<PlaySignal, String> {
        let (x, info) = synchronized_sweep(&SweepSpec {
            rate_hz: rate,
            seconds: opts.seconds,
            f0_hz: opts.f0_hz,
            f1_hz: opts.f1_hz,
            level_db: opts.level_db,
            silence_s: opts.tail_s,
        })
        .map_err(|e| match e {
            SweepError::Invalid { what } => what,
            other => other.to_string(),
        })?;
        let fs = f64::from(rate);
        let layout = Layout {
            preroll: (opts.preroll_s * fs).round() as usize,
            segment: x.len(),
            postroll: (POSTROLL_S * fs).round() as usize,
            repeats: opts.repeats,
        };
        let mut samples = vec![0.0f32; layout.total()];
        for r in 0..layout.repeats {
            let at = layout.preroll + r * layout.segment;
            for (s, v) in samples[at..at + x.len()].iter_mut().zip(&x) {
                *s = *v as f32;
            }
        }
        let record_frames = layout.total();
        made = Some((x, info, layout));
        Ok(PlaySignal {
            samples,
            record_frames,
        })
    };
    let (mut session, mut recording) = Session::start_play_record(&opts.devices, make_signal)?;
    let (sweep, sweep_info, layout) = made.expect("the signal was made");
    let info = session.info().clone();
    // Disturbances count from the first sweep on (a preroll is where ports get patched).
    let mut before = session.stats();
    let mut counting = layout.preroll == 0;
    let run = (|| {
        while !recording.is_complete() {
            if stop.load(Ordering::Relaxed) {
                return Err(MeasureError::Interrupted);
            }
            if let Some(reason) = session.failure() {
                return Err(MeasureError::Failed { reason });
            }
            std::thread::sleep(Duration::from_millis(100));
            let done = recording.poll();
            let s = session.stats();
            if !counting && done >= layout.preroll {
                counting = true;
                before = s.clone();
            }
            progress(&Progress {
                frames_done: done.min(layout.total()),
                frames_total: layout.total(),
                repeat: if done < layout.preroll {
                    0
                } else {
                    ((done - layout.preroll) / layout.segment + 1).min(layout.repeats)
                },
                repeats: layout.repeats,
                in_peak_db: s.in_peak_db,
                out_peak_db: s.out_peak_db,
            });
        }
        Ok(())
    })();
    let device_latency = if opts.compensate_latency && run.is_ok() {
        host_latency_frames(&info.host, info.input_channels, info.output_channels)
    } else {
        None
    };
    let after = session.stats();
    let failed = session.failure().is_some();
    if failed {
        let _ = session.abandon();
    } else {
        let _ = session.stop();
    }
    run?;
    let channels = recording.into_channels();

    let peak = channels
        .iter()
        .enumerate()
        .map(|(c, ch)| (c, ch.iter().fold(0.0f64, |m, v| m.max(v.abs()))))
        .fold((0, 0.0f64), |a, b| if b.1 > a.1 { b } else { a });
    if peak.1 == 0.0 {
        return Err(MeasureError::Silent {
            device: info.input_device.clone(),
            output: info.output_device.clone(),
        });
    }
    if peak.1 >= CLIP_LEVEL {
        return Err(MeasureError::Clipped {
            device: info.input_device.clone(),
            channel: peak.0 + 1,
            peak_db: 20.0 * peak.1.log10(),
        });
    }

    let compensated = if opts.compensate_latency {
        info.lag_frames + device_latency.unwrap_or(0)
    } else {
        0
    };
    if compensated > layout.postroll {
        return Err(MeasureError::LatencyTooLong {
            frames: compensated,
            postroll: layout.postroll,
        });
    }
    // The repeats, averaged, each from its sweep's start (moved by the compensation).
    let averaged: Vec<Vec<f64>> = channels
        .iter()
        .map(|ch| {
            let mut acc = vec![0.0f64; layout.segment];
            for r in 0..layout.repeats {
                let at = layout.preroll + r * layout.segment + compensated;
                for (a, v) in acc.iter_mut().zip(&ch[at..at + layout.segment]) {
                    *a += v;
                }
            }
            acc.iter().map(|v| v / layout.repeats as f64).collect()
        })
        .collect();
    let length = layout.segment - sweep_info.active_frames;
    let d = deconvolve_sweep(&averaged, &sweep, info.rate_hz, Some(length), 1)?;
    let peaks: Vec<(usize, Option<f64>)> = d.irs.iter().map(|h| peak_and_snr(h)).collect();
    for (c, (_, snr)) in peaks.iter().enumerate() {
        let snr = snr.unwrap_or(f64::INFINITY);
        if snr < opts.min_snr_db {
            return Err(MeasureError::LowSnr {
                device: info.input_device.clone(),
                channel: c + 1,
                snr_db: snr,
                min_db: opts.min_snr_db,
            });
        }
    }
    Ok(Measurement {
        irs: d.irs,
        rate_hz: info.rate_hz,
        sweep: d.sweep,
        input_device: info.input_device,
        output_device: info.output_device,
        period_frames: info.period_frames,
        lag_frames: info.lag_frames,
        device_latency_frames: device_latency,
        compensated_frames: compensated,
        recording_peak_db: 20.0 * peak.1.log10(),
        peaks,
        xruns: after.xruns - before.xruns,
        underruns: after.underruns - before.underruns,
        input_gaps: after.input_gaps - before.input_gaps,
        overruns: after.overruns - before.overruns,
        record_dropped: after.record_dropped - before.record_dropped,
    })
}

/// The device latency the host reports for this process's ports: on JACK, the largest
/// capture latency of faltung's input ports plus the largest playback latency of its
/// output ports (what feeds them and what they feed). `None` on other hosts.
#[cfg(feature = "jack")]
fn host_latency_frames(host: &str, in_ch: usize, out_ch: usize) -> Option<usize> {
    if host != "JACK" {
        return None;
    }
    let (client, _) =
        jack::Client::new("faltung_measure", jack::ClientOptions::NO_START_SERVER).ok()?;
    use crate::live::devices::Direction;
    use crate::live::jack_duplex::port_names;
    let worst = |ports: Vec<String>, mode| {
        ports
            .iter()
            .filter_map(|p| client.port_by_name(p))
            .map(|p| p.get_latency_range(mode).1 as usize)
            .max()
    };
    let capture = worst(
        port_names(Direction::Input, in_ch),
        jack::LatencyType::Capture,
    )?;
    let playback = worst(
        port_names(Direction::Output, out_ch),
        jack::LatencyType::Playback,
    )?;
    Some(capture + playback)
}

#[cfg(not(feature = "jack"))]
fn host_latency_frames(_host: &str, _in_ch: usize, _out_ch: usize) -> Option<usize> {
    None
}
