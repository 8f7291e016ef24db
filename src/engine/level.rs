//! One level of a partitioned convolver: a partition size, its frequency-domain delay line
//! and kernel spectra, and the fixed task list of a period spread over the base blocks the
//! period spans.
//!
//! A level is split in two: [`Level`] is the audio thread's side (the input window and
//! where the level is in its period), [`LevelWork`] everything its period's work touches
//! (snapshot of the window, delay line, kernel spectra, accumulators, FFT, result). The
//! work either runs inline, spread over the period's blocks, or on a worker thread (see
//! `workers`). Either way a period's result is taken at the same moment — when the period's
//! last block completes — into the level's [`Pending`] result, which adds it to the output
//! ring a chunk per block, each frame before it is read. The adds come in the same order in
//! both modes, so the sums, and the output, are the same bits.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

use super::placed::{Placed, Placer};
use super::plan::{LevelSpec, Variant};
use super::rfft::SplitRfft;
use super::ring::Ring;
use super::routing::{Path, Routing};
use super::schedule::{schedule, Task};
use super::simd::{Acc, CmacFn, Spectra, Strided};
use super::workers::{TailJob, TailStats, WorkerSide};
use super::zeroed;

/// The audio thread's side of a level.
pub(super) struct Level {
    /// Frames per partition (`P`); the FFT size is `2P`.
    partition_frames: usize,
    /// Base blocks per period (`P / B`): the period's tasks are spread over them.
    period_blocks: usize,
    variant: Variant,
    /// Per input: OS `[previous P | current P]`, OA `[current P | zero]`.
    pub(super) window: Vec<Vec<f32>>,
    /// Per input, for an overlap-save level whose period spans several blocks: the next
    /// period's window, whose lower half collects the current period's input as it comes
    /// (written with the window's upper half), so that no copy of `P` frames is due at
    /// the boundary. Empty otherwise.
    next_window: Vec<Vec<f32>>,
    /// Frames of the current period received so far.
    filled_frames: usize,
    /// The base block of the period whose share of tasks runs next (`period_blocks`
    /// when the period's work is done).
    next_block: usize,
    runner: Runner,
    /// The last period's result, on its way into the output ring.
    pending: Pending,
}

/// A period's result being added to the output ring a chunk per base block, rather than
/// all in the block where the period's work completes: a 16384-frame level's stereo result
/// is 128 KiB, written by a worker on another core, and adding it in one call made that
/// call several times as long as the others (the calling thread's p99 with workers).
///
/// The result lands `first_tap` frames after its period's start, and a zero-latency plan
/// needs its first block's frames in the very block that completes the period (`first_tap
/// = 2P - B`). Adding twice the frames the output consumes per block (`2B`, or `4B` for
/// the `2P`-frame result of overlap-add) keeps every frame added before it is read, and
/// the whole result is in the ring after half a period, long before the next one.
pub(super) struct Pending {
    /// Per output: the result (swapped in from the level's work, no copy).
    result: Vec<Vec<f32>>,
    /// Absolute frame of the result's first sample.
    start: u64,
    /// Frames of the result added so far (`len` when there is nothing left to add).
    added: usize,
    /// Frames added per base block.
    chunk: usize,
}

impl Pending {
    fn new(outputs: usize, len: usize, chunk: usize) -> Pending {
        Pending {
            result: zeroed(outputs, len),
            start: 0,
            added: len,
            chunk: chunk.max(1),
        }
    }

    fn len(&self) -> usize {
        self.result.first().map_or(0, Vec::len)
    }

    /// Take the result of the period `work` has just completed: its buffers and this one's
    /// swap (the work writes all of its next result before reading it). Whatever of the
    /// previous result was not yet added is added first.
    pub(super) fn take(&mut self, work: &mut LevelWork, ring: &mut Ring) {
        let start = work.period_start + work.first_tap as u64;
        self.take_result(&mut work.result, start, ring);
    }

    fn take_result(&mut self, result: &mut Vec<Vec<f32>>, start: u64, ring: &mut Ring) {
        self.add(ring, self.len());
        std::mem::swap(&mut self.result, result);
        self.start = start;
        self.added = 0;
    }

    /// Add the next chunk to the ring (once per base block).
    fn drain(&mut self, ring: &mut Ring) {
        self.add(ring, self.chunk);
    }

