//! The device-free part of the live audio path: the two callback bodies and the processing
//! step, as plain functions over ring-buffer halves, so that tests can run them (and count
//! their allocations) without any audio device.
//!
//! ```text
//! input callback ──InputPort::push──> [input ring] ──Processor::step──> [output ring] ──OutputPort::fill──> output callback
//!                                                          └──> [record ring] ──> writer thread (audio_file)
//! ```
//!
//! - [`InputPort::push`] copies the device's samples into the input ring, counts samples that
//!   do not fit as overruns, and wakes the processing thread with `Thread::unpark` (an atomic
//!   and, only if the thread sleeps, one futex wake: no allocation, no lock).
//! - [`Processor::step`] runs every complete block of `block_frames` through the engine
//!   (wrapped in a [`Crossfade`] for hot swaps), mixes dry/wet and gain with per-block
//!   ramps, meters peaks and load, and pushes the result to the output ring (and the record
//!   ring, whose overflow is counted, never waited for). Commands (bypass, wet, new engine)
//!   arrive in an SPSC ring and retired engines leave through another, so nothing is freed
//!   here.
//! - [`OutputPort::fill`] only copies. It plays the frame that was captured exactly
//!   `lag_frames` (the ring prefill) before, measured on the stream clocks against the
//!   latest input callback, so the added latency is exactly `lag_frames` whatever order the
//!   two callbacks run in. On a shortfall it writes silence and counts an underrun; samples
//!   that arrive late are skipped and lost input cycles are replaced by silence, so the
//!   latency never drifts.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::Thread;
use std::time::Instant;

use ringbuf::traits::{Consumer, Observer, Producer};
use ringbuf::{HeapCons, HeapProd};

use crate::engine::crossfade::Crossfade;
use crate::engine::{BlockProcessor, Engine};

/// Buckets of the processing-load histogram: 1 % of the deadline each, the last one
/// collects everything at or above it.
pub const LOAD_BUCKETS: usize = 401;

/// Counters and meters shared by the audio path and the control thread. All atomics.
pub struct Shared {
    /// Output callbacks that found fewer processed samples than they needed (the
    /// processing fell behind).
    pub underruns: AtomicU64,
    /// Of the underruns, those where the input for the frames due had not even arrived
    /// (the server ran faltung's input client late, after its output client of the next
    /// cycle), rather than arrived but not yet processed.
    pub late_input: AtomicU64,
    /// Output callbacks that had to play silence for input frames that were never
    /// captured (the server skipped the input's cycle, an xrun), not counted as underruns.
    pub input_gaps: AtomicU64,
    /// Input samples dropped because the input ring was full.
    pub overruns: AtomicU64,
    /// Samples the record ring could not take (the writer fell behind).
    pub record_dropped: AtomicU64,
    /// Peak |sample| since the last read, as `f32` bits (non-negative floats order like
    /// their bits).
    pub in_peak_bits: AtomicU32,
    pub out_peak_bits: AtomicU32,
    /// The latest input callback: its stream-clock time in ns and the index of its first
    /// frame in the input ring's timeline, published under the sequence counter
    /// `anchor_seq` (odd while being written; a seqlock, so neither side ever waits).
    pub anchor_seq: AtomicU64,
    pub anchor_ns: AtomicU64,
    pub anchor_frame: AtomicU64,
    pub input_frames: AtomicU64,
    /// Frames on the input ring's timeline so far (what entered the ring).
    pub captured_frames: AtomicU64,
    pub output_frames: AtomicU64,
    pub blocks: AtomicU64,
    /// Histogram of per-block processing time in % of the block's deadline.
    pub load_hist: Box<[AtomicU32]>,
    /// Index of the IR at full gain.
    pub current_ir: AtomicUsize,
    pub swaps_done: AtomicU64,
    pub bypass: AtomicBool,
    pub process_errors: AtomicU64,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            underruns: AtomicU64::new(0),
            late_input: AtomicU64::new(0),
            input_gaps: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
            record_dropped: AtomicU64::new(0),
            in_peak_bits: AtomicU32::new(0),
            out_peak_bits: AtomicU32::new(0),
            anchor_seq: AtomicU64::new(0),
            anchor_ns: AtomicU64::new(0),
            anchor_frame: AtomicU64::new(0),
            input_frames: AtomicU64::new(0),
            captured_frames: AtomicU64::new(0),
            output_frames: AtomicU64::new(0),
            blocks: AtomicU64::new(0),
            load_hist: (0..LOAD_BUCKETS).map(|_| AtomicU32::new(0)).collect(),
            current_ir: AtomicUsize::new(0),
            swaps_done: AtomicU64::new(0),
            bypass: AtomicBool::new(false),
            process_errors: AtomicU64::new(0),
        }
    }
}

