//! Live filtering: audio device in, convolution, audio device out (cpal).
//!
//! [`Session::start`] opens the devices, builds the engine and starts the pipeline of
//! [`pipeline`]: cpal input callback → SPSC ring → processing thread (the engine in fixed
//! blocks) → SPSC ring → cpal output callback. The session knows nothing of terminals:
//! the caller polls [`Session::stats`], sends [`Control`]s and calls [`Session::stop`].
//!
//! ## Threads
//! - cpal's input and output callbacks: [`pipeline::InputPort::push`] and
//!   [`pipeline::OutputPort::fill`] only (copy, count, wake).
//! - `faltung-dsp`: runs [`pipeline::Processor::step`] whenever the input callback wakes it
//!   with `Thread::unpark`, and otherwise sleeps in `park_timeout` (a quarter of a device
//!   period). Waking by unpark keeps the callback free of locks and allocation (it is an
//!   atomic swap plus, if the thread sleeps, a futex wake), and the processing thread does
//!   not spin on a 2-core machine. The short timeout is there because a futex wake can be
//!   slow to arrive on a virtual machine: in a 60 s run at 64-frame periods on this
//!   project's 2-vCPU VM, a few dozen wake-ups took a whole period (the old timeout) and
//!   each of those was an underrun; with the quarter-period timeout the processing starts
//!   within 0.2 ms of the input in all but a handful of blocks, for about 3000 extra
//!   wake-ups a second at 64 frames.
//! - Placement ([`affinity`]): the callbacks and `faltung-dsp` share one CPU and
//!   `faltung-dsp` runs above the callbacks' real-time priority, so the wake-up from the
//!   input callback is a local preemption and the block is done before the output
//!   callback can run on that CPU, even in the back-to-back cycle a server runs after its
//!   own xrun. `LiveOptions::cpu` / `--cpu` choose the CPU or turn this off.
//! - `faltung-loader`: the only producer of the command ring. It builds engines for hot
//!   swaps (off the audio path), forwards bypass/wet commands, and drops the old engines
//!   that the processing thread hands back.
//! - `faltung-record` (with `--record`): drains the record ring into a WAV file.
//!
//! ## Real-time safety, and how it is checked
//! - No allocation: `tests/realtime_alloc.rs` runs the two callback bodies and the
//!   processing step (including a hot swap mid-crossfade) under a counting global
//!   allocator and asserts zero heap events.
//! - No lock, no blocking: by construction, checked in review. [`pipeline`] uses no
//!   `Mutex` and no channel: only atomics (relaxed counters, a seqlock for the input clock
//!   anchor) and ringbuf's lock-free SPSC rings, whose `push_slice`/`pop_slice`/`skip`
//!   never wait. The one `Mutex` here holds a device error message and is only
//!   `try_lock`ed, from cpal's error callback, off the data path. The only wake-up is
//!   `Thread::unpark`. Engines are built by the loader and freed by it; the processing
//!   thread only moves `Box`es through rings.
//!
//! ## Latency
//! The output plays input frame `t - lag` at time `t`, where `lag` (the ring prefill) is
//! the processing block rounded up to whole device periods — one period when the block
//! equals the period. The engine is built for zero latency at the block size, so faltung
//! adds `lag + engine latency` frames beyond the device buffers.

pub mod affinity;
pub mod devices;
pub mod pipeline;
pub mod record;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use cpal::traits::{DeviceTrait, StreamTrait};
use ringbuf::traits::{Consumer, Producer, Split};
use ringbuf::HeapRb;

use crate::engine::{BlockProcessor, Engine, Routing};
use crate::error::EngineError;
use crate::kernel::Kernel;
use devices::Direction;
use pipeline::{
    Command, InputPort, OutputPort, Processor, ProcessorConfig, ProcessorRings, Shared,
};