    fn add(&mut self, ring: &mut Ring, frames: usize) {
        let end = (self.added + frames).min(self.len());
        if self.added >= end {
            return;
        }
        for (o, r) in self.result.iter().enumerate() {
            ring.add(o, self.start + self.added as u64, &r[self.added..end]);
        }
        self.added = end;
    }

    fn reset(&mut self) {
        self.added = self.len();
    }
}

/// Where a level's period work runs.
enum Runner {
    /// On the audio thread, spread over the period's blocks.
    Inline(Box<LevelWork>),
    /// On a worker thread.
    Worker(Box<WorkerSide>),
}

/// Everything a level's period work reads and writes.
pub(super) struct LevelWork {
    partition_frames: usize,
    /// The first IR tap this level covers.
    first_tap: usize,
    /// Number of partitions of `P` taps.
    partitions: usize,
    /// Spectrum length, `P + 1`.
    bins: usize,
    period_blocks: usize,
    variant: Variant,
    fft: SplitRfft,
    /// Per input: the window as it was at the period boundary (2P, OA upper half zero;
    /// an OS one is transformed in place, its memory then becomes the next window);
    /// empty for a level whose period is one block (it reads the window in place).
    pub(super) frozen: Vec<Vec<f32>>,
    /// Per input: the frequency-domain delay line, a ring of `partitions` spectra of
    /// `bins`, split re/im; age `a` is in slot `(newest_slot + a) % partitions`.
    fdl_re: Vec<Placed>,
    fdl_im: Vec<Placed>,
    /// The FDL slot holding the newest spectrum.
    newest_slot: usize,
    /// Per IR: `partitions` partition spectra (scaled by 1/(2P)), split re/im.
    h_re: Vec<Placed>,
    h_im: Vec<Placed>,
    /// Per output: the accumulator.
    acc_re: Vec<Placed>,
    acc_im: Vec<Placed>,
    /// Per output: the period's output, to be added to the ring from `period_start +
    /// first_tap` on (`P` frames for overlap-save, `2P` for overlap-add).
    result: Vec<Vec<f32>>,
    /// Absolute frame index of the current period's first frame.
    period_start: u64,
    /// The task list of one period.
    tasks: Vec<Task>,
    /// Per base block of the period: the range of `tasks` it runs.
    block_tasks: Vec<(usize, usize)>,
    paths: Vec<Path>,
    /// Time-domain work area of `2P`.
    time_buf: Vec<f32>,
    fft_scratch: Vec<Complex<f32>>,
}

impl LevelWork {
    fn new(
        spec: LevelSpec,
        base: usize,
        variant: Variant,
        irs: &[Vec<f32>],
        routing: &Routing,
        planner: &mut FftPlanner<f32>,
    ) -> LevelWork {
        let p = spec.size;
        let n = 2 * p;
        let bins = p + 1;
        let fft = SplitRfft::new(n, planner);
        let mut scratch = vec![Complex::default(); fft.scratch_len().max(1)];
        let mut time = vec![0.0f32; n];
        let scale = 1.0 / n as f32;
        let ic = routing.input_channels;
        let oc = routing.output_channels;
        // The streams a multiply-accumulate reads and writes together, spread over a page.
        let mut placer = Placer::new(2 * (ic + irs.len() + oc));
        let mut h_re = Vec::with_capacity(irs.len());
        let mut h_im = Vec::with_capacity(irs.len());
        for ir in irs {
            let mut re = placer.zeroed(spec.count * bins);
            let mut im = placer.zeroed(spec.count * bins);
            for k in 0..spec.count {
                time.fill(0.0);
                let start = spec.offset + k * p;
                let taps = ir.get(start..).unwrap_or(&[]);
                for (t, &v) in time[..p].iter_mut().zip(taps) {
                    *t = v * scale;
                }
                let r = k * bins..(k + 1) * bins;
                fft.forward(&mut time, &mut scratch, &mut re[r.clone()], &mut im[r]);
            }
            h_re.push(re);
            h_im.push(im);
        }
        let slots = (p / base).max(1);
        let paths = routing.paths.clone();
        let (tasks, block_tasks) = schedule(
            routing.input_channels,
            routing.output_channels,
            &paths,
            spec.count,
            bins,
            n,
            slots,
        );
        let result_len = match variant {
            Variant::OverlapSave => p,
            Variant::OverlapAdd => n,
        };
        LevelWork {
            partition_frames: p,
            first_tap: spec.offset,
            partitions: spec.count,
            bins,
            period_blocks: slots,
            variant,
            fft,
            frozen: zeroed(ic, if slots > 1 { n } else { 0 }),
            fdl_re: placer.zeroed_k(ic, spec.count * bins),
            fdl_im: placer.zeroed_k(ic, spec.count * bins),
            newest_slot: 0,
            h_re,
            h_im,
            acc_re: placer.zeroed_k(oc, bins),
            acc_im: placer.zeroed_k(oc, bins),
            result: zeroed(oc, result_len),
            period_start: 0,
            tasks,
            block_tasks,
            paths,
            time_buf: time,
            fft_scratch: scratch,
        }
    }

