//! The engine itself: direct FIR, and uniformly / non-uniformly partitioned convolution
//! (overlap-save or overlap-add) with a frequency-domain delay line per level.
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

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

use super::plan::{self, Buffering, LevelSpec, Plan, PlanRequest, Scheme, Variant};
use super::rfft::SplitRfft;
use super::routing::{Path, Routing};
use super::simd::{self, Acc, CmacFn, FirFn, Isa, Spectra, Strided};
use super::BlockProcessor;
use crate::error::{EngineError, ProcessError};

/// A convolution engine over any [`Routing`], built from a [`Plan`].
pub struct Engine {
    inner: Inner,
    plan: Plan,
    routing: Routing,
    max_call_frames: usize,
    isa: Isa,
}

enum Inner {
    Direct(DirectFir),
    Partitioned(Box<Partitioned>),
}

impl Engine {
    /// Build an engine for `irs` routed by `routing`, with a plan chosen for `request`
    /// (its `ir_len`, `paths` and channel counts are filled in from `irs` and `routing`).
    pub fn new(
        irs: &[Vec<f32>],
        routing: Routing,
        request: PlanRequest,
    ) -> Result<Engine, EngineError> {
        let ir_len = validate_irs(irs)?;
        routing.validate(irs.len())?;
        let req = PlanRequest {
            ir_len,
            input_channels: routing.input_channels,
            output_channels: routing.output_channels,
            paths: routing.paths.len().max(1),
            ..request
        };
        let plan = plan::plan(&req)?;
        let (isa, cmac, fir) = simd::select();
        let mut engine =
            Engine::with_plan_isa(irs, routing, plan, req.max_call_frames, isa, cmac, fir)?;
        // An offline request (no call size) runs on no audio thread: its buffers are faulted
        // in as they are first used, and the ones a run never needs (the zero-latency head's
        // when every call fills whole blocks) are never touched at all.
        if req.call_frames.is_some() {
            engine.prefault();
        }
        Ok(engine)
    }

    /// A real-time engine: zero latency at calls of `call_frames`.
    pub fn realtime(
        irs: &[Vec<f32>],
        routing: Routing,
        call_frames: usize,
    ) -> Result<Engine, EngineError> {
        Engine::new(irs, routing, PlanRequest::realtime(0, 1, 1, call_frames))
    }

    /// An offline engine: the cheapest plan, latency free. Call it with
    /// [`Plan::preferred_call_frames`] frames at a time for best speed.
    pub fn offline(irs: &[Vec<f32>], routing: Routing) -> Result<Engine, EngineError> {
        Engine::new(irs, routing, PlanRequest::offline(0, 1, 1))
    }

    /// Build an engine with an explicit plan.
    pub fn with_plan(
        irs: &[Vec<f32>],
        routing: Routing,
        plan: Plan,
        max_call_frames: usize,
    ) -> Result<Engine, EngineError> {
        let (isa, cmac, fir) = simd::select();
        let mut engine =
            Engine::with_plan_isa(irs, routing, plan, max_call_frames, isa, cmac, fir)?;
        engine.prefault();
        Ok(engine)
    }

    /// Build an engine with an explicit plan and instruction set (for testing the SIMD
    /// paths against the portable one). `None` if this CPU cannot run `isa`.
    pub fn with_plan_and_isa(
        irs: &[Vec<f32>],
        routing: Routing,
        plan: Plan,
        max_call_frames: usize,
        isa: Isa,
    ) -> Result<Option<Engine>, EngineError> {
        match simd::kernels_for(isa) {
            None => Ok(None),
            Some((cmac, fir)) => {
                let mut engine =
                    Engine::with_plan_isa(irs, routing, plan, max_call_frames, isa, cmac, fir)?;
                engine.prefault();
                Ok(Some(engine))
            }
        }
    }

