//! The processing step: whole blocks through the engine (crossfaded on hot swaps), dry/wet
//! and gain, meters and load, into the output and record rings; commands in, retired
//! engines out.

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