    /// Fill the scratch buffers (time-domain work area, FFT scratch) with garbage.
    pub(super) fn poison_scratch(&mut self, value: f32) {
        self.time_buf.fill(value);
        self.fft_scratch.fill(Complex::new(-value, value));
    }

    pub(super) fn reset(&mut self) {
        for v in self.frozen.iter_mut().chain(self.result.iter_mut()) {
            v.fill(0.0);
        }
        for v in self
            .fdl_re
            .iter_mut()
            .chain(self.fdl_im.iter_mut())
            .chain(self.acc_re.iter_mut())
            .chain(self.acc_im.iter_mut())
        {
            v.fill(0.0);
        }
        self.newest_slot = 0;
        self.period_start = 0;
    }

    /// A new period starting at absolute frame `period_start`: its spectrum goes into the
    /// next FDL slot.
    pub(super) fn begin_period(&mut self, period_start: u64) {
        self.period_start = period_start;
        self.newest_slot = (self.newest_slot + self.partitions - 1) % self.partitions;
    }

    /// Run the tasks of block `block` of the period (`window`: the level's window, read in
    /// place when the period is one block).
    fn run_block(&mut self, block: usize, window: &[Vec<f32>], cmac: CmacFn) {
        let (lo, hi) = self.block_tasks[block];
        for t in lo..hi {
            let task = self.tasks[t];
            self.run(task, window, cmac);
        }
    }

    /// Run the whole period's tasks (a worker, or the audio thread taking over from a late
    /// one). Only for levels whose period spans several blocks (they read `frozen`).
    pub(super) fn run_period(&mut self, cmac: CmacFn) {
        self.run_period_between(cmac, &mut || {});
    }

    /// [`run_period`](Self::run_period), calling `between` after each task (a worker runs
    /// the periods of its shorter levels there).
    pub(super) fn run_period_between(&mut self, cmac: CmacFn, between: &mut dyn FnMut()) {
        for t in 0..self.tasks.len() {
            let task = self.tasks[t];
            self.run(task, &[], cmac);
            between();
        }
    }

    fn run(&mut self, task: Task, window: &[Vec<f32>], cmac: CmacFn) {
        let bins = self.bins;
        match task {
            Task::Fwd { input } => {
                let s = self.newest_slot * bins;
                if self.period_blocks > 1 && self.variant == Variant::OverlapSave {
                    // The snapshot is read by this task only: transform it in place (at
                    // the next boundary its memory becomes the next window, which the
                    // period's blocks rewrite before it is read).
                    self.fft.forward(
                        &mut self.frozen[input],
                        &mut self.fft_scratch,
                        &mut self.fdl_re[input][s..s + bins],
                        &mut self.fdl_im[input][s..s + bins],
                    );
                    return;
                }
                if self.period_blocks > 1 {
                    // Overlap-add snapshots keep their zero upper half: copied.
                    self.time_buf.copy_from_slice(&self.frozen[input]);
                } else {
                    let p = self.partition_frames;
                    match self.variant {
                        Variant::OverlapSave => self.time_buf.copy_from_slice(&window[input]),
                        Variant::OverlapAdd => {
                            self.time_buf[..p].copy_from_slice(&window[input][..p]);
                            self.time_buf[p..].fill(0.0);
                        }
                    }
                }
                self.fft.forward(
                    &mut self.time_buf,
                    &mut self.fft_scratch,
                    &mut self.fdl_re[input][s..s + bins],
                    &mut self.fdl_im[input][s..s + bins],
                );
            }
            Task::Mac0 { path, lo, hi } => self.mac(path, None, true, lo, hi, cmac),
            Task::Hist { path, lo, hi } => self.mac(path, None, false, lo, hi, cmac),
            Task::HistPair { a, b, lo, hi } => self.mac(a, Some(b), false, lo, hi, cmac),
            Task::Inv { output } => {
                let (re, im) = (&mut self.acc_re[output], &mut self.acc_im[output]);
                self.fft
                    .inverse(re, im, &mut self.fft_scratch, &mut self.time_buf);
                re.fill(0.0);
                im.fill(0.0);
                let r = &mut self.result[output];
                match self.variant {
                    Variant::OverlapSave => {
                        r.copy_from_slice(&self.time_buf[self.partition_frames..])
                    }
                    Variant::OverlapAdd => r.copy_from_slice(&self.time_buf),
                }
            }
        }
    }
}

