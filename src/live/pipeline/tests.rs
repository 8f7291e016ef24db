//! The pipeline without devices: callbacks and processing driven by hand, cycle by cycle.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::*;
use crate::engine::{Engine, Routing};
use crate::rng::SplitMix64;
use ringbuf::traits::{Producer, Split};
use ringbuf::HeapRb;

const P: usize = 64;
const RATE: u32 = 48_000;

struct Rig {
    input: InputPort,
    processor: Processor,
    output: OutputPort,
    shared: Arc<Shared>,
    next_in: f32,
}

/// Input → identity engine (a one-tap IR) → output, so every output sample names the
/// input frame it came from (frames are numbered from 1; 0 is silence).
fn rig() -> Rig {
    let engine = Box::new(Engine::realtime(&[vec![1.0]], Routing::mono_ir(1), P).unwrap());
    let w = Wired::new(engine, 1, P * 32, config(P, P, 1), None, None).unwrap();
    Rig {
        input: w.input,
        processor: w.processor,
        output: w.output,
        shared: w.shared,
        next_in: 1.0,
    }
}

/// Mono, unity gain, fully wet, at [`RATE`].
fn config(block: usize, max_block: usize, fade_frames: usize) -> ProcessorConfig {
    ProcessorConfig {
        block_frames: block,
        max_block_frames: max_block,
        device_output_channels: 1,
        rate_hz: RATE,
        gain: 1.0,
        wet: 1.0,
        fade_frames,
    }
}

fn cycle_ns(k: u64) -> u64 {
    1_000_000_000 + k * P as u64 * 1_000_000_000 / RATE as u64
}

impl Rig {
    fn input_cycle(&mut self, ns: u64) {
        let data: Vec<f32> = (0..P).map(|i| self.next_in + i as f32).collect();
        self.next_in += P as f32;
        self.input.push(&data, ns);
        self.processor.step();
    }
    fn output_cycle(&mut self, ns: u64) -> Vec<f32> {
        let mut out = vec![0.0; P];
        self.output.fill(&mut out, ns);
        out
    }
}

/// The first output callback that plays (the start waits for agreeing clocks).
const FIRST: usize = START_CONFIRM_CALLBACKS as usize;

/// Output frame numbers must be the input frame numbers `P` (one period) earlier.
fn check_lag(played: &[Vec<f32>], from_cycle: usize) {
    for (k, buf) in played.iter().enumerate().skip(from_cycle) {
        for (i, &v) in buf.iter().enumerate() {
            let want = ((k - 1) * P + i + 1) as f32;
            assert_eq!(v, want, "cycle {k} frame {i}");
        }
    }
}

#[test]
fn latency_is_one_period_whichever_callback_runs_first() {
    for input_first in [true, false] {
        let mut r = rig();
        let mut played = Vec::new();
        for k in 0..40u64 {
            let t = cycle_ns(k);
            if input_first {
                r.input_cycle(t + 3_000);
                played.push(r.output_cycle(t + 9_000));
            } else {
                played.push(r.output_cycle(t + 2_000));
                r.input_cycle(t + 8_000);
            }
        }
        assert!(
            played[0].iter().all(|&v| v == 0.0),
            "silence before the first period"
        );
        check_lag(&played, FIRST);
        assert_eq!(r.shared.underruns.load(Ordering::Relaxed), 0);
    }
}

#[test]
fn a_callback_running_late_in_its_cycle_does_not_move_the_timeline() {
    let mut r = rig();
    let mut played = Vec::new();
    let period_ns = P as u64 * 1_000_000_000 / RATE as u64;
    for k in 0..40u64 {
        let t = cycle_ns(k);
        // Every 7th cycle the input callback starts 90 % of a period late.
        let late = if k % 7 == 3 { period_ns * 9 / 10 } else { 0 };
        r.input_cycle(t + late);
        played.push(r.output_cycle(t + 5_000));
    }
    check_lag(&played, FIRST);
    assert_eq!(r.shared.underruns.load(Ordering::Relaxed), 0);
    assert_eq!(r.shared.input_gaps.load(Ordering::Relaxed), 0);
}

