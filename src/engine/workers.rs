//! Worker threads for the tail: levels beyond the first run their period's work on worker
//! threads instead of spreading it over the audio thread's calls.
//!
//! A level's work is a [`TailJob`]: its [`LevelWork`] behind a state word. The hand-over
//! is lock-free and allocation-free in both directions:
//! - at a period boundary the audio thread swaps the window snapshot into the idle job and
//!   marks it `READY`;
//! - a worker claims it (`READY -> RUNNING`), runs the whole period and marks it `DONE`;
//! - when the period's last block completes (the moment the inline engine takes the same
//!   result) the audio thread swaps the result into the level's [`Pending`] result, which
//!   adds it to the output ring a chunk per block, and marks the job `IDLE`.
//!
//! A worker that has not started by then is overtaken: the audio thread claims the job and
//! runs it itself, so the output stays exact. One that is still running gets a bounded spin
//! (`LATE_SPINS`), then its period's result is dropped. Both are counted
//! in [`TailStats`] (late, dropped). Workers poll for jobs with a sleep sized to how often
//! their periods come rather than being woken, so that the audio thread makes no system
//! call.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::level::{snapshot, LevelWork, Pending};
use super::ring::Ring;
use super::simd::CmacFn;
use super::zeroed;

pub(super) const JOB_IDLE: u32 = 0;
pub(super) const JOB_READY: u32 = 1;
pub(super) const JOB_RUNNING: u32 = 2;
pub(super) const JOB_DONE: u32 = 3;

/// Spins of the audio thread on a worker that is still running a period whose result is
/// due (some tens of microseconds): after that the period's result is dropped and counted.
const LATE_SPINS: usize = 20_000;

/// The shortest partition, in frames, of a level run on a worker thread by default.
///
/// A level's result is due `P - B` frames after its period starts (`P` its partition, `B`
/// the engine's block). A 256-frame level at 64-frame calls is due within 4 ms at 48 kHz:
/// less than the stalls a worker meets on a loaded desktop or a virtual machine (one late
/// period in 30 to 54 s on an idle 2-core VM, measured with `faltung bench --capacity`).
/// From 1024 frames on the slack is at least 992 frames (20 ms at 48 kHz, 5 ms at
/// 192 kHz); shorter levels cost the calling thread little, spread over their period.
pub const MIN_WORKER_PARTITION: usize = 1024;

/// Whether level `index` of a plan, of `partition_frames`, runs on a worker when the
/// workers take partitions of at least `min_partition` frames: the first level never does.
/// The one rule for the engine that places levels and the planner that prices them.
pub(super) fn runs_on_worker(index: usize, partition_frames: usize, min_partition: usize) -> bool {
    index > 0 && partition_frames >= min_partition
}

/// How long an idle worker sleeps between looks for work until it has seen how often its
/// periods come (and at the least): small against the slack of the levels it runs (see
/// [`MIN_WORKER_PARTITION`]).
const POLL: Duration = Duration::from_micros(250);

/// The longest sleep between looks for work, for a worker whose periods come seldom.
const MAX_POLL: Duration = Duration::from_millis(2);

/// A worker looks for work this many times per period of its shortest level (as measured
/// between the periods it claimed), so that a period waits at most 1/16 of the level's
/// period before it starts, out of a slack of nearly the whole period.
///
/// Every look is a timer wake-up. On a virtual machine each one costs the other threads
/// of the CPU it lands on, the audio thread among them: with a fixed 250 us poll, two idle
/// workers of another engine raised the audio thread's p99 per call from about 16 to
/// about 40 us (6 s IR at 64-frame calls, 48 kHz, `faltung bench --paced`).
const LOOKS_PER_PERIOD: u32 = 16;

/// How long a worker sleeps between looks for work, given the latest interval between two
/// periods it claimed of each of its jobs (None: not seen yet).
fn poll_interval(gaps: &[Option<Duration>]) -> Duration {
    match gaps.iter().flatten().min() {
        Some(g) => (*g / LOOKS_PER_PERIOD).clamp(POLL, MAX_POLL),
        None => POLL,
    }
}

/// What a worker knows of when its periods come.
struct Arrivals {
    last_claim: Vec<Option<Instant>>,
    gap: Vec<Option<Duration>>,
}

impl Arrivals {
    fn new(jobs: usize) -> Arrivals {
        Arrivals {
            last_claim: vec![None; jobs],
            gap: vec![None; jobs],
        }
    }

