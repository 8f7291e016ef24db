//! The planner: from IR length, call size, channels and a latency budget, choose how to
//! convolve — direct FIR, uniform partitions, or non-uniform partitions — and say why.
//!
//! ## Cost model
//! Costs are estimated in nanoseconds per frame. The constants below were fitted by
//! non-negative least squares (`scripts/fit_planner.py`, rms error 8.5%) to whole-engine
//! timings of 884 layouts (every layout of one to three levels beyond the first, for 0.5 s,
//! 2 s and 6 s IRs at 32 to 1024-frame calls; `scripts/data/planner_layouts.txt`, two
//! rounds) on the reference machine (2 vCPU AMD EPYC, Zen 4, AVX2+FMA, 1 MiB L2 per core,
//! release build) taken with `cargo run --release --example plan_layouts`:
//! - a real FFT of size `n` (forward or inverse) costs `FFT_NS_PER_POINT * n * log2(n) +
//!   FFT_NS_CALL` (sizes that are not powers of two cost `NON_POW2_FACTOR` times more);
//! - one complex multiply-accumulate (one bin of one partition) costs `CMAC_NS`, and
//!   `CMAC_OUT_OF_CACHE_FACTOR` times that when a path's delay line and kernel spectra for
//!   the level exceed `CACHE_BYTES` (the loop then streams from L3/memory);
//! - one direct-form tap costs `DIRECT_MAC_NS` (register-blocked FIR, measured against the
//!   63-tap case).
//!
//! Only ratios matter for the choice. On those timings the layout the fitted model picks
//! measured 1.02x the fastest measured layout on average over the 15 cells, at most 1.09x
//! (the constants before gave 1.03x and 1.16x, the worst at 6 s IRs, where they priced
//! multiply-accumulates out of cache at 2.3x: that was before `placed.rs`, when the large
//! levels' spectra aliased in L1).
//!
//! ## Non-uniform layout
//! Level 0 has partitions of the base size `B` starting at tap 0. Each later level of size
//! `P` (a power-of-two multiple of `B`) must start at tap `O >= 2P - B`, so that its work
//! for one period can be spread over the `P / B` calls that follow the period's last input
//! (Garcia 2002; Wefers 2015). The planner enumerates every set of level sizes and keeps
//! the cheapest.
//!
//! ## With worker threads
//! A request with [`PlanRequest::worker_threads`] runs the levels of at least
//! [`MIN_WORKER_PARTITION`] frames beyond the first on workers. The planner then minimises
//! the calling thread's share plus [`TAIL_WEIGHT`] of the workers' share. At 64-frame calls
//! with a 6 s IR that trades 15x64 + 6x512 + 14x2048 + 16x16384 (68.7 ns/frame in total)
//! for 31x64 + 30x1024 + 16x16384 (71.1 ns/frame): the 512-frame level, whose transforms
//! land on one call in eight, leaves the calling thread.

use std::fmt;

use super::workers::{runs_on_worker, MIN_WORKER_PARTITION};
use crate::error::EngineError;

/// Measured cost constants (see the module docs).
pub const FFT_NS_PER_POINT: f64 = 0.0765;
pub const FFT_NS_CALL: f64 = 116.6;
pub const NON_POW2_FACTOR: f64 = 1.6;
pub const CMAC_NS: f64 = 0.224;
/// Multiply-accumulates whose spectra do not fit in cache (more than
/// `CACHE_BYTES` per level) run at memory speed, this many times slower.
pub const CMAC_OUT_OF_CACHE_FACTOR: f64 = 1.33;
pub const CACHE_BYTES: usize = 2 << 20;
pub const DIRECT_MAC_NS: f64 = 0.045;

/// Largest partition the planner will use.
pub const MAX_PARTITION: usize = 1 << 16;

/// Spike guard for real-time plans: no level larger than this many times the base
/// partition. A level's FFT runs whole inside one call; with `P <= 256 B` a single FFT of
/// `2P` stays a small fraction of the call's deadline (measured: 6 s IR at 64-frame calls,
/// a 32768-frame level gave a 380 us call, 28% of the deadline; capped at 16384, under 10%).
pub const SPIKE_GUARD_RATIO: usize = 256;

