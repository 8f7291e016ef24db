//! Play a signal and record the input on the same clock, through the live path's devices
//! and pipeline: [`Session::start_play_record`]. The processing thread runs
//! [`PlayRecord`](super::pipeline::PlayRecord) instead of an engine; everything else (the
//! devices, the streams, the rings, the clock alignment of the output to the input, the
//! thread placement and priorities, the meters and counters of [`Session::stats`]) is the
//! live session's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ringbuf::traits::{Consumer, Observer, Split};
use ringbuf::{HeapCons, HeapRb};

use super::pipeline::{PlayRecord, Shared};
use super::start::{audio_cpu, raise_above_callbacks, spawn_processing, stop_processing, Rings};
use super::streams;
use super::{LiveError, LiveOptions, Session, SessionInfo};
use crate::rt::CpuChoice;

/// Which devices to play and record on.
#[derive(Debug, Clone)]
pub struct PlayRecordOptions {
    pub host: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    /// Default: the input device's rate.
    pub rate_hz: Option<u32>,
    /// Input channels to record.
    pub input_channels: usize,
    /// Default: the device period, or 256.
    pub block_frames: Option<usize>,
    pub cpu: CpuChoice,
}

/// What to play, made once the device rate is known.
#[derive(Debug, Clone)]
pub struct PlaySignal {
    /// Mono; played on every output channel, from the first frame of the input timeline.
    pub samples: Vec<f32>,
    /// Input frames to record from the first frame of the input timeline.
    pub record_frames: usize,
}

/// The recording of a [`Session::start_play_record`], filled while the session runs.
pub struct Recording {
    ring: HeapCons<f32>,
    channels: usize,
    frames: usize,
    samples: Vec<f32>,
}

impl Recording {
    /// Take what the processing thread recorded since the last call; returns the frames
    /// recorded so far.
    pub fn poll(&mut self) -> usize {
        let n = self.ring.occupied_len();
        let start = self.samples.len();
        self.samples.resize(start + n, 0.0);
        let got = self.ring.pop_slice(&mut self.samples[start..]);
        self.samples.truncate(start + got);
        self.frames_recorded()
    }

    pub fn frames_recorded(&self) -> usize {
        self.samples.len() / self.channels
    }

    /// Frames the recording will hold when complete.
    pub fn frames(&self) -> usize {
        self.frames
    }

    pub fn is_complete(&self) -> bool {
        self.frames_recorded() >= self.frames
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// One vector per input channel (what was recorded so far).
    pub fn into_channels(mut self) -> Vec<Vec<f64>> {
        self.poll();
        let ch = self.channels;
        (0..ch)
            .map(|c| {
                self.samples
                    .iter()
                    .skip(c)
                    .step_by(ch)
                    .map(|&v| f64::from(v))
                    .collect()
            })
            .collect()
    }
}

impl Session {
    /// Open the devices, make the signal for their rate with `make_signal`, and start
    /// playing it while recording the input. Signal frame `j` is played `lag_frames`
    /// ([`SessionInfo::lag_frames`]) after recording frame `j` was captured, so a system
    /// with round trip `d` between output and input answers it at recording frame
    /// `j + lag_frames + d`. Poll the [`Recording`] until complete, then [`Session::stop`].
    pub fn start_play_record(
        opts: &PlayRecordOptions,
        make_signal: impl FnOnce(u32) -> Result<PlaySignal, String>,
    ) -> Result<(Session, Recording), LiveError> {
        let in_ch = opts.input_channels;
        if in_ch == 0 {
            return Err(LiveError::Invalid {
                what: "at least one input channel must be recorded".into(),
            });
        }
        let mut live = LiveOptions::new(Vec::new());
        live.host = opts.host.clone();
        live.input = opts.input.clone();
        live.output = opts.output.clone();
        live.rate_hz = opts.rate_hz;
        live.cpu = opts.cpu;
        let mut devs = streams::open(&live, in_ch)?;
        let rate = devs.rate_hz;
        let block = opts.block_frames.or(devs.period_frames).unwrap_or(256);
        if block == 0 {
            return Err(LiveError::Invalid {
                what: "--block must be at least 1 frame".into(),
            });
        }
        let (out_ch, out_cfg) = streams::configure_output(&mut devs, 1, block)?;
        let dev_period = devs.period_frames.unwrap_or(block);
        let signal = make_signal(rate).map_err(|what| LiveError::Invalid { what })?;
        let mut info = SessionInfo {
            host: devs.host_name.clone(),
            input_device: devs.input_name.clone(),
            output_device: devs.output_name.clone(),
            input_channels: in_ch,
            output_channels: out_ch,
            engine_output_channels: 1,
            rate_hz: rate,
            period_frames: devs.period_frames,
            block_frames: block,
            lag_frames: block.div_ceil(dev_period) * dev_period,
            engine_latency_frames: 0,
            plan: "play and record".into(),
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
        let (rec_prod, rec_cons) =
            HeapRb::<f32>::new((signal.record_frames * in_ch).max(1)).split();
        let recording = Recording {
            ring: rec_cons,
            channels: in_ch,
            frames: signal.record_frames,
            samples: Vec::with_capacity(signal.record_frames * in_ch),
        };
        let step = PlayRecord::new(
            rings.in_cons,
            rings.out_prod,
            rec_prod,
            signal.samples,
            shared.clone(),
            in_ch,
            out_ch,
            signal.record_frames,
            block,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let (dsp, realtime, dsp_tid) =
            spawn_processing(step, info.audio_cpu, (dev_period, rate), stop.clone())?;
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
                return Err(e);
            }
        };
        raise_above_callbacks(&mut info, &dsp, realtime, dsp_tid);
        // No loader: controls sent to this session go nowhere.
        let (loader_tx, _) = crossbeam_channel::unbounded();
        Ok((
            Session {
                info,
                shared,
                errors,
                stop,
                streams: Some(running),
                dsp: Some(dsp),
                loader: None,
                loader_tx,
                recorder: None,
                names: Vec::new(),
                wet: 1.0,
                bypass: false,
                // No engine here: no tail workers.
                tail: Default::default(),
            },
            recording,
        ))
    }
}
