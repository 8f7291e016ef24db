//! The partitioned convolver: uniformly / non-uniformly partitioned convolution
//! (overlap-save or overlap-add) with a frequency-domain delay line per level, and the
//! zero-latency head that answers calls ending inside a block.
//!
//! ## How a partitioned engine runs
//! Input is collected in base blocks of `B` frames. When a base block completes, every
//! level takes it: a level of partition size `P` starts a new *period* once it has `P` new
//! frames, and its period's work — forward FFT of each input, the multiply-accumulate of
//! the newest spectrum with partition 0, the inverse FFT of each output and the
//! multiply-accumulates that prepare the next period's history — is a fixed task list
//! spread evenly (by estimated cost) over the `P / B` base blocks of the period. Because a
//! level of size `P` starts at tap `O >= 2P - B`, its result lands in the output ring
//! before the first frame that needs it. Level 0 (`P = B`) has a period of one block, so
//! it is plain synchronous UPOLS.
//!
//! Outputs of all levels are summed into a per-output ring of absolute frame positions;
//! the block's output is read from the ring and the ring is cleared behind it.
//!
//! With [`Buffering::ZeroLatency`] a call that ends inside a block is still answered at
//! once: the part of the output that depends on the block's own (incomplete) input is
//! computed as a direct-form head over the first partition, and the rest is the history
//! spectrum of level 0 (inverse-transformed once per block) plus the ring.

use std::sync::Arc;

use rustfft::FftPlanner;

use super::level::Level;
use super::loops::{deinterleave_all, dot};
use super::plan::{Buffering, Plan, Variant};
use super::ring::Ring;
use super::routing::{Path, Routing};
use super::simd::CmacFn;
use super::workers::{runs_on_worker, TailStats, WorkerPool, WorkerPriority, WorkerStall};
use super::zeroed;
use crate::error::EngineError;

pub(super) struct Partitioned {
    /// Base block `B`: level 0's partition size.
    block_frames: usize,
    input_channels: usize,
    output_channels: usize,
    buffering: Buffering,
    variant: Variant,
    paths: Vec<Path>,
    levels: Vec<Level>,
    ring: Ring,
    /// Per input: the current base block.
    block_input: Vec<Vec<f32>>,
    /// Frames of the current base block received so far.
    block_fill: usize,
    /// Absolute frame index of the current block's first frame.
    block_start: u64,
    /// Zero-latency partial blocks: per input `[previous block | current block]` (the
    /// previous half is filled at the block's first partial call, overlap-save only).
    head_window: Vec<Vec<f32>>,
    /// Per IR: the first `B` taps reversed (direct head).
    head_taps_rev: Vec<Vec<f32>>,
    /// Per output: level-0 history of the current block in the time domain.
    head_history: Vec<Vec<f32>>,
    /// `head_history` is computed for the current block.
    head_history_valid: bool,
    /// One-block buffering: per output, the last completed block's output.
    delayed_output: Vec<Vec<f32>>,
    cmac: CmacFn,
    /// Worker threads running the levels beyond the first (if started).
    workers: Option<WorkerPool>,
    tail_stats: Arc<TailStats>,
    /// The scheduling the workers follow.
    worker_priority: Arc<WorkerPriority>,
}