/// With worker threads, the weight of the workers' share of a plan's cost against the
/// calling thread's: the calling thread's share decides its time per call (what its
/// deadline sees), the total what the machine's cores can carry. A half counts the tail as
/// running on a second core.
pub const TAIL_WEIGHT: f64 = 0.5;

/// Overlap-save (the default) or overlap-add block convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Variant {
    #[default]
    OverlapSave,
    OverlapAdd,
}

/// What the caller asks the planner for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemeChoice {
    /// The cheapest scheme that meets the latency budget.
    #[default]
    Auto,
    /// Direct-form FIR (time domain).
    Direct,
    /// Uniform partitions of the given size (`None`: the planner picks the size).
    Uniform(Option<usize>),
    /// Non-uniform partitions, base size picked by the planner.
    NonUniform,
}

/// Input to the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    /// IR length in frames (the longest of the IRs).
    pub ir_len: usize,
    pub input_channels: usize,
    pub output_channels: usize,
    /// Number of (input, IR, output) paths.
    pub paths: usize,
    /// Frames per call the caller will usually use; `None` for offline work where the
    /// caller adapts to [`Plan::block_frames`] and latency is free.
    pub call_frames: Option<usize>,
    /// Largest call the engine must accept.
    pub max_call_frames: usize,
    /// Latency the caller accepts, in frames (0: none).
    pub latency_budget_frames: usize,
    pub choice: SchemeChoice,
    pub variant: Variant,
    /// Worker threads that will run the tail (see [`Engine::with_worker_threads`]): with
    /// some, a real-time plan is chosen for the calling thread's share of the work (the
    /// levels shorter than [`MIN_WORKER_PARTITION`]) first and the total second
    /// ([`TAIL_WEIGHT`]). 0: the cheapest plan in total.
    ///
    /// [`Engine::with_worker_threads`]: super::Engine::with_worker_threads
    pub worker_threads: usize,
}

impl PlanRequest {
    /// A real-time request: calls of `call_frames`, zero latency budget, overlap-save.
    pub fn realtime(ir_len: usize, channels: usize, paths: usize, call_frames: usize) -> Self {
        PlanRequest {
            ir_len,
            input_channels: channels,
            output_channels: channels,
            paths,
            call_frames: Some(call_frames),
            max_call_frames: call_frames.max(1),
            latency_budget_frames: 0,
            choice: SchemeChoice::Auto,
            variant: Variant::OverlapSave,
            worker_threads: 0,
        }
    }

    /// An offline request: latency is free, calls adapt to the plan.
    pub fn offline(ir_len: usize, channels: usize, paths: usize) -> Self {
        PlanRequest {
            call_frames: None,
            max_call_frames: MAX_PARTITION,
            latency_budget_frames: usize::MAX,
            ..PlanRequest::realtime(ir_len, channels, paths, 1)
        }
    }
}

/// The scheme a plan uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Direct,
    Uniform,
    NonUniform,
}

/// One level of a partitioned plan: `count` partitions of `size` taps starting at tap
/// `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelSpec {
    pub size: usize,
    pub offset: usize,
    pub count: usize,
}

/// How the engine buffers calls whose length is not a multiple of the base partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buffering {
    /// Zero latency for any call size: partial blocks are completed with a direct-form
    /// head over the first partition.
    ZeroLatency,
    /// Output delayed by one base partition; cheap for any call size.
    OneBlock,
}

/// What the planner chose.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub scheme: Scheme,
    pub variant: Variant,
    /// Base partition size `B` (for `Direct`: the internal chunk size).
    pub block_frames: usize,
    pub levels: Vec<LevelSpec>,
    pub buffering: Buffering,
    /// Latency the engine adds, in frames.
    pub latency_frames: usize,
    /// Estimated cost in nanoseconds per frame for all paths together.
    pub est_ns_per_frame: f64,
    pub ir_len: usize,
}