/// Errors of the live path. Device problems list what is available.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    #[error("unknown audio host `{name}`; hosts: {available}")]
    UnknownHost { name: String, available: String },
    #[error("audio host {name} is not available: {reason}")]
    HostUnavailable { name: String, reason: String },
    #[error("no {direction} device `{wanted}` on host {host}; {direction} devices: {available}")]
    NoDevice {
        direction: Direction,
        host: String,
        wanted: String,
        available: String,
    },
    #[error("{direction} device `{device}` does not support {wanted}; it supports: {available}")]
    UnsupportedConfig {
        direction: Direction,
        device: String,
        wanted: String,
        available: String,
    },
    #[error("cannot open {direction} stream on `{device}`: {reason}")]
    Stream {
        direction: Direction,
        device: String,
        reason: String,
    },
    #[error("kernel `{name}`: {source}")]
    Engine {
        name: String,
        #[source]
        source: EngineError,
    },
    #[error("{path}: cannot record: {reason}")]
    Record { path: PathBuf, reason: String },
    #[error("invalid setting: {what}")]
    Invalid { what: String },
    #[error("cannot start thread: {reason}")]
    Thread { reason: String },
    #[error(transparent)]
    Device(#[from] devices::DeviceError),
}

/// What to run.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Kernels to cycle through with [`Control::NextIr`]; the first is used at start.
    pub kernels: Vec<Kernel>,
    pub host: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub rate_hz: Option<u32>,
    /// Processing block in frames (default: the device period, or 256).
    pub block_frames: Option<usize>,
    /// Input channels (default: 2 for a 4-channel true-stereo IR, else 1).
    pub input_channels: Option<usize>,
    pub wet: f32,
    pub gain_db: f32,
    pub record: Option<PathBuf>,
    /// Hot-swap crossfade length in milliseconds.
    pub fade_ms: f64,
    /// The CPU of the callbacks and the processing thread (see [`affinity`]).
    pub cpu: affinity::CpuChoice,
}

impl LiveOptions {
    pub fn new(kernels: Vec<Kernel>) -> Self {
        LiveOptions {
            kernels,
            host: None,
            input: None,
            output: None,
            rate_hz: None,
            block_frames: None,
            input_channels: None,
            wet: 1.0,
            gain_db: 0.0,
            record: None,
            fade_ms: 50.0,
            cpu: affinity::CpuChoice::Auto,
        }
    }
}

/// A control from the user.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Control {
    SetBypass(bool),
    SetWet(f32),
    NextIr,
}

/// What a running session looks like (meters since the previous call).
#[derive(Debug, Clone)]
pub struct Stats {
    pub in_peak_db: f64,
    pub out_peak_db: f64,
    pub underruns: u64,
    /// Of the underruns, those whose input had not yet arrived from the server.
    pub late_input: u64,
    pub input_gaps: u64,
    pub overruns: u64,
    pub xruns: u64,
    pub record_dropped: u64,
    /// Processing load in % of a block's deadline over the blocks since the last call.
    pub load_p50_pct: u32,
    pub load_p99_pct: u32,
    pub load_max_pct: u32,
    pub blocks: u64,
    pub input_frames: u64,
    pub output_frames: u64,
    pub current_ir: usize,
    pub ir_name: String,
    pub bypass: bool,
    pub wet: f32,
    pub swaps: u64,
}

/// The fixed facts of a session, for the start-up banner.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub host: String,
    pub input_device: String,
    pub output_device: String,
    pub input_channels: usize,
    pub output_channels: usize,
    pub engine_output_channels: usize,
    pub rate_hz: u32,
    /// Device period if the device reports a fixed one.
    pub period_frames: Option<usize>,
    pub block_frames: usize,
    /// The ring prefill (see the module docs).
    pub lag_frames: usize,
    pub engine_latency_frames: usize,
    pub plan: String,
    /// The processing thread's SCHED_FIFO priority (above the callbacks' where they run
    /// real-time); `None` where real-time scheduling was not permitted.
    pub processing_priority: Option<i32>,
    /// The highest real-time priority among the audio library's callback threads.
    pub callback_priority: Option<i32>,
    /// The CPU the callbacks and the processing thread share, if pinned.
    pub audio_cpu: Option<usize>,
}

impl SessionInfo {
    /// Frames faltung adds beyond the device buffers: ring prefill + engine latency.
    pub fn added_latency_frames(&self) -> usize {
        self.lag_frames + self.engine_latency_frames
    }

