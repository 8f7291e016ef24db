//! Worker threads for the tail: the levels beyond the first run on worker threads, and the
//! output is the single-thread engine's, bit for bit; a stalled worker is counted and does
//! not corrupt the output.

mod common;
use common::{decaying_ir, noise};
use std::time::Duration;

use faltung::engine::{
    BlockProcessor, Engine, PlanRequest, Routing, Scheme, SchemeChoice, Variant, WorkerStall,
};

const IR_LEN: usize = 12_000;

/// [`a_shorter_levels_period_runs_between_the_tasks_of_a_longer_one`]: the sleep after
/// each task of a longer level, and between calls.
const SLOW_TASK: Duration = Duration::from_micros(500);
const CALL_PAUSE: Duration = Duration::from_micros(500);

fn irs() -> Vec<Vec<f32>> {
    (0..4).map(|s| decaying_ir(10 + s, IR_LEN)).collect()
}

/// Run `e` over `input` (stereo) in calls cycling through `calls`, back to back.
fn run(e: &mut Engine, input: &[f32], calls: &[usize]) -> Vec<f32> {
    run_pausing(e, input, calls, Duration::ZERO)
}

/// [`run`] with a sleep of `pause` after every call, as between a device's periods: the
/// calling thread gives up its core, so a worker gets to run even when every core is busy
/// (the tests of this file run in parallel on a 2-core CI machine).
fn run_pausing(e: &mut Engine, input: &[f32], calls: &[usize], pause: Duration) -> Vec<f32> {
    let frames = input.len() / 2;
    let mut out = vec![0.0f32; input.len()];
    let (mut done, mut i) = (0, 0);
    while done < frames {
        let n = calls[i % calls.len()].min(frames - done);
        e.process_block(
            &input[done * 2..(done + n) * 2],
            &mut out[done * 2..(done + n) * 2],
        )
        .expect("valid call");
        done += n;
        i += 1;
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    out
}

fn first_difference(a: &[f32], b: &[f32]) -> Option<(usize, f32, f32)> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x.to_bits() != y.to_bits())
        .map(|i| (i, a[i], b[i]))
}

/// The engine's late and dropped tail periods so far.
fn late_and_dropped(e: &Engine) -> (u64, u64) {
    let stats = e.tail_stats();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    (load(&stats.late), load(&stats.dropped))
}

/// Periods of the levels beyond the first whose result fell due within `frames`.
fn tail_periods_due(e: &Engine, frames: usize) -> usize {
    e.plan().levels[1..]
        .iter()
        .map(|l| (frames / l.size).saturating_sub(1))
        .sum()
}

fn request(call: usize, max_call: usize, choice: SchemeChoice, variant: Variant) -> PlanRequest {
    PlanRequest {
        max_call_frames: max_call,
        choice,
        variant,
        ..PlanRequest::realtime(0, 2, 4, call)
    }
}

#[test]
fn worker_threads_are_bit_identical_to_one_thread_for_every_plan_and_call_size() {
    let irs = irs();
    let input = noise(3, 2 * 2 * IR_LEN);
    let mut cases: Vec<(String, PlanRequest, Vec<usize>)> = Vec::new();
    for call in [16, 32, 64, 128, 256, 1024] {
        for variant in [Variant::OverlapSave, Variant::OverlapAdd] {
            for (name, choice) in [
                ("auto", SchemeChoice::Auto),
                ("non-uniform", SchemeChoice::NonUniform),
                ("uniform", SchemeChoice::Uniform(None)),
            ] {
                cases.push((
                    format!("{name} {variant:?} at {call} frames"),
                    request(call, call, choice, variant),
                    vec![call],
                ));
            }
        }
    }
    cases.push((
        "direct".into(),
        request(64, 64, SchemeChoice::Direct, Variant::OverlapSave),
        vec![64],
    ));
    cases.push((
        "zero-latency partial blocks (odd call sizes)".into(),
        request(64, 256, SchemeChoice::NonUniform, Variant::OverlapSave),
        vec![37, 1, 64, 200, 63, 256, 5, 129],
    ));
    cases.push((
        "offline plan, odd call sizes".into(),
        PlanRequest {
            choice: SchemeChoice::NonUniform,
            ..PlanRequest::offline(0, 2, 4)
        },
        vec![1000, 17, 4096, 333, 1],
    ));
    let mut threaded_plans = 0;
    for (name, req, calls) in cases {
        let mut one = Engine::new(&irs, Routing::true_stereo(), req.clone()).expect("engine");
        let want = run(&mut one, &input, &calls);
        // Two threads share the levels out; one thread runs them all in turn.
        let thread_counts: &[usize] = if name.contains("OverlapAdd") {
            &[2]
        } else {
            &[1, 2]
        };
        for &threads in thread_counts {
            // Every level beyond the first on the workers (the default keeps short ones on
            // the calling thread; tested below).
            let mut e = Engine::new(&irs, Routing::true_stereo(), req.clone())
                .and_then(|e| e.with_tail_workers(threads, 0))
                .expect("engine with workers");
            let tail_levels = e.plan().levels.len().saturating_sub(1);
            if e.plan().scheme == Scheme::NonUniform {
                assert!(e.worker_threads() >= 1, "{name}: {}", e.plan());
                assert!(e.worker_threads() <= threads.min(tail_levels));
                threaded_plans += 1;
            } else {
                assert_eq!(e.worker_threads(), 0, "{name}: {}", e.plan());
            }
            // Bits are compared: a worker descheduled on a loaded machine is waited for
            // here (the bounded spin is tested below).
            e.set_unbounded_worker_wait(true);
            let got = run(&mut e, &input, &calls);
            assert_eq!(
                first_difference(&got, &want),
                None,
                "{name}, {threads} thread(s), {}",
                e.plan()
            );
            // And again after a reset.
            e.reset();
            let again = run(&mut e, &input, &calls);
            assert_eq!(first_difference(&again, &want), None, "{name} after reset");
        }
    }
    assert!(
        threaded_plans >= 15,
        "only {threaded_plans} threaded plans ran"
    );
}