/// JACK's dummy driver, when a cycle wakes more than a period late (an xrun: seen here
/// dozens of times a minute on a loaded 2-core VM, even with no client), runs the next
/// cycle at once: wall-clock spacing then says nothing about how many cycles passed.
/// Both callbacks still run once per cycle and no frame is lost, so the output must keep
/// exactly one period of lag, with no underrun and no gap.
#[test]
fn server_xruns_with_back_to_back_cycles_do_not_move_the_timeline() {
    let period_ns = P as u64 * 1_000_000_000 / RATE as u64;
    for seed in 1..=20u64 {
        let mut rng = SplitMix64::new(seed);
        let mut r = rig();
        let mut played = Vec::new();
        let mut t = cycle_ns(0);
        let mut back_to_back = false;
        for _ in 0..3000 {
            let step = if back_to_back {
                back_to_back = false;
                period_ns / 20
            } else if rng.next_u64() % 8 == 0 {
                // Late by one to three periods; the next cycle follows at once.
                back_to_back = true;
                period_ns * (2 + rng.next_u64() % 3)
            } else {
                period_ns
            };
            t += step;
            // Either client may run first, anywhere in the first third of its cycle.
            let a = t + rng.next_u64() % (period_ns / 3);
            let b = t + rng.next_u64() % (period_ns / 3);
            if rng.next_u64() % 2 == 0 {
                r.input_cycle(a);
                played.push(r.output_cycle(a.max(b)));
            } else {
                played.push(r.output_cycle(a.min(b)));
                r.input_cycle(a.max(b));
            }
        }
        let first = played
            .iter()
            .position(|b| b.iter().any(|&v| v != 0.0))
            .unwrap();
        assert!(first <= 20, "seed {seed}: started at cycle {first}");
        check_lag(&played, first);
        assert_eq!(r.shared.underruns.load(Ordering::Relaxed), 0, "seed {seed}");
        assert_eq!(
            r.shared.input_gaps.load(Ordering::Relaxed),
            0,
            "seed {seed}"
        );
    }
}

/// Without real-time scheduling, JACK's client threads run their callbacks late, each
/// client on its own: a callback can come up to a period and a half after its cycle
/// started, and after the other client's callback of the next cycle. Nothing is lost,
/// so the output keeps its timeline: each output sample is the input frame one period
/// earlier, or silence in a buffer counted as an underrun with late input, or, for a
/// while after such a buffer, held back by whole periods: input that came late twice
/// in a row looks like a lost cycle (see
/// `lost_input_cycles_with_the_output_first_cost_one_buffer_each`) until the clocks have
/// agreed for CLOCK_CONFIRM_CALLBACKS callbacks in a row, which jittery callbacks delay
/// (here at most 34 callbacks; 8 confirmations are allowed). Under 5 % of the buffers
/// are held back, and no frame is ever played twice or out of order.
#[test]
fn clients_running_late_keep_the_timeline() {
    let period_ns = P as u64 * 1_000_000_000 / RATE as u64;
    for seed in 1..=20u64 {
        let mut rng = SplitMix64::new(seed);
        let mut r = rig();
        // Each client's callbacks run in order, each at its cycle's start plus a delay
        // that is usually small and sometimes up to 1.5 periods.
        let delay = |rng: &mut SplitMix64| {
            if rng.next_u64() % 10 == 0 {
                rng.next_u64() % (period_ns * 3 / 2)
            } else {
                rng.next_u64() % (period_ns / 10)
            }
        };
        let (mut last_in, mut last_out) = (0u64, 0u64);
        let mut events = Vec::new(); // (time, is_output)
        for k in 0..3000u64 {
            let t = cycle_ns(k);
            last_in = (t + delay(&mut rng)).max(last_in + 1_000);
            last_out = (t + delay(&mut rng)).max(last_out + 1_000);
            events.push((last_in, false));
            events.push((last_out, true));
        }
        events.sort();
        // Each output buffer with whether its callback counted an underrun.
        let mut played = Vec::new();
        for (t, is_output) in events {
            if is_output {
                let before = r.shared.underruns.load(Ordering::Relaxed);
                let buf = r.output_cycle(t);
                played.push((buf, r.shared.underruns.load(Ordering::Relaxed) > before));
            } else {
                r.input_cycle(t);
            }
        }
        let first = played
            .iter()
            .position(|(b, _)| b.iter().any(|&v| v != 0.0))
            .unwrap();
        assert!(first <= 20, "seed {seed}: started at cycle {first}");
        let mut since_late = usize::MAX;
        let (mut last, mut held) = (0.0f32, 0usize);
        for (k, (buf, underrun)) in played.iter().enumerate().skip(first) {
            let on_time = ((k - 1) * P + 1) as f32;
            if *underrun {
                assert!(buf.iter().all(|&v| v == 0.0), "seed {seed} cycle {k}");
                since_late = 0;
                continue;
            }
            since_late = since_late.saturating_add(1);
            let behind = on_time - buf[0];
            let periods = behind / P as f32;
            assert!(
                behind == 0.0 || (behind > 0.0 && periods.fract() == 0.0 && since_late <= 1000),
                "seed {seed} cycle {k}: {} for {on_time}, {since_late} callbacks after late input",
                buf[0]
            );
            held += usize::from(behind > 0.0);
            for (i, &v) in buf.iter().enumerate() {
                assert_eq!(v, buf[0] + i as f32, "seed {seed} cycle {k} frame {i}");
            }
            assert!(
                buf[0] > last,
                "seed {seed} cycle {k}: {} after {last}",
                buf[0]
            );
            last = buf[P - 1];
        }
        assert!(
            held * 20 < played.len(),
            "seed {seed}: {held} buffers held back"
        );
        let underruns = r.shared.underruns.load(Ordering::Relaxed);
        assert_eq!(
            r.shared.late_input.load(Ordering::Relaxed),
            underruns,
            "seed {seed}"
        );
        assert_eq!(
            r.shared.input_gaps.load(Ordering::Relaxed),
            0,
            "seed {seed}"
        );
    }
}