impl LevelWork {
    /// `acc += X * H` for path `path` (and `pair`, a path of the same kernel) over bins
    /// `lo..hi`: the newest input against partition 0 (`mac0`), else ages 0..m-1 against
    /// partitions 1..m (the next period's history).
    fn mac(
        &mut self,
        path: usize,
        pair: Option<usize>,
        mac0: bool,
        lo: usize,
        hi: usize,
        cmac: CmacFn,
    ) {
        let bins = self.bins;
        let p = self.paths[path];
        let pair_output = pair.map(|q| self.paths[q].output);
        let (first, m) = if mac0 {
            (0, 1)
        } else {
            (1, self.partitions - 1)
        };
        // The ages are slots newest_slot.. of the ring: one run up to its end, then one
        // from its start.
        let m1 = m.min(self.partitions - self.newest_slot);
        for (slot, part, m) in [(self.newest_slot, first, m1), (0, first + m1, m - m1)] {
            if m == 0 {
                continue;
            }
            let (xs, hs) = (slot * bins, part * bins);
            let (acc_re, pair_re) = two_mut(&mut self.acc_re, p.output, pair_output);
            let (acc_im, pair_im) = two_mut(&mut self.acc_im, p.output, pair_output);
            let spectra = Spectra {
                x_re: &self.fdl_re[p.input][xs..],
                x_im: &self.fdl_im[p.input][xs..],
                h_re: &self.h_re[p.ir][hs..],
                h_im: &self.h_im[p.ir][hs..],
                pair: pair.map(|q| {
                    let i = self.paths[q].input;
                    (&self.fdl_re[i][xs..], &self.fdl_im[i][xs..])
                }),
            };
            let mut acc = Acc {
                re: acc_re,
                im: acc_im,
                pair: pair_re.zip(pair_im),
            };
            let g = Strided {
                stride: bins,
                m,
                lo,
                hi,
            };
            cmac(&mut acc, &spectra, g);
        }
    }
}

/// `&mut v[i]`, and `&mut v[j]` when `j` is given (it must differ from `i`).
fn two_mut(v: &mut [Placed], i: usize, j: Option<usize>) -> (&mut [f32], Option<&mut [f32]>) {
    match j {
        None => (&mut v[i], None),
        Some(j) => {
            assert_ne!(i, j, "a pair of paths writes two different outputs");
            if i < j {
                let (lo, hi) = v.split_at_mut(j);
                (&mut lo[i], Some(&mut hi[0]))
            } else {
                let (lo, hi) = v.split_at_mut(i);
                (&mut hi[0], Some(&mut lo[j]))
            }
        }
    }
}

impl Level {
    pub(super) fn new(
        spec: LevelSpec,
        base: usize,
        variant: Variant,
        irs: &[Vec<f32>],
        routing: &Routing,
        planner: &mut FftPlanner<f32>,
    ) -> Level {
        let work = LevelWork::new(spec, base, variant, irs, routing, planner);
        let result_len = work.result.first().map_or(0, Vec::len);
        // Twice the frames a block consumes, per partition's worth of result.
        let chunk = 2 * base * (result_len / spec.size.max(1)).max(1);
        Level {
            partition_frames: work.partition_frames,
            period_blocks: work.period_blocks,
            variant,
            window: zeroed(routing.input_channels, 2 * spec.size),
            next_window: if variant == Variant::OverlapSave && work.period_blocks > 1 {
                zeroed(routing.input_channels, 2 * spec.size)
            } else {
                Vec::new()
            },
            filled_frames: 0,
            next_block: work.period_blocks,
            runner: Runner::Inline(Box::new(work)),
            pending: Pending::new(routing.output_channels, result_len, chunk),
        }
    }

