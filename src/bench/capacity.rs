//! Capacity: how many independent engines one calling thread runs in real time.
//!
//! A trial ([`paced_trial`]) calls N engines one after the other once per period, on a
//! fixed schedule of one period of `call_frames` frames at the audio rate, as one audio
//! callback serving N convolvers would. A period fails when the N calls together take
//! longer than the period (the deadline), or when any engine's tail worker was late
//! (overtaken or dropped, as [`TailStats`] counts them): as in zita-convolver, a late
//! worker is a missed deadline, even where the calling thread made up for it in time.
//! [`largest_passing`] searches N over such a predicate, and [`first_pass`] gives each N
//! up to a set number of tries.

use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::run::sleep_until;
use crate::engine::{BlockProcessor, Engine, ProcessError, TailStats};

/// The outcome of [`largest_passing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// The largest `n` that passed; 0 if none did (0 itself is never tried).
    pub capacity: usize,
    /// The smallest `n` that failed, if one was tried (`capacity + 1` when the search
    /// ended between a pass and a failure; `None` when the cap passed).
    pub first_failure: Option<usize>,
    /// Every `n` tried, in order, with its outcome.
    pub trials: Vec<(usize, bool)>,
}

/// The largest `n` in `0..=cap` for which `pass(n)` holds, for a predicate that is monotone
/// (`pass(n)` implies `pass(m)` for every `m < n`); `pass(0)` is taken as true and never
/// tried. Starting from `guess` (clamped to `1..=cap`), it gallops with steps 1, 2, 4, ...
/// upwards while `n` passes, or downwards while it fails, then bisects between the last
/// pass and the first failure: about 2 log2(capacity) trials. An error from `pass` ends
/// the search.
pub fn largest_passing<E>(
    guess: usize,
    cap: usize,
    mut pass: impl FnMut(usize) -> Result<bool, E>,
) -> Result<Search, E> {
    let mut trials = Vec::new();
    let mut tried = |n: usize, trials: &mut Vec<(usize, bool)>| -> Result<bool, E> {
        let ok = pass(n)?;
        trials.push((n, ok));
        Ok(ok)
    };
    if cap == 0 {
        return Ok(Search {
            capacity: 0,
            first_failure: None,
            trials,
        });
    }
    let g = guess.clamp(1, cap);
    let (mut lo, mut hi);
    if tried(g, &mut trials)? {
        lo = g;
        hi = None;
        let mut step = 1usize;
        while lo < cap {
            let n = lo.saturating_add(step).min(cap);
            if tried(n, &mut trials)? {
                lo = n;
                step = step.saturating_mul(2);
            } else {
                hi = Some(n);
                break;
            }
        }
    } else {
        hi = Some(g);
        lo = 0;
        let mut step = 1usize;
        let mut top = g;
        while top > 1 {
            let n = top.saturating_sub(step).max(1);
            if tried(n, &mut trials)? {
                lo = n;
                break;
            }
            hi = Some(n);
            top = n;
            step = step.saturating_mul(2);
        }
    }
    while let Some(h) = hi {
        if h - lo <= 1 {
            break;
        }
        let mid = lo + (h - lo) / 2;
        if tried(mid, &mut trials)? {
            lo = mid;
        } else {
            hi = Some(mid);
        }
    }
    Ok(Search {
        capacity: lo,
        first_failure: hi,
        trials,
    })
}