/// An underrun says why: input that arrived but was not processed in time is faltung's
/// own lateness; input that had not arrived at all (the server ran the input client
/// after the next cycle's output client) is counted as late input too.
#[test]
fn underruns_tell_late_processing_from_late_input() {
    let mut r = rig();
    for k in 0..10u64 {
        let t = cycle_ns(k);
        r.input_cycle(t + 1_000);
        r.output_cycle(t + 5_000);
    }
    assert_eq!(r.shared.underruns.load(Ordering::Relaxed), 0);
    // Cycle 10: the input arrives but the processing thread does not run before the
    // output of cycle 11 needs it.
    let data = vec![0.5; P];
    r.input.push(&data, cycle_ns(10) + 1_000);
    r.output_cycle(cycle_ns(10) + 5_000);
    r.output_cycle(cycle_ns(11) + 2_000);
    assert_eq!(r.shared.underruns.load(Ordering::Relaxed), 1);
    assert_eq!(r.shared.late_input.load(Ordering::Relaxed), 0);
    r.processor.step();
    r.input_cycle(cycle_ns(11) + 3_000);
    // Cycle 12's input client runs only after cycle 13's output client.
    r.output_cycle(cycle_ns(12) + 2_000);
    let before = r.shared.underruns.load(Ordering::Relaxed);
    r.output_cycle(cycle_ns(13) + 2_000);
    assert_eq!(r.shared.underruns.load(Ordering::Relaxed), before + 1);
    assert_eq!(r.shared.late_input.load(Ordering::Relaxed), 1);
}

#[test]
fn a_lost_input_cycle_is_replaced_by_silence_and_the_latency_kept() {
    let mut r = rig();
    let mut played = Vec::new();
    let lost = 10u64;
    for k in 0..40u64 {
        let t = cycle_ns(k);
        if k != lost {
            r.input_cycle(t + 1_000);
        }
        played.push(r.output_cycle(t + 5_000));
    }
    // Input frame numbers after the lost cycle are one period behind the clock: output
    // frame t now carries input number t - 2P (numbering skipped the lost cycle).
    check_lag(&played[..=lost as usize], FIRST);
    // The clocks are followed once they have disagreed for CLOCK_CONFIRM_CALLBACKS
    // callbacks in a row.
    let settled = lost as usize + CLOCK_CONFIRM_CALLBACKS as usize + 2;
    for (k, buf) in played.iter().enumerate().skip(settled) {
        for (i, &v) in buf.iter().enumerate() {
            assert_eq!(v, ((k - 2) * P + i + 1) as f32, "cycle {k} frame {i}");
        }
    }
    let dropouts =
        r.shared.underruns.load(Ordering::Relaxed) + r.shared.input_gaps.load(Ordering::Relaxed);
    assert!(
        (1..=3).contains(&dropouts),
        "{dropouts} dropouts for one lost cycle"
    );
}