#[test]
fn by_default_only_levels_of_long_partitions_go_to_workers_and_the_bits_stay() {
    // A long IR's plan at 64-frame calls: 64, 256, 1024, 8192 (as the planner's constants
    // stand). The 256-frame level's result is due within 3 calls and stays on the calling
    // thread; the long levels go to workers.
    let ir = decaying_ir(7, 80_000);
    let irs = vec![ir.clone(), ir.clone(), ir.clone(), ir];
    let input = noise(8, 2 * 90_000);
    let req = request(64, 64, SchemeChoice::NonUniform, Variant::OverlapSave);
    let mut one = Engine::new(&irs, Routing::true_stereo(), req.clone()).unwrap();
    let want = run(&mut one, &input, &[64]);
    let sizes: Vec<usize> = one.plan().levels.iter().map(|l| l.size).collect();
    let long = sizes[1..]
        .iter()
        .filter(|&&s| s >= faltung::engine::MIN_WORKER_PARTITION)
        .count();
    assert!(
        sizes[1] < faltung::engine::MIN_WORKER_PARTITION && long >= 2,
        "the plan should have a short second level and long ones: {sizes:?}"
    );
    for threads in [1, 2, 8] {
        let mut e = Engine::new(&irs, Routing::true_stereo(), req.clone())
            .and_then(|e| e.with_worker_threads(threads))
            .unwrap();
        assert_eq!(e.worker_threads(), threads.min(long), "{sizes:?}");
        e.set_unbounded_worker_wait(true);
        let got = run(&mut e, &input, &[64]);
        assert_eq!(first_difference(&got, &want), None, "{threads} thread(s)");
    }
    // All levels short: no thread at all.
    let short = vec![decaying_ir(9, 900); 4];
    let e = Engine::new(&short, Routing::true_stereo(), req)
        .and_then(|e| e.with_worker_threads(2))
        .unwrap();
    assert!(e.plan().levels.len() >= 2, "{}", e.plan());
    assert_eq!(e.worker_threads(), 0, "{}", e.plan());
}

/// Runs `input` through a true-stereo non-uniform plan at 64-frame calls with `threads`
/// tail workers set up by `stall`, and checks that every tail period due was counted late,
/// none dropped, and the output equals the single-thread engine's bit for bit.
fn assert_every_period_late_and_output_exact(
    input: &[f32],
    threads: usize,
    stall: impl FnOnce(&mut Engine),
) {
    let irs = irs();
    let req = request(64, 64, SchemeChoice::NonUniform, Variant::OverlapSave);
    let mut one = Engine::new(&irs, Routing::true_stereo(), req.clone()).unwrap();
    let want = run(&mut one, input, &[64]);
    let mut e = Engine::new(&irs, Routing::true_stereo(), req)
        .unwrap()
        .with_tail_workers(threads, 0)
        .unwrap();
    assert!(e.plan().levels.len() >= 2, "{}", e.plan());
    stall(&mut e);
    let got = run(&mut e, input, &[64]);
    let (late, dropped) = late_and_dropped(&e);
    let periods = tail_periods_due(&e, input.len() / 2);
    assert!(late as usize >= periods, "late {late}, periods {periods}");
    assert_eq!(dropped, 0);
    assert_eq!(first_difference(&got, &want), None, "{}", e.plan());
}