    pub fn ms(&self, frames: usize) -> f64 {
        frames as f64 * 1000.0 / self.rate_hz as f64
    }
}

struct ErrorSlot {
    fatal: AtomicBool,
    /// Xruns reported to the input and to the output stream.
    xruns: [AtomicU64; 2],
    message: Mutex<Option<String>>,
}

impl ErrorSlot {
    /// The server's xruns. JACK tells every client of each xrun and faltung has two (the
    /// input and the output stream), so the larger of the two counts is the server's.
    fn xruns(&self) -> u64 {
        let [i, o] = &self.xruns;
        i.load(Ordering::Relaxed).max(o.load(Ordering::Relaxed))
    }
}

/// A running live session.
pub struct Session {
    info: SessionInfo,
    shared: Arc<Shared>,
    errors: Arc<ErrorSlot>,
    stop: Arc<AtomicBool>,
    input_stream: Option<cpal::Stream>,
    output_stream: Option<cpal::Stream>,
    dsp: Option<JoinHandle<()>>,
    loader: Option<JoinHandle<()>>,
    loader_tx: crossbeam_channel::Sender<Control>,
    recorder: Option<record::Recorder>,
    names: Vec<String>,
    wet: f32,
    bypass: bool,
}

/// Final figures of a session.
#[derive(Debug, Clone)]
pub struct Summary {
    pub underruns: u64,
    /// Of the underruns, those whose input had not yet arrived from the server.
    pub late_input: u64,
    pub input_gaps: u64,
    pub overruns: u64,
    pub xruns: u64,
    pub record_dropped: u64,
    pub input_frames: u64,
    pub output_frames: u64,
    pub recorded_frames: Option<u64>,
}

fn default_input_channels(ir_channels: usize) -> usize {
    if ir_channels == 4 {
        2
    } else {
        1
    }
}

/// Build the engine for `kernel` (off the audio path).
fn build_engine(
    kernel: &Kernel,
    input_channels: usize,
    block: usize,
) -> Result<Box<Engine>, LiveError> {
    let wrap = |source| LiveError::Engine {
        name: kernel.name.clone(),
        source,
    };
    let routing = Routing::auto(input_channels, kernel.channel_count()).map_err(wrap)?;
    Engine::realtime(&kernel.to_f32(), routing, block)
        .map(Box::new)
        .map_err(wrap)
}

/// Pick a stream config: `channels` at `rate`, f32, on `device`.
fn stream_config(
    device: &cpal::Device,
    name: &str,
    dir: Direction,
    channels: usize,
    rate: u32,
) -> Result<(cpal::StreamConfig, Option<(u32, u32)>), LiveError> {
    let ranges = devices::config_ranges(device, dir);
    let fit = ranges.iter().find(|r| {
        r.channels as usize == channels
            && r.min_rate_hz <= rate
            && rate <= r.max_rate_hz
            && r.format == cpal::SampleFormat::F32.to_string()
    });
    let Some(fit) = fit else {
        return Err(LiveError::UnsupportedConfig {
            direction: dir,
            device: name.to_string(),
            wanted: format!("{channels} ch, {rate} Hz, f32"),
            available: devices::config_list(device, dir),
        });
    };
    Ok((
        cpal::StreamConfig {
            channels: channels as u16,
            sample_rate: rate,
            buffer_size: cpal::BufferSize::Default,
        },
        fit.buffer_frames,
    ))
}

