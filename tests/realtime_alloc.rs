//! Real-time safety: the audio path never allocates.
//!
//! A counting global allocator counts allocations, reallocations and frees made by the
//! current thread while it is armed. The engine's `process_block` (every plan kind), the
//! crossfade wrapper in the middle of a swap, and the live pipeline's callback bodies (also
//! as one JACK process callback) and processing step (run here without devices) must all
//! count zero.

mod common;
use common::noise;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use faltung::engine::crossfade::Crossfade;
use faltung::engine::{BlockProcessor, Engine, PlanRequest, Routing, Scheme, SchemeChoice};

struct Counting;

thread_local! {
    // Const-initialised and without destructors: safe to touch from the allocator.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static EVENTS: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: never touch a thread-local that is being torn down.
    if ARMED.try_with(|a| a.get()).unwrap_or(false) {
        let _ = EVENTS.try_with(|e| e.set(e.get() + 1));
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap events (alloc, realloc, free) made by this thread while running `f`. Tests run in
/// parallel threads; only this thread's events are counted.
fn heap_events<R>(f: impl FnOnce() -> R) -> (usize, R) {
    EVENTS.with(|e| e.set(0));
    ARMED.with(|a| a.set(true));
    let r = f();
    ARMED.with(|a| a.set(false));
    (EVENTS.with(|e| e.get()), r)
}

fn decaying_ir(seed: u64, len: usize) -> Vec<f32> {
    noise(seed, len)
        .iter()
        .enumerate()
        .map(|(i, v)| v * (-(i as f32) / (len as f32 / 4.0)).exp() * 0.1)
        .collect()
}

/// Run `engine` over `calls` (frame counts per call) and count heap events.
fn count_engine(engine: &mut dyn BlockProcessor, calls: &[usize]) -> usize {
    let ic = engine.input_channels();
    let oc = engine.output_channels();
    let max = engine.max_call_frames();
    let input = noise(9, max * ic);
    let mut output = vec![0.0f32; max * oc];
    let (events, ()) = heap_events(|| {
        for &n in calls {
            engine
                .process_block(&input[..n * ic], &mut output[..n * oc])
                .expect("valid call");
        }
    });
    events
}

fn request(ir_len: usize, call: usize, max_call: usize, choice: SchemeChoice) -> PlanRequest {
    PlanRequest {
        max_call_frames: max_call,
        choice,
        ..PlanRequest::realtime(ir_len, 1, 1, call)
    }
}

#[test]
fn the_counter_sees_allocations_and_frees() {
    let (events, v) = heap_events(|| vec![1u8; 100]);
    assert_eq!(events, 1);
    let (events, ()) = heap_events(move || drop(v));
    assert_eq!(events, 1);
}

#[test]
fn process_block_does_not_allocate_for_any_plan() {
    let cases: Vec<(&str, usize, PlanRequest, Vec<usize>)> = vec![
        (
            "direct",
            24,
            request(24, 64, 64, SchemeChoice::Direct),
            vec![64; 40],
        ),
        (
            "uniform",
            3000,
            request(3000, 128, 128, SchemeChoice::Uniform(Some(128))),
            vec![128; 80],
        ),
        (
            "non-uniform",
            40_000,
            request(40_000, 64, 64, SchemeChoice::NonUniform),
            vec![64; 1500],
        ),
        (
            "zero-latency partial blocks (odd call sizes)",
            2000,
            request(2000, 64, 256, SchemeChoice::Auto),
            [37, 1, 64, 200, 63, 256, 5, 129].repeat(30),
        ),
        (
            "offline plan, odd call sizes",
            5000,
            PlanRequest::offline(5000, 1, 1),
            [1000, 17, 4096, 333, 1].repeat(8),
        ),
    ];
    for (name, ir_len, req, calls) in cases {
        let ir = decaying_ir(1, ir_len);
        // Stereo in, true-stereo routing: every path kind at once.
        let irs = vec![ir.clone(), ir.clone(), ir.clone(), ir];
        let mut e = Engine::new(&irs, Routing::true_stereo(), req).expect("engine");
        let want = match name {
            "direct" => Some(Scheme::Direct),
            "uniform" => Some(Scheme::Uniform),
            "non-uniform" => Some(Scheme::NonUniform),
            _ => None,
        };
        if let Some(want) = want {
            assert_eq!(e.plan().scheme, want, "{name}: got {}", e.plan());
        }
        let events = count_engine(&mut e, &calls);
        assert_eq!(events, 0, "{name} ({}) allocated {events} times", e.plan());
    }
}

#[test]
fn process_block_with_worker_threads_does_not_allocate() {
    let ir = decaying_ir(2, 40_000);
    let irs = vec![ir.clone(), ir.clone(), ir.clone(), ir];
    for (threads, calls) in [
        (1, vec![64; 1500]),
        (2, [37, 1, 64, 200, 63, 256, 5, 129].repeat(60)),
    ] {
        let req = request(40_000, 64, 256, SchemeChoice::NonUniform);
        let mut e = Engine::new(&irs, Routing::true_stereo(), req)
            .and_then(|e| e.with_worker_threads(threads))
            .expect("engine");
        assert!(e.worker_threads() >= 1, "{}", e.plan());
        let events = count_engine(&mut e, &calls);
        assert_eq!(
            events,
            0,
            "{threads} worker thread(s) ({}) allocated {events} times",
            e.plan()
        );
    }
    // A stalled worker: the audio thread runs the periods itself, still without allocating.
    let req = request(40_000, 64, 64, SchemeChoice::NonUniform);
    let mut e = Engine::new(&irs, Routing::true_stereo(), req)
        .and_then(|e| e.with_worker_threads(1))
        .expect("engine");
    e.stall_workers(faltung::engine::WorkerStall::Idle);
    let events = count_engine(&mut e, &[64; 1500]);
    assert!(
        e.tail_stats()
            .late
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    assert_eq!(
        events, 0,
        "overtaking a stalled worker allocated {events} times"
    );
}

#[test]
fn crossfade_does_not_allocate_during_a_swap() {
    let block = 128;
    let make = |seed| {
        let ir = decaying_ir(seed, 4000);
        Box::new(Engine::realtime(&[ir.clone(), ir], Routing::mono_to_stereo(), block).unwrap())
    };
    let mut xf = Crossfade::new(make(1), 2400).unwrap();
    let next = make(2);
    let input = noise(3, block);
    let mut output = vec![0.0f32; block * 2];
    let (events, retired) = heap_events(|| {
        for _ in 0..4 {
            xf.process_block(&input, &mut output).unwrap();
        }
        assert!(xf.begin(next).is_ok());
        // 2400 frames of fade = 18.75 calls: the fade ends inside a call.
        for _ in 0..30 {
            xf.process_block(&input, &mut output).unwrap();
        }
        xf.take_retired()
    });
    assert!(retired.is_some(), "the swap completed");
    assert_eq!(events, 0, "crossfade allocated {events} times");
}

#[cfg(feature = "audio-io")]
mod pipeline {
    use super::*;
    use faltung::live::pipeline::{
        Command, InputPort, OutputPort, Processor, ProcessorConfig, Wired,
    };
    use ringbuf::traits::{Consumer, Observer, Producer, Split};
    use ringbuf::HeapRb;
    use std::sync::atomic::Ordering;

    #[test]
    fn callbacks_and_processing_step_do_not_allocate() {
        let period = 256;
        let rate = 48_000u32;
        let period_ns = period as u64 * 1_000_000_000 / rate as u64;
        let ir = decaying_ir(4, 6000);
        let make = |ir: &[f32]| {
            Box::new(
                Engine::realtime(
                    &[ir.to_vec(), ir.to_vec()],
                    Routing::mono_to_stereo(),
                    period,
                )
                .unwrap(),
            )
        };
        let (rec_prod, mut rec_cons) = HeapRb::<f32>::new(period * 64 * 2).split();
        let cfg = ProcessorConfig {
            block_frames: period,
            max_block_frames: period,
            device_output_channels: 2,
            rate_hz: rate,
            gain: 0.5,
            wet: 0.8,
            fade_frames: 2400,
        };
        let wake = Some(std::thread::current());
        let w = Wired::new(make(&ir), 1, period * 16, cfg, Some(rec_prod), wake).unwrap();
        let (mut input, mut processor, mut output) = (w.input, w.processor, w.output);
        let (mut cmd_prod, mut ret_cons, shared) = (w.commands, w.retired, w.shared);
        let mic = noise(5, period);
        let mut speaker = vec![0.0f32; period * 2];
        // Commands, including a whole new engine, are queued before arming: building and
        // sending them is the loader thread's job.
        assert!(cmd_prod.try_push(Command::Wet(0.5)).is_ok());
        assert!(cmd_prod
            .try_push(Command::Swap(make(&decaying_ir(6, 3000)), 1))
            .is_ok());
        let mut recorded = 0;
        let (events, ()) = heap_events(|| {
            for cycle in 0..60u64 {
                let t = 1_000_000 + cycle * period_ns;
                input.push(&mic, t);
                processor.step();
                output.fill(&mut speaker, t);
                if cycle == 30 {
                    let _ = cmd_prod.try_push(Command::Bypass(true));
                }
                // Drain the record ring as the writer thread would (without its I/O).
                recorded += rec_cons.skip(rec_cons.occupied_len());
            }
        });
        assert_eq!(events, 0, "audio path allocated {events} times");
        // The run did what it claims: the swap finished, audio flowed, nothing underran.
        assert!(
            ret_cons.try_pop().is_some(),
            "old engine handed back after the swap"
        );
        assert_eq!(shared.swaps_done.load(Ordering::Relaxed), 1);
        assert_eq!(shared.underruns.load(Ordering::Relaxed), 0);
        assert_eq!(shared.overruns.load(Ordering::Relaxed), 0);
        assert_eq!(recorded, 60 * period * 2);
        assert!(output.started());
    }

    /// Both bodies in one callback, as faltung's own JACK client runs them ([`Duplex`]):
    /// interleaving the host's channel buffers in and out allocates nothing either,
    /// including a cycle too long for its buffers.
    #[test]
    fn duplex_cycles_do_not_allocate() {
        use faltung::live::pipeline::Duplex;
        let period = 256;
        let rate = 48_000u32;
        let period_ns = period as u64 * 1_000_000_000 / rate as u64;
        let engine = Box::new(
            Engine::realtime(&[decaying_ir(4, 3000)], Routing::mono_ir(2), period).unwrap(),
        );
        let cfg = ProcessorConfig {
            block_frames: period,
            max_block_frames: period,
            device_output_channels: 2,
            rate_hz: rate,
            gain: 1.0,
            wet: 1.0,
            fade_frames: 64,
        };
        let w = Wired::new(engine, 2, period * 16, cfg, None, None).unwrap();
        let (mut processor, shared) = (w.processor, w.shared);
        let mut duplex = Duplex::new(w.input, w.output, 2, 2, 2 * period);
        let mic = [noise(5, 4 * period), noise(6, 4 * period)];
        let mut speakers = [vec![0.0f32; 4 * period], vec![0.0f32; 4 * period]];
        let mut loudest = 0.0f32;
        let (events, ()) = heap_events(|| {
            for cycle in 0..40u64 {
                // One cycle longer than the buffers, the rest one period.
                let frames = if cycle == 30 { 4 * period } else { period };
                duplex.begin(frames);
                for (c, m) in mic.iter().enumerate() {
                    duplex.put_input(c, &m[..frames]);
                }
                duplex.exchange(1_000_000 + cycle * period_ns);
                processor.step();
                for (c, s) in speakers.iter_mut().enumerate() {
                    duplex.take_output(c, &mut s[..frames]);
                    loudest = s[..frames].iter().fold(loudest, |m, v| m.max(v.abs()));
                }
            }
        });
        assert_eq!(events, 0, "audio path allocated {events} times");
        // Audio flowed; the one cycle that did not fit is the one underrun.
        assert!(loudest > 0.0);
        assert_eq!(shared.underruns.load(Ordering::Relaxed), 1);
    }

    /// `faltung measure`'s step (play a signal, record the input) between the same two
    /// callback bodies: no allocation, every input frame recorded, the signal played.
    #[test]
    fn play_and_record_step_does_not_allocate() {
        use faltung::live::pipeline::{PlayRecord, Shared, Step};
        use std::sync::Arc;
        let period = 256;
        let rate = 48_000u32;
        let period_ns = period as u64 * 1_000_000_000 / rate as u64;
        let (in_prod, in_cons) = HeapRb::<f32>::new(period * 16).split();
        let (out_prod, out_cons) = HeapRb::<f32>::new(period * 16 * 2).split();
        let (rec_prod, rec_cons) = HeapRb::<f32>::new(period * 40).split();
        let shared = Arc::new(Shared::default());
        let signal: Vec<f32> = noise(9, period * 50);
        let mut step = PlayRecord::new(
            in_cons,
            out_prod,
            rec_prod,
            signal,
            shared.clone(),
            1,
            2,
            period * 40,
            period,
        );
        let mut input = InputPort::new(in_prod, 1, shared.clone(), Some(std::thread::current()));
        let mut output = OutputPort::new(out_cons, 2, shared.clone(), rate, period);
        let mic = noise(5, period);
        let mut speaker = vec![0.0f32; period * 2];
        let mut loudest = 0.0f32;
        let (events, ()) = heap_events(|| {
            for cycle in 0..60u64 {
                let t = 1_000_000 + cycle * period_ns;
                input.push(&mic, t);
                step.step();
                output.fill(&mut speaker, t);
                loudest = speaker.iter().fold(loudest, |m, v| m.max(v.abs()));
            }
        });
        assert_eq!(events, 0, "play-and-record step allocated {events} times");
        assert_eq!(
            rec_cons.occupied_len(),
            period * 40,
            "record_frames recorded"
        );
        assert_eq!(shared.underruns.load(Ordering::Relaxed), 0);
        assert!(loudest > 0.5, "the signal was played ({loudest})");
    }

    /// The period changes mid-run (64 -> 256 -> 128 frames): the output follows the new
    /// callback size, the processing thread begins the swap to engines built for the new
    /// blocks at a callback boundary, crossfades with calls that fit both, and takes the new
    /// block. None of that allocates or frees on the audio path.
    #[test]
    fn following_a_changing_period_does_not_allocate() {
        let rate = 48_000u32;
        let ir = decaying_ir(7, 6000);
        let make = |block: usize| {
            Box::new(
                Engine::realtime(
                    &[ir.to_vec(), ir.to_vec()],
                    Routing::mono_to_stereo(),
                    block,
                )
                .unwrap(),
            )
        };
        let max_block = 8192;
        let cfg = ProcessorConfig {
            block_frames: 64,
            max_block_frames: max_block,
            device_output_channels: 2,
            rate_hz: rate,
            gain: 1.0,
            wet: 1.0,
            fade_frames: 1200,
        };
        let wake = Some(std::thread::current());
        let w = Wired::new(make(64), 1, max_block * 4, cfg, None, wake).unwrap();
        let (mut input, mut processor, mut output) = (w.input, w.processor, w.output);
        let (mut cmd_prod, mut ret_cons, shared) = (w.commands, w.retired, w.shared);
        let mic = noise(8, 256);
        let mut speaker = vec![0.0f32; 256 * 2];
        let mut t = 1_000_000u64;
        let mut cycle = |period: usize,
                         input: &mut InputPort,
                         processor: &mut Processor,
                         output: &mut OutputPort| {
            input.push(&mic[..period], t);
            processor.step();
            output.fill(&mut speaker[..period * 2], t);
            t += period as u64 * 1_000_000_000 / rate as u64;
        };
        // The engines for the new periods are built before arming (the loader's job).
        let mut for_256 = Some(Command::Swap(make(256), 0));
        let mut for_128 = Some(Command::Swap(make(128), 0));
        let mut blocks_seen = Vec::with_capacity(2);
        let (events, ()) = heap_events(|| {
            for _ in 0..40 {
                cycle(64, &mut input, &mut processor, &mut output);
            }
            for k in 0..40 {
                if k == 2 {
                    let _ = cmd_prod.try_push(for_256.take().unwrap());
                }
                cycle(256, &mut input, &mut processor, &mut output);
            }
            blocks_seen.push(processor.block_frames());
            let _ = ret_cons.try_pop().map(std::mem::forget);
            for k in 0..60 {
                if k == 2 {
                    let _ = cmd_prod.try_push(for_128.take().unwrap());
                }
                cycle(128, &mut input, &mut processor, &mut output);
            }
            blocks_seen.push(processor.block_frames());
        });
        assert_eq!(events, 0, "following the period allocated {events} times");
        assert_eq!(
            blocks_seen,
            [256, 128],
            "the new engines' blocks were taken"
        );
        assert_eq!(shared.swaps_done.load(Ordering::Relaxed), 2);
        assert_eq!(shared.period_changes.load(Ordering::Relaxed), 2);
        assert_eq!(shared.lag_frames.load(Ordering::Relaxed), 128);
        assert!(output.started());
    }
}
