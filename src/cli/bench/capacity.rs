//! `faltung bench --capacity`: how many engines one calling thread runs in real time, per
//! call size, plan and worker-thread count, found by a search over paced trials and
//! confirmed by a full-length run.

use std::io::Write;

use anyhow::{anyhow, Context};
use faltung::bench::capacity::{
    first_pass, largest_passing, paced_trial, CapacityReport, Trial, TrialRun, TrialSpec,
};
use faltung::bench::set_realtime_priority;
use faltung::engine::{Engine, PlanRequest, Routing};
use indicatif::ProgressBar;

use super::{BenchArgs, PlanArg};

/// Longest trial of the search; the capacity it finds is then confirmed at full length.
pub(super) const SEARCH_SECONDS: f64 = 5.0;

/// Most engines built when --max-engines is not given. A 6 s stereo engine at 64 frames
/// holds about 10 MB.
pub(super) const DEFAULT_MAX_ENGINES: usize = 256;

/// Tries per count of engines when --tries is not given.
pub(super) const DEFAULT_TRIES: usize = 2;

/// What the capacity search needs from `bench`'s common set-up.
pub(super) struct Setup<'a> {
    pub kernel_name: &'a str,
    pub irs: &'a [Vec<f32>],
    pub routing: &'a Routing,
    pub channels: usize,
    pub rate_hz: u32,
    pub plans: &'a [PlanArg],
    pub threads: &'a [usize],
    pub input: &'a [f32],
}

pub(super) fn run(
    a: &BenchArgs,
    s: &Setup,
    table: &mut dyn Write,
    bar: &ProgressBar,
) -> anyhow::Result<Vec<CapacityReport>> {
    let max_engines = a.max_engines.unwrap_or(DEFAULT_MAX_ENGINES);
    let tries = a.tries.unwrap_or(DEFAULT_TRIES);
    let search_seconds = a.seconds.min(SEARCH_SECONDS);
    let mut reports: Vec<CapacityReport> = Vec::new();
    // Workers at normal scheduling, each rank nicer than the one before, as in
    // `faltung bench --paced` and `faltung live`.
    let worker_priority = faltung::rt::priority::worker_priority();
    for &block in &a.block {
        let period_s = block as f64 / f64::from(s.rate_hz);
        let deadline_us = period_s * 1e6;
        bar.suspend(|| -> std::io::Result<()> {
            writeln!(table)?;
            writeln!(
                table,
                "{block} frames per call: deadline {deadline_us:.1} us; engines called one \
                 after the other once per period, for {} s (search trials of {search_seconds} s)",
                a.seconds
            )
        })?;
        for &plan in s.plans {
            let mut rows: Vec<CapacityReport> = Vec::new();
            for &threads in s.threads {
                let req = PlanRequest {
                    choice: plan.choice(),
                    latency_budget_frames: a.latency_budget,
                    worker_threads: threads,
                    ..PlanRequest::realtime(0, s.channels, s.routing.paths.len(), block)
                };
                let make = || {
                    Engine::new(s.irs, s.routing.clone(), req.clone()).and_then(|e| {
                        e.with_worker_priority(&worker_priority)
                            .with_worker_threads(threads)
                    })
                };
                let first = match make() {
                    Ok(e) => e,
                    Err(e) => {
                        bar.suspend(|| {
                            writeln!(
                                table,
                                "  plan {}, {threads} worker thread(s): not available: {e}",
                                plan.name()
                            )
                        })?;
                        continue;
                    }
                };
                let plan_text = first.plan().to_string();
                let worker_threads = first.worker_threads();
                let mut engines = vec![first];
                let mut history: Vec<TrialRun> = Vec::new();
                let mut trial = |n: usize, seconds: f64, attempt: usize| -> anyhow::Result<Trial> {
                    bar.set_message(format!(
                        "{block} frames, {threads} thread(s): {n} engine(s) for {seconds} s{}",
                        if attempt > 1 {
                            format!(", try {attempt} of {tries}")
                        } else {
                            String::new()
                        }
                    ));
                    bar.set_position(0);
                    engines.truncate(n);
                    while engines.len() < n {
                        engines.push(make().with_context(|| {
                            format!("{}: building engine {}", s.kernel_name, engines.len() + 1)
                        })?);
                    }
                    let spec = TrialSpec {
                        call_frames: block,
                        period: std::time::Duration::from_secs_f64(period_s),
                        periods: ((seconds / period_s).round() as usize).max(1),
                        warmup_calls: (s.rate_hz as usize).div_ceil(block),
                        stop_at_failure: true,
                    };
                    let t = calling_thread(a.rt_priority, || {
                        paced_trial(&mut engines, s.input, s.channels, spec, &mut |f| {
                            bar.set_position((f * 1000.0) as u64)
                        })
                        .with_context(|| format!("{}: processing failed", s.kernel_name))
                    })?;
                    history.push(TrialRun {
                        seconds,
                        attempt,
                        trial: t,
                    });
                    Ok(t)
                };
                let mut tried = |n: usize, seconds: f64| -> anyhow::Result<bool> {
                    first_pass(tries, |k| trial(n, seconds, k))
                };
                let found = largest_passing(1, max_engines, |n| tried(n, search_seconds))?;
                let searched_capacity = found.capacity;
                let confirmed = if search_seconds < a.seconds {
                    largest_passing(found.capacity, max_engines, |n| tried(n, a.seconds))?
                } else {
                    found
                };
                // Stop their worker threads before the next thread count's run.
                drop(engines);
                // The full-length runs at the capacity and just above it (the last ones).
                let full = |n: usize| {
                    history
                        .iter()
                        .rev()
                        .find(|r| r.trial.engines == n && r.seconds == a.seconds)
                        .map(|r| r.trial)
                };
                let capacity = confirmed.capacity;
                rows.push(CapacityReport {
                    block_frames: block,
                    rate_hz: s.rate_hz,
                    channels: s.channels,
                    plan_request: plan.name().to_string(),
                    plan: plan_text,
                    threads,
                    worker_threads,
                    seconds: a.seconds,
                    search_seconds,
                    deadline_us,
                    capacity,
                    tries,
                    searched_capacity,
                    max_engines,
                    at_capacity: (capacity > 0).then(|| full(capacity)).flatten(),
                    above_capacity: confirmed.first_failure.and_then(full),
                    trials: history.len(),
                    runs: history,
                    ratio_to_single_thread: None,
                });
            }
            let single = rows
                .iter()
                .find(|r| r.threads == 0)
                .map(|r| r.capacity)
                .filter(|&c| c > 0);
            for r in &mut rows {
                if r.threads > 0 {
                    r.ratio_to_single_thread = single.map(|c| r.capacity as f64 / c as f64);
                }
            }
            bar.suspend(|| print_rows(table, &rows))?;
            reports.extend(rows);
        }
    }
    bar.finish_and_clear();
    writeln!(
        table,
        "capacity = the most engines (each with --threads worker threads of its own) that one \
         calling thread, paced at the audio rate, ran for the whole run with no period whose \
         calls together took longer than the period and no late or dropped tail period (a \
         late worker counts as a missed deadline, as in zita-convolver), in one of {tries} \
         tries (--tries); searched = what the search's shorter trials found; worst = the \
         slowest period's calls at the capacity as a percentage of the period; trials = \
         every try run"
    )?;
    Ok(reports)
}

