//! Round trip through the live pipeline on a JACK server: what latency a user really gets,
//! next to the sum of the parts that faltung reports.
//!
//! [`Harness::connect`] opens a JACK client of its own (the harness). [`Harness::measure`]
//! starts faltung's live path in this process ([`Session::start`] on the JACK host), takes
//! faltung's ports away from the sound card's (`system:*`) ports and patches them to the
//! harness instead:
//!
//! ```text
//!   harness:feed ──> faltung_<pid>:in_N   (faltung)   faltung_<pid>:out_N ──> harness:cap_N
//! ```
//!
//! The harness then plays single impulses, spaced so that the responses do not overlap and
//! at different offsets within the server period, and records faltung's output from the
//! same cycle on. The response to an impulse is the impulse convolved with the kernel, so
//! each one is found by matching against the known response (the argmax of the
//! cross-correlation of the captured audio with the expected response, summed over the
//! output ports): a kernel's own leading zeros or group delay are part of the response and
//! do not count as latency. The round trip of an impulse is the frame it was detected at
//! minus the frame it was played at, in the harness's own frame count.
//!
//! ## The budget
//! The measured round trip is compared with the sum of the parts:
//! - *input buffer*: the JACK capture latency of faltung's input ports, i.e. of what feeds
//!   them (the harness: 0; a sound card's `system:capture_N`: what
//!   `jack_port_get_latency_range` reports for it, [`RoundTripReport::system_capture_frames`]);
//! - *ring prefill* ([`SessionInfo::lag_frames`]) and *engine latency*
//!   ([`SessionInfo::engine_latency_frames`]): what faltung adds;
//! - *output buffer*: the JACK playback latency of faltung's output ports, i.e. of what
//!   they feed (the harness: 0; `system:playback_N`:
//!   [`RoundTripReport::system_playback_frames`]).
//!
//! The harness is two clients, the feed and the capture: faltung is one client with both
//! ports, and one client feeding it and hearing it would close a loop in the JACK graph,
//! which the server breaks with a period of delay. JACK runs the clients of one cycle in
//! graph order (the feed, faltung, the capture; both harness clients count frames from the
//! same cycle by JACK's frame time), so between the harness's ports the round trip should
//! be exactly the budget, wherever in the period an impulse falls (`tests/bench_roundtrip.rs`
//! checks that); through a sound card's ports the server adds the two system latencies on
//! top.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::kernel::Kernel;
use crate::live::devices::Direction;
use crate::live::jack_duplex::port_names;
use crate::live::{LiveError, LiveOptions, Session, SessionInfo};

mod clients;
mod detect;

use clients::{Capture, Notes, Probe};
use detect::detect_all;
pub use detect::{detect, expected_responses};

/// Errors of the round-trip measurement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoundTripError {
    #[error(
        "no JACK server{server} is running (JACK: {reason}); start one, e.g. `{start}` \
         (the dummy driver needs no sound card)"
    )]
    NoServer {
        server: String,
        reason: String,
        start: String,
    },
    #[error("{0}")]
    Live(#[from] LiveError),
    #[error("JACK: cannot {what}: {reason}")]
    Jack { what: String, reason: String },
    #[error("faltung's JACK port `{port}` did not appear; the server's ports: {available}")]
    MissingPort { port: String, available: String },
    #[error("the live pipeline failed during the measurement: {reason}")]
    Failed { reason: String },
    #[error(
        "the harness did not finish within {seconds:.0} s (is the JACK server running its cycles?)"
    )]
    Timeout { seconds: f64 },
    #[error(
        "impulse {index} of {count}: no response in faltung's output within {window_frames} \
         frames (silent output, or a kernel that is all zeros)"
    )]
    NoResponse {
        index: usize,
        count: usize,
        window_frames: usize,
    },
    #[error("invalid setting: {what}")]
    Invalid { what: String },
}