/// PipeWire's JACK library can skip a client for a cycle or a few while its graph changes
/// (another client joining or leaving). When the output client runs first in each cycle,
/// the skipped input cycles leave the output without input: one silent buffer per lost
/// cycle, and no more. The output then plays on from the first frame it had not played,
/// at once, instead of dropping input to keep the old alignment until the clocks agree.
#[test]
fn lost_input_cycles_with_the_output_first_cost_one_buffer_each() {
    for lost in [vec![10u64], vec![10, 11, 12]] {
        let mut r = rig();
        let mut played = Vec::new();
        for k in 0..60u64 {
            let t = cycle_ns(k);
            played.push(r.output_cycle(t + 1_000));
            if !lost.contains(&k) {
                r.input_cycle(t + 5_000);
            }
        }
        let n = lost.len();
        let first_lost = lost[0] as usize;
        check_lag(&played[..=first_lost], FIRST);
        // The buffers that had no input are silent; from the next one on, output frame t
        // carries input number t - (1 + n) P (the numbering skipped the lost cycles).
        for buf in &played[first_lost + 1..=first_lost + n] {
            assert!(buf.iter().all(|&v| v == 0.0), "{buf:?}");
        }
        for (k, buf) in played.iter().enumerate().skip(first_lost + n + 1) {
            for (i, &v) in buf.iter().enumerate() {
                assert_eq!(
                    v,
                    ((k - 1 - n) * P + i + 1) as f32,
                    "lost {lost:?}: cycle {k} frame {i}"
                );
            }
        }
        assert_eq!(r.shared.underruns.load(Ordering::Relaxed), n as u64);
        assert_eq!(r.shared.late_input.load(Ordering::Relaxed), n as u64);
        assert_eq!(r.shared.input_gaps.load(Ordering::Relaxed), 0);
    }
}

/// A pipeline whose period changes while it runs: callbacks of varying size on a
/// continuous clock, an identity engine (frame numbers in, the same numbers out) and a
/// command ring to send engines built for other blocks, as the loader does.
struct Changing {
    input: InputPort,
    processor: Processor,
    output: OutputPort,
    shared: Arc<Shared>,
    commands: ringbuf::HeapProd<Command>,
    /// Input frames pushed so far (the next one is numbered `pushed + 1`), and the clock.
    pushed: usize,
    now_ns: u64,
    /// Each output frame played, in order.
    played: Vec<f32>,
    /// The lag in force at each output frame (read after its callback), and the underrun
    /// count after each callback with the index of the callback's first frame.
    lag_at: Vec<usize>,
    underruns_at: Vec<(usize, u64)>,
}

fn identity(block: usize) -> Box<Engine> {
    Box::new(Engine::realtime(&[vec![1.0]], Routing::mono_ir(1), block).unwrap())
}

impl Changing {
    fn new(block: usize, max_block: usize) -> Changing {
        let cfg = config(block, max_block, 100);
        let w = Wired::new(identity(block), 1, max_block * 16, cfg, None, None).unwrap();
        std::mem::forget(w.retired); // retired engines are not freed in this test
        Changing {
            input: w.input,
            processor: w.processor,
            output: w.output,
            shared: w.shared,
            commands: w.commands,
            pushed: 0,
            now_ns: 1_000_000_000,
            played: Vec::new(),
            lag_at: Vec::new(),
            underruns_at: Vec::new(),
        }
    }

    /// `cycles` server cycles of `period` frames: input callback, processing, output
    /// callback, in that order when `input_first`, else output first.
    fn run(&mut self, period: usize, cycles: usize, input_first: bool) {
        let period_ns = period as u64 * 1_000_000_000 / RATE as u64;
        for _ in 0..cycles {
            let data: Vec<f32> = (0..period).map(|i| (self.pushed + i + 1) as f32).collect();
            let mut out = vec![0.0; period];
            if input_first {
                self.input.push(&data, self.now_ns + 1_000);
                self.processor.step();
                self.output.fill(&mut out, self.now_ns + 5_000);
            } else {
                self.output.fill(&mut out, self.now_ns + 1_000);
                self.input.push(&data, self.now_ns + 5_000);
                self.processor.step();
            }
            self.pushed += period;
            self.now_ns += period_ns;
            let first = self.played.len();
            self.played.extend_from_slice(&out);
            let lag = self.shared.lag_frames.load(Ordering::Relaxed);
            self.lag_at.extend(std::iter::repeat_n(lag, period));
            self.underruns_at
                .push((first, self.shared.underruns.load(Ordering::Relaxed)));
        }
    }