impl Plan {
    /// Frames per call that make the engine cheapest (offline drivers call with this).
    pub fn preferred_call_frames(&self) -> usize {
        self.block_frames
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = match self.variant {
            Variant::OverlapSave => "overlap-save",
            Variant::OverlapAdd => "overlap-add",
        };
        match self.scheme {
            Scheme::Direct => write!(f, "direct FIR, {} taps", self.ir_len)?,
            Scheme::Uniform | Scheme::NonUniform => {
                let kind = if self.scheme == Scheme::Uniform {
                    "uniform"
                } else {
                    "non-uniform"
                };
                write!(f, "{kind} {v} partitions ")?;
                for (i, l) in self.levels.iter().enumerate() {
                    if i > 0 {
                        write!(f, " + ")?;
                    }
                    write!(f, "{}x{}", l.count, l.size)?;
                }
                write!(f, " for {} taps", self.ir_len)?;
            }
        }
        write!(
            f,
            ", latency {} frames, est. {:.1} ns/frame",
            self.latency_frames, self.est_ns_per_frame
        )
    }
}

fn fft_ns(n: usize) -> f64 {
    let n_f = n as f64;
    let c = FFT_NS_PER_POINT * n_f * n_f.log2().max(1.0) + FFT_NS_CALL;
    if n.is_power_of_two() {
        c
    } else {
        c * NON_POW2_FACTOR
    }
}

/// Lay out levels of the given sizes (first = base) over `ir_len` taps. Returns `None` if
/// a level would be unused (the IR ends before it starts).
pub fn layout(ir_len: usize, sizes: &[usize]) -> Option<Vec<LevelSpec>> {
    let base = sizes[0];
    let mut levels = Vec::with_capacity(sizes.len());
    let mut offset = 0usize;
    for (i, &p) in sizes.iter().enumerate() {
        if offset >= ir_len {
            return None;
        }
        let remaining = ir_len - offset;
        let count = match sizes.get(i + 1) {
            Some(&next) => {
                // The next level must start at or after 2*next - base.
                let need = (2 * next - base).saturating_sub(offset);
                let c = need.div_ceil(p).max(1);
                c.min(remaining.div_ceil(p))
            }
            None => remaining.div_ceil(p),
        };
        levels.push(LevelSpec {
            size: p,
            offset,
            count,
        });
        offset += count * p;
    }
    if offset < ir_len {
        return None;
    }
    Some(levels)
}

/// A partitioned plan's estimated cost in ns per frame: in total, and the calling thread's
/// share when the request has worker threads (the whole otherwise).
fn partitioned_costs(req: &PlanRequest, levels: &[LevelSpec], buffering: Buffering) -> Cost {
    let mut cost = Cost::default();
    let ffts = (req.input_channels + req.output_channels) as f64;
    for (i, l) in levels.iter().enumerate() {
        let p = l.size as f64;
        let mut ns = ffts * fft_ns(2 * l.size) / p;
        // Working set of the level's multiply-accumulates: delay lines and kernel spectra.
        // (per path: its input's delay line and its kernel's spectra, split complex f32).
        let bytes = l.count * (l.size + 1) * 16;
        let cmac = if bytes > CACHE_BYTES {
            CMAC_NS * CMAC_OUT_OF_CACHE_FACTOR
        } else {
            CMAC_NS
        };
        ns += req.paths as f64 * l.count as f64 * (p + 1.0) / p * cmac;
        // Copies into and out of the level's buffers.
        ns += ffts * 0.5;
        cost.total += ns;
        if !on_worker(req, i, l) {
            cost.calling += ns;
        }
    }
    // Zero-latency mode with calls that do not fill whole blocks pays a direct head.
    if buffering == Buffering::ZeroLatency {
        if let Some(c) = req.call_frames {
            let b = levels[0].size;
            if c % b != 0 {
                let ns = req.paths as f64 * b as f64 * DIRECT_MAC_NS
                    + req.output_channels as f64 * fft_ns(2 * b) / b as f64;
                cost.total += ns;
                cost.calling += ns;
            }
        }
    }
    cost
}