fn jack_err(what: &str) -> impl Fn(jack::Error) -> RoundTripError + '_ {
    move |e| RoundTripError::Jack {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct RoundTripOptions {
    pub kernel: Kernel,
    /// Processing block in frames (default: the server period).
    pub block_frames: Option<usize>,
    /// faltung's input channels (default: as `faltung live`).
    pub input_channels: Option<usize>,
    /// Number of impulses.
    pub repeats: usize,
}

impl RoundTripOptions {
    pub fn new(kernel: Kernel) -> Self {
        RoundTripOptions {
            kernel,
            block_frames: None,
            input_channels: None,
            repeats: 8,
        }
    }
}

/// One measurement, serialisable to the JSON schema documented in BENCHMARKS.md.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundTripReport {
    /// Kernel name and length in frames.
    pub kernel: String,
    pub kernel_frames: usize,
    pub rate_hz: u32,
    /// The server's period (JACK buffer size).
    pub period_frames: usize,
    /// faltung's processing block.
    pub block_frames: usize,
    pub input_channels: usize,
    pub output_channels: usize,
    /// The engine plan (`Display` of the plan).
    pub plan: String,
    /// Whether faltung's processing thread got real-time scheduling.
    pub realtime_priority: bool,
    /// Number of impulses measured.
    pub repeats: usize,
    /// Each impulse's offset within the server period when it was played.
    pub offsets_frames: Vec<usize>,
    /// Each impulse's measured round trip.
    pub measured_frames: Vec<usize>,
    pub min_frames: usize,
    /// Median (numpy's, the mean of the middle two for an even count).
    pub median_frames: f64,
    pub max_frames: usize,
    pub min_ms: f64,
    pub median_ms: f64,
    pub max_ms: f64,
    /// Largest difference between a captured response and the expected one (the
    /// impulse times the kernel, placed at the measured round trip), relative to the
    /// expected response's peak: small when every detection is a true match.
    pub match_error: f64,
    /// The budget: JACK capture latency of faltung's input ports (what feeds them).
    pub input_buffer_frames: usize,
    /// faltung's ring prefill (`SessionInfo::lag_frames`).
    pub ring_prefill_frames: usize,
    /// The engine's latency at this block (`SessionInfo::engine_latency_frames`).
    pub engine_latency_frames: usize,
    /// JACK playback latency of faltung's output ports (what they feed).
    pub output_buffer_frames: usize,
    /// input buffer + ring prefill + engine latency + output buffer.
    pub budget_frames: usize,
    pub budget_ms: f64,
    /// JACK capture latency of the sound card's first capture port (`system:capture_1`),
    /// if the server has one: what a microphone adds in front of faltung.
    pub system_capture_frames: Option<usize>,
    /// JACK playback latency of `system:playback_1`: what the speaker side adds.
    pub system_playback_frames: Option<usize>,
    /// The round trip from the sound card's capture to its playback: system capture +
    /// ring prefill + engine latency + system playback.
    pub system_round_trip_frames: Option<usize>,
    pub system_round_trip_ms: Option<f64>,
    /// Disturbances during the measurement: the server's xruns, faltung's output
    /// underruns, input gaps and input overruns. With any of them the figures may be off.
    pub server_xruns: u64,
    pub underruns: u64,
    pub input_gaps: u64,
    pub overruns: u64,
}

impl RoundTripReport {
    /// Whether anything disturbed the measurement (see the counters).
    pub fn disturbed(&self) -> bool {
        self.server_xruns + self.underruns + self.input_gaps + self.overruns > 0
    }

    pub fn ms(&self, frames: f64) -> f64 {
        frames * 1000.0 / f64::from(self.rate_hz)
    }
}

/// Amplitude of the impulses.
pub(super) const AMPLITUDE: f32 = 0.5;
/// How long the pipeline runs before the first impulse.
const SETTLE: Duration = Duration::from_millis(300);

/// The harness: a JACK client of its own, on the default server (`JACK_DEFAULT_SERVER`).
pub struct Harness {
    client: Option<jack::Client>,
    rate_hz: u32,
    period_frames: usize,
}

impl Harness {
    /// Connect to the running JACK server (never starts one).
    pub fn connect() -> Result<Harness, RoundTripError> {
        let client = open_client()?;
        Ok(Harness {
            rate_hz: client.sample_rate(),
            period_frames: client.buffer_size() as usize,
            client: Some(client),
        })
    }