/// Run `f` on a thread of its own, at real-time priority `prio` if given: the calling
/// thread of a trial. The engines' worker threads run at normal scheduling (their
/// request), below the calling thread, as in `faltung live`: a worker at the calling
/// thread's SCHED_FIFO priority would keep it from its CPU until the worker's period is
/// done.
fn calling_thread<T: Send>(
    prio: Option<i32>,
    f: impl FnOnce() -> anyhow::Result<T> + Send,
) -> anyhow::Result<T> {
    std::thread::scope(|sc| {
        sc.spawn(|| {
            if let Some(prio) = prio {
                set_realtime_priority(prio).with_context(|| {
                    format!("--rt-priority {prio}: cannot get real-time priority")
                })?;
            }
            // As `faltung live` does once its audio path is built: this trial's engines'
            // pages stay in RAM (a failure to lock only leaves the run as it was).
            let _ = faltung::rt::memory::lock_current();
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(anyhow!("the calling thread of the capacity trial panicked")))
    })
}

fn print_rows(w: &mut dyn Write, rows: &[CapacityReport]) -> std::io::Result<()> {
    writeln!(
        w,
        "  {:<11} {:>8} {:>8} {:>9} {:>10} {:>10} {:>6}  {:<46} plan",
        "request", "capacity", "searched", "worst", "late", "dropped", "trials", "capacity + 1"
    )?;
    for r in rows {
        let at = r.at_capacity.unwrap_or_default();
        let above = match (&r.above_capacity, r.capacity == r.max_engines) {
            (_, true) => format!("not tried: --max-engines {}", r.max_engines),
            (Some(t), _) => failure(t, r.deadline_us),
            (None, _) => "-".to_string(),
        };
        writeln!(
            w,
            "  {:<11} {:>8} {:>8} {:>8.1}% {:>10} {:>10} {:>6}  {:<46} {}{}",
            format!("{} {}t", r.plan_request, r.threads),
            r.capacity,
            r.searched_capacity,
            at.worst_load_pct,
            at.late_periods,
            at.dropped_periods,
            r.trials,
            above,
            r.plan,
            if r.threads > 0 && r.worker_threads == 0 {
                " (no tail levels: no worker threads)"
            } else {
                ""
            }
        )?;
    }
    let single = rows.iter().find(|r| r.threads == 0);
    for r in rows.iter().filter(|r| r.threads > 0) {
        match (single, r.ratio_to_single_thread) {
            (Some(s), Some(x)) => writeln!(
                w,
                "  capacity with {} worker thread(s) / with none: {} / {} = {x:.2}x",
                r.threads, r.capacity, s.capacity
            )?,
            (Some(_), None) => writeln!(
                w,
                "  capacity with {} worker thread(s) / with none: no ratio (none ran with 0)",
                r.threads
            )?,
            (None, _) => {}
        }
    }
    Ok(())
}

/// Why a trial failed, and when (it stops at its first failed period).
fn failure(t: &Trial, deadline_us: f64) -> String {
    let at_s = t.periods as f64 * deadline_us * 1e-6;
    let mut why = Vec::new();
    if t.over_deadline > 0 {
        why.push(format!("{:.0}% load", t.worst_load_pct));
    }
    if t.late_periods + t.dropped_periods > 0 {
        why.push(format!(
            "{} late, {} dropped",
            t.late_periods, t.dropped_periods
        ));
    }
    format!("failed at {at_s:.2} s: {}", why.join(", "))
}