    /// Frames per partition.
    pub(super) fn partition_frames(&self) -> usize {
        self.partition_frames
    }

    /// Move this level's work to a worker: returns the level and the job a worker is to
    /// run, or no job if the level cannot gain from one (its period is one block) or
    /// already has one.
    pub(super) fn detach(self, stats: &Arc<TailStats>) -> (Level, Option<Arc<TailJob>>) {
        let Level {
            partition_frames,
            period_blocks,
            variant,
            window,
            next_window,
            runner,
            pending,
            ..
        } = self;
        let (runner, job) = match runner {
            Runner::Inline(work) if period_blocks > 1 => {
                let job = Arc::new(TailJob::new(work));
                let side = WorkerSide::new(job.clone(), window.len(), 2 * partition_frames, stats);
                (Runner::Worker(Box::new(side)), Some(job))
            }
            r => (r, None),
        };
        let mut level = Level {
            partition_frames,
            period_blocks,
            variant,
            window,
            next_window,
            filled_frames: 0,
            next_block: period_blocks,
            runner,
            pending,
        };
        level.reset();
        (level, job)
    }

    /// See [`WorkerSide::set_unbounded_wait`].
    pub(super) fn set_unbounded_wait(&mut self, unbounded: bool) {
        if let Runner::Worker(side) = &mut self.runner {
            side.set_unbounded_wait(unbounded);
        }
    }

    /// Fill the scratch buffers with garbage (waits for a worker to be idle).
    pub(super) fn poison_scratch(&mut self, value: f32) {
        match &mut self.runner {
            Runner::Inline(w) => w.poison_scratch(value),
            Runner::Worker(side) => side.poison_scratch(value),
        }
    }

    /// Forget all history. With a worker, waits for it to finish what it runs (not for
    /// the audio thread: reset is a control operation).
    pub(super) fn reset(&mut self) {
        for w in self.window.iter_mut().chain(self.next_window.iter_mut()) {
            w.fill(0.0);
        }
        self.filled_frames = 0;
        self.next_block = self.period_blocks;
        self.pending.reset();
        match &mut self.runner {
            Runner::Inline(w) => w.reset(),
            Runner::Worker(side) => side.reset(),
        }
    }

    /// Level 0's work (always inline).
    fn inline_work(&mut self) -> &mut LevelWork {
        match &mut self.runner {
            Runner::Inline(w) => w,
            Runner::Worker(_) => unreachable!("level 0 never runs on a worker"),
        }
    }

    /// Take one completed base block (per input) ending at absolute frame `t_end`, and run
    /// this level's share of work for this block.
    pub(super) fn push_block(
        &mut self,
        block: &[Vec<f32>],
        t_end: u64,
        ring: &mut Ring,
        cmac: CmacFn,
    ) {
        let base = block[0].len();
        let p = self.partition_frames;
        let at = match self.variant {
            Variant::OverlapSave => p + self.filled_frames,
            Variant::OverlapAdd => self.filled_frames,
        };
        for (w, b) in self.window.iter_mut().zip(block) {
            w[at..at + base].copy_from_slice(b);
        }
        let filled = self.filled_frames;
        for (w, b) in self.next_window.iter_mut().zip(block) {
            w[filled..filled + base].copy_from_slice(b);
        }
        self.filled_frames += base;
        let boundary = self.filled_frames == p;
        let in_place = self.period_blocks == 1;
        let variant = self.variant;
        if boundary {
            self.filled_frames = 0;
            self.next_block = 0;
        }
        match &mut self.runner {
            Runner::Inline(work) => {
                if boundary {
                    // A level whose period is one block runs all its tasks now, so its
                    // forward transforms read the window in place (shifted after them);
                    // longer periods snapshot it, because the window keeps filling while
                    // their tasks are spread.
                    if !in_place {
                        snapshot(&mut work.frozen, &mut self.window, &mut self.next_window);
                    }
                    work.begin_period(t_end - p as u64);
                }
                if self.next_block < self.period_blocks {
                    work.run_block(self.next_block, &self.window, cmac);
                    self.next_block += 1;
                    if self.next_block == self.period_blocks {
                        self.pending.take(work, ring);
                    }
                }
            }
            Runner::Worker(side) => {
                if boundary {
                    side.stage(
                        &mut self.window,
                        &mut self.next_window,
                        t_end - p as u64,
                        self.period_blocks,
                    );
                }
                side.service(&mut self.pending, ring, cmac);
            }
        }
        self.pending.drain(ring);
        if boundary && in_place && variant == Variant::OverlapSave {
            for w in &mut self.window {
                w.copy_within(p..2 * p, 0);
            }
        }
    }