    pub fn rate_hz(&self) -> u32 {
        self.rate_hz
    }

    pub fn period_frames(&self) -> usize {
        self.period_frames
    }

    /// Start faltung's live path, play `opts.repeats` impulses through it and measure
    /// each one's round trip. The session is stopped and the harness's ports are removed
    /// before this returns.
    pub fn measure(&mut self, opts: &RoundTripOptions) -> Result<RoundTripReport, RoundTripError> {
        if opts.repeats == 0 {
            return Err(RoundTripError::Invalid {
                what: "--repeats must be at least 1".into(),
            });
        }
        // After a failed measurement the client was closed (with its ports): open anew.
        let client = match self.client.take() {
            Some(c) => c,
            None => open_client()?,
        };
        self.rate_hz = client.sample_rate();
        self.period_frames = client.buffer_size() as usize;
        let mut live = LiveOptions::new(vec![opts.kernel.clone()]);
        live.host = Some("jack".into());
        live.rate_hz = Some(self.rate_hz);
        live.block_frames = opts.block_frames;
        live.input_channels = opts.input_channels;
        let mut session = Session::start(&live)?;
        let (client, result) = self.run(client, &mut session, opts);
        // The harness is inactive by now: faltung stops without anyone waiting on it.
        let _ = session.stop();
        self.client = client;
        result
    }