    fn with_plan_isa(
        irs: &[Vec<f32>],
        routing: Routing,
        plan: Plan,
        max_call_frames: usize,
        isa: Isa,
        cmac: CmacFn,
        fir: FirFn,
    ) -> Result<Engine, EngineError> {
        validate_irs(irs)?;
        routing.validate(irs.len())?;
        if max_call_frames == 0 {
            return Err(EngineError::InvalidConfig {
                what: "max_call_frames must be at least 1".into(),
            });
        }
        let inner = match plan.scheme {
            Scheme::Direct => Inner::Direct(DirectFir::new(irs, &routing, fir)),
            Scheme::Uniform | Scheme::NonUniform => {
                if plan.levels.is_empty() || plan.block_frames == 0 {
                    return Err(EngineError::InvalidConfig {
                        what: "a partitioned plan needs at least one level".into(),
                    });
                }
                Inner::Partitioned(Box::new(Partitioned::new(irs, &routing, &plan, cmac)?))
            }
        };
        // Every buffer is allocated zeroed (the state `reset` gives), one allocation per
        // channel, so that untouched ones stay unmapped until `prefault`.
        Ok(Engine {
            inner,
            plan,
            routing,
            max_call_frames,
            isa,
        })
    }

    /// Zeroed allocations are mapped lazily: write every buffer once, so that the first
    /// calls on the audio thread do not take page faults.
    fn prefault(&mut self) {
        self.reset();
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn routing(&self) -> &Routing {
        &self.routing
    }

    /// The instruction set of the inner loops.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Fill every scratch buffer (FFT work areas, time and frequency temporaries) with
    /// garbage. The output must not change: scratch is never read before it is written.
    /// For tests.
    #[doc(hidden)]
    pub fn poison_scratch(&mut self, value: f32) {
        if let Inner::Partitioned(p) = &mut self.inner {
            for l in &mut p.levels {
                l.time.fill(value);
                l.scratch.fill(Complex::new(-value, value));
            }
            for h in &mut p.hist_td {
                h.fill(value);
            }
            p.hist_valid = false;
        }
    }
}

/// `k` buffers of `n` zeros, each its own zeroed allocation (`vec![vec![0.0; n]; k]` would
/// copy the first into the others, touching every page).
fn zeroed(k: usize, n: usize) -> Vec<Vec<f32>> {
    (0..k).map(|_| vec![0.0; n]).collect()
}

fn validate_irs(irs: &[Vec<f32>]) -> Result<usize, EngineError> {
    if irs.is_empty() {
        return Err(EngineError::EmptyIr);
    }
    let mut len = 0;
    for (i, ir) in irs.iter().enumerate() {
        if ir.is_empty() {
            return Err(EngineError::EmptyIrChannel { index: i, len: 0 });
        }
        if let Some(tap) = ir.iter().position(|v| !v.is_finite()) {
            return Err(EngineError::NonFiniteIr { channel: i, tap });
        }
        len = len.max(ir.len());
    }
    Ok(len)
}

impl BlockProcessor for Engine {
    fn process_block(&mut self, input: &[f32], output: &mut [f32]) -> Result<(), ProcessError> {
        let (ic, oc) = (self.routing.input_channels, self.routing.output_channels);
        if input.len() % ic != 0 {
            return Err(ProcessError::BadInterleave {
                len: input.len(),
                channels: ic,
            });
        }
        if output.len() % oc != 0 {
            return Err(ProcessError::BadInterleave {
                len: output.len(),
                channels: oc,
            });
        }
        let frames = input.len() / ic;
        if output.len() / oc != frames {
            return Err(ProcessError::FrameMismatch {
                input_frames: frames,
                output_frames: output.len() / oc,
            });
        }
        if frames > self.max_call_frames {
            return Err(ProcessError::TooManyFrames {
                frames,
                max_frames: self.max_call_frames,
            });
        }
        match &mut self.inner {
            Inner::Direct(d) => d.process(input, output, frames),
            Inner::Partitioned(p) => p.process(input, output, frames),
        }
        Ok(())
    }