    fn underruns_from(&self, frame: usize) -> u64 {
        let before = self
            .underruns_at
            .iter()
            .take_while(|(f, _)| *f < frame)
            .last()
            .map_or(0, |&(_, n)| n);
        self.shared.underruns.load(Ordering::Relaxed) - before
    }

    /// From output frame `from` on, every frame is the input frame `lag` earlier (frame
    /// numbers start at 1), with `lag` the one in force.
    fn check_from(&self, from: usize, lag: usize) {
        for (n, &v) in self.played.iter().enumerate().skip(from) {
            assert_eq!(self.lag_at[n], lag, "lag at output frame {n}");
            assert_eq!(v, (n + 1 - lag) as f32, "output frame {n}");
        }
    }
}

/// The server's period changes up and down while running (PipeWire's quantum, JACK's
/// buffer size): the lag follows at once (the block rounded up to the new period), an
/// engine built for the new period's block is crossfaded in at a callback boundary and
/// its block taken, and afterwards every output frame is the input frame one new period
/// earlier, with no underrun: around each change at most a couple.
#[test]
fn a_changing_period_is_followed_up_and_down() {
    for input_first in [true, false] {
        let mut r = Changing::new(64, 4096);
        r.run(64, 100, input_first);
        r.check_from(64 * 20, 64);
        // Up: 64 -> 1024. The lag follows the period before any new engine arrives.
        let change = r.played.len();
        r.run(1024, 4, input_first);
        assert_eq!(r.shared.lag_frames.load(Ordering::Relaxed), 1024);
        assert_eq!(r.shared.period_frames.load(Ordering::Relaxed), 1024);
        assert_eq!(r.shared.input_period_frames.load(Ordering::Relaxed), 1024);
        assert!(r
            .commands
            .try_push(Command::Swap(identity(1024), 0))
            .is_ok());
        r.run(1024, 30, input_first);
        assert_eq!(r.processor.block_frames(), 1024, "the new engine's block");
        assert_eq!(r.shared.block_frames.load(Ordering::Relaxed), 1024);
        assert!(
            r.underruns_from(change) <= 2,
            "{}",
            r.underruns_from(change)
        );
        let settled = change + 1024 * 12;
        r.check_from(settled, 1024);
        // Down: 1024 -> 256. With the 1024 block the lag stays 1024 (four periods) until
        // the 256-frame engine is in; then it is one period again.
        let change = r.played.len();
        r.run(256, 8, input_first);
        assert_eq!(r.shared.lag_frames.load(Ordering::Relaxed), 1024);
        assert!(r.commands.try_push(Command::Swap(identity(256), 0)).is_ok());
        r.run(256, 100, input_first);
        assert_eq!(r.processor.block_frames(), 256);
        assert_eq!(r.shared.lag_frames.load(Ordering::Relaxed), 256);
        assert!(
            r.underruns_from(change) <= 2,
            "{}",
            r.underruns_from(change)
        );
        r.check_from(change + 256 * 40, 256);
        assert_eq!(r.underruns_from(change + 256 * 40), 0);
        assert_eq!(r.shared.period_changes.load(Ordering::Relaxed), 2);
        assert_eq!(r.shared.swaps_done.load(Ordering::Relaxed), 2);
    }
}

/// A swap to a larger block that arrives in the middle of a callback's worth of input
/// (the processor behind by part of a period) waits for the callback boundary, so that
/// blocks never straddle two callbacks (which would leave each block incomplete until
/// the next callback, one period too late).
#[test]
fn block_changes_wait_for_a_callback_boundary() {
    let mut r = Changing::new(64, 4096);
    r.run(256, 40, true);
    assert!(r.commands.try_push(Command::Swap(identity(256), 0)).is_ok());
    // Half a callback in the ring: the swap must not begin yet.
    let data: Vec<f32> = (0..128).map(|i| (r.pushed + i + 1) as f32).collect();
    r.input.push(&data, r.now_ns);
    r.pushed += 128;
    r.processor.step();
    assert_eq!(r.processor.block_frames(), 64);
    assert_eq!(r.shared.swaps_done.load(Ordering::Relaxed), 0);
}