#[test]
fn a_stalled_worker_is_overtaken_counted_and_the_output_stays_exact() {
    // Workers that never claim: every period of every tail level is due with its worker
    // idle, and the audio thread runs it itself.
    let input = noise(5, 2 * 3 * IR_LEN);
    assert_every_period_late_and_output_exact(&input, 2, |e| e.stall_workers(WorkerStall::Idle));
}

/// Engines built with one shared counter (as a live session builds the engines it swaps
/// between) count their late periods there, together.
#[test]
fn engines_sharing_a_counter_count_their_stalled_workers_together() {
    let irs = irs();
    let input = noise(7, 2 * 3 * IR_LEN);
    let req = request(64, 64, SchemeChoice::NonUniform, Variant::OverlapSave);
    let shared = std::sync::Arc::new(faltung::engine::TailStats::default());
    let mut due = 0;
    for _ in 0..2 {
        let mut e = Engine::new(&irs, Routing::true_stereo(), req.clone())
            .and_then(|e| e.with_worker_threads_counted(1, &shared))
            .unwrap();
        assert_eq!(e.worker_threads(), 1, "{}", e.plan());
        assert!(std::sync::Arc::ptr_eq(&e.tail_stats(), &shared));
        e.stall_workers(WorkerStall::Idle);
        run(&mut e, &input, &[64]);
        due += e.plan().levels[1..]
            .iter()
            .filter(|l| l.size >= faltung::engine::MIN_WORKER_PARTITION)
            .map(|l| (input.len() / 2 / l.size).saturating_sub(1))
            .sum::<usize>();
    }
    let late = shared.late.load(std::sync::atomic::Ordering::Relaxed) as usize;
    assert!(due > 0 && late >= due, "late {late}, periods due {due}");
}

#[test]
fn a_worker_waited_for_is_counted_late_and_the_output_stays_exact() {
    // Every claimed period sleeps 2 ms first, and the calls come back to back: each period
    // is either overtaken or waited for (without bound here), and each counts as late.
    let input = noise(11, 2 * 2 * IR_LEN);
    assert_every_period_late_and_output_exact(&input, 1, |e| {
        e.set_unbounded_worker_wait(true);
        e.stall_workers(WorkerStall::Running(Duration::from_millis(2)));
    });
}

#[test]
fn a_worker_stuck_in_a_period_is_dropped_and_counted_not_waited_for() {
    let irs = irs();
    let input = noise(6, 2 * 2 * IR_LEN);
    let req = request(64, 64, SchemeChoice::NonUniform, Variant::OverlapSave);
    let mut e = Engine::new(&irs, Routing::true_stereo(), req)
        .unwrap()
        .with_tail_workers(1, 0)
        .unwrap();
    e.stall_workers(WorkerStall::Running(Duration::from_millis(20)));
    // Paced, so that the worker claims periods at all: back to back, with the other tests
    // keeping both cores busy, the whole run once went by before the worker was scheduled,
    // and every period was overtaken (late 115, dropped 0).
    let got = run_pausing(&mut e, &input, &[64], Duration::from_micros(200));
    let (late, dropped) = late_and_dropped(&e);
    assert!(dropped > 0 && late > 0, "late {late}, dropped {dropped}");
    // Missing periods leave out part of the tail; the rest is still the convolution:
    // finite and bounded by the sum of |h| (inputs are within [-1, 1]).
    let bound: f32 = irs
        .iter()
        .map(|h| h.iter().map(|v| v.abs()).sum::<f32>())
        .sum();
    assert!(got.iter().all(|v| v.is_finite() && v.abs() <= bound));
    // Back to normal: the engine keeps running and counts nothing new once reset.
    e.stall_workers(WorkerStall::None);
    e.reset();
    e.set_unbounded_worker_wait(true);
    let mut one = Engine::new(
        &irs,
        Routing::true_stereo(),
        request(64, 64, SchemeChoice::NonUniform, Variant::OverlapSave),
    )
    .unwrap();
    let want = run(&mut one, &input, &[64]);
    let again = run(&mut e, &input, &[64]);
    assert_eq!(first_difference(&again, &want), None);
}