    fn reset(&mut self) {
        match &mut self.inner {
            Inner::Direct(d) => d.reset(),
            Inner::Partitioned(p) => p.reset(),
        }
    }

    fn latency_frames(&self) -> usize {
        self.plan.latency_frames
    }

    fn input_channels(&self) -> usize {
        self.routing.input_channels
    }

    fn output_channels(&self) -> usize {
        self.routing.output_channels
    }

    fn max_call_frames(&self) -> usize {
        self.max_call_frames
    }
}

// ---------------------------------------------------------------------------------------
// Direct FIR

const DIRECT_CHUNK: usize = 256;

struct DirectFir {
    in_ch: usize,
    out_ch: usize,
    paths: Vec<Path>,
    /// Taps per IR, all padded to `len`.
    h: Vec<Vec<f32>>,
    len: usize,
    /// Per input: the last `len - 1` inputs followed by the current chunk.
    hist: Vec<Vec<f32>>,
    /// Per output: the chunk being accumulated.
    acc: Vec<Vec<f32>>,
    fir: FirFn,
}

impl DirectFir {
    fn new(irs: &[Vec<f32>], routing: &Routing, fir: FirFn) -> DirectFir {
        let len = irs.iter().map(|h| h.len()).max().unwrap_or(1);
        let h = irs
            .iter()
            .map(|h| {
                let mut r = h.clone();
                r.resize(len, 0.0);
                r
            })
            .collect();
        DirectFir {
            in_ch: routing.input_channels,
            out_ch: routing.output_channels,
            paths: routing.paths.clone(),
            h,
            len,
            hist: zeroed(routing.input_channels, len - 1 + DIRECT_CHUNK),
            acc: zeroed(routing.output_channels, DIRECT_CHUNK),
            fir,
        }
    }

    fn reset(&mut self) {
        for h in &mut self.hist {
            h.fill(0.0);
        }
    }

    fn process(&mut self, input: &[f32], output: &mut [f32], frames: usize) {
        let l1 = self.len - 1;
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(DIRECT_CHUNK);
            for (ch, h) in self.hist.iter_mut().enumerate() {
                for (i, v) in h[l1..l1 + n].iter_mut().enumerate() {
                    *v = input[(done + i) * self.in_ch + ch];
                }
            }
            for a in &mut self.acc {
                a[..n].fill(0.0);
            }
            for p in &self.paths {
                (self.fir)(
                    &mut self.acc[p.output][..n],
                    &self.h[p.ir],
                    &self.hist[p.input][..l1 + n],
                );
            }
            for (o, a) in self.acc.iter().enumerate() {
                for (i, &v) in a[..n].iter().enumerate() {
                    output[(done + i) * self.out_ch + o] = v;
                }
            }
            for h in self.hist.iter_mut() {
                h.copy_within(n..n + l1, 0);
            }
            done += n;
        }
    }
}

/// Dot product with several partial sums (vectorises without reassociation flags).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f32>() + tail
}

// ---------------------------------------------------------------------------------------
// Partitioned

#[derive(Debug, Clone, Copy)]
enum Task {
    /// Forward FFT of one input's frozen window into the newest FDL slot.
    Fwd { input: usize },
    /// acc[out] += X_newest * H_0 over bins lo..hi.
    Mac0 { path: usize, lo: usize, hi: usize },
    /// Inverse FFT of acc[out] into the output ring; clears acc[out].
    Inv { output: usize },
    /// acc[out] += sum_{k>=1} X_age(k-1) * H_k over bins lo..hi (the next period's
    /// history).
    Hist { path: usize, lo: usize, hi: usize },
}