/// The server may change its period between opening the streams and the first callback
/// (a session manager, another client): the first callback at another size than the one
/// opened with is a change like any later one, counted and published.
#[test]
fn a_first_callback_at_another_size_than_opened_is_a_period_change() {
    // An input callback has anchored the timeline (a seqlock at an even, non-zero count).
    let opened_at = |period: usize| {
        let shared = Arc::new(Shared::default());
        shared.period_frames.store(period, Ordering::Relaxed);
        shared.anchor_ns.store(1_000_000_000, Ordering::Relaxed);
        shared.anchor_seq.store(2, Ordering::Release);
        shared
    };
    let shared = opened_at(256);
    let (_prod, cons) = HeapRb::<f32>::new(1024).split();
    let mut port = OutputPort::new(cons, 1, shared.clone(), RATE, 256);
    let mut buf = vec![1.0f32; 64];
    port.fill(&mut buf, 1_000_000_000);
    assert_eq!(shared.period_frames.load(Ordering::Relaxed), 64);
    assert_eq!(shared.period_changes.load(Ordering::Relaxed), 1);
    // The same size again is no change; the size opened with is not counted twice.
    port.fill(&mut buf, 1_001_333_333);
    assert_eq!(shared.period_changes.load(Ordering::Relaxed), 1);

    // Opened at the size the first callback has: no change.
    let shared = opened_at(64);
    let (_prod, cons) = HeapRb::<f32>::new(1024).split();
    let mut port = OutputPort::new(cons, 1, shared.clone(), RATE, 64);
    port.fill(&mut buf, 1_000_000_000);
    assert_eq!(shared.period_changes.load(Ordering::Relaxed), 0);
}

/// Both bodies in one callback ([`Duplex`], faltung's own JACK client): per-channel
/// buffers in, per-channel buffers out, each channel one period behind its own input
/// from the first callback that plays; a cycle longer than the buffers is silence and
/// one underrun, and the next cycle plays on.
#[test]
fn duplex_plays_each_channel_one_period_behind_its_input() {
    let engine = Box::new(Engine::realtime(&[vec![1.0]], Routing::mono_ir(2), P).unwrap());
    let mut cfg = config(P, P, 1);
    cfg.device_output_channels = 2;
    let w = Wired::new(engine, 2, P * 32, cfg, None, None).unwrap();
    let (mut processor, shared) = (w.processor, w.shared);
    let mut duplex = Duplex::new(w.input, w.output, 2, 2, 2 * P);
    // Channel c of input frame j (from 0) is j + 1 + c / 2: every sample names its frame
    // and its channel.
    let value = |j: usize, c: usize| (j + 1) as f32 + c as f32 / 2.0;
    let mut k = 0u64;
    let mut run = |duplex: &mut Duplex, processor: &mut Processor, frames: usize| {
        let fits = duplex.begin(frames);
        for c in 0..2 {
            let data: Vec<f32> = (0..frames).map(|i| value(k as usize * P + i, c)).collect();
            duplex.put_input(c, &data);
        }
        duplex.exchange(cycle_ns(k));
        processor.step();
        let out: Vec<Vec<f32>> = (0..2)
            .map(|c| {
                let mut o = vec![7.0; frames];
                duplex.take_output(c, &mut o);
                o
            })
            .collect();
        k += 1;
        (fits, out)
    };
    let mut started = None;
    for cycle in 0..20 {
        let (fits, out) = run(&mut duplex, &mut processor, P);
        assert!(fits);
        // Silence until the clocks agree (within the start-up callbacks), then all of it.
        if started.is_none() && out[0][0] != 0.0 {
            assert!((1..=FIRST).contains(&cycle), "started at cycle {cycle}");
            started = Some(cycle);
        }
        for (c, o) in out.iter().enumerate() {
            for (i, &v) in o.iter().enumerate() {
                let want = if started.is_none() {
                    0.0
                } else {
                    value((cycle - 1) * P + i, c)
                };
                assert_eq!(v, want, "cycle {cycle} channel {c} frame {i}");
            }
        }
    }
    assert!(started.is_some());
    assert_eq!(shared.underruns.load(Ordering::Relaxed), 0);
    // Longer than the buffers: silence on every channel, counted.
    let (fits, out) = run(&mut duplex, &mut processor, 3 * P);
    assert!(!fits);
    assert!(out.iter().flatten().all(|&v| v == 0.0));
    assert_eq!(shared.underruns.load(Ordering::Relaxed), 1);
}