impl Partitioned {
    pub(super) fn new(
        irs: &[Vec<f32>],
        routing: &Routing,
        plan: &Plan,
        cmac: CmacFn,
    ) -> Result<Partitioned, EngineError> {
        let b = plan.block_frames;
        let l0 = plan.levels[0];
        if l0.size != b || l0.offset != 0 {
            return Err(EngineError::InvalidConfig {
                what: format!("level 0 must be {b} frames at offset 0, got {l0:?}"),
            });
        }
        let mut covered = 0;
        for w in plan.levels.windows(2) {
            let (a, n) = (w[0], w[1]);
            if n.offset != a.offset + a.count * a.size
                || n.size % b != 0
                || n.offset + b < 2 * n.size
            {
                return Err(EngineError::InvalidConfig {
                    what: format!("level {n:?} cannot follow {a:?} at base {b}"),
                });
            }
        }
        for l in &plan.levels {
            covered = covered.max(l.offset + l.count * l.size);
        }
        let ir_len = irs.iter().map(|h| h.len()).max().unwrap_or(0);
        if covered < ir_len {
            return Err(EngineError::InvalidConfig {
                what: format!("plan covers {covered} taps, the IR has {ir_len}"),
            });
        }
        let mut planner = FftPlanner::<f32>::new();
        let levels: Vec<Level> = plan
            .levels
            .iter()
            .map(|&s| Level::new(s, b, plan.variant, irs, routing, &mut planner))
            .collect();
        let span = plan
            .levels
            .iter()
            .map(|l| l.offset + 2 * l.size)
            .max()
            .unwrap_or(2 * b)
            + 2 * b;
        let h0_rev = irs
            .iter()
            .map(|h| {
                let mut r = vec![0.0f32; b];
                for i in 0..b.min(h.len()) {
                    r[b - 1 - i] = h[i];
                }
                r
            })
            .collect();
        let (ic, oc) = (routing.input_channels, routing.output_channels);
        Ok(Partitioned {
            block_frames: b,
            input_channels: ic,
            output_channels: oc,
            buffering: plan.buffering,
            variant: plan.variant,
            paths: routing.paths.clone(),
            levels,
            ring: Ring::new(oc, span),
            block_input: zeroed(ic, b),
            block_fill: 0,
            block_start: 0,
            head_window: zeroed(ic, 2 * b),
            head_taps_rev: h0_rev,
            head_history: zeroed(oc, b),
            head_history_valid: false,
            delayed_output: zeroed(oc, b),
            cmac,
            workers: None,
            tail_stats: Arc::new(TailStats::default()),
            worker_priority: Arc::new(WorkerPriority::default()),
        })
    }

    pub(super) fn reset(&mut self) {
        for l in &mut self.levels {
            l.reset();
        }
        for v in self
            .block_input
            .iter_mut()
            .chain(self.head_window.iter_mut())
            .chain(self.head_history.iter_mut())
            .chain(self.delayed_output.iter_mut())
        {
            v.fill(0.0);
        }
        self.ring.reset();
        self.block_fill = 0;
        self.block_start = 0;
        self.head_history_valid = false;
    }

    /// Run the levels beyond the first whose partitions have at least `min_partition`
    /// frames on `threads` worker threads (no-op for 0, or when there are no such levels).
    /// History is reset.
    pub(super) fn start_workers(
        &mut self,
        threads: usize,
        min_partition: usize,
    ) -> Result<(), EngineError> {
        if threads == 0 || self.workers.is_some() {
            return Ok(());
        }
        let mut jobs = Vec::new();
        let levels = std::mem::take(&mut self.levels);
        for (i, l) in levels.into_iter().enumerate() {
            if !runs_on_worker(i, l.partition_frames(), min_partition) {
                self.levels.push(l);
                continue;
            }
            let (l, job) = l.detach(&self.tail_stats);
            self.levels.push(l);
            jobs.extend(job);
        }
        self.reset();
        if jobs.is_empty() {
            return Ok(());
        }
        let pool =
            WorkerPool::start(threads, jobs, self.cmac, &self.worker_priority).map_err(|e| {
                EngineError::InvalidConfig {
                    what: format!("cannot start {threads} worker thread(s): {e}"),
                }
            })?;
        self.workers = Some(pool);
        Ok(())
    }

    /// Count late and dropped tail periods in `stats` (before the workers start: their
    /// levels take the counters then).
    pub(super) fn count_tail_in(&mut self, stats: &Arc<TailStats>) {
        if self.workers.is_none() {
            self.tail_stats = stats.clone();
        }
    }

    /// Have the workers follow `priority` (before they start).
    pub(super) fn follow_priority(&mut self, priority: &Arc<WorkerPriority>) {
        if self.workers.is_none() {
            self.worker_priority = priority.clone();
        }
    }

    pub(super) fn worker_priority(&self) -> &Arc<WorkerPriority> {
        &self.worker_priority
    }

    pub(super) fn worker_threads(&self) -> usize {
        self.workers.as_ref().map_or(0, |w| w.threads())
    }

    pub(super) fn tail_stats(&self) -> &Arc<TailStats> {
        &self.tail_stats
    }

