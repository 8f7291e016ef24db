//! [`Session::start`] in named steps: check the options, open the devices, build the
//! engine, size the rings, start the processing and loader threads, start the streams on
//! the audio CPU, and raise the processing thread above the callbacks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ringbuf::traits::Split;
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::pipeline::{Command, Processor, ProcessorConfig, ProcessorRings, Shared, Step};
use super::streams::{self, Devices};
use super::{loader, record, LiveError, LiveOptions, Session, SessionInfo};
use crate::engine::{BlockProcessor, Engine, PlanRequest, Routing, TailStats};
use crate::kernel::Kernel;
use crate::rt::{cpu, priority};

/// The largest device period a session follows (PipeWire's largest quantum): the
/// processing block can grow to it without allocating, and the rings have room for it.
pub(super) const MAX_PERIOD_FRAMES: usize = 8192;

/// The processing thread's SCHED_FIFO priority at start; raised above the callbacks' once
/// the streams run.
const DSP_PRIORITY: i32 = 10;

fn default_input_channels(ir_channels: usize) -> usize {
    if ir_channels == 4 {
        2
    } else {
        1
    }
}

/// Build the engine for `kernel` (off the audio path).
pub(super) fn build_engine(
    kernel: &Kernel,
    input_channels: usize,
    block: usize,
    worker_threads: usize,
    tail: &Arc<TailStats>,
) -> Result<Box<Engine>, LiveError> {
    let wrap = |source| LiveError::Engine {
        name: kernel.name.clone(),
        source,
    };
    let routing = Routing::auto(input_channels, kernel.channel_count()).map_err(wrap)?;
    let request = PlanRequest {
        worker_threads,
        ..PlanRequest::realtime(0, 1, 1, block)
    };
    // Workers at normal scheduling, each rank of level nicer than the one before (as in
    // `faltung bench`): the short tail level, due first, runs first.
    Engine::new(&kernel.to_f32(), routing, request)
        .map(|e| e.with_worker_priority(&priority::worker_priority()))
        .and_then(|e| e.with_worker_threads_counted(worker_threads, tail))
        .map(Box::new)
        .map_err(wrap)
}

/// The options a session cannot start with; the first kernel and the input channels.
fn check(opts: &LiveOptions) -> Result<(&Kernel, usize), LiveError> {
    let first = opts.kernels.first().ok_or_else(|| LiveError::Invalid {
        what: "no impulse response given".into(),
    })?;
    if !(0.0..=1.0).contains(&opts.wet) {
        return Err(LiveError::Invalid {
            what: format!("wet must be between 0 and 1, got {}", opts.wet),
        });
    }
    let in_ch = opts
        .input_channels
        .unwrap_or_else(|| default_input_channels(first.channel_count()));
    if in_ch == 0 {
        return Err(LiveError::Invalid {
            what: "--channels must be at least 1".into(),
        });
    }
    Ok((first, in_ch))
}

/// The processing block: as asked, else the device period, else 256.
fn block_frames(opts: &LiveOptions, devs: &Devices) -> Result<usize, LiveError> {
    let block = opts.block_frames.or(devs.period_frames).unwrap_or(256);
    if block == 0 {
        return Err(LiveError::Invalid {
            what: "--block must be at least 1 frame".into(),
        });
    }
    Ok(block)
}

fn warn_about_rates(opts: &LiveOptions, rate: u32) {
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
}

/// The CPU the callbacks and the processing thread share (`None`: not pinned).
pub(super) fn audio_cpu(choice: cpu::CpuChoice) -> Result<Option<usize>, LiveError> {
    let allowed = cpu::thread_cpus(0).map_err(|e| LiveError::Thread {
        reason: format!("cannot read this thread's CPU set: {e}"),
    })?;
    cpu::pick(choice, &allowed).map_err(|what| LiveError::Invalid { what })
}

/// The rings between the callbacks, the processing thread and the loader.
pub(super) struct Rings {
    pub(super) in_prod: HeapProd<f32>,
    pub(super) in_cons: HeapCons<f32>,
    pub(super) out_prod: HeapProd<f32>,
    pub(super) out_cons: HeapCons<f32>,
    pub(super) cmd_prod: HeapProd<Command>,
    pub(super) cmd_cons: HeapCons<Command>,
    pub(super) ret_prod: HeapProd<Box<Engine>>,
    pub(super) ret_cons: HeapCons<Box<Engine>>,
}