struct Level {
    p: usize,
    offset: usize,
    count: usize,
    bins: usize,
    slots: usize,
    variant: Variant,
    fft: SplitRfft,
    /// Per input: OS `[previous P | current P]`, OA `[current P | unused]`.
    window: Vec<Vec<f32>>,
    /// Per input: the window as it was at the period boundary (2P, OA upper half zero).
    frozen: Vec<Vec<f32>>,
    /// Per input: the frequency-domain delay line, a ring of `count` spectra of `bins`,
    /// split re/im; age `a` is in slot `(newest + a) % count`.
    fdl_re: Vec<Vec<f32>>,
    fdl_im: Vec<Vec<f32>>,
    newest: usize,
    /// Per IR: `count` partition spectra (scaled by 1/(2P)), split re/im.
    h_re: Vec<Vec<f32>>,
    h_im: Vec<Vec<f32>>,
    /// Per output: the accumulator.
    acc_re: Vec<Vec<f32>>,
    acc_im: Vec<Vec<f32>>,
    fill: usize,
    slot: usize,
    t0: u64,
    tasks: Vec<Task>,
    /// Task index ranges per slot.
    slot_ranges: Vec<(usize, usize)>,
    paths: Vec<Path>,
    time: Vec<f32>,
    scratch: Vec<Complex<f32>>,
}