#[test]
fn a_shorter_levels_period_runs_between_the_tasks_of_a_longer_one() {
    // One worker runs every level beyond the first. Its longer levels sleep after each
    // task (a stand-in for many engines' long levels sharing the CPU), so one of their
    // periods lasts several periods of the worker's shortest level. Between their tasks
    // the worker runs that level's periods as they come ready: they stay on time, where
    // waiting behind the long period would make most of them late.
    let irs = irs();
    let input = noise(13, 2 * 2 * IR_LEN);
    let req = request(64, 64, SchemeChoice::NonUniform, Variant::OverlapSave);
    let mut one = Engine::new(&irs, Routing::true_stereo(), req.clone()).unwrap();
    let want = run(&mut one, &input, &[64]);
    let mut e = Engine::new(&irs, Routing::true_stereo(), req)
        .unwrap()
        .with_tail_workers(1, 0)
        .unwrap();
    assert_eq!(e.worker_threads(), 1, "{}", e.plan());
    let sizes: Vec<usize> = e.plan().levels.iter().map(|l| l.size).collect();
    assert!(
        sizes.len() >= 3,
        "two tail levels on the one worker: {sizes:?}"
    );
    e.set_unbounded_worker_wait(true);
    e.stall_workers(WorkerStall::SlowLongLevels(SLOW_TASK));
    let got = run_pausing(&mut e, &input, &[64], CALL_PAUSE);
    assert_eq!(first_difference(&got, &want), None);
    // The slowed levels' own periods may be late (at 500 us a task they are, each one);
    // of the shortest level's, the few a loaded machine makes late. Without the periods
    // run between tasks: 89 late here, 22 of them the slowed level's; with them: 22.
    let due = |size: usize| (input.len() / 2 / size).saturating_sub(1) as u64;
    let short_due = due(sizes[1]);
    let slowed_due: u64 = sizes[2..].iter().map(|&s| due(s)).sum();
    let (late, dropped) = late_and_dropped(&e);
    assert!(
        late <= slowed_due + short_due / 4,
        "late {late}, dropped {dropped}: {short_due} periods of the shortest tail level \
         due, {slowed_due} of the slowed ones ({sizes:?})"
    );
}

/// The priorities the workers of [`workers_follow_the_priority_requested_at_any_time`]
/// applied on themselves, with the applying thread's name.
static APPLIED: std::sync::Mutex<Vec<(String, i32, usize)>> = std::sync::Mutex::new(Vec::new());

fn record_priority(priority: i32, rank: usize) -> bool {
    let name = std::thread::current().name().unwrap_or("").to_string();
    APPLIED.lock().unwrap().push((name, priority, rank));
    true
}

/// Wait (at most 5 s) until `priority` reports `want` workers at its request.
fn wait_granted(priority: &faltung::engine::WorkerPriority, want: u64) -> (u64, u64) {
    let start = std::time::Instant::now();
    while priority.outcome().0 < want && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(1));
    }
    priority.outcome()
}

#[test]
fn workers_follow_the_priority_requested_at_any_time() {
    // A live session learns the callbacks' priority after its engine is built, and builds
    // more engines later: every worker applies the request on itself, now and when it
    // changes, and the output stays the single-thread engine's.
    let irs = irs();
    let input = noise(5, 2 * 30_000);
    let req = request(64, 64, SchemeChoice::NonUniform, Variant::OverlapSave);
    let mut one = Engine::new(&irs, Routing::true_stereo(), req.clone()).unwrap();
    let want = run(&mut one, &input, &[64]);
    let priority = std::sync::Arc::new(faltung::engine::WorkerPriority::new(record_priority));
    let build = || {
        Engine::new(&irs, Routing::true_stereo(), req.clone())
            .map(|e| e.with_worker_priority(&priority))
            .and_then(|e| e.with_tail_workers(2, 0))
            .unwrap()
    };
    let mut e = build();
    let threads = e.worker_threads() as u64;
    assert_eq!(threads, 2, "{}", e.plan());
    // Normal scheduling until asked: each worker applies it once as it starts.
    assert_eq!(wait_granted(&priority, threads), (threads, 0));
    priority.request(7);
    assert_eq!(wait_granted(&priority, threads), (threads, 0));
    let second = build();
    assert_eq!(wait_granted(&priority, 2 * threads), (2 * threads, 0));
    e.set_unbounded_worker_wait(true);
    let got = run(&mut e, &input, &[64]);
    assert_eq!(first_difference(&got, &want), None);
    drop(second);
    let applied = APPLIED.lock().unwrap().clone();
    assert!(
        applied
            .iter()
            .all(|(n, _, _)| n.starts_with("faltung-tail-")),
        "applied on a thread other than a worker: {applied:?}"
    );
    // Each worker applies it with its rank, the worker of the shortest tail level rank 0:
    // each rank twice in the first engine (as it started, then 7), once in the second.
    for rank in 0..threads as usize {
        let of_rank = applied.iter().filter(|(_, _, r)| *r == rank);
        assert!(
            of_rank.clone().count() == 3
                && of_rank
                    .clone()
                    .all(|(n, _, _)| *n == format!("faltung-tail-{rank}")),
            "{applied:?}"
        );
    }
    let at = |p: i32| applied.iter().filter(|(_, q, _)| *q == p).count() as u64;
    assert_eq!((at(0), at(7)), (threads, 2 * threads), "{applied:?}");
    assert_eq!(e.worker_priority().requested(), 7);
}