impl Rings {
    /// Room for the prefill plus at least 100 ms of slack, so that a stalled processing
    /// thread loses nothing to the rings (the output skips what came late; the slack adds
    /// no latency: that is set by the clock alignment).
    pub(super) fn new(info: &SessionInfo, dev_period: usize) -> Rings {
        let block = info.block_frames;
        // Room for a period that grows while running, up to MAX_PERIOD_FRAMES.
        let slack = (8 * block.max(dev_period))
            .max(info.rate_hz as usize / 10)
            .max(4 * MAX_PERIOD_FRAMES);
        let room = info.lag_frames + slack;
        let (in_prod, in_cons) = HeapRb::<f32>::new(room * info.input_channels).split();
        let (out_prod, out_cons) = HeapRb::<f32>::new(room * info.output_channels).split();
        let (cmd_prod, cmd_cons) = HeapRb::<Command>::new(16).split();
        let (ret_prod, ret_cons) = HeapRb::<Box<Engine>>::new(4).split();
        Rings {
            in_prod,
            in_cons,
            out_prod,
            out_cons,
            cmd_prod,
            cmd_cons,
            ret_prod,
            ret_cons,
        }
    }
}

#[cfg(feature = "jack")]
type Patch = Option<super::connect::Patch>;
#[cfg(not(feature = "jack"))]
type Patch = ();

/// Named ports are checked before the streams start (so that a typo stops nothing that
/// runs); on hosts other than JACK only the default connection is allowed.
fn prepare_connections(opts: &LiveOptions, host: &str) -> Result<Patch, LiveError> {
    let jack = host == "JACK";
    for (flag, c) in [
        ("input", &opts.connect_input),
        ("output", &opts.connect_output),
    ] {
        if !jack && matches!(c, super::Connection::Ports(_)) {
            return Err(LiveError::Invalid {
                what: format!(
                    "--connect-{flag} names JACK ports, but the host is {host}; use --host jack \
                     (with `pw-jack` on PipeWire) or choose the device with --{flag}"
                ),
            });
        }
    }
    #[cfg(feature = "jack")]
    {
        if !jack {
            return Ok(None);
        }
        super::connect::Patch::prepare(&opts.connect_input, &opts.connect_output).map(Some)
    }
    #[cfg(not(feature = "jack"))]
    Ok(())
}

/// Connect faltung's JACK ports as prepared (off the audio thread, the streams running).
fn apply_connections(
    patch: Patch,
    opts: &LiveOptions,
    info: &mut SessionInfo,
) -> Result<(), LiveError> {
    #[cfg(feature = "jack")]
    if let Some(p) = patch {
        info.connection_notes = p.notes.clone();
        info.connections = p.apply(
            &opts.connect_input,
            &opts.connect_output,
            info.input_channels,
            info.output_channels,
        )?;
    }
    #[cfg(not(feature = "jack"))]
    let _ = (patch, opts, info);
    Ok(())
}

/// The processing thread: pinned to the audio CPU, SCHED_FIFO where permitted, running
/// [`Step::step`] whenever woken and otherwise parked for a quarter of the device period
/// (see the module docs of `live`: a slow futex wake then costs at most that). Returns
/// the thread, whether it runs real-time, and its thread id.
pub(super) fn spawn_processing<S: Step + 'static>(
    mut processor: S,
    audio_cpu: Option<usize>,
    (period_frames, rate_hz): (usize, u32),
    stop: Arc<AtomicBool>,
) -> Result<(JoinHandle<()>, bool, i32), LiveError> {
    let park = Duration::from_secs_f64(period_frames as f64 / f64::from(rate_hz) / 4.0);
    let (prio_tx, prio_rx) = std::sync::mpsc::channel();
    let dsp = std::thread::Builder::new()
        .name("faltung-dsp".into())
        .spawn(move || {
            if let Some(c) = audio_cpu {
                let _ = cpu::set_current(&[c]);
            }
            let realtime = priority::set_realtime_priority(DSP_PRIORITY).is_ok();
            let _ = prio_tx.send((realtime, cpu::current_tid()));
            while !stop.load(Ordering::Relaxed) {
                if processor.step() == 0 {
                    std::thread::park_timeout(park);
                }
            }
        })
        .map_err(|e| LiveError::Thread {
            reason: e.to_string(),
        })?;
    let (realtime, tid) = prio_rx.recv().unwrap_or((false, 0));
    Ok((dsp, realtime, tid))
}

/// Stop the processing thread started by [`spawn_processing`] and wait for it (when the
/// streams could not be started: no thread is left running behind the error).
pub(super) fn stop_processing(stop: &AtomicBool, dsp: JoinHandle<()>) {
    stop.store(true, Ordering::Release);
    dsp.thread().unpark();
    let _ = dsp.join();
}