/// Run `attempt` (given the try's number, from 1) until a trial passes or `tries` (at
/// least 1) trials have failed: whether one passed.
///
/// A machine stops a thread now and then whatever it runs (on the 2-core reference VM, one
/// engine costing about 12 us a period ran periods of 109 % and 126 % within a minute):
/// such a stall does not depend on how many engines run, where an overload recurs. A second try
/// tells one from the other, so that one stall does not end the search for N and every
/// count below it. An error ends the tries.
pub fn first_pass<E>(
    tries: usize,
    mut attempt: impl FnMut(usize) -> Result<Trial, E>,
) -> Result<bool, E> {
    for k in 1..=tries.max(1) {
        if attempt(k)?.passed() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// How to run a capacity trial.
#[derive(Debug, Clone, Copy)]
pub struct TrialSpec {
    /// Frames per call.
    pub call_frames: usize,
    /// One call's duration at the audio rate: the schedule and the deadline.
    pub period: Duration,
    /// Periods to run (fewer if `stop_at_failure` and one fails).
    pub periods: usize,
    /// Calls each engine makes back to back before the trial (then it is `reset()`), so
    /// that first-touch page faults and cold caches are not counted.
    pub warmup_calls: usize,
    /// End the trial at the first failed period.
    pub stop_at_failure: bool,
}

/// What a capacity trial saw.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Trial {
    /// Engines called per period.
    pub engines: usize,
    /// Periods run.
    pub periods: usize,
    /// The slowest period's calls together, as a percentage of the period.
    pub worst_load_pct: f64,
    /// Periods whose calls together took longer than the period.
    pub over_deadline: usize,
    /// Tail periods whose worker had not finished when due, over all engines.
    pub late_periods: u64,
    /// Tail periods missing from the output, over all engines.
    pub dropped_periods: u64,
}

impl Trial {
    /// No period over its deadline and no late or dropped tail period.
    pub fn passed(&self) -> bool {
        self.over_deadline == 0 && self.late_periods == 0 && self.dropped_periods == 0
    }
}

fn late_and_dropped(stats: &[Arc<TailStats>]) -> (u64, u64) {
    stats.iter().fold((0, 0), |(l, d), s| {
        (
            l + s.late.load(Ordering::Relaxed),
            d + s.dropped.load(Ordering::Relaxed),
        )
    })
}

/// Call every engine once per period, one after the other, on a fixed schedule of one
/// `spec.period` per period (sleeping in between), over the interleaved `input` of
/// `channels` channels (used cyclically in whole calls; every engine gets the same call),
/// and time each period's calls together. Late and dropped tail periods are counted from
/// the engines' [`TailStats`] after warm-up.
///
/// All engines must take `channels` input channels; their outputs are discarded.
pub fn paced_trial(
    engines: &mut [Engine],
    input: &[f32],
    channels: usize,
    spec: TrialSpec,
    progress: &mut dyn FnMut(f64),
) -> Result<Trial, ProcessError> {
    let call = spec.call_frames.max(1);
    let input_calls = input.len() / channels.max(1) / call;
    let periods = if input_calls == 0 { 0 } else { spec.periods };
    let chunk = |k: usize| {
        let k = k % input_calls.max(1);
        &input[k * call * channels..(k + 1) * call * channels]
    };
    let max_out = engines
        .iter()
        .map(|e| e.output_channels())
        .max()
        .unwrap_or(1);
    let mut out = vec![0.0f32; call * max_out];
    for e in engines.iter_mut() {
        let oc = e.output_channels();
        for k in 0..spec.warmup_calls.min(periods) {
            e.process_block(chunk(k), &mut out[..call * oc])?;
        }
        e.reset();
    }
    let stats: Vec<Arc<TailStats>> = engines.iter().map(|e| e.tail_stats()).collect();
    let base = late_and_dropped(&stats);
    let mut t = Trial {
        engines: engines.len(),
        ..Trial::default()
    };
    let period_ns = spec.period.as_nanos().max(1) as f64;
    let report_every = (periods / 100).max(1);
    let start = Instant::now();
    for k in 0..periods {
        sleep_until(start + spec.period.mul_f64(k as f64));
        let x = chunk(k);
        let t0 = Instant::now();
        for e in engines.iter_mut() {
            let oc = e.output_channels();
            e.process_block(black_box(x), &mut out[..call * oc])?;
        }
        let busy = t0.elapsed();
        black_box(&out);
        t.periods += 1;
        let load = 100.0 * busy.as_nanos() as f64 / period_ns;
        t.worst_load_pct = t.worst_load_pct.max(load);
        if busy > spec.period {
            t.over_deadline += 1;
        }
        let (late, dropped) = late_and_dropped(&stats);
        t.late_periods = late - base.0;
        t.dropped_periods = dropped - base.1;
        if spec.stop_at_failure && !t.passed() {
            break;
        }
        if (k + 1) % report_every == 0 {
            progress((k + 1) as f64 / periods as f64);
        }
    }
    Ok(t)
}

/// One trial of a capacity search: how long it was meant to run, and what it saw.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrialRun {
    /// The trial's length as asked for, in seconds (it stops at its first failed period).
    pub seconds: f64,
    /// Which try at this many engines and this length it was, from 1 (see [`first_pass`]).
    pub attempt: usize,
    #[serde(flatten)]
    pub trial: Trial,
}