impl Level {
    fn new(
        spec: LevelSpec,
        base: usize,
        variant: Variant,
        irs: &[Vec<f32>],
        routing: &Routing,
        planner: &mut FftPlanner<f32>,
    ) -> Level {
        let p = spec.size;
        let n = 2 * p;
        let bins = p + 1;
        let fft = SplitRfft::new(n, planner);
        let mut scratch = vec![Complex::default(); fft.scratch_len().max(1)];
        let mut time = vec![0.0f32; n];
        let scale = 1.0 / n as f32;
        let mut h_re = Vec::with_capacity(irs.len());
        let mut h_im = Vec::with_capacity(irs.len());
        for ir in irs {
            let mut re = vec![0.0f32; spec.count * bins];
            let mut im = vec![0.0f32; spec.count * bins];
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
        let (tasks, slot_ranges) = schedule(
            routing.input_channels,
            routing.output_channels,
            &paths,
            spec.count,
            bins,
            n,
            slots,
        );
        let ic = routing.input_channels;
        let oc = routing.output_channels;
        Level {
            p,
            offset: spec.offset,
            count: spec.count,
            bins,
            slots,
            variant,
            fft,
            window: zeroed(ic, n),
            // Only levels whose work spans several calls need a snapshot of their window.
            frozen: zeroed(ic, if slots > 1 { n } else { 0 }),
            fdl_re: zeroed(ic, spec.count * bins),
            fdl_im: zeroed(ic, spec.count * bins),
            newest: 0,
            h_re,
            h_im,
            acc_re: zeroed(oc, bins),
            acc_im: zeroed(oc, bins),
            fill: 0,
            slot: slots,
            t0: 0,
            tasks,
            slot_ranges,
            paths,
            time,
            scratch,
        }
    }

    fn reset(&mut self) {
        for v in self
            .window
            .iter_mut()
            .chain(self.frozen.iter_mut())
            .chain(self.fdl_re.iter_mut())
            .chain(self.fdl_im.iter_mut())
            .chain(self.acc_re.iter_mut())
            .chain(self.acc_im.iter_mut())
        {
            v.fill(0.0);
        }
        self.newest = 0;
        self.fill = 0;
        self.slot = self.slots;
        self.t0 = 0;
    }

    /// Take one completed base block (per input) ending at absolute frame `t_end`, and run
    /// this level's share of work for this block.
    fn push_block(&mut self, block: &[Vec<f32>], t_end: u64, ring: &mut Ring, cmac: CmacFn) {
        let base = block[0].len();
        let at = match self.variant {
            Variant::OverlapSave => self.p + self.fill,
            Variant::OverlapAdd => self.fill,
        };
        for (w, b) in self.window.iter_mut().zip(block) {
            w[at..at + base].copy_from_slice(b);
        }
        self.fill += base;
        let boundary = self.fill == self.p;
        let in_place = self.slots == 1;
        if boundary {
            let p = self.p;
            // A level whose period is one block runs all its tasks now, so its forward
            // transforms read the window in place (shifted after them); longer periods
            // snapshot it, because the window keeps filling while their tasks are spread.
            if !in_place {
                for (f, w) in self.frozen.iter_mut().zip(self.window.iter_mut()) {
                    match self.variant {
                        Variant::OverlapSave => {
                            f.copy_from_slice(w);
                            w.copy_within(p..2 * p, 0);
                        }
                        Variant::OverlapAdd => f[..p].copy_from_slice(&w[..p]),
                    }
                }
            }
            self.fill = 0;
            self.slot = 0;
            self.t0 = t_end - p as u64;
            self.newest = (self.newest + self.count - 1) % self.count;
        }
        if self.slot < self.slots {
            let (lo, hi) = self.slot_ranges[self.slot];
            for t in lo..hi {
                let task = self.tasks[t];
                self.run(task, ring, cmac);
            }
            self.slot += 1;
        }
        if boundary && in_place && self.variant == Variant::OverlapSave {
            let p = self.p;
            for w in &mut self.window {
                w.copy_within(p..2 * p, 0);
            }
        }
    }

    fn run(&mut self, task: Task, ring: &mut Ring, cmac: CmacFn) {
        let bins = self.bins;
        match task {
            Task::Fwd { input } => {
                if self.slots > 1 {
                    self.time.copy_from_slice(&self.frozen[input]);
                } else {
                    let p = self.p;
                    match self.variant {
                        Variant::OverlapSave => self.time.copy_from_slice(&self.window[input]),
                        Variant::OverlapAdd => {
                            self.time[..p].copy_from_slice(&self.window[input][..p]);
                            self.time[p..].fill(0.0);
                        }
                    }
                }
                let s = self.newest * bins;
                self.fft.forward(
                    &mut self.time,
                    &mut self.scratch,
                    &mut self.fdl_re[input][s..s + bins],
                    &mut self.fdl_im[input][s..s + bins],
                );
            }
            Task::Mac0 { path, lo, hi } | Task::Hist { path, lo, hi } => {
                let p = self.paths[path];
                // Ages 0..m of the input against partitions first..first + m of the kernel.
                let (first, m) = match task {
                    Task::Mac0 { .. } => (0, 1),
                    _ => (1, self.count - 1),
                };
                // The ages are slots newest.. of the ring: one run up to its end, then
                // one from its start.
                let m1 = m.min(self.count - self.newest);
                for (slot, part, m) in [(self.newest, first, m1), (0, first + m1, m - m1)] {
                    if m == 0 {
                        continue;
                    }
                    let (xs, hs) = (slot * bins, part * bins);
                    let spectra = Spectra {
                        x_re: &self.fdl_re[p.input][xs..],
                        x_im: &self.fdl_im[p.input][xs..],
                        h_re: &self.h_re[p.ir][hs..],
                        h_im: &self.h_im[p.ir][hs..],
                    };
                    let mut acc = Acc {
                        re: &mut self.acc_re[p.output],
                        im: &mut self.acc_im[p.output],
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
            Task::Inv { output } => {
                let (re, im) = (&mut self.acc_re[output], &mut self.acc_im[output]);
                self.fft.inverse(re, im, &mut self.scratch, &mut self.time);
                re.fill(0.0);
                im.fill(0.0);
                let start = self.t0 + self.offset as u64;
                match self.variant {
                    Variant::OverlapSave => ring.add(output, start, &self.time[self.p..]),
                    Variant::OverlapAdd => ring.add(output, start, &self.time),
                }
            }
        }
    }

    /// The level-0 history (everything but the current block's input) for the current
    /// block, in the time domain, for each output. Level 0 only.
    fn history_td(&mut self, out: &mut [Vec<f32>]) {
        let p = self.p;
        for (o, dst) in out.iter_mut().enumerate() {
            self.fft.inverse(
                &self.acc_re[o],
                &self.acc_im[o],
                &mut self.scratch,
                &mut self.time,
            );
            match self.variant {
                Variant::OverlapSave => dst.copy_from_slice(&self.time[p..]),
                Variant::OverlapAdd => dst.copy_from_slice(&self.time[..p]),
            }
        }
    }
}

/// Widest strip of bins in one history multiply-accumulate task: with two partitions of
/// a kernel, 2048 bins of its split spectra are 64 KiB, which stay in L2 for the next path.
const HIST_STRIP_BINS: usize = 2048;

/// Build a level's per-period task list and spread it over `slots` base blocks by
/// estimated cost.
fn schedule(
    ic: usize,
    oc: usize,
    paths: &[Path],
    count: usize,
    bins: usize,
    fft_len: usize,
    slots: usize,
) -> (Vec<Task>, Vec<(usize, usize)>) {
    let fft_cost =
        plan::FFT_NS_PER_POINT * fft_len as f64 * (fft_len as f64).log2() + plan::FFT_NS_CALL;
    let bin_cost = plan::CMAC_NS;
    let hist_parts = count.saturating_sub(1);
    let hist_total = paths.len() * hist_parts * bins;
    let total_est =
        (ic + oc) as f64 * fft_cost + (paths.len() * bins + hist_total) as f64 * bin_cost;
    // Chunk the history multiply-accumulates (in strips of 16 bins) so that no single task
    // is much more than one slot's share of the period's work.
    let per_slot_bins = (total_est / slots as f64) / bin_cost / hist_parts.max(1) as f64;
    // At most HIST_STRIP_BINS, and the strips of all paths taken in turn: paths that share
    // a kernel (a mono IR on several channels) then read each strip of its spectra from
    // cache rather than once more from memory.
    let chunk = ((per_slot_bins as usize).div_ceil(16) * 16).clamp(16, HIST_STRIP_BINS);
    let mut tasks = Vec::new();
    let mut costs = Vec::new();
    for input in 0..ic {
        tasks.push(Task::Fwd { input });
        costs.push(fft_cost);
    }
    for path in 0..paths.len() {
        tasks.push(Task::Mac0 {
            path,
            lo: 0,
            hi: bins,
        });
        costs.push(bins as f64 * bin_cost);
    }
    for output in 0..oc {
        tasks.push(Task::Inv { output });
        costs.push(fft_cost);
    }
    if hist_parts > 0 {
        let mut lo = 0;
        while lo < bins {
            let hi = if bins - lo < chunk + 16 {
                bins
            } else {
                lo + chunk
            };
            for path in 0..paths.len() {
                tasks.push(Task::Hist { path, lo, hi });
                costs.push(((hi - lo) * hist_parts) as f64 * bin_cost);
            }
            lo = hi;
        }
    }
    let total: f64 = costs.iter().sum();
    let mut slot_of = Vec::with_capacity(tasks.len());
    let mut cum = 0.0;
    for c in &costs {
        // Place each task in the slot where the middle of its cost falls.
        let mid = cum + c * 0.5;
        let s = ((mid / total) * slots as f64).floor() as usize;
        slot_of.push(s.min(slots - 1));
        cum += c;
    }
    let mut ranges = Vec::with_capacity(slots);
    let mut t = 0;
    for s in 0..slots {
        let lo = t;
        while t < tasks.len() && slot_of[t] == s {
            t += 1;
        }
        ranges.push((lo, t));
    }
    debug_assert_eq!(t, tasks.len());
    (tasks, ranges)
}

/// `dst[i] = frames[i * ch + c]`, with the common channel counts as constants so that the
/// loop vectorises.
fn deinterleave(dst: &mut [f32], frames: &[f32], ch: usize, c: usize) {
    fn go<const N: usize>(dst: &mut [f32], frames: &[f32], c: usize) {
        for (v, f) in dst.iter_mut().zip(frames.chunks_exact(N)) {
            *v = f[c];
        }
    }
    match ch {
        1 => dst.copy_from_slice(&frames[..dst.len()]),
        2 => go::<2>(dst, frames, c),
        4 => go::<4>(dst, frames, c),
        _ => {
            for (v, f) in dst.iter_mut().zip(frames.chunks_exact(ch)) {
                *v = f[c];
            }
        }
    }
}

/// `frames[i * ch + c] = src[i]`, the inverse of [`deinterleave`].
fn interleave(frames: &mut [f32], src: &[f32], ch: usize, c: usize) {
    fn go<const N: usize>(frames: &mut [f32], src: &[f32], c: usize) {
        for (f, &v) in frames.chunks_exact_mut(N).zip(src) {
            f[c] = v;
        }
    }
    match ch {
        1 => {
            let n = src.len().min(frames.len());
            frames[..n].copy_from_slice(&src[..n]);
        }
        2 => go::<2>(frames, src, c),
        4 => go::<4>(frames, src, c),
        _ => {
            for (f, &v) in frames.chunks_exact_mut(ch).zip(src) {
                f[c] = v;
            }
        }
    }
}

/// Per-output rings of absolute frame positions where all levels sum their results.
struct Ring {
    data: Vec<Vec<f32>>,
    mask: usize,
}

impl Ring {
    fn add(&mut self, output: usize, start: u64, src: &[f32]) {
        let len = self.data[output].len();
        let s = (start as usize) & self.mask;
        let first = (len - s).min(src.len());
        let d = &mut self.data[output];
        for (a, b) in d[s..s + first].iter_mut().zip(&src[..first]) {
            *a += b;
        }
        for (a, b) in d[..src.len() - first].iter_mut().zip(&src[first..]) {
            *a += b;
        }
    }

    /// Channel `o` of interleaved `frames` (of `oc` channels) from ring `output` at
    /// absolute frames `start..`.
    fn read_channel(&self, output: usize, start: u64, frames: &mut [f32], oc: usize) {
        let d = &self.data[output];
        let s = (start as usize) & self.mask;
        let n = frames.len() / oc;
        let first = (d.len() - s).min(n);
        let (f1, f2) = frames.split_at_mut(first * oc);
        interleave(f1, &d[s..s + first], oc, output);
        interleave(f2, &d[..n - first], oc, output);
    }

    #[inline]
    fn get(&self, output: usize, t: u64) -> f32 {
        self.data[output][(t as usize) & self.mask]
    }

    fn clear(&mut self, start: u64, len: usize) {
        for d in &mut self.data {
            let n = d.len();
            let s = (start as usize) & self.mask;
            let first = (n - s).min(len);
            d[s..s + first].fill(0.0);
            d[..len - first].fill(0.0);
        }
    }
}

struct Partitioned {
    b: usize,
    in_ch: usize,
    out_ch: usize,
    buffering: Buffering,
    variant: Variant,
    paths: Vec<Path>,
    levels: Vec<Level>,
    ring: Ring,
    /// Per input: the current base block.
    block: Vec<Vec<f32>>,
    fill: usize,
    /// Absolute frame index of the current block's first frame.
    t_block: u64,
    /// Zero-latency partial blocks: per input `[previous block | current block]` (the
    /// previous half is filled at the block's first partial call, overlap-save only).
    xwin: Vec<Vec<f32>>,
    /// Per IR: the first `B` taps reversed (direct head).
    h0_rev: Vec<Vec<f32>>,
    /// Per output: level-0 history of the current block in the time domain.
    hist_td: Vec<Vec<f32>>,
    hist_valid: bool,
    /// One-block buffering: per output, the last completed block's output.
    outbuf: Vec<Vec<f32>>,
    cmac: CmacFn,
}

impl Partitioned {
    fn new(
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
        let ring_len = span.next_power_of_two();
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
            b,
            in_ch: ic,
            out_ch: oc,
            buffering: plan.buffering,
            variant: plan.variant,
            paths: routing.paths.clone(),
            levels,
            ring: Ring {
                data: zeroed(oc, ring_len),
                mask: ring_len - 1,
            },
            block: zeroed(ic, b),
            fill: 0,
            t_block: 0,
            xwin: zeroed(ic, 2 * b),
            h0_rev,
            hist_td: zeroed(oc, b),
            hist_valid: false,
            outbuf: zeroed(oc, b),
            cmac,
        })
    }

    fn reset(&mut self) {
        for l in &mut self.levels {
            l.reset();
        }
        for v in self
            .ring
            .data
            .iter_mut()
            .chain(self.block.iter_mut())
            .chain(self.xwin.iter_mut())
            .chain(self.hist_td.iter_mut())
            .chain(self.outbuf.iter_mut())
        {
            v.fill(0.0);
        }
        self.fill = 0;
        self.t_block = 0;
        self.hist_valid = false;
    }

    fn complete_block(&mut self) {
        let t_end = self.t_block + self.b as u64;
        for l in &mut self.levels {
            l.push_block(&self.block, t_end, &mut self.ring, self.cmac);
        }
    }

    fn process(&mut self, input: &[f32], output: &mut [f32], frames: usize) {
        let (ic, oc, b) = (self.in_ch, self.out_ch, self.b);
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(b - self.fill);
            let fill = self.fill;
            let frames_in = &input[done * ic..(done + n) * ic];
            for ch in 0..ic {
                deinterleave(&mut self.block[ch][fill..fill + n], frames_in, ic, ch);
            }
            match self.buffering {
                Buffering::OneBlock => {
                    for o in 0..oc {
                        let src = &self.outbuf[o][fill..fill + n];
                        for (i, &v) in src.iter().enumerate() {
                            output[(done + i) * oc + o] = v;
                        }
                    }
                    self.fill += n;
                    if self.fill == b {
                        self.complete_block();
                        for o in 0..oc {
                            for i in 0..b {
                                self.outbuf[o][i] = self.ring.get(o, self.t_block + i as u64);
                            }
                        }
                        self.ring.clear(self.t_block, b);
                        self.t_block += b as u64;
                        self.fill = 0;
                    }
                }
                Buffering::ZeroLatency => {
                    if fill + n == b {
                        self.complete_block();
                        let frames_out = &mut output[done * oc..(done + n) * oc];
                        for o in 0..oc {
                            self.ring
                                .read_channel(o, self.t_block + fill as u64, frames_out, oc);
                        }
                        self.ring.clear(self.t_block, b);
                        self.t_block += b as u64;
                        self.fill = 0;
                        self.hist_valid = false;
                    } else {
                        if fill == 0 && self.variant == Variant::OverlapSave {
                            // The direct head needs the previous block, which level 0's
                            // window holds in its first half (its partition is the block);
                            // copied only for blocks that begin with a partial call.
                            for (w, lw) in self.xwin.iter_mut().zip(&self.levels[0].window) {
                                w[..b].copy_from_slice(&lw[..b]);
                            }
                        }
                        for (w, blk) in self.xwin.iter_mut().zip(&self.block) {
                            w[b + fill..b + fill + n].copy_from_slice(&blk[fill..fill + n]);
                        }
                        self.partial(output, done, fill, n);
                        self.fill += n;
                    }
                }
            }
            done += n;
        }
    }

    /// Output frames `fill..fill+n` of the current (incomplete) block at zero latency.
    fn partial(&mut self, output: &mut [f32], done: usize, fill: usize, n: usize) {
        let (oc, b) = (self.out_ch, self.b);
        if !self.hist_valid {
            self.levels[0].history_td(&mut self.hist_td);
            self.hist_valid = true;
        }
        for i in 0..n {
            let t = fill + i;
            for o in 0..oc {
                output[(done + i) * oc + o] =
                    self.ring.get(o, self.t_block + t as u64) + self.hist_td[o][t];
            }
            for p in &self.paths {
                let h = &self.h0_rev[p.ir];
                let x = &self.xwin[p.input];
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