    /// The level-0 history (everything but the current block's input) for the current
    /// block, in the time domain, for each output. Level 0 only.
    pub(super) fn history_td(&mut self, out: &mut [Vec<f32>]) {
        let work = self.inline_work();
        let p = work.partition_frames;
        for (o, dst) in out.iter_mut().enumerate() {
            work.fft.inverse(
                &work.acc_re[o],
                &work.acc_im[o],
                &mut work.fft_scratch,
                &mut work.time_buf,
            );
            match work.variant {
                Variant::OverlapSave => dst.copy_from_slice(&work.time_buf[p..]),
                Variant::OverlapAdd => dst.copy_from_slice(&work.time_buf[..p]),
            }
        }
    }
}

/// Snapshot a level's window at its period boundary into `frozen`, without copying: the
/// window becomes the snapshot, and
/// - overlap-save (`next` not empty): `next`, whose lower half holds the period just
///   completed, becomes the window, and the old snapshot's memory becomes `next` (both are
///   rewritten block by block before they are read);
/// - overlap-add (`next` empty): the old snapshot, whose upper half is zero like every
///   overlap-add window's, becomes the window.
pub(super) fn snapshot(frozen: &mut [Vec<f32>], window: &mut [Vec<f32>], next: &mut [Vec<f32>]) {
    for (f, w) in frozen.iter_mut().zip(window.iter_mut()) {
        std::mem::swap(f, w);
    }
    for (w, n) in window.iter_mut().zip(next.iter_mut()) {
        std::mem::swap(w, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_frames(ring: &Ring, output: usize, start: u64, n: usize) -> Vec<f32> {
        (0..n).map(|i| ring.get(output, start + i as u64)).collect()
    }

    #[test]
    fn a_pending_result_goes_in_a_chunk_per_block_and_a_new_one_flushes_the_rest() {
        let mut ring = Ring::new(2, 64);
        let mut pending = Pending::new(2, 10, 4);
        let first: Vec<Vec<f32>> = (0..2)
            .map(|o| (0..10).map(|i| (o * 100 + i + 1) as f32).collect())
            .collect();
        let mut result = first.clone();
        pending.take_result(&mut result, 20, &mut ring);
        // Nothing is added by the hand-over itself; each drain adds the next 4 frames.
        assert_eq!(ring_frames(&ring, 0, 20, 10), vec![0.0; 10]);
        pending.drain(&mut ring);
        assert_eq!(ring_frames(&ring, 0, 20, 10)[..4], first[0][..4]);
        assert_eq!(ring_frames(&ring, 1, 20, 10)[4..], [0.0; 6]);
        // The next result arrives before the first is all in: the rest goes in first.
        let mut second = vec![vec![1000.0f32; 10]; 2];
        pending.take_result(&mut second, 30, &mut ring);
        assert_eq!(ring_frames(&ring, 1, 20, 10), first[1]);
        assert_eq!(ring_frames(&ring, 1, 30, 10), vec![0.0; 10]);
        for _ in 0..4 {
            pending.drain(&mut ring);
        }
        assert_eq!(ring_frames(&ring, 1, 30, 10), vec![1000.0; 10]);
        // The swap handed the first result's buffers back for the work to reuse.
        assert_eq!(second, first);
        // A reset drops what is pending.
        let mut third = vec![vec![7.0f32; 10]; 2];
        pending.take_result(&mut third, 40, &mut ring);
        pending.reset();
        pending.drain(&mut ring);
        assert_eq!(ring_frames(&ring, 0, 40, 10), vec![0.0; 10]);
    }
}