/// Put the processing thread above the callbacks' real-time priority, so that the wake-up
/// from the input callback preempts it on the shared CPU; records both in `info`.
pub(super) fn raise_above_callbacks(
    info: &mut SessionInfo,
    dsp: &JoinHandle<()>,
    realtime: bool,
    tid: i32,
) {
    info.callback_priority = priority::max_realtime_priority(tid);
    if !realtime {
        return;
    }
    info.processing_priority = Some(DSP_PRIORITY);
    let want = info
        .callback_priority
        .map_or(DSP_PRIORITY, |p| (p + 1).max(DSP_PRIORITY));
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::thread::JoinHandleExt;
        if want != DSP_PRIORITY && priority::set_fifo(dsp.as_pthread_t(), want) {
            info.processing_priority = Some(want);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (dsp, want);
}

impl Session {
    /// Open the devices and start running.
    pub fn start(opts: &LiveOptions) -> Result<Session, LiveError> {
        let (first, in_ch) = check(opts)?;
        let mut devs = streams::open(opts, in_ch)?;
        let rate = devs.rate_hz;
        let block = block_frames(opts, &devs)?;
        let tail = Arc::new(TailStats::default());
        let engine = build_engine(first, in_ch, block, opts.worker_threads, &tail)?;
        let eng_out = engine.output_channels();
        let (out_ch, out_cfg) = streams::configure_output(&mut devs, eng_out, block)?;
        let dev_period = devs.period_frames.unwrap_or(block);
        warn_about_rates(opts, rate);
        let patch = prepare_connections(opts, &devs.host_name)?;
        let mut info = SessionInfo {
            host: devs.host_name.clone(),
            input_device: devs.input_name.clone(),
            output_device: devs.output_name.clone(),
            input_channels: in_ch,
            output_channels: out_ch,
            engine_output_channels: eng_out,
            rate_hz: rate,
            period_frames: devs.period_frames,
            block_frames: block,
            lag_frames: block.div_ceil(dev_period) * dev_period,
            engine_latency_frames: engine.latency_frames(),
            plan: engine.plan().to_string(),
            processing_priority: None,
            callback_priority: None,
            audio_cpu: audio_cpu(opts.cpu)?,
            connections: Vec::new(),
            connection_notes: Vec::new(),
            memory_lock: Err("not locked yet".into()),
        };

        let rings = Rings::new(&info, dev_period);
        let shared = Arc::new(Shared::default());
        if let Some(p) = devs.period_frames {
            shared.period_frames.store(p, Ordering::Relaxed);
        }
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
        let layout = loader::Layout {
            input_channels: in_ch,
            block_frames: block,
            output_channels: eng_out,
            latency_frames: engine.latency_frames(),
            worker_threads: opts.worker_threads,
            tail: tail.clone(),
            follow_period: opts.block_frames.is_none(),
            max_block_frames: MAX_PERIOD_FRAMES.max(block),
        };
        let processor = Processor::new(
            engine,
            ProcessorRings {
                input: rings.in_cons,
                output: rings.out_prod,
                record: rec_prod,
                commands: rings.cmd_cons,
                retired: rings.ret_prod,
            },
            shared.clone(),
            ProcessorConfig {
                block_frames: block,
                max_block_frames: MAX_PERIOD_FRAMES.max(block),
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
        let (dsp, realtime, dsp_tid) =
            spawn_processing(processor, info.audio_cpu, (dev_period, rate), stop.clone())?;
        let (loader_tx, loader_rx) = crossbeam_channel::unbounded();
        let loader = loader::spawn(
            opts.kernels.clone(),
            layout,
            loader_rx,
            rings.cmd_prod,
            rings.ret_cons,
            shared.clone(),
            stop.clone(),
        )?;

        let (errors, streams) = streams::start(
            &devs,
            out_cfg,
            (rings.in_prod, rings.out_cons),
            &shared,
            &info,
            dsp.thread().clone(),
        );
        let running = match streams {
            Ok(s) => s,
            Err(e) => {
                stop_processing(&stop, dsp);
                let _ = loader.join();
                return Err(e);
            }
        };
        raise_above_callbacks(&mut info, &dsp, realtime, dsp_tid);
        // Everything the audio path touches exists now (engine, rings, threads' stacks).
        info.memory_lock = crate::rt::memory::lock_current();
        let connected = apply_connections(patch, opts, &mut info);
        let session = Session {
            info,
            shared,
            errors,
            stop,
            streams: Some(running),
            dsp: Some(dsp),
            loader: Some(loader),
            loader_tx,
            recorder,
            names: opts.kernels.iter().map(|k| k.name.clone()).collect(),
            wet: opts.wet,
            bypass: false,
            tail,
        };
        match connected {
            Ok(()) => Ok(session),
            Err(e) => {
                let _ = session.stop();
                Err(e)
            }
        }
    }
}