impl Shared {
    /// Read and reset a peak meter, in dBFS (`-inf` for silence).
    pub fn take_peak_db(bits: &AtomicU32) -> f64 {
        let v = f32::from_bits(bits.swap(0, Ordering::Relaxed)) as f64;
        20.0 * v.log10()
    }

    /// Read and reset the load histogram; returns `(blocks, p50 %, p99 %, max %)`.
    pub fn take_load(&self) -> (u64, u32, u32, u32) {
        let counts: Vec<u32> = self
            .load_hist
            .iter()
            .map(|b| b.swap(0, Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().map(|&c| c as u64).sum();
        if total == 0 {
            return (0, 0, 0, 0);
        }
        let pct = |q: f64| {
            let want = (q * total as f64).ceil().max(1.0) as u64;
            let mut acc = 0u64;
            for (i, &c) in counts.iter().enumerate() {
                acc += c as u64;
                if acc >= want {
                    return i as u32;
                }
            }
            (LOAD_BUCKETS - 1) as u32
        };
        let max = counts.iter().rposition(|&c| c > 0).unwrap_or(0) as u32;
        (total, pct(0.5), pct(0.99), max)
    }
}

fn raise_peak(meter: &AtomicU32, samples: &[f32]) {
    let peak = samples.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
    if peak.is_finite() {
        meter.fetch_max(peak.to_bits(), Ordering::Relaxed);
    }
}

/// The input callback's body.
pub struct InputPort {
    ring: HeapProd<f32>,
    channels: usize,
    /// Frames pushed so far.
    frames: u64,
    shared: Arc<Shared>,
    wake: Option<Thread>,
}

impl InputPort {
    pub fn new(
        ring: HeapProd<f32>,
        channels: usize,
        shared: Arc<Shared>,
        wake: Option<Thread>,
    ) -> Self {
        InputPort {
            ring,
            channels,
            frames: 0,
            shared,
            wake,
        }
    }

    /// Take one callback's interleaved samples; `callback_ns` is the stream clock of the
    /// callback. Never blocks or allocates.
    pub fn push(&mut self, data: &[f32], callback_ns: u64) {
        let frame = self.frames;
        let pushed = self.ring.push_slice(data);
        if pushed < data.len() {
            self.shared
                .overruns
                .fetch_add((data.len() - pushed) as u64, Ordering::Relaxed);
        }
        // Only what entered the ring is on the timeline the output side counts.
        self.frames += (pushed / self.channels) as u64;
        let sh = &self.shared;
        let seq = sh.anchor_seq.load(Ordering::Relaxed);
        sh.anchor_seq.store(seq + 1, Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Release);
        sh.anchor_ns.store(callback_ns, Ordering::Relaxed);
        sh.anchor_frame.store(frame, Ordering::Relaxed);
        sh.anchor_seq.store(seq + 2, Ordering::Release);
        sh.input_frames
            .fetch_add((data.len() / self.channels) as u64, Ordering::Relaxed);
        sh.captured_frames.store(self.frames, Ordering::Release);
        if let Some(t) = &self.wake {
            t.unpark();
        }
    }
}

/// The output callback's body.
pub struct OutputPort {
    ring: HeapCons<f32>,
    channels: usize,
    shared: Arc<Shared>,
    rate_hz: u32,
    lag_frames: u64,
    /// Timeline index of the next frame in the ring (frames popped or skipped so far).
    read_frame: u64,
    /// The last anchor read consistently: (clock ns, frame).
    anchor: Option<(u64, u64)>,
    started: bool,
    /// Timeline frame due at the next callback if nothing is lost.
    next_due: i64,
    /// The clocks' disagreement with `next_due` at the previous callback, and for how
    /// many callbacks in a row it has been the same.
    last_offset: i64,
    offset_runs: u32,
}

/// Callbacks in a row the stream clocks must disagree the same way with the counted
/// timeline before the output follows them (see [`OutputPort::fill`]).
pub const CLOCK_CONFIRM_CALLBACKS: u32 = 8;

/// Callbacks in a row the clocks must agree on the timeline before the output starts
/// playing (silence until then).
pub const START_CONFIRM_CALLBACKS: u32 = 3;

impl OutputPort {
    /// `lag_frames`: the output plays input frame `t - lag_frames` at time `t` (the ring
    /// prefill; see the module docs).
    pub fn new(
        ring: HeapCons<f32>,
        channels: usize,
        shared: Arc<Shared>,
        rate_hz: u32,
        lag_frames: usize,
    ) -> Self {
        OutputPort {
            ring,
            channels,
            shared,
            rate_hz,
            lag_frames: lag_frames as u64,
            read_frame: 0,
            anchor: None,
            started: false,
            next_due: 0,
            last_offset: 0,
            offset_runs: 0,
        }
    }

    fn read_anchor(&mut self) {
        let sh = &self.shared;
        let s1 = sh.anchor_seq.load(Ordering::Acquire);
        if s1 == 0 || s1 % 2 == 1 {
            return; // nothing yet, or being written right now: keep the previous one
        }
        let ns = sh.anchor_ns.load(Ordering::Relaxed);
        let frame = sh.anchor_frame.load(Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Acquire);
        if sh.anchor_seq.load(Ordering::Relaxed) == s1 {
            self.anchor = Some((ns, frame));
        }
    }

    /// Fill one callback's interleaved buffer; `callback_ns` is the stream clock of the
    /// callback (the same clock as the input's). Only copies; never blocks or allocates.
    ///
    /// The frame due now is the latest input callback's first frame, plus the time since
    /// that callback (on whole callbacks: both streams tick once per device period), minus
    /// the lag. Late samples are skipped and missing ones (lost input cycles) replaced by
    /// silence, so the latency never drifts.
    pub fn fill(&mut self, out: &mut [f32], callback_ns: u64) {
        let ch = self.channels.max(1);
        let frames = out.len() / ch;
        self.read_anchor();
        let Some((anchor_ns, anchor_frame)) = self.anchor else {
            out.fill(0.0);
            return;
        };
        if frames == 0 {
            return;
        }
        let dt_ns = callback_ns as f64 - anchor_ns as f64;
        let periods = (dt_ns * self.rate_hz as f64 / 1e9 / frames as f64).round();
        let measured =
            anchor_frame as i64 + periods as i64 * frames as i64 - self.lag_frames as i64;
        if !self.started {
            // Start once the clocks have told the same timeline for a few callbacks in a
            // row (one late callback at start-up would otherwise set the latency wrong).
            self.offset_runs = if measured == self.next_due {
                self.offset_runs + 1
            } else {
                1
            };
            self.next_due = measured + frames as i64;
            if measured < 0 || self.offset_runs < START_CONFIRM_CALLBACKS {
                out.fill(0.0);
                return;
            }
            self.started = true;
            self.next_due = measured;
            self.offset_runs = 0;
        }
        // Steady state advances by one buffer per callback. The clocks override that only
        // when they disagree the same way for CLOCK_CONFIRM_CALLBACKS callbacks in a row:
        // a lost cycle moves the timeline for good, while callbacks that run late (clients
        // without real-time scheduling, a server xrun and the back-to-back cycle after it)
        // skew a few readings either way. And the timeline never moves ahead of the input
        // captured so far: frames not yet captured cannot be due.
        let offset = measured - self.next_due;
        self.offset_runs = if offset != 0 && offset == self.last_offset {
            self.offset_runs + 1
        } else {
            1
        };
        self.last_offset = offset;
        let due = if offset != 0 && self.offset_runs >= CLOCK_CONFIRM_CALLBACKS {
            let captured = self.shared.captured_frames.load(Ordering::Acquire) as i64;
            measured.min(self.next_due.max(captured - frames as i64))
        } else {
            self.next_due
        };
        self.next_due = due + frames as i64;
        let due = due.max(0) as u64;
        let mut short = false;
        if self.read_frame < due {
            let want = (due - self.read_frame) as usize * ch;
            let skipped = self.ring.skip(want);
            self.read_frame += (skipped / ch) as u64;
            short |= skipped < want;
        }
        // Frames of this buffer that lie before the ring's next frame: silence.
        let gap = if self.read_frame > due {
            ((self.read_frame - due) as usize).min(frames)
        } else {
            0
        };
        out[..gap * ch].fill(0.0);
        let got = if short {
            0
        } else {
            self.ring.pop_slice(&mut out[gap * ch..])
        };
        self.read_frame += (got / ch) as u64;
        if gap * ch + got < out.len() {
            out[gap * ch + got..].fill(0.0);
            self.shared.underruns.fetch_add(1, Ordering::Relaxed);
            if due + frames as u64 > self.shared.captured_frames.load(Ordering::Acquire) {
                self.shared.late_input.fetch_add(1, Ordering::Relaxed);
            }
        } else if gap > 0 {
            self.shared.input_gaps.fetch_add(1, Ordering::Relaxed);
        }
        self.shared
            .output_frames
            .fetch_add(frames as u64, Ordering::Relaxed);
    }

    pub fn started(&self) -> bool {
        self.started
    }
}

/// A command to the processing thread.
pub enum Command {
    Bypass(bool),
    /// Wet level 0..=1 (dry gets `1 - wet`).
    Wet(f32),
    /// Crossfade to this engine, built for the IR with this index.
    Swap(Box<Engine>, usize),
}

/// Everything the processing step owns. Built off the audio path; [`Processor::step`]
/// never allocates, locks or blocks.
pub struct Processor {
    input: HeapCons<f32>,
    output: HeapProd<f32>,
    record: Option<HeapProd<f32>>,
    commands: HeapCons<Command>,
    retired: HeapProd<Box<Engine>>,
    engine: Crossfade<Box<Engine>>,
    /// A retired engine waiting for room in the `retired` ring.
    held: Option<Box<Engine>>,
    pending_ir: usize,
    shared: Arc<Shared>,
    block_frames: usize,
    in_ch: usize,
    eng_out_ch: usize,
    dev_out_ch: usize,
    in_buf: Vec<f32>,
    eng_buf: Vec<f32>,
    out_buf: Vec<f32>,
    gain: f32,
    wet: f32,
    bypass: bool,
    /// Ramped values at the end of the last block.
    cur_wet: f32,
    cur_gain: f32,
    deadline_ns: f64,
}

/// Fixed settings of a [`Processor`].
#[derive(Debug, Clone, Copy)]
pub struct ProcessorConfig {
    pub block_frames: usize,
    /// Channels of the output device (engine outputs are repeated cyclically over them).
    pub device_output_channels: usize,
    pub rate_hz: u32,
    pub gain: f32,
    pub wet: f32,
    /// Crossfade length for hot swaps, in frames.
    pub fade_frames: usize,
}

/// The ring halves a [`Processor`] works on.
pub struct ProcessorRings {
    pub input: HeapCons<f32>,
    pub output: HeapProd<f32>,
    pub record: Option<HeapProd<f32>>,
    pub commands: HeapCons<Command>,
    pub retired: HeapProd<Box<Engine>>,
}

impl Processor {
    pub fn new(
        engine: Box<Engine>,
        rings: ProcessorRings,
        shared: Arc<Shared>,
        cfg: ProcessorConfig,
    ) -> Result<Self, crate::error::EngineError> {
        let b = cfg.block_frames;
        if engine.max_call_frames() < b {
            return Err(crate::error::EngineError::InvalidConfig {
                what: format!(
                    "engine accepts calls of {} frames, the processor needs {b}",
                    engine.max_call_frames()
                ),
            });
        }
        let in_ch = engine.input_channels();
        let eng_out_ch = engine.output_channels();
        let dev_out_ch = cfg.device_output_channels.max(1);
        Ok(Processor {
            input: rings.input,
            output: rings.output,
            record: rings.record,
            commands: rings.commands,
            retired: rings.retired,
            engine: Crossfade::new(engine, cfg.fade_frames.max(1))?,
            held: None,
            pending_ir: 0,
            shared,
            block_frames: b,
            in_ch,
            eng_out_ch,
            dev_out_ch,
            in_buf: vec![0.0; b * in_ch],
            eng_buf: vec![0.0; b * eng_out_ch],
            out_buf: vec![0.0; b * dev_out_ch],
            gain: cfg.gain,
            wet: cfg.wet,
            bypass: false,
            cur_wet: cfg.wet,
            cur_gain: cfg.gain,
            deadline_ns: b as f64 * 1e9 / cfg.rate_hz as f64,
        })
    }

    /// Apply pending commands, then process every complete block in the input ring.
    /// Returns the number of blocks processed. Never allocates, locks or blocks.
    pub fn step(&mut self) -> usize {
        self.apply_commands();
        let mut blocks = 0;
        let in_len = self.block_frames * self.in_ch;
        while self.input.occupied_len() >= in_len && self.output.vacant_len() >= self.out_buf.len()
        {
            let t0 = Instant::now();
            self.input.pop_slice(&mut self.in_buf);
            self.process_one();
            self.output.push_slice(&self.out_buf);
            if let Some(rec) = &mut self.record {
                let n = rec.push_slice(&self.out_buf);
                if n < self.out_buf.len() {
                    self.shared
                        .record_dropped
                        .fetch_add((self.out_buf.len() - n) as u64, Ordering::Relaxed);
                }
            }
            let pct = (t0.elapsed().as_nanos() as f64 / self.deadline_ns * 100.0) as usize;
            self.shared.load_hist[pct.min(LOAD_BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
            self.shared.blocks.fetch_add(1, Ordering::Relaxed);
            blocks += 1;
        }
        blocks
    }

    fn apply_commands(&mut self) {
        // A swap that could not start yet stays in the ring until the previous one is done.
        if let Some(old) = self.engine.take_retired() {
            self.shared
                .current_ir
                .store(self.pending_ir, Ordering::Relaxed);
            self.shared.swaps_done.fetch_add(1, Ordering::Relaxed);
            self.held = Some(old);
        }
        if let Some(old) = self.held.take() {
            if let Err(old) = self.retired.try_push(old) {
                // The control thread has not emptied the ring: keep the engine rather than
                // free it here, and try again on the next step.
                self.held = Some(old);
                return;
            }
        }
        if self.engine.is_fading() {
            return;
        }
        while let Some(cmd) = self.commands.try_pop() {
            match cmd {
                Command::Bypass(b) => {
                    self.bypass = b;
                    self.shared.bypass.store(b, Ordering::Relaxed);
                }
                Command::Wet(w) => self.wet = w.clamp(0.0, 1.0),
                Command::Swap(next, ir) => match self.engine.begin(next) {
                    Ok(()) => {
                        self.pending_ir = ir;
                        // One swap at a time: later commands wait for the fade to end.
                        return;
                    }
                    Err((next, _)) => {
                        // Not swappable (checked off the audio path before sending, so this
                        // does not happen): hand it back to be dropped elsewhere.
                        self.held = Some(next);
                        return;
                    }
                },
            }
        }
    }

    fn process_one(&mut self) {
        if self
            .engine
            .process_block(&self.in_buf, &mut self.eng_buf)
            .is_err()
        {
            self.shared.process_errors.fetch_add(1, Ordering::Relaxed);
            self.eng_buf.fill(0.0);
        }
        raise_peak(&self.shared.in_peak_bits, &self.in_buf);
        let (target_wet, target_gain) = if self.bypass {
            (0.0, 1.0)
        } else {
            (self.wet, self.gain)
        };
        let (w0, g0) = (self.cur_wet, self.cur_gain);
        let b = self.block_frames;
        let (ic, ec, dc) = (self.in_ch, self.eng_out_ch, self.dev_out_ch);
        for f in 0..b {
            // Linear ramps over the block from the last block's values: no zipper clicks.
            let t = (f + 1) as f32 / b as f32;
            let w = w0 + (target_wet - w0) * t;
            let g = g0 + (target_gain - g0) * t;
            for c in 0..dc {
                let wet = self.eng_buf[f * ec + c % ec];
                let dry = self.in_buf[f * ic + c % ic];
                self.out_buf[f * dc + c] = g * (w * wet + (1.0 - w) * dry);
            }
        }
        self.cur_wet = target_wet;
        self.cur_gain = target_gain;
        raise_peak(&self.shared.out_peak_bits, &self.out_buf);
    }

    pub fn block_frames(&self) -> usize {
        self.block_frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Routing;
    use ringbuf::traits::Split;
    use ringbuf::HeapRb;

    const P: usize = 64;
    const RATE: u32 = 48_000;

    struct Rig {
        input: InputPort,
        processor: Processor,
        output: OutputPort,
        shared: Arc<Shared>,
        next_in: f32,
    }

    /// Input → identity engine (a one-tap IR) → output, so every output sample names the
    /// input frame it came from (frames are numbered from 1; 0 is silence).
    fn rig() -> Rig {
        let engine = Box::new(Engine::realtime(&[vec![1.0]], Routing::mono_ir(1), P).unwrap());
        let (in_prod, in_cons) = HeapRb::<f32>::new(P * 32).split();
        let (out_prod, out_cons) = HeapRb::<f32>::new(P * 32).split();
        let (_cmd_prod, cmd_cons) = HeapRb::<Command>::new(4).split();
        let (ret_prod, _ret_cons) = HeapRb::<Box<Engine>>::new(4).split();
        let shared = Arc::new(Shared::default());
        let processor = Processor::new(
            engine,
            ProcessorRings {
                input: in_cons,
                output: out_prod,
                record: None,
                commands: cmd_cons,
                retired: ret_prod,
            },
            shared.clone(),
            ProcessorConfig {
                block_frames: P,
                device_output_channels: 1,
                rate_hz: RATE,
                gain: 1.0,
                wet: 1.0,
                fade_frames: 1,
            },
        )
        .unwrap();
        Rig {
            input: InputPort::new(in_prod, 1, shared.clone(), None),
            processor,
            output: OutputPort::new(out_cons, 1, shared.clone(), RATE, P),
            shared,
            next_in: 1.0,
        }
    }

    fn cycle_ns(k: u64) -> u64 {
        1_000_000_000 + k * P as u64 * 1_000_000_000 / RATE as u64
    }

    impl Rig {
        fn input_cycle(&mut self, ns: u64) {
            let data: Vec<f32> = (0..P).map(|i| self.next_in + i as f32).collect();
            self.next_in += P as f32;
            self.input.push(&data, ns);
            self.processor.step();
        }
        fn output_cycle(&mut self, ns: u64) -> Vec<f32> {
            let mut out = vec![0.0; P];
            self.output.fill(&mut out, ns);
            out
        }
    }

    /// The first output callback that plays (the start waits for agreeing clocks).
    const FIRST: usize = START_CONFIRM_CALLBACKS as usize;

    /// Output frame numbers must be the input frame numbers `P` (one period) earlier.
    fn check_lag(played: &[Vec<f32>], from_cycle: usize) {
        for (k, buf) in played.iter().enumerate().skip(from_cycle) {
            for (i, &v) in buf.iter().enumerate() {
                let want = ((k - 1) * P + i + 1) as f32;
                assert_eq!(v, want, "cycle {k} frame {i}");
            }
        }
    }

    #[test]
    fn latency_is_one_period_whichever_callback_runs_first() {
        for input_first in [true, false] {
            let mut r = rig();
            let mut played = Vec::new();
            for k in 0..40u64 {
                let t = cycle_ns(k);
                if input_first {
                    r.input_cycle(t + 3_000);
                    played.push(r.output_cycle(t + 9_000));
                } else {
                    played.push(r.output_cycle(t + 2_000));
                    r.input_cycle(t + 8_000);
                }
            }
            assert!(
                played[0].iter().all(|&v| v == 0.0),
                "silence before the first period"
            );
            check_lag(&played, FIRST);
            assert_eq!(r.shared.underruns.load(Ordering::Relaxed), 0);
        }
    }

    #[test]
    fn a_callback_running_late_in_its_cycle_does_not_move_the_timeline() {
        let mut r = rig();
        let mut played = Vec::new();
        let period_ns = P as u64 * 1_000_000_000 / RATE as u64;
        for k in 0..40u64 {
            let t = cycle_ns(k);
            // Every 7th cycle the input callback starts 90 % of a period late.
            let late = if k % 7 == 3 { period_ns * 9 / 10 } else { 0 };
            r.input_cycle(t + late);
            played.push(r.output_cycle(t + 5_000));
        }
        check_lag(&played, FIRST);
        assert_eq!(r.shared.underruns.load(Ordering::Relaxed), 0);
        assert_eq!(r.shared.input_gaps.load(Ordering::Relaxed), 0);
    }

    /// JACK's dummy driver, when a cycle wakes more than a period late (an xrun: seen here
    /// dozens of times a minute on a loaded 2-core VM, even with no client), runs the next
    /// cycle at once: wall-clock spacing then says nothing about how many cycles passed.
    /// Both callbacks still run once per cycle and no frame is lost, so the output must keep
    /// exactly one period of lag, with no underrun and no gap.
    #[test]
    fn server_xruns_with_back_to_back_cycles_do_not_move_the_timeline() {
        let period_ns = P as u64 * 1_000_000_000 / RATE as u64;
        for seed in 1..=20u64 {
            let mut rng = crate::rng::SplitMix64::new(seed);
            let mut r = rig();
            let mut played = Vec::new();
            let mut t = cycle_ns(0);
            let mut back_to_back = false;
            for _ in 0..3000 {
                let step = if back_to_back {
                    back_to_back = false;
                    period_ns / 20
                } else if rng.next_u64() % 8 == 0 {
                    // Late by one to three periods; the next cycle follows at once.
                    back_to_back = true;
                    period_ns * (2 + rng.next_u64() % 3)
                } else {
                    period_ns
                };
                t += step;
                // Either client may run first, anywhere in the first third of its cycle.
                let a = t + rng.next_u64() % (period_ns / 3);
                let b = t + rng.next_u64() % (period_ns / 3);
                if rng.next_u64() % 2 == 0 {
                    r.input_cycle(a);
                    played.push(r.output_cycle(a.max(b)));
                } else {
                    played.push(r.output_cycle(a.min(b)));
                    r.input_cycle(a.max(b));
                }
            }
            let first = played
                .iter()
                .position(|b| b.iter().any(|&v| v != 0.0))
                .unwrap();
            assert!(first <= 20, "seed {seed}: started at cycle {first}");
            check_lag(&played, first);
            assert_eq!(r.shared.underruns.load(Ordering::Relaxed), 0, "seed {seed}");
            assert_eq!(
                r.shared.input_gaps.load(Ordering::Relaxed),
                0,
                "seed {seed}"
            );
        }
    }

    /// Without real-time scheduling, JACK's client threads run their callbacks late, each
    /// client on its own: a callback can come up to a period and a half after its cycle
    /// started, and after the other client's callback of the next cycle. Nothing is lost,
    /// so the output must never play a shifted frame: each output sample is the input frame
    /// one period earlier, or silence in a buffer counted as an underrun with late input.
    #[test]
    fn clients_running_late_never_shift_the_timeline() {
        let period_ns = P as u64 * 1_000_000_000 / RATE as u64;
        for seed in 1..=20u64 {
            let mut rng = crate::rng::SplitMix64::new(seed);
            let mut r = rig();
            // Each client's callbacks run in order, each at its cycle's start plus a delay
            // that is usually small and sometimes up to 1.5 periods.
            let delay = |rng: &mut crate::rng::SplitMix64| {
                if rng.next_u64() % 10 == 0 {
                    rng.next_u64() % (period_ns * 3 / 2)
                } else {
                    rng.next_u64() % (period_ns / 10)
                }
            };
            let (mut last_in, mut last_out) = (0u64, 0u64);
            let mut events = Vec::new(); // (time, is_output)
            for k in 0..3000u64 {
                let t = cycle_ns(k);
                last_in = (t + delay(&mut rng)).max(last_in + 1_000);
                last_out = (t + delay(&mut rng)).max(last_out + 1_000);
                events.push((last_in, false));
                events.push((last_out, true));
            }
            events.sort();
            // Each output buffer with whether its callback counted an underrun.
            let mut played = Vec::new();
            for (t, is_output) in events {
                if is_output {
                    let before = r.shared.underruns.load(Ordering::Relaxed);
                    let buf = r.output_cycle(t);
                    played.push((buf, r.shared.underruns.load(Ordering::Relaxed) > before));
                } else {
                    r.input_cycle(t);
                }
            }
            let first = played
                .iter()
                .position(|(b, _)| b.iter().any(|&v| v != 0.0))
                .unwrap();
            assert!(first <= 20, "seed {seed}: started at cycle {first}");
            for (k, (buf, underrun)) in played.iter().enumerate().skip(first) {
                for (i, &v) in buf.iter().enumerate() {
                    let want = ((k - 1) * P + i + 1) as f32;
                    assert!(
                        v == want || (*underrun && v == 0.0),
                        "seed {seed} cycle {k}: {v} for {want}"
                    );
                }
            }
            let underruns = r.shared.underruns.load(Ordering::Relaxed);
            assert_eq!(
                r.shared.late_input.load(Ordering::Relaxed),
                underruns,
                "seed {seed}"
            );
            assert_eq!(
                r.shared.input_gaps.load(Ordering::Relaxed),
                0,
                "seed {seed}"
            );
        }
    }

    /// An underrun says why: input that arrived but was not processed in time is faltung's
    /// own lateness; input that had not arrived at all (the server ran the input client
    /// after the next cycle's output client) is counted as late input too.
    #[test]
    fn underruns_tell_late_processing_from_late_input() {
        let mut r = rig();
        for k in 0..10u64 {
            let t = cycle_ns(k);
            r.input_cycle(t + 1_000);
            r.output_cycle(t + 5_000);
        }
        assert_eq!(r.shared.underruns.load(Ordering::Relaxed), 0);
        // Cycle 10: the input arrives but the processing thread does not run before the
        // output of cycle 11 needs it.
        let data = vec![0.5; P];
        r.input.push(&data, cycle_ns(10) + 1_000);
        r.output_cycle(cycle_ns(10) + 5_000);
        r.output_cycle(cycle_ns(11) + 2_000);
        assert_eq!(r.shared.underruns.load(Ordering::Relaxed), 1);
        assert_eq!(r.shared.late_input.load(Ordering::Relaxed), 0);
        r.processor.step();
        r.input_cycle(cycle_ns(11) + 3_000);
        // Cycle 12's input client runs only after cycle 13's output client.
        r.output_cycle(cycle_ns(12) + 2_000);
        let before = r.shared.underruns.load(Ordering::Relaxed);
        r.output_cycle(cycle_ns(13) + 2_000);
        assert_eq!(r.shared.underruns.load(Ordering::Relaxed), before + 1);
        assert_eq!(r.shared.late_input.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_lost_input_cycle_is_replaced_by_silence_and_the_latency_kept() {
        let mut r = rig();
        let mut played = Vec::new();
        let lost = 10u64;
        for k in 0..40u64 {
            let t = cycle_ns(k);
            if k != lost {
                r.input_cycle(t + 1_000);
            }
            played.push(r.output_cycle(t + 5_000));
        }
        // Input frame numbers after the lost cycle are one period behind the clock: output
        // frame t now carries input number t - 2P (numbering skipped the lost cycle).
        check_lag(&played[..=lost as usize], FIRST);
        // The clocks are followed once they have disagreed for CLOCK_CONFIRM_CALLBACKS
        // callbacks in a row.
        let settled = lost as usize + CLOCK_CONFIRM_CALLBACKS as usize + 2;
        for (k, buf) in played.iter().enumerate().skip(settled) {
            for (i, &v) in buf.iter().enumerate() {
                assert_eq!(v, ((k - 2) * P + i + 1) as f32, "cycle {k} frame {i}");
            }
        }
        let dropouts = r.shared.underruns.load(Ordering::Relaxed)
            + r.shared.input_gaps.load(Ordering::Relaxed);
        assert!(
            (1..=3).contains(&dropouts),
            "{dropouts} dropouts for one lost cycle"
        );
    }
}
