//! The processing step: whole blocks through the engine (crossfaded on hot swaps), dry/wet
//! and gain, meters and load, into the output and record rings; commands in, retired
//! engines out.
//!
//! The block can change while running: a swapped-in engine built for another call size
//! (the loader re-plans for a changed device period) brings its block with it. Block sizes
//! change only at a callback boundary, when the input ring is empty (each input callback
//! enters the ring at once), so that every block lies within whole callbacks and is
//! complete when the last of them arrives; during the crossfade the calls are the smaller
//! of the two blocks, which both engines accept. All buffers are sized at construction for
//! the largest block ([`ProcessorConfig::max_block_frames`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use ringbuf::traits::{Consumer, Observer, Producer};
use ringbuf::{HeapCons, HeapProd};

use super::shared::{raise_peak, Shared, LOAD_BUCKETS};
use crate::engine::crossfade::Crossfade;
use crate::engine::{BlockProcessor, Engine};

/// A command to the processing thread.
pub enum Command {
    Bypass(bool),
    /// Wet level 0..=1 (dry gets `1 - wet`).
    Wet(f32),
    /// Crossfade to this engine, built for the IR with this index. Its maximum call is the
    /// block from then on (a different one when the device period changed), at most
    /// [`ProcessorConfig::max_block_frames`].
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
    /// A swap waiting for a callback boundary to begin (with its IR index).
    pending_swap: Option<(Box<Engine>, usize)>,
    shared: Arc<Shared>,
    /// The block in use, and the one to switch to at the next callback boundary.
    block_frames: usize,
    target_block_frames: usize,
    max_block_frames: usize,
    rate_hz: u32,
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
    /// The largest block a swapped-in engine may bring (buffers are sized for it).
    pub max_block_frames: usize,
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
        let max = cfg.max_block_frames.max(b);
        shared.block_frames.store(b, Ordering::Relaxed);
        Ok(Processor {
            input: rings.input,
            output: rings.output,
            record: rings.record,
            commands: rings.commands,
            retired: rings.retired,
            engine: Crossfade::with_capacity(engine, cfg.fade_frames.max(1), max)?,
            held: None,
            pending_ir: 0,
            pending_swap: None,
            shared,
            block_frames: b,
            target_block_frames: b,
            max_block_frames: max,
            rate_hz: cfg.rate_hz,
            in_ch,
            eng_out_ch,
            dev_out_ch,
            in_buf: vec![0.0; max * in_ch],
            eng_buf: vec![0.0; max * eng_out_ch],
            out_buf: vec![0.0; max * dev_out_ch],
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
        loop {
            if self.input.occupied_len() == 0 {
                self.at_callback_boundary();
            }
            let b = self.block_frames;
            let (in_len, out_len) = (b * self.in_ch, b * self.dev_out_ch);
            if self.input.occupied_len() < in_len || self.output.vacant_len() < out_len {
                break;
            }
            let t0 = Instant::now();
            self.input.pop_slice(&mut self.in_buf[..in_len]);
            self.process_one();
            let out = &self.out_buf[..out_len];
            self.output.push_slice(out);
            if let Some(rec) = &mut self.record {
                let n = rec.push_slice(out);
                if n < out.len() {
                    self.shared
                        .record_dropped
                        .fetch_add((out.len() - n) as u64, Ordering::Relaxed);
                }
            }
            let pct = (t0.elapsed().as_nanos() as f64 / self.deadline_ns * 100.0) as usize;
            self.shared.load_hist[pct.min(LOAD_BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
            self.shared.blocks.fetch_add(1, Ordering::Relaxed);
            blocks += 1;
        }
        blocks
    }

    /// At a callback boundary (the input ring empty): begin a waiting swap, calling both
    /// engines with the smaller of the two blocks while they fade; once no fade runs, take
    /// the new engine's block.
    fn at_callback_boundary(&mut self) {
        if !self.engine.is_fading() && self.held.is_none() {
            if let Some((next, ir)) = self.pending_swap.take() {
                let block = next.max_call_frames().min(self.max_block_frames);
                match self.engine.begin_resized(next) {
                    Ok(()) => {
                        self.pending_ir = ir;
                        self.target_block_frames = block;
                        self.set_block(self.block_frames.min(block));
                    }
                    // Not swappable (checked off the audio path before sending, so this
                    // does not happen): hand it back to be dropped elsewhere.
                    Err((next, _)) => self.held = Some(next),
                }
                return;
            }
        }
        if !self.engine.is_fading() && self.block_frames != self.target_block_frames {
            self.set_block(self.target_block_frames);
        }
    }

    fn set_block(&mut self, block: usize) {
        if block == self.block_frames || block == 0 {
            return;
        }
        self.block_frames = block;
        self.deadline_ns = block as f64 * 1e9 / self.rate_hz as f64;
        self.shared.block_frames.store(block, Ordering::Relaxed);
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
        if self.engine.is_fading() || self.pending_swap.is_some() {
            return;
        }
        while let Some(cmd) = self.commands.try_pop() {
            match cmd {
                Command::Bypass(b) => {
                    self.bypass = b;
                    self.shared.bypass.store(b, Ordering::Relaxed);
                }
                Command::Wet(w) => self.wet = w.clamp(0.0, 1.0),
                Command::Swap(next, ir) => {
                    // Begins at the next callback boundary; one swap at a time: later
                    // commands wait for its fade to end.
                    self.pending_swap = Some((next, ir));
                    return;
                }
            }
        }
    }

    fn process_one(&mut self) {
        let b = self.block_frames;
        let (ic, ec, dc) = (self.in_ch, self.eng_out_ch, self.dev_out_ch);
        let (in_buf, eng_buf) = (&self.in_buf[..b * ic], &mut self.eng_buf[..b * ec]);
        if self.engine.process_block(in_buf, eng_buf).is_err() {
            self.shared.process_errors.fetch_add(1, Ordering::Relaxed);
            eng_buf.fill(0.0);
        }
        raise_peak(&self.shared.in_peak_bits, in_buf);
        let (target_wet, target_gain) = if self.bypass {
            (0.0, 1.0)
        } else {
            (self.wet, self.gain)
        };
        let (w0, g0) = (self.cur_wet, self.cur_gain);
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
        raise_peak(&self.shared.out_peak_bits, &self.out_buf[..b * dc]);
    }

    pub fn block_frames(&self) -> usize {
        self.block_frames
    }
}