/// Whether level `i` of a plan for `req` runs on a worker thread (as
/// [`Engine::with_worker_threads`](super::Engine::with_worker_threads) places it).
fn on_worker(req: &PlanRequest, i: usize, l: &LevelSpec) -> bool {
    req.worker_threads > 0
        && req.call_frames.is_some()
        && runs_on_worker(i, l.size, MIN_WORKER_PARTITION)
}

/// Estimated cost in ns per frame.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    total: f64,
    /// The calling thread's share.
    calling: f64,
}

impl Cost {
    /// What the planner minimises: the total, or with worker threads the calling thread's
    /// share plus [`TAIL_WEIGHT`] of the workers'.
    fn score(self) -> f64 {
        self.calling + TAIL_WEIGHT * (self.total - self.calling)
    }
}

fn direct_cost(req: &PlanRequest) -> f64 {
    req.paths as f64 * req.ir_len as f64 * DIRECT_MAC_NS + req.input_channels as f64 * 1.0
}

fn best_nonuniform(req: &PlanRequest, base: usize, buffering: Buffering) -> (Vec<LevelSpec>, Cost) {
    // Candidate larger sizes: base * 2^k up to MAX_PARTITION (and the spike guard in real
    // time) and not far beyond the IR.
    let cap = match req.call_frames {
        Some(_) => MAX_PARTITION.min(base.saturating_mul(SPIKE_GUARD_RATIO)),
        None => MAX_PARTITION,
    };
    let mut cands = Vec::new();
    let mut p = base * 2;
    while p <= cap && p <= req.ir_len.max(base) {
        cands.push(p);
        p *= 2;
    }
    let mut best: Option<(Vec<LevelSpec>, Cost)> = None;
    let n = cands.len().min(16);
    for mask in 0u32..(1u32 << n) {
        let mut sizes = vec![base];
        for (k, &c) in cands.iter().enumerate().take(n) {
            if mask & (1 << k) != 0 {
                sizes.push(c);
            }
        }
        if let Some(levels) = layout(req.ir_len, &sizes) {
            let cost = partitioned_costs(req, &levels, buffering);
            if best.as_ref().is_none_or(|b| cost.score() < b.1.score()) {
                best = Some((levels, cost));
            }
        }
    }
    best.unwrap_or_else(|| {
        let levels = layout(req.ir_len, &[base]).expect("single level always covers");
        let c = partitioned_costs(req, &levels, buffering);
        (levels, c)
    })
}

/// The plan for `base` and `buffering`, with its score (see [`Cost::score`]).
fn make_plan(
    req: &PlanRequest,
    base: usize,
    buffering: Buffering,
    nonuniform: bool,
) -> (Plan, f64) {
    let (levels, cost) = if nonuniform {
        best_nonuniform(req, base, buffering)
    } else {
        let levels = layout(req.ir_len, &[base]).expect("single level always covers");
        let c = partitioned_costs(req, &levels, buffering);
        (levels, c)
    };
    let scheme = if levels.len() > 1 {
        Scheme::NonUniform
    } else {
        Scheme::Uniform
    };
    let plan = Plan {
        scheme,
        variant: req.variant,
        block_frames: base,
        levels,
        buffering,
        latency_frames: match buffering {
            Buffering::ZeroLatency => 0,
            Buffering::OneBlock => base,
        },
        est_ns_per_frame: cost.total,
        ir_len: req.ir_len,
    };
    (plan, cost.score())
}