    /// Job `j` was claimed now.
    fn claimed(&mut self, j: usize) {
        let now = Instant::now();
        if let Some(prev) = self.last_claim[j] {
            self.gap[j] = Some(now - prev);
        }
        self.last_claim[j] = Some(now);
    }

    /// How long to sleep before the next look for work.
    fn poll(&self) -> Duration {
        poll_interval(&self.gap)
    }
}

/// The scheduling the worker threads of one or more engines should run at, requested from
/// any thread at any time (a host may learn its audio threads' real-time priority only
/// once they run), and taken by engines built later too.
///
/// The engine knows nothing of the system's scheduler: the caller gives the function
/// that moves the calling thread to a priority, and each worker calls it on itself when
/// it sees a new request (between periods, never while the audio thread waits on it).
///
/// Each worker passes its rank with the request: its place among its engine's workers by
/// the period of its most urgent level (0: the worker of the shortest tail level). The
/// function is to schedule a higher rank below a lower one (rate-monotonic, as
/// zita-convolver gives each level's thread a priority one below the previous level's),
/// so that a worker whose level is due in hundreds of milliseconds never holds the CPU
/// from one whose level is due in tens.
#[derive(Debug)]
pub struct WorkerPriority {
    /// Moves the calling thread to the given real-time priority (0: normal scheduling)
    /// for a worker of the given rank; false where not permitted. None: workers keep the
    /// scheduling they start with.
    apply: Option<WorkerScheduler>,
    /// The priority requested (0: normal scheduling).
    requested: AtomicI32,
    /// Workers that tried the requested priority and were refused.
    refused: AtomicU64,
    /// Workers that run at the requested priority.
    granted: AtomicU64,
}

/// Moves the calling thread to a requested priority (0: normal scheduling) for a worker
/// of a rank (see [`WorkerPriority`]); false where not permitted.
pub type WorkerScheduler = fn(priority: i32, rank: usize) -> bool;

impl WorkerPriority {
    /// A request, normal scheduling to begin with, applied with `apply` (each worker
    /// applies the request, with its rank, when it starts and again whenever it changes).
    pub fn new(apply: WorkerScheduler) -> WorkerPriority {
        WorkerPriority::applied_with(Some(apply))
    }

    fn applied_with(apply: Option<WorkerScheduler>) -> WorkerPriority {
        WorkerPriority {
            apply,
            requested: AtomicI32::new(0),
            refused: AtomicU64::new(0),
            granted: AtomicU64::new(0),
        }
    }

    /// Ask every worker to run at real-time priority `priority` (0 or less: normal
    /// scheduling). Workers apply it within a poll interval.
    pub fn request(&self, priority: i32) {
        let p = priority.max(0);
        if self.requested() != p {
            self.refused.store(0, Ordering::Release);
            self.granted.store(0, Ordering::Release);
            self.requested.store(p, Ordering::Release);
        }
    }

    /// The priority requested (0: normal scheduling).
    pub fn requested(&self) -> i32 {
        self.requested.load(Ordering::Acquire)
    }

    /// Workers running at the requested priority, and workers refused it, since the
    /// request.
    pub fn outcome(&self) -> (u64, u64) {
        (
            self.granted.load(Ordering::Acquire),
            self.refused.load(Ordering::Acquire),
        )
    }

    /// On a worker of rank `rank`: follow the request if it changed since `current` (-1
    /// when the worker has applied none yet).
    fn follow(&self, current: &mut i32, rank: usize) {
        let Some(apply) = self.apply else { return };
        let want = self.requested();
        if want != *current {
            *current = want;
            if apply(want, rank) {
                self.granted.fetch_add(1, Ordering::AcqRel);
            } else {
                self.refused.fetch_add(1, Ordering::AcqRel);
            }
        }
    }
}

impl Default for WorkerPriority {
    /// A request that is never applied (no scheduler given): workers keep the scheduling
    /// they start with.
    fn default() -> WorkerPriority {
        WorkerPriority::applied_with(None)
    }
}

/// Counters of worker lateness, shared between the engine and whoever reports them.
#[derive(Debug, Default)]
pub struct TailStats {
    /// Periods whose worker had not finished when their result was due: overtaken (the
    /// audio thread ran the period), waited for within the bounded spin, or dropped.
    pub late: AtomicU64,
    /// Periods whose result was missing from the output (the worker was still running
    /// after the bounded spin, or more than a period behind).
    pub dropped: AtomicU64,
}