/// The capacity of one (call size, plan, thread count), for `faltung bench --capacity`'s
/// JSON. Times in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacityReport {
    /// Frames per call.
    pub block_frames: usize,
    pub rate_hz: u32,
    /// Input channels of each engine.
    pub channels: usize,
    /// What was asked for: `auto`, `uniform`, `nonuniform` or `direct`.
    pub plan_request: String,
    /// What the planner chose (`Display` of the plan).
    pub plan: String,
    /// Worker threads asked for per engine (`--threads`).
    pub threads: usize,
    /// Worker threads each engine started (0 for plans with nothing beyond the first level).
    pub worker_threads: usize,
    /// Length of the confirming run, in seconds.
    pub seconds: f64,
    /// Length of the search's trials, in seconds (at most `seconds`).
    pub search_seconds: f64,
    /// One call's duration: the deadline of each period.
    pub deadline_us: f64,
    /// The most engines that ran `seconds` with no period over its deadline and no late or
    /// dropped tail period, in one of at most `tries` tries (0: not even one).
    pub capacity: usize,
    /// Tries at each count of engines and trial length before it counts as failed
    /// (`--tries`; see [`first_pass`]).
    pub tries: usize,
    /// What the search's shorter trials found, before the full-length confirmation (a
    /// longer run meets more of the machine's rare stalls, so it may confirm fewer).
    pub searched_capacity: usize,
    /// The most engines the search would build (`--max-engines`).
    pub max_engines: usize,
    /// The confirming run at `capacity` (`None` when it is 0).
    pub at_capacity: Option<Trial>,
    /// The failed run at `capacity + 1` (`None` when `capacity` is `max_engines`).
    pub above_capacity: Option<Trial>,
    /// Trials run, search and confirmation.
    pub trials: usize,
    /// Every trial, in the order run.
    pub runs: Vec<TrialRun>,
    /// `capacity` over the capacity of the same call size and plan with 0 threads, when
    /// both were measured and that one is not 0.
    pub ratio_to_single_thread: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{PlanRequest, Routing};

    /// Search over `n <= threshold`, counting the calls.
    fn search(threshold: usize, guess: usize, cap: usize) -> (Search, usize) {
        let mut calls = 0;
        let s = largest_passing::<()>(guess, cap, |n| {
            calls += 1;
            assert!((1..=cap).contains(&n), "tried {n} outside 1..={cap}");
            Ok(n <= threshold)
        })
        .unwrap();
        (s, calls)
    }

    #[test]
    fn finds_exactly_the_threshold_from_any_guess() {
        for cap in [1, 2, 3, 7, 64, 100, 1000] {
            for threshold in 0..=cap.min(130) {
                for guess in [0, 1, 5, cap / 2, cap, cap + 10] {
                    let (s, calls) = search(threshold, guess, cap);
                    assert_eq!(s.capacity, threshold, "cap {cap} guess {guess}");
                    assert_eq!(calls, s.trials.len());
                    // Its failure is the next n, unless the cap itself passed.
                    let fail = (threshold < cap).then_some(threshold + 1);
                    assert_eq!(s.first_failure, fail, "cap {cap} t {threshold} g {guess}");
                    // Every trial's outcome is the predicate's, and none is repeated.
                    for &(n, ok) in &s.trials {
                        assert_eq!(ok, n <= threshold);
                    }
                    let mut ns: Vec<usize> = s.trials.iter().map(|t| t.0).collect();
                    ns.sort_unstable();
                    ns.dedup();
                    assert_eq!(ns.len(), s.trials.len(), "{:?}", s.trials);
                }
            }
        }
    }

    #[test]
    fn zero_and_the_cap() {
        // Nothing passes: 1 fails, 0 is never tried.
        let (s, calls) = search(0, 1, 500);
        assert_eq!((s.capacity, s.first_failure, calls), (0, Some(1), 1));
        assert_eq!(s.trials, vec![(1, false)]);
        // Everything passes: the cap is tried and reported without a failure.
        let (s, _) = search(usize::MAX, 1, 500);
        assert_eq!((s.capacity, s.first_failure), (500, None));
        assert_eq!(s.trials.last(), Some(&(500, true)));
        // A cap of 0 tries nothing.
        let (s, calls) = search(10, 3, 0);
        assert_eq!((s.capacity, s.first_failure, calls), (0, None, 0));
    }

    #[test]
    fn counts_its_trials() {
        let (s, calls) = search(100, 1, 1000);
        let ns: Vec<usize> = s.trials.iter().map(|t| t.0).collect();
        // Gallop: 1 2 4 8 16 32 64 128; bisect (64, 128): 96 112 104 100 102 101.
        assert_eq!(
            ns,
            vec![1, 2, 4, 8, 16, 32, 64, 128, 96, 112, 104, 100, 102, 101]
        );
        assert_eq!(calls, 14);
        // A confirmation from the right guess costs two trials: it and the next.
        let (s, calls) = search(100, 100, 1000);
        assert_eq!(s.trials, vec![(100, true), (101, false)]);
        assert_eq!(calls, 2);
        // A guess one too high: down one step.
        let (s, _) = search(100, 101, 1000);
        assert_eq!(s.trials, vec![(101, false), (100, true)]);
        // Within 2 log2(n) + 2 from the bottom for every threshold up to 1000.
        for t in 1..=1000usize {
            let (_, calls) = search(t, 1, 1000);
            let bound = 2 * (usize::BITS - t.leading_zeros()) as usize + 2;
            assert!(calls <= bound, "threshold {t}: {calls} trials > {bound}");
        }
    }

    fn trial(over: usize) -> Trial {
        Trial {
            engines: 1,
            periods: 10,
            over_deadline: over,
            ..Trial::default()
        }
    }

    #[test]
    fn a_failure_is_tried_again_up_to_the_tries_and_a_pass_ends_them() {
        // Every try `first_pass` runs, with the trial it saw.
        fn tried(tries: usize, outcome: impl Fn(usize) -> Trial) -> (bool, Vec<(usize, Trial)>) {
            let mut runs = Vec::new();
            let ok = first_pass::<()>(tries, |k| {
                runs.push((k, outcome(k)));
                Ok(outcome(k))
            })
            .unwrap();
            (ok, runs)
        }
        // Fails once, then passes: two trials, passed.
        let outcomes = [1, 0, 0];
        let (ok, runs) = tried(3, |k| trial(outcomes[k - 1]));
        assert!(ok);
        assert_eq!(runs, vec![(1, trial(1)), (2, trial(0))]);
        // Fails every time: all tries run, not passed.
        let (ok, runs) = tried(3, |_| trial(2));
        assert!(!ok);
        assert_eq!(runs.len(), 3);
        // One try: a failure is final; 0 tries means 1.
        for tries in [0, 1] {
            let (ok, runs) = tried(tries, |_| trial(1));
            assert!(!ok);
            assert_eq!(runs.len(), 1);
        }
        // A late tail period fails a try as an overrun does.
        let late = Trial {
            late_periods: 1,
            ..trial(0)
        };
        let (ok, runs) = tried(2, |k| if k == 1 { late } else { trial(0) });
        assert!(ok);
        assert_eq!(runs.len(), 2);
        // An error ends the tries.
        assert_eq!(
            first_pass(5, |k| if k < 2 { Ok(trial(1)) } else { Err(k) }),
            Err(2)
        );
    }

    #[test]
    fn an_error_ends_the_search() {
        let r = largest_passing(1, 100, |n| if n < 8 { Ok(true) } else { Err(n) });
        assert_eq!(r, Err(8));
    }

    #[test]
    fn a_trial_of_small_engines_runs_every_period_without_late_workers() {
        // A 64-tap kernel in 1024-frame calls (21 ms at 48 kHz) costs microseconds: no
        // period can come near its deadline but on a machine stopped for 21 ms.
        let irs = vec![vec![0.5f32; 64]];
        let routing = Routing::auto(2, 1).unwrap();
        let mut engines: Vec<Engine> = (0..3)
            .map(|_| Engine::new(&irs, routing.clone(), PlanRequest::realtime(0, 2, 2, 1024)))
            .collect::<Result<_, _>>()
            .unwrap();
        let input = crate::bench::noise(2 * 4096, 0.5, 3);
        let spec = TrialSpec {
            call_frames: 1024,
            period: Duration::from_secs_f64(1024.0 / 48_000.0),
            periods: 10,
            warmup_calls: 2,
            stop_at_failure: true,
        };
        let mut seen = Vec::new();
        let t = paced_trial(&mut engines, &input, 2, spec, &mut |f| seen.push(f)).unwrap();
        assert_eq!(t.engines, 3);
        assert_eq!(t.periods, 10);
        assert_eq!((t.late_periods, t.dropped_periods), (0, 0));
        assert!(t.worst_load_pct > 0.0);
        assert_eq!(seen.last(), Some(&1.0));
    }
}