    /// One measurement on a running session. Gives the client back when it is clean
    /// (inactive, no ports of ours); drops it otherwise.
    fn run(
        &self,
        client: jack::Client,
        session: &mut Session,
        opts: &RoundTripOptions,
    ) -> (
        Option<jack::Client>,
        Result<RoundTripReport, RoundTripError>,
    ) {
        let info = session.info().clone();
        let period = self.period_frames;
        let kernel = &opts.kernel;
        let expected = match expected_responses(kernel, info.input_channels, info.output_channels) {
            Ok(e) => e,
            Err(e) => return (Some(client), Err(e)),
        };
        let response_frames = expected.iter().map(Vec::len).max().unwrap_or(0);
        let budget_faltung = info.lag_frames + info.engine_latency_frames;
        // Search window for a response: well past the budget, so that a pipeline that is
        // later than it claims is still measured rather than missed.
        let max_lag = budget_faltung + 8 * period.max(info.block_frames);
        let spacing = (max_lag + response_frames + period).div_ceil(period) * period;
        let offsets: Vec<usize> = (0..opts.repeats)
            .map(|i| {
                if opts.repeats == 1 {
                    0
                } else {
                    i * (period - 1) / (opts.repeats - 1)
                }
            })
            .collect();
        let lead = 2 * period;
        let starts: Vec<usize> = offsets
            .iter()
            .enumerate()
            .map(|(i, &o)| lead + i * spacing + o)
            .collect();
        let total = starts.last().copied().unwrap_or(0) + max_lag + response_frames + period;

        // Ports and the process handlers, all buffers allocated here. On an error the
        // clients are dropped, and their ports with them. The capture is a second client:
        // one client feeding faltung's client and hearing it would close a loop in the
        // JACK graph, which the server breaks with a period of delay.
        let ports = (|| {
            let register = jack_err("register the harness's ports");
            let feed = client
                .register_port("feed", jack::AudioOut::default())
                .map_err(&register)?;
            let (cap_client, _) = jack::Client::new(
                &format!("{}_cap", client.name()),
                jack::ClientOptions::NO_START_SERVER,
            )
            .map_err(jack_err("open the harness's capture client"))?;
            let caps = (0..info.output_channels)
                .map(|c| cap_client.register_port(&format!("cap_{c}"), jack::AudioIn::default()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(&register)?;
            let feed_name = feed.name().map_err(&register)?;
            let cap_names = caps
                .iter()
                .map(|p| p.name())
                .collect::<Result<Vec<_>, _>>()
                .map_err(&register)?;
            Ok((feed, cap_client, caps, feed_name, cap_names))
        })();
        let (feed, cap_client, caps, feed_name, cap_names) = match ports {
            Ok(p) => p,
            Err(e) => return (None, Err(e)),
        };
        let armed = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let xruns = Arc::new(AtomicU64::new(0));
        let first = Arc::new(AtomicU64::new(0));
        let probe = Probe {
            feed,
            armed: armed.clone(),
            first: first.clone(),
            impulses: starts.clone(),
            next: 0,
            total,
        };
        let capture = Capture {
            capture: vec![vec![0.0; total]; caps.len()],
            caps,
            first,
            done: done.clone(),
            total,
        };
        let notes = Notes {
            xruns: xruns.clone(),
        };
        let active = match client.activate_async(notes, probe) {
            Ok(a) => a,
            Err(e) => return (None, Err(jack_err("activate the harness")(e))),
        };
        let cap_active = match cap_client.activate_async((), capture) {
            Ok(a) => a,
            Err(e) => return (None, Err(jack_err("activate the harness's capture")(e))),
        };
        let measured = (|| {
            let c = active.as_client();
            let in_ports = port_names(Direction::Input, info.input_channels);
            let out_ports = port_names(Direction::Output, info.output_channels);
            wait_ports(c, in_ports.iter().chain(&out_ports))?;
            // Only the harness feeds faltung and hears it.
            for p in in_ports.iter().chain(&out_ports) {
                if let Some(port) = c.port_by_name(p) {
                    for other in port.get_connections() {
                        let _ = c.disconnect_ports_by_name(&other, p);
                        let _ = c.disconnect_ports_by_name(p, &other);
                    }
                }
            }
            for p in &in_ports {
                c.connect_ports_by_name(&feed_name, p)
                    .map_err(jack_err("connect the harness to faltung's input"))?;
            }
            for (p, cap) in out_ports.iter().zip(&cap_names) {
                c.connect_ports_by_name(p, cap)
                    .map_err(jack_err("connect faltung's output to the harness"))?;
            }
            std::thread::sleep(SETTLE);
            let range = |name: &str, mode| {
                c.port_by_name(name)
                    .map(|p| p.get_latency_range(mode).1 as usize)
            };
            let port_latency = |ports: &[String], mode| {
                ports
                    .iter()
                    .filter_map(|p| range(p, mode))
                    .max()
                    .unwrap_or(0)
            };
            let input_buffer = port_latency(&in_ports, jack::LatencyType::Capture);
            let output_buffer = port_latency(&out_ports, jack::LatencyType::Playback);
            let system_capture = range("system:capture_1", jack::LatencyType::Capture);
            let system_playback = range("system:playback_1", jack::LatencyType::Playback);

            let before = session.stats();
            let xruns_before = xruns.load(Ordering::Relaxed);
            armed.store(true, Ordering::Release);
            let seconds = total as f64 / f64::from(self.rate_hz) + 10.0;
            let t0 = Instant::now();
            while !done.load(Ordering::Acquire) {
                if let Some(reason) = session.failure() {
                    return Err(RoundTripError::Failed { reason });
                }
                if t0.elapsed().as_secs_f64() > seconds {
                    return Err(RoundTripError::Timeout { seconds });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let after = session.stats();
            Ok(Parts {
                input_buffer,
                output_buffer,
                system_capture,
                system_playback,
                server_xruns: xruns.load(Ordering::Relaxed) - xruns_before,
                underruns: after.underruns - before.underruns,
                input_gaps: after.input_gaps - before.input_gaps,
                overruns: after.overruns - before.overruns,
            })
        })();
        let (client, probe) = match active.deactivate() {
            Ok((client, _, probe)) => (client, probe),
            Err(e) => return (None, Err(jack_err("deactivate the harness")(e))),
        };
        let capture = match cap_active.deactivate() {
            Ok((_, _, capture)) => capture,
            Err(e) => return (None, Err(jack_err("deactivate the harness's capture")(e))),
        };
        let parts = match measured {
            Ok(p) => p,
            Err(e) => return (None, Err(e)),
        };
        let clean = client.unregister_port(probe.feed).is_ok();
        let client = clean.then_some(client);
        let result = detect_all(&capture.capture, &expected, &starts, max_lag)
            .map(|d| report(kernel, &info, period, &offsets, &d, &parts));
        (client, result)
    }
}

/// A client of the running server, or why there is none.
fn open_client() -> Result<jack::Client, RoundTripError> {
    jack::Client::new("faltung_roundtrip", jack::ClientOptions::NO_START_SERVER)
        .map(|(client, _)| client)
        .map_err(|e| {
            let named = std::env::var("JACK_DEFAULT_SERVER")
                .ok()
                .filter(|s| !s.is_empty());
            RoundTripError::NoServer {
                server: named
                    .as_ref()
                    .map(|s| format!(" named `{s}` (JACK_DEFAULT_SERVER)"))
                    .unwrap_or_default(),
                reason: e.to_string(),
                start: match &named {
                    Some(s) => format!("jackd -n {s} -d dummy -r 48000 -p 256"),
                    None => "jackd -d dummy -r 48000 -p 256".into(),
                },
            }
        })
}

struct Parts {
    input_buffer: usize,
    output_buffer: usize,
    system_capture: Option<usize>,
    system_playback: Option<usize>,
    server_xruns: u64,
    underruns: u64,
    input_gaps: u64,
    overruns: u64,
}

fn report(
    kernel: &Kernel,
    info: &SessionInfo,
    period: usize,
    offsets: &[usize],
    detections: &[(usize, f64)],
    parts: &Parts,
) -> RoundTripReport {
    let ms = |f: f64| f * 1000.0 / f64::from(info.rate_hz);
    let measured: Vec<usize> = detections.iter().map(|d| d.0).collect();
    let mut sorted: Vec<f64> = measured.iter().map(|&m| m as f64).collect();
    sorted.sort_by(f64::total_cmp);
    let median = crate::bench::quantile_sorted(&sorted, 0.5).unwrap_or(0.0);
    let min = measured.iter().copied().min().unwrap_or(0);
    let max = measured.iter().copied().max().unwrap_or(0);
    let faltung = info.lag_frames + info.engine_latency_frames;
    let budget = parts.input_buffer + faltung + parts.output_buffer;
    let system = match (parts.system_capture, parts.system_playback) {
        (Some(c), Some(p)) => Some(c + faltung + p),
        _ => None,
    };
    RoundTripReport {
        kernel: kernel.name.clone(),
        kernel_frames: kernel.len_frames(),
        rate_hz: info.rate_hz,
        period_frames: period,
        block_frames: info.block_frames,
        input_channels: info.input_channels,
        output_channels: info.output_channels,
        plan: info.plan.clone(),
        realtime_priority: info.processing_priority.is_some(),
        repeats: measured.len(),
        offsets_frames: offsets.to_vec(),
        min_frames: min,
        median_frames: median,
        max_frames: max,
        min_ms: ms(min as f64),
        median_ms: ms(median),
        max_ms: ms(max as f64),
        measured_frames: measured,
        match_error: detections.iter().map(|d| d.1).fold(0.0, f64::max),
        input_buffer_frames: parts.input_buffer,
        ring_prefill_frames: info.lag_frames,
        engine_latency_frames: info.engine_latency_frames,
        output_buffer_frames: parts.output_buffer,
        budget_frames: budget,
        budget_ms: ms(budget as f64),
        system_capture_frames: parts.system_capture,
        system_playback_frames: parts.system_playback,
        system_round_trip_frames: system,
        system_round_trip_ms: system.map(|s| ms(s as f64)),
        server_xruns: parts.server_xruns,
        underruns: parts.underruns,
        input_gaps: parts.input_gaps,
        overruns: parts.overruns,
    }
}

/// Wait (up to 10 s) until the named ports exist.
fn wait_ports<'a>(
    c: &jack::Client,
    names: impl Iterator<Item = &'a String> + Clone,
) -> Result<(), RoundTripError> {
    let t0 = Instant::now();
    loop {
        let missing = names.clone().find(|n| c.port_by_name(n).is_none());
        let Some(missing) = missing else {
            return Ok(());
        };
        if t0.elapsed() > Duration::from_secs(10) {
            return Err(RoundTripError::MissingPort {
                port: missing.clone(),
                available: c.ports(None, None, jack::PortFlags::empty()).join(", "),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