    pub(super) fn stall_workers(&self, stall: WorkerStall) {
        if let Some(w) = &self.workers {
            w.set_stall(stall);
        }
    }

    pub(super) fn set_unbounded_wait(&mut self, unbounded: bool) {
        for l in &mut self.levels {
            l.set_unbounded_wait(unbounded);
        }
    }

    /// See [`Engine::poison_scratch`](super::Engine::poison_scratch).
    pub(super) fn poison_scratch(&mut self, value: f32) {
        for l in &mut self.levels {
            l.poison_scratch(value);
        }
        for h in &mut self.head_history {
            h.fill(value);
        }
        self.head_history_valid = false;
    }

    fn complete_block(&mut self) {
        let t_end = self.block_start + self.block_frames as u64;
        for l in &mut self.levels {
            l.push_block(&self.block_input, t_end, &mut self.ring, self.cmac);
        }
    }

    pub(super) fn process(&mut self, input: &[f32], output: &mut [f32], frames: usize) {
        let (ic, oc, b) = (self.input_channels, self.output_channels, self.block_frames);
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(b - self.block_fill);
            let fill = self.block_fill;
            let frames_in = &input[done * ic..(done + n) * ic];
            deinterleave_all(&mut self.block_input, fill, frames_in);
            match self.buffering {
                Buffering::OneBlock => {
                    for o in 0..oc {
                        let src = &self.delayed_output[o][fill..fill + n];
                        for (i, &v) in src.iter().enumerate() {
                            output[(done + i) * oc + o] = v;
                        }
                    }
                    self.block_fill += n;
                    if self.block_fill == b {
                        self.complete_block();
                        for o in 0..oc {
                            for i in 0..b {
                                self.delayed_output[o][i] =
                                    self.ring.get(o, self.block_start + i as u64);
                            }
                        }
                        self.ring.clear(self.block_start, b);
                        self.block_start += b as u64;
                        self.block_fill = 0;
                    }
                }
                Buffering::ZeroLatency => {
                    if fill + n == b {
                        self.complete_block();
                        let frames_out = &mut output[done * oc..(done + n) * oc];
                        self.ring
                            .read_frames(self.block_start + fill as u64, frames_out);
                        self.ring.clear(self.block_start, b);
                        self.block_start += b as u64;
                        self.block_fill = 0;
                        self.head_history_valid = false;
                    } else {
                        if fill == 0 && self.variant == Variant::OverlapSave {
                            // The direct head needs the previous block, which level 0's
                            // window holds in its first half (its partition is the block);
                            // copied only for blocks that begin with a partial call.
                            for (w, lw) in self.head_window.iter_mut().zip(&self.levels[0].window) {
                                w[..b].copy_from_slice(&lw[..b]);
                            }
                        }
                        for (w, blk) in self.head_window.iter_mut().zip(&self.block_input) {
                            w[b + fill..b + fill + n].copy_from_slice(&blk[fill..fill + n]);
                        }
                        self.partial(output, done, fill, n);
                        self.block_fill += n;
                    }
                }
            }
            done += n;
        }
    }

    /// Output frames `fill..fill+n` of the current (incomplete) block at zero latency.
    fn partial(&mut self, output: &mut [f32], done: usize, fill: usize, n: usize) {
        let (oc, b) = (self.output_channels, self.block_frames);
        if !self.head_history_valid {
            self.levels[0].history_td(&mut self.head_history);
            self.head_history_valid = true;
        }
        for i in 0..n {
            let t = fill + i;
            for o in 0..oc {
                output[(done + i) * oc + o] =
                    self.ring.get(o, self.block_start + t as u64) + self.head_history[o][t];
            }
            for p in &self.paths {
                let h = &self.head_taps_rev[p.ir];
                let x = &self.head_window[p.input];
                let y = match self.variant {
                    // Taps 0..B over inputs t-B+1..=t (previous block included).
                    Variant::OverlapSave => dot(h, &x[t + 1..t + 1 + b]),
                    // Only this block's inputs: the previous block's share is in the ring.
                    Variant::OverlapAdd => dot(&h[b - 1 - t..], &x[b..b + t + 1]),
                };
                output[(done + i) * oc + p.output] += y;
            }
        }
    }
}