/// Choose a plan for `req`.
pub fn plan(req: &PlanRequest) -> Result<Plan, EngineError> {
    if req.ir_len == 0 {
        return Err(EngineError::EmptyIr);
    }
    if req.paths == 0 || req.input_channels == 0 || req.output_channels == 0 {
        return Err(EngineError::InvalidConfig {
            what: "a plan needs at least one path, input and output".into(),
        });
    }
    if req.max_call_frames == 0 {
        return Err(EngineError::InvalidConfig {
            what: "max_call_frames must be at least 1".into(),
        });
    }
    // Sizes beyond these would overflow the partition arithmetic or allocate without end.
    let limit = |e: crate::limits::LimitError| EngineError::InvalidConfig {
        what: e.to_string(),
    };
    crate::limits::check_ir_frames(req.ir_len).map_err(limit)?;
    crate::limits::check_block_frames(req.max_call_frames).map_err(limit)?;
    if let Some(call) = req.call_frames {
        crate::limits::check_block_frames(call).map_err(limit)?;
    }
    let direct = Plan {
        scheme: Scheme::Direct,
        variant: req.variant,
        block_frames: 256,
        levels: Vec::new(),
        buffering: Buffering::ZeroLatency,
        latency_frames: 0,
        est_ns_per_frame: direct_cost(req),
        ir_len: req.ir_len,
    };
    // Candidate base partitions with their buffering.
    let mut bases: Vec<(usize, Buffering)> = Vec::new();
    match req.call_frames {
        None => {
            let mut b = 64;
            while b <= MAX_PARTITION {
                bases.push((b, Buffering::ZeroLatency));
                if b >= req.ir_len.next_power_of_two() * 2 {
                    break;
                }
                b *= 2;
            }
        }
        Some(c) => {
            let c = c.max(1);
            if c >= 16 {
                bases.push((c.min(MAX_PARTITION), Buffering::ZeroLatency));
            }
            // Every divisor of the call size keeps zero latency: a call of `k * d` frames
            // can be served as `k` calls of `d`, so offering every divisor as a base means
            // a call size never gets a plan dearer per frame than one of its divisors'.
            for b in 16..c.min(MAX_PARTITION + 1) {
                if c % b == 0 {
                    bases.push((b, Buffering::ZeroLatency));
                }
            }
            if c < 16 {
                // Tiny calls at zero latency: a 64-frame base with a direct head.
                bases.push((64, Buffering::ZeroLatency));
            }
            // With a latency budget, one block of buffering at a power-of-two base.
            let mut b = 16;
            while b <= req.latency_budget_frames && b <= MAX_PARTITION {
                if c % b != 0 {
                    bases.push((b, Buffering::OneBlock));
                }
                b *= 2;
            }
        }
    }
    let candidates = || {
        bases
            .iter()
            .flat_map(|&(b, buf)| [(b, buf, false), (b, buf, true)])
            .map(|(b, buf, nu)| make_plan(req, b, buf, nu))
    };
    // The lowest score, with the score.
    let pick = |it: &mut dyn Iterator<Item = (Plan, f64)>| it.min_by(|a, b| a.1.total_cmp(&b.1));
    let chosen = match req.choice {
        SchemeChoice::Direct => Some(direct),
        SchemeChoice::Auto => {
            // The direct form runs whole on the calling thread: its score is its cost.
            let best = pick(&mut candidates());
            match best {
                Some((p, score)) if score <= direct.est_ns_per_frame => Some(p),
                _ => Some(direct),
            }
        }
        SchemeChoice::Uniform(Some(b)) => {
            if b == 0 || b > MAX_PARTITION {
                return Err(EngineError::InvalidConfig {
                    what: format!("partition size {b} is outside 1..={MAX_PARTITION}"),
                });
            }
            let buffering = match req.call_frames {
                Some(c) if c % b != 0 && req.latency_budget_frames >= b => Buffering::OneBlock,
                _ => Buffering::ZeroLatency,
            };
            Some(make_plan(req, b, buffering, false).0)
        }
        SchemeChoice::Uniform(None) => pick(
            &mut candidates().filter(|(p, _)| p.scheme == Scheme::Uniform || p.levels.len() == 1),
        )
        .map(|(p, _)| p),
        SchemeChoice::NonUniform => pick(&mut candidates().filter(|(p, _)| {
            p.levels.len() > 1
                || layout(req.ir_len, &[p.block_frames, p.block_frames * 2]).is_none()
        }))
        .map(|(p, _)| p),
    };
    chosen.ok_or_else(|| EngineError::InvalidConfig {
        what: "no plan fits the request".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_respects_the_spreading_constraint() {
        let l = layout(96_000, &[64, 512, 4096, 32768]).unwrap();
        for w in l.windows(2) {
            assert!(w[1].offset >= 2 * w[1].size - 64, "{l:?}");
            assert_eq!(w[1].offset, w[0].offset + w[0].count * w[0].size);
        }
        let last = l.last().unwrap();
        assert!(last.offset + last.count * last.size >= 96_000);
    }

    /// A call of `k * c` frames can always be served as `k` calls of `c`: the planner must
    /// never give the larger call a plan it estimates dearer per frame.
    #[test]
    fn a_larger_call_never_gets_a_plan_costing_more_per_frame_than_a_divisor_of_it() {
        let calls: Vec<usize> = (1..=64).map(|k| 16 * k).chain([2048, 4096]).collect();
        for ir_len in [200, 1000, 5000, 24_000, 96_000, 288_000] {
            for (channels, paths) in [(1, 1), (2, 2), (2, 4)] {
                let cost = |c: usize| {
                    plan(&PlanRequest::realtime(ir_len, channels, paths, c))
                        .unwrap()
                        .est_ns_per_frame
                };
                let costs: Vec<f64> = calls.iter().map(|&c| cost(c)).collect();
                for (i, &small) in calls.iter().enumerate() {
                    for (j, &large) in calls.iter().enumerate().skip(i + 1) {
                        if large % small == 0 {
                            assert!(
                                costs[j] <= costs[i] * (1.0 + 1e-12),
                                "IR {ir_len}, {paths} paths: {large} frames cost {:.2} ns/frame, \
                                 {small} frames {:.2}",
                                costs[j],
                                costs[i]
                            );
                        }
                    }
                }
            }
        }
    }

    /// With worker threads the planner trades total cost for the calling thread's share:
    /// never a larger share than the thread-less plan's, and for a long IR at short calls
    /// a smaller one: the thread-less plan's 512-frame level stays on the calling thread,
    /// whose work lands on one call in eight, and that is what the calling thread's p99
    /// per call paid for (the model prices the share by its mean only).
    #[test]
    fn with_worker_threads_the_plan_lightens_the_calling_thread() {
        let share = |req: &PlanRequest, p: &Plan| match p.scheme {
            Scheme::Direct => p.est_ns_per_frame,
            _ => partitioned_costs(req, &p.levels, p.buffering).calling,
        };
        for ir_len in [5000, 24_000, 96_000, 288_000] {
            for call in [32, 64, 128, 256, 1024] {
                let alone = PlanRequest::realtime(ir_len, 2, 2, call);
                let threaded = PlanRequest {
                    worker_threads: 1,
                    ..alone.clone()
                };
                let (p0, p1) = (plan(&alone).unwrap(), plan(&threaded).unwrap());
                let (c0, c1) = (share(&threaded, &p0), share(&threaded, &p1));
                assert!(
                    c1 <= c0 + 1e-9,
                    "{ir_len}/{call}: {p1} leaves {c1} on the caller, {p0} {c0}"
                );
                assert!(p1.est_ns_per_frame >= p0.est_ns_per_frame - 1e-9);
                if (ir_len, call) == (288_000, 64) {
                    assert!(
                        c1 < 0.9 * c0,
                        "{p1}: {c1} ns/frame on the caller, {p0}: {c0}"
                    );
                    assert!(
                        p1.levels[1..]
                            .iter()
                            .all(|l| l.size >= MIN_WORKER_PARTITION),
                        "{p1}"
                    );
                }
            }
        }
    }

    #[test]
    fn short_kernels_go_direct_and_long_ones_partitioned() {
        let short = plan(&PlanRequest::realtime(8, 1, 1, 64)).unwrap();
        assert_eq!(short.scheme, Scheme::Direct);
        let long = plan(&PlanRequest::realtime(96_000, 2, 2, 64)).unwrap();
        assert_eq!(long.scheme, Scheme::NonUniform, "{long}");
        assert_eq!(long.latency_frames, 0);
        assert_eq!(long.block_frames, 64);
    }
}