/// One tail level's work and who may touch it.
pub(super) struct TailJob {
    state: AtomicU32,
    work: UnsafeCell<Box<LevelWork>>,
}

// SAFETY: the work is touched only by the thread that owns the state: the audio thread
// in IDLE and DONE, the thread that moved it READY -> RUNNING while RUNNING. Every hand-over
// is a Release store matched by an Acquire load or compare-exchange.
unsafe impl Sync for TailJob {}

impl TailJob {
    pub(super) fn new(work: Box<LevelWork>) -> TailJob {
        TailJob {
            state: AtomicU32::new(JOB_IDLE),
            work: UnsafeCell::new(work),
        }
    }

    pub(super) fn state(&self) -> u32 {
        self.state.load(Ordering::Acquire)
    }

    pub(super) fn set_state(&self, s: u32) {
        self.state.store(s, Ordering::Release);
    }

    /// `READY -> RUNNING`: true if this thread now owns the work.
    pub(super) fn claim(&self) -> bool {
        self.state
            .compare_exchange(JOB_READY, JOB_RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The work.
    ///
    /// # Safety
    /// The caller owns the job's state (see the `Sync` impl).
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn work_mut(&self) -> &mut LevelWork {
        &mut *self.work.get()
    }

    /// Take the job out of the workers' hands (waiting, with yields, for a running period
    /// to finish), run `f` on its work, and leave it idle. Not for the audio thread.
    pub(super) fn with_idle(&self, f: impl FnOnce(&mut LevelWork)) {
        loop {
            let s = self.state();
            if s != JOB_RUNNING
                && self
                    .state
                    .compare_exchange(s, JOB_RUNNING, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            {
                break;
            }
            std::thread::yield_now();
        }
        // SAFETY: claimed above.
        f(unsafe { self.work_mut() });
        self.set_state(JOB_IDLE);
    }
}

/// The audio thread's bookkeeping for a level run by a worker.
pub(super) struct WorkerSide {
    job: Arc<TailJob>,
    /// Per input: the window snapshot of a period not yet handed to the worker.
    staged: Vec<Vec<f32>>,
    /// Period start of `staged` while it waits for the worker to be free.
    staged_start: Option<u64>,
    /// Period start of the job the worker holds (handed over, result not yet taken).
    in_flight: Option<u64>,
    /// The period whose result is due, and in how many more blocks (0: this one).
    due: Option<(u64, usize)>,
    /// Spins on a running worker before its result is dropped.
    late_spins: usize,
    stats: Arc<TailStats>,
}

impl WorkerSide {
    pub(super) fn new(
        job: Arc<TailJob>,
        inputs: usize,
        window_len: usize,
        stats: &Arc<TailStats>,
    ) -> WorkerSide {
        WorkerSide {
            job,
            staged: zeroed(inputs, window_len),
            staged_start: None,
            in_flight: None,
            due: None,
            late_spins: LATE_SPINS,
            stats: stats.clone(),
        }
    }

    pub(super) fn reset(&mut self) {
        self.job.with_idle(|w| w.reset());
        for s in &mut self.staged {
            s.fill(0.0);
        }
        self.staged_start = None;
        self.in_flight = None;
        self.due = None;
    }

    /// Wait for a running worker without bound (tests that compare bits on a loaded
    /// machine), or with the real-time bound.
    pub(super) fn set_unbounded_wait(&mut self, unbounded: bool) {
        self.late_spins = if unbounded { usize::MAX } else { LATE_SPINS };
    }

    pub(super) fn poison_scratch(&mut self, value: f32) {
        self.job.with_idle(|w| w.poison_scratch(value));
    }

    /// At a period boundary: snapshot the window for the period starting at `start`,
    /// whose result is due `period_blocks - 1` blocks from now.
    pub(super) fn stage(
        &mut self,
        window: &mut [Vec<f32>],
        next: &mut [Vec<f32>],
        start: u64,
        period_blocks: usize,
    ) {
        if self.staged_start.is_some() {
            // The worker is more than a period behind: this snapshot replaces one it never
            // got (its delay line is one spectrum short until its partitions have cycled).
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
        snapshot(&mut self.staged, window, next);
        self.staged_start = Some(start);
        self.due = Some((start, period_blocks - 1));
    }

    /// Once per base block: discard a result that came too late, hand a staged period to
    /// the worker when it is free, and take the result that is due (waiting a bounded
    /// spin for it, running it here if the worker never started it).
    pub(super) fn service(&mut self, pending: &mut Pending, ring: &mut Ring, cmac: CmacFn) {
        let job = &*self.job;
        if let Some(start) = self.in_flight {
            if self.due.map(|d| d.0) != Some(start) && job.state() == JOB_DONE {
                // Its deadline passed (counted then); the worker has caught up.
                job.set_state(JOB_IDLE);
                self.in_flight = None;
            }
        }
        if let Some(start) = self.staged_start {
            if self.in_flight.is_none() && job.state() == JOB_IDLE {
                // SAFETY: the job is idle: no worker touches its work until it is READY.
                let work = unsafe { job.work_mut() };
                std::mem::swap(&mut work.frozen, &mut self.staged);
                work.begin_period(start);
                job.set_state(JOB_READY);
                self.in_flight = Some(start);
                self.staged_start = None;
            }
        }
        match self.due {
            Some((start, 0)) => {
                self.due = None;
                if self.in_flight != Some(start) {
                    // Never handed over: the worker was still busy with an older period.
                    self.stats.late.fetch_add(1, Ordering::Relaxed);
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                let mut spins = 0;
                loop {
                    match job.state() {
                        JOB_DONE => {
                            if spins > 0 {
                                // Finished while the audio thread waited: late all the same.
                                self.stats.late.fetch_add(1, Ordering::Relaxed);
                            }
                            // SAFETY: DONE: the worker has released the work.
                            pending.take(unsafe { job.work_mut() }, ring);
                            job.set_state(JOB_IDLE);
                            self.in_flight = None;
                            return;
                        }
                        JOB_READY if job.claim() => {
                            // The worker has not started: do the period here.
                            self.stats.late.fetch_add(1, Ordering::Relaxed);
                            // SAFETY: claimed (READY -> RUNNING) by this thread.
                            let work = unsafe { job.work_mut() };
                            work.run_period(cmac);
                            pending.take(work, ring);
                            job.set_state(JOB_IDLE);
                            self.in_flight = None;
                            return;
                        }
                        _ => {}
                    }
                    spins += 1;
                    if spins >= self.late_spins {
                        // Still running: its result is dropped (discarded when it comes).
                        self.stats.late.fetch_add(1, Ordering::Relaxed);
                        self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    std::hint::spin_loop();
                }
            }
            Some((start, n)) => self.due = Some((start, n - 1)),
            None => {}
        }
    }
}

/// A deliberate stall of the workers, for tests of the late-worker path.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerStall {
    /// Workers run normally.
    None,
    /// Workers claim nothing (as if never scheduled): every period is overtaken.
    Idle,
    /// Workers sleep this long after claiming each period, before running it.
    Running(Duration),
    /// Workers sleep this long after each task of every level but their shortest, as if
    /// a long level's period took most of the short one's.
    SlowLongLevels(Duration),
}

struct PoolShared {
    shutdown: AtomicBool,
    /// Test hook: 0 none, `u64::MAX` idle, else microseconds to sleep after each claim.
    stall_us: AtomicU64,
    /// Test hook: microseconds to sleep after each task of a worker's longer levels.
    slow_long_us: AtomicU64,
}

/// The worker threads of one engine; joined on drop.
pub(super) struct WorkerPool {
    shared: Arc<PoolShared>,
    handles: Vec<JoinHandle<()>>,
}

impl WorkerPool {
    /// Start `threads` workers sharing out `jobs`, given shortest level first (each job to
    /// one worker, round robin: worker `i`'s most urgent job is job `i`, so its rank is
    /// `i`).
    pub(super) fn start(
        threads: usize,
        jobs: Vec<Arc<TailJob>>,
        cmac: CmacFn,
        priority: &Arc<WorkerPriority>,
    ) -> std::io::Result<WorkerPool> {
        let shared = Arc::new(PoolShared {
            shutdown: AtomicBool::new(false),
            stall_us: AtomicU64::new(0),
            slow_long_us: AtomicU64::new(0),
        });
        let mut mine: Vec<Vec<Arc<TailJob>>> = (0..threads).map(|_| Vec::new()).collect();
        for (i, j) in jobs.into_iter().enumerate() {
            mine[i % threads].push(j);
        }
        let mut pool = WorkerPool {
            shared,
            handles: Vec::new(),
        };
        for (rank, jobs) in mine.into_iter().enumerate() {
            if jobs.is_empty() {
                continue;
            }
            let shared = pool.shared.clone();
            let priority = priority.clone();
            let h = std::thread::Builder::new()
                .name(format!("faltung-tail-{rank}"))
                .spawn(move || worker(&shared, &jobs, rank, cmac, &priority))?;
            pool.handles.push(h);
        }
        Ok(pool)
    }

    pub(super) fn threads(&self) -> usize {
        self.handles.len()
    }

    pub(super) fn set_stall(&self, stall: WorkerStall) {
        let us = |d: Duration| (d.as_micros() as u64).clamp(1, u64::MAX - 1);
        let (claim, long) = match stall {
            WorkerStall::None => (0, 0),
            WorkerStall::Idle => (u64::MAX, 0),
            WorkerStall::Running(d) => (us(d), 0),
            WorkerStall::SlowLongLevels(d) => (0, us(d)),
        };
        self.shared.stall_us.store(claim, Ordering::Release);
        self.shared.slow_long_us.store(long, Ordering::Release);
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        for h in self.handles.drain(..) {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

fn worker(
    shared: &PoolShared,
    jobs: &[Arc<TailJob>],
    rank: usize,
    cmac: CmacFn,
    priority: &WorkerPriority,
) {
    let mut current = -1;
    let mut arrivals = Arrivals::new(jobs.len());
    while !shared.shutdown.load(Ordering::Acquire) {
        priority.follow(&mut current, rank);
        let mut worked = false;
        for j in 0..jobs.len() {
            worked |= try_run(shared, jobs, j, cmac, &mut arrivals);
        }
        if !worked {
            std::thread::park_timeout(arrivals.poll());
        }
    }
}

/// Claim this worker's job `j` if its period is ready, and run it: true if it ran.
fn try_run(
    shared: &PoolShared,
    jobs: &[Arc<TailJob>],
    j: usize,
    cmac: CmacFn,
    arrivals: &mut Arrivals,
) -> bool {
    let job = &*jobs[j];
    let stall = shared.stall_us.load(Ordering::Acquire);
    if job.state() != JOB_READY || stall == u64::MAX || !job.claim() {
        return false;
    }
    arrivals.claimed(j);
    if stall > 0 {
        std::thread::sleep(Duration::from_micros(stall));
    }
    let slow = shared.slow_long_us.load(Ordering::Acquire);
    // SAFETY: claimed (READY -> RUNNING) by this thread; the shorter levels run between
    // its tasks are other jobs, with work of their own.
    let work = unsafe { job.work_mut() };
    // Between two tasks of this period, the period of a shorter level of this worker's
    // that came ready meanwhile runs first: its result is due sooner. A worker that runs
    // both a 1024-frame and a 16384-frame level would otherwise hold the short one's
    // period, due within 20 ms, behind the long one's transforms, which take that long
    // when many engines' long levels run at once.
    work.run_period_between(cmac, &mut || {
        if j > 0 && slow > 0 {
            std::thread::sleep(Duration::from_micros(slow));
        }
        for i in 0..j {
            try_run(shared, jobs, i, cmac, arrivals);
        }
    });
    job.set_state(JOB_DONE);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_looks_for_work_sixteen_times_per_period_within_bounds() {
        let ms = Duration::from_millis;
        // Nothing seen yet: the shortest poll.
        assert_eq!(poll_interval(&[None, None]), POLL);
        // A 1024-frame level at 48 kHz comes every 21.33 ms: a look every 1.33 ms.
        let p = poll_interval(&[Some(Duration::from_micros(21_333)), None]);
        assert_eq!(p, Duration::from_micros(21_333) / 16);
        // The shortest of the worker's levels sets it.
        assert_eq!(poll_interval(&[Some(ms(341)), Some(ms(16))]), ms(1));
        // Back-to-back calls (offline): never below POLL; seldom periods: at most MAX_POLL.
        assert_eq!(poll_interval(&[Some(Duration::from_micros(100))]), POLL);
        assert_eq!(poll_interval(&[Some(ms(341))]), MAX_POLL);
    }

    #[test]
    fn the_poll_follows_the_interval_between_claims() {
        let mut a = Arrivals::new(2);
        a.claimed(0);
        assert_eq!(a.poll(), POLL, "one claim gives no interval");
        std::thread::sleep(Duration::from_millis(24));
        a.claimed(0);
        let p = a.poll();
        assert!(p >= Duration::from_micros(1500) && p <= MAX_POLL, "{p:?}");
    }
}