impl Session {
    /// Open the devices and start running.
    pub fn start(opts: &LiveOptions) -> Result<Session, LiveError> {
        let first = opts.kernels.first().ok_or_else(|| LiveError::Invalid {
            what: "no impulse response given".into(),
        })?;
        if !(0.0..=1.0).contains(&opts.wet) {
            return Err(LiveError::Invalid {
                what: format!("wet must be between 0 and 1, got {}", opts.wet),
            });
        }
        let host = devices::open_host(opts.host.as_deref())?;
        let host_name = host.id().name().to_string();
        let (in_dev, in_name) =
            devices::pick_device(&host, Direction::Input, opts.input.as_deref())?;
        let (out_dev, out_name) =
            devices::pick_device(&host, Direction::Output, opts.output.as_deref())?;
        let rate = match opts.rate_hz {
            Some(r) => r,
            None => devices::default_input_rate(&in_dev, &in_name)?,
        };
        let in_ch = opts
            .input_channels
            .unwrap_or_else(|| default_input_channels(first.channel_count()));
        if in_ch == 0 {
            return Err(LiveError::Invalid {
                what: "--channels must be at least 1".into(),
            });
        }
        let (in_cfg, in_buf) = stream_config(&in_dev, &in_name, Direction::Input, in_ch, rate)?;
        let period = match in_buf {
            Some((a, b)) if a == b => Some(a as usize),
            _ => None,
        };
        let block = opts.block_frames.or(period).unwrap_or(256);
        if block == 0 {
            return Err(LiveError::Invalid {
                what: "--block must be at least 1 frame".into(),
            });
        }
        let engine = build_engine(first, in_ch, block)?;
        let eng_out = engine.output_channels();
        // A mono engine output goes to both sides of a stereo device.
        let out_ch = if eng_out == 1
            && devices::config_ranges(&out_dev, Direction::Output)
                .iter()
                .any(|r| r.channels == 2)
        {
            2
        } else {
            eng_out
        };
        let (mut out_cfg, out_buf) =
            stream_config(&out_dev, &out_name, Direction::Output, out_ch, rate)?;
        let mut in_cfg = in_cfg;
        if period.is_none() {
            // Ask for the block as the device period where the device lets us choose.
            for (cfg, range) in [(&mut in_cfg, in_buf), (&mut out_cfg, out_buf)] {
                if let Some((a, b)) = range {
                    if (a as usize..=b as usize).contains(&block) {
                        cfg.buffer_size = cpal::BufferSize::Fixed(block as u32);
                    }
                }
            }
        }
        let dev_period = period.unwrap_or(block);
        let eng_latency = engine.latency_frames();
        let lag = block.div_ceil(dev_period) * dev_period;
        for k in &opts.kernels {
            if let Some(r) = k.sample_rate_hz {
                if r != rate {
                    eprintln!(
                        "faltung: warning: {} was recorded at {r} Hz, the device runs at {rate} Hz (not resampled)",
                        k.name
                    );
                }
            }
        }
        let info = SessionInfo {
            host: host_name,
            input_device: in_name.clone(),
            output_device: out_name.clone(),
            input_channels: in_ch,
            output_channels: out_ch,
            engine_output_channels: eng_out,
            rate_hz: rate,
            period_frames: period,
            block_frames: block,
            lag_frames: lag,
            engine_latency_frames: engine.latency_frames(),
            plan: engine.plan().to_string(),
            processing_priority: None,
            callback_priority: None,
            audio_cpu: None,
        };
        let audio_cpu = affinity::thread_cpus(0)
            .map_err(|e| LiveError::Thread {
                reason: format!("cannot read this thread's CPU set: {e}"),
            })
            .and_then(|allowed| {
                affinity::pick(opts.cpu, &allowed).map_err(|what| LiveError::Invalid { what })
            })?;

        // Rings: room for the prefill plus at least 100 ms of slack, so that a stalled
        // processing thread loses nothing to the rings (the output skips what came late;
        // the slack adds no latency: that is set by the clock alignment).
        let slack = (8 * block.max(dev_period)).max(rate as usize / 10);
        let (in_prod, in_cons) = HeapRb::<f32>::new((lag + slack) * in_ch).split();
        let (out_prod, out_cons) = HeapRb::<f32>::new((lag + slack) * out_ch).split();
        let (cmd_prod, cmd_cons) = HeapRb::<Command>::new(16).split();
        let (ret_prod, mut ret_cons) = HeapRb::<Box<Engine>>::new(4).split();
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (recorder, rec_prod) = match &opts.record {
            Some(path) => {
                let (p, c) = HeapRb::<f32>::new(rate as usize * 4 * out_ch).split();
                (
                    Some(record::Recorder::start(path, c, out_ch as u16, rate)?),
                    Some(p),
                )
            }
            None => (None, None),
        };
        let mut processor = Processor::new(
            engine,
            ProcessorRings {
                input: in_cons,
                output: out_prod,
                record: rec_prod,
                commands: cmd_cons,
                retired: ret_prod,
            },
            shared.clone(),
            ProcessorConfig {
                block_frames: block,
                device_output_channels: out_ch,
                rate_hz: rate,
                gain: 10f32.powf(opts.gain_db / 20.0),
                wet: opts.wet,
                fade_frames: ((opts.fade_ms / 1000.0) * rate as f64).round().max(1.0) as usize,
            },
        )
        .map_err(|source| LiveError::Engine {
            name: first.name.clone(),
            source,
        })?;
        let thread_err = |e: std::io::Error| LiveError::Thread {
            reason: e.to_string(),
        };
        // See the module docs: a quarter period, so a slow futex wake costs at most that.
        let park = Duration::from_secs_f64(dev_period as f64 / rate as f64 / 4.0);
        let dsp_stop = stop.clone();
        let (prio_tx, prio_rx) = std::sync::mpsc::channel();
        let dsp = std::thread::Builder::new()
            .name("faltung-dsp".into())
            .spawn(move || {
                if let Some(cpu) = audio_cpu {
                    let _ = affinity::set_current(&[cpu]);
                }
                let _ = prio_tx.send((raise_priority(), affinity::current_tid()));
                while !dsp_stop.load(Ordering::Relaxed) {
                    if processor.step() == 0 {
                        std::thread::park_timeout(park);
                    }
                }
            })
            .map_err(thread_err)?;
        let (realtime_priority, dsp_tid) = prio_rx.recv().unwrap_or((false, 0));

        // The loader: sole producer of the command ring, builds engines, drops old ones.
        let (loader_tx, loader_rx) = crossbeam_channel::unbounded::<Control>();
        let kernels = opts.kernels.clone();
        let loader_stop = stop.clone();
        let mut cmd_prod = cmd_prod;
        let loader = std::thread::Builder::new()
            .name("faltung-loader".into())
            .spawn(move || {
                let mut next = 0usize;
                let send = |p: &mut ringbuf::HeapProd<Command>, mut c: Command| loop {
                    match p.try_push(c) {
                        Ok(()) => return,
                        Err(back) => {
                            c = back;
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                };
                while !loader_stop.load(Ordering::Relaxed) {
                    while let Some(old) = ret_cons.try_pop() {
                        drop(old);
                    }
                    match loader_rx.recv_timeout(Duration::from_millis(20)) {
                        Ok(Control::SetBypass(b)) => send(&mut cmd_prod, Command::Bypass(b)),
                        Ok(Control::SetWet(w)) => send(&mut cmd_prod, Command::Wet(w)),
                        Ok(Control::NextIr) => {
                            if kernels.len() < 2 {
                                continue;
                            }
                            next = (next + 1) % kernels.len();
                            match build_engine(&kernels[next], in_ch, block) {
                                Ok(e)
                                    if e.output_channels() == eng_out
                                        && e.latency_frames() == eng_latency =>
                                {
                                    send(&mut cmd_prod, Command::Swap(e, next))
                                }
                                Ok(_) => eprintln!(
                                    "\r\nfaltung: cannot switch to {}: its channel layout differs from the running one",
                                    kernels[next].name
                                ),
                                Err(e) => eprintln!("\r\nfaltung: cannot switch: {e}"),
                            }
                        }
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                    }
                }
            })
            .map_err(thread_err)?;

        let errors = Arc::new(ErrorSlot {
            fatal: AtomicBool::new(false),
            xruns: Default::default(),
            message: Mutex::new(None),
        });
        let on_error = |errors: Arc<ErrorSlot>, direction: Direction| {
            move |e: cpal::Error| match e.kind() {
                cpal::ErrorKind::Xrun => {
                    errors.xruns[direction as usize].fetch_add(1, Ordering::Relaxed);
                }
                cpal::ErrorKind::DeviceNotAvailable
                | cpal::ErrorKind::StreamInvalidated
                | cpal::ErrorKind::HostUnavailable
                | cpal::ErrorKind::BackendError => {
                    if let Ok(mut m) = errors.message.try_lock() {
                        if m.is_none() {
                            *m = Some(e.to_string());
                        }
                    }
                    errors.fatal.store(true, Ordering::Release);
                }
                _ => {}
            }
        };
        let mut input_port =
            InputPort::new(in_prod, in_ch, shared.clone(), Some(dsp.thread().clone()));
        let mut output_port = OutputPort::new(out_cons, out_ch, shared.clone(), rate, lag);
        let stream_err = |direction, device: &str| {
            let device = device.to_string();
            move |e: cpal::Error| LiveError::Stream {
                direction,
                device: device.clone(),
                reason: e.to_string(),
            }
        };
        let timeout = Some(Duration::from_secs(10));
        // The callback threads are created while the streams are built: pin this thread
        // meanwhile so that they inherit the audio CPU (see `affinity`).
        let pin = audio_cpu.and_then(|cpu| affinity::PinGuard::new(cpu).ok());
        let streams = (|| {
            let input_stream = in_dev
                .build_input_stream::<f32, _, _>(
                    in_cfg,
                    move |data: &[f32], info: &cpal::InputCallbackInfo| {
                        input_port.push(data, info.timestamp().callback.as_nanos() as u64)
                    },
                    on_error(errors.clone(), Direction::Input),
                    timeout,
                )
                .map_err(stream_err(Direction::Input, &in_name))?;
            let output_stream = out_dev
                .build_output_stream::<f32, _, _>(
                    out_cfg,
                    move |data: &mut [f32], info: &cpal::OutputCallbackInfo| {
                        output_port.fill(data, info.timestamp().callback.as_nanos() as u64)
                    },
                    on_error(errors.clone(), Direction::Output),
                    timeout,
                )
                .map_err(stream_err(Direction::Output, &out_name))?;
            output_stream
                .play()
                .map_err(stream_err(Direction::Output, &out_name))?;
            input_stream
                .play()
                .map_err(stream_err(Direction::Input, &in_name))?;
            Ok((input_stream, output_stream))
        })();
        drop(pin);
        let (input_stream, output_stream) = match streams {
            Ok(s) => s,
            Err(e) => {
                // Do not leave the threads running behind an error.
                stop.store(true, Ordering::Release);
                dsp.thread().unpark();
                let _ = dsp.join();
                let _ = loader.join();
                return Err(e);
            }
        };

        let mut info = info;
        info.audio_cpu = audio_cpu;
        // Above the callbacks, so that the wake-up from the input callback preempts it on
        // the shared CPU (see `affinity`).
        info.callback_priority = affinity::max_realtime_priority(dsp_tid);
        if realtime_priority {
            let want = info
                .callback_priority
                .map_or(DSP_PRIORITY, |p| (p + 1).max(DSP_PRIORITY));
            info.processing_priority = Some(DSP_PRIORITY);
            #[cfg(target_os = "linux")]
            {
                use std::os::unix::thread::JoinHandleExt;
                if want != DSP_PRIORITY && affinity::set_fifo(dsp.as_pthread_t(), want) {
                    info.processing_priority = Some(want);
                }
            }
        }
        Ok(Session {
            info,
            shared,
            errors,
            stop,
            input_stream: Some(input_stream),
            output_stream: Some(output_stream),
            dsp: Some(dsp),
            loader: Some(loader),
            loader_tx,
            recorder,
            names: opts.kernels.iter().map(|k| k.name.clone()).collect(),
            wet: opts.wet,
            bypass: false,
        })
    }

    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Send a control; takes effect within a block (a swap: after its ~50 ms fade).
    pub fn control(&mut self, c: Control) {
        match c {
            Control::SetBypass(b) => self.bypass = b,
            Control::SetWet(w) => self.wet = w.clamp(0.0, 1.0),
            Control::NextIr => {}
        }
        let c = match c {
            Control::SetWet(_) => Control::SetWet(self.wet),
            other => other,
        };
        let _ = self.loader_tx.send(c);
    }

    pub fn bypass(&self) -> bool {
        self.bypass
    }

    pub fn wet(&self) -> f32 {
        self.wet
    }

    /// Meters and counters; peaks and load are since the previous call.
    pub fn stats(&mut self) -> Stats {
        let s = &self.shared;
        let (blocks, p50, p99, max) = s.take_load();
        let ir = s.current_ir.load(Ordering::Relaxed);
        let xruns = self.errors.xruns();
        Stats {
            in_peak_db: Shared::take_peak_db(&s.in_peak_bits),
            out_peak_db: Shared::take_peak_db(&s.out_peak_bits),
            underruns: s.underruns.load(Ordering::Relaxed),
            late_input: s.late_input.load(Ordering::Relaxed),
            input_gaps: s.input_gaps.load(Ordering::Relaxed),
            overruns: s.overruns.load(Ordering::Relaxed),
            xruns,
            record_dropped: s.record_dropped.load(Ordering::Relaxed),
            load_p50_pct: p50,
            load_p99_pct: p99,
            load_max_pct: max,
            blocks,
            input_frames: s.input_frames.load(Ordering::Relaxed),
            output_frames: s.output_frames.load(Ordering::Relaxed),
            current_ir: ir,
            ir_name: self.names.get(ir).cloned().unwrap_or_default(),
            bypass: s.bypass.load(Ordering::Relaxed),
            wet: self.wet,
            swaps: s.swaps_done.load(Ordering::Relaxed),
        }
    }

    /// The device or server failed (lost device, server stopped): the message, once set.
    pub fn failure(&self) -> Option<String> {
        if !self.errors.fatal.load(Ordering::Acquire) {
            return None;
        }
        Some(
            self.errors
                .message
                .lock()
                .ok()
                .and_then(|m| m.clone())
                .unwrap_or_else(|| "audio stream failed".into()),
        )
    }

    fn summary(&self, recorded_frames: Option<u64>) -> Summary {
        let s = &self.shared;
        Summary {
            underruns: s.underruns.load(Ordering::Relaxed),
            late_input: s.late_input.load(Ordering::Relaxed),
            input_gaps: s.input_gaps.load(Ordering::Relaxed),
            overruns: s.overruns.load(Ordering::Relaxed),
            xruns: self.errors.xruns(),
            record_dropped: s.record_dropped.load(Ordering::Relaxed),
            input_frames: s.input_frames.load(Ordering::Relaxed),
            output_frames: s.output_frames.load(Ordering::Relaxed),
            recorded_frames,
        }
    }

    fn stop_threads(&mut self) -> Result<Option<u64>, LiveError> {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.dsp.take() {
            h.thread().unpark();
            let _ = h.join();
        }
        if let Some(h) = self.loader.take() {
            let _ = h.join();
        }
        self.recorder.take().map(|r| r.finish()).transpose()
    }

    /// Stop the streams and threads, finalise the recording.
    pub fn stop(mut self) -> Result<Summary, LiveError> {
        // Output first: an output running on after its input would count false underruns.
        if let Some(s) = self.output_stream.take() {
            let _ = s.pause();
            drop(s);
        }
        if let Some(s) = self.input_stream.take() {
            let _ = s.pause();
            drop(s);
        }
        let rec = self.stop_threads()?;
        Ok(self.summary(rec))
    }

    /// After a [`failure`](Session::failure): finalise the recording and stop the threads
    /// without touching the dead streams (closing a client of a server that is gone can
    /// block), so the caller can exit at once.
    pub fn abandon(mut self) -> Result<Summary, LiveError> {
        if let Some(s) = self.input_stream.take() {
            std::mem::forget(s);
        }
        if let Some(s) = self.output_stream.take() {
            std::mem::forget(s);
        }
        let rec = self.stop_threads()?;
        Ok(self.summary(rec))
    }
}

/// The processing thread's SCHED_FIFO priority at start; raised above the callbacks' once
/// the streams run.
const DSP_PRIORITY: i32 = 10;

/// Ask for SCHED_FIFO on the calling thread (the processing thread); false where not
/// permitted (it then runs at normal priority).
fn raise_priority() -> bool {
    crate::bench::set_realtime_priority(DSP_PRIORITY).is_ok()
}
