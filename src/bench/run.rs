//! Timing block processors call by call over a stream, several side by side.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::engine::{BlockProcessor, ProcessError};

/// The crate's seeded generator; benchmark signals are the same on every run and machine.
pub use crate::rng::SplitMix64;
pub use crate::rt::{set_realtime_priority, thread_cpu_time};

/// `len` samples of seeded uniform noise in `[-amplitude, amplitude)`.
pub fn noise(len: usize, amplitude: f32, seed: u64) -> Vec<f32> {
    let mut g = SplitMix64::new(seed);
    (0..len).map(|_| amplitude * g.next_bipolar()).collect()
}

/// A synthetic reverb IR: seeded noise under an exponential envelope that falls by 60 dB
/// over the IR's `len` taps, scaled to unit energy.
pub fn decaying_noise_ir(len: usize, seed: u64) -> Vec<f32> {
    let mut g = SplitMix64::new(seed);
    // exp(-k n) reaches 1e-3 (-60 dB) at n = len: k = ln(1000) / len.
    let k = 1000f64.ln() / len.max(1) as f64;
    let mut h: Vec<f64> = (0..len)
        .map(|n| f64::from(g.next_bipolar()) * (-k * n as f64).exp())
        .collect();
    let energy: f64 = h.iter().map(|v| v * v).sum();
    if energy > 0.0 {
        let s = energy.sqrt().recip();
        h.iter_mut().for_each(|v| *v *= s);
    }
    h.into_iter().map(|v| v as f32).collect()
}

/// One contender's per-call times over the whole stream, in nanoseconds.
#[derive(Debug, Clone, Default)]
pub struct CallTimes {
    /// Wall-clock time of every call.
    pub per_call_ns: Vec<u64>,
    /// Thread CPU time over all timed calls (read once per segment, so it includes the
    /// per-call clock reads), if the platform tells it.
    pub cpu_ns: Option<u64>,
}

impl CallTimes {
    /// Sum of all call times in seconds.
    pub fn busy_seconds(&self) -> f64 {
        self.per_call_ns.iter().map(|&n| n as f64).sum::<f64>() * 1e-9
    }

    /// Thread CPU time of all calls in seconds, if known.
    pub fn cpu_seconds(&self) -> Option<f64> {
        self.cpu_ns.map(|n| n as f64 * 1e-9)
    }
}

/// How to drive the contenders.
#[derive(Debug, Clone, Copy)]
pub struct RunSpec {
    /// Frames per call.
    pub call_frames: usize,
    /// Contenders take turns every `segment_frames` frames (rounded up to whole calls), so
    /// that slow drifts of the machine's load hit all of them alike. The order of turns
    /// rotates every segment.
    pub segment_frames: usize,
    /// Frames to process per contender. The input is used cyclically in whole calls, so a
    /// short buffer of noise can drive a long run.
    pub total_frames: usize,
    /// Frames each contender processes before timing starts (then it is `reset()`), so
    /// that page faults and cold caches of the first calls are not counted.
    pub warmup_frames: usize,
    /// After each turn, sleep this fraction of the turn's duration (untimed). A thread at
    /// real-time priority that never sleeps hits the kernel's real-time throttling (on
    /// Linux 50 ms of every second go to other threads), which would show up as a 50 ms
    /// call; an audio thread is idle most of the time and never meets it. 0 for none.
    pub rest_fraction: f64,
    /// Start the calls of a turn one `pace` apart on a fixed schedule (sleeping untimed in
    /// between), as a device's callbacks come, instead of back to back: worker threads
    /// then have the period to do the tail in, as in a live session. `None`: back to back.
    pub pace: Option<Duration>,
}

/// Sleep until `due` (at once if it has passed): the pacing of `--paced` and `--capacity`.
pub fn sleep_until(due: Instant) {
    let now = Instant::now();
    if due > now {
        std::thread::sleep(due - now);
    }
}

/// Run every contender over `spec.total_frames` frames of the interleaved `input` (of
/// `channels` channels; used cyclically, call `k` reads the `k`-th whole call of `input`
/// modulo the calls it holds) in calls of `spec.call_frames` frames, taking turns segment
/// by segment, and time each call. A trailing partial call is dropped, of the run and of
/// `input`; an `input` shorter than one call runs nothing. `progress` is told the fraction done (0..=1) after
/// every segment, outside the timed region.
///
/// All contenders must take `channels` input channels; their outputs are discarded.
pub fn run_interleaved(
    contenders: &mut [&mut dyn BlockProcessor],
    input: &[f32],
    channels: usize,
    spec: RunSpec,
    progress: &mut dyn FnMut(f64),
) -> Result<Vec<CallTimes>, ProcessError> {
    let call = spec.call_frames.max(1);
    let input_calls = input.len() / channels.max(1) / call;
    let total_calls = if input_calls == 0 {
        0
    } else {
        spec.total_frames / call
    };
    let chunk = |k: usize| {
        let k = k % input_calls;
        &input[k * call * channels..(k + 1) * call * channels]
    };
    let seg_calls = spec.segment_frames.div_ceil(call).max(1);
    let max_out = contenders
        .iter()
        .map(|c| c.output_channels())
        .max()
        .unwrap_or(1);
    let mut out = vec![0.0f32; call * max_out];

    // Warm-up, paced as the run is: back to back, worker threads could not keep up and
    // their late periods would be counted against the run.
    let warm_calls = spec.warmup_frames.div_ceil(call).min(total_calls);
    for c in contenders.iter_mut() {
        let oc = c.output_channels();
        let warm_start = Instant::now();
        for k in 0..warm_calls {
            if let Some(pace) = spec.pace {
                sleep_until(warm_start + pace.mul_f64(k as f64));
            }
            c.process_block(chunk(k), &mut out[..call * oc])?;
        }
        c.reset();
    }

    let mut times: Vec<CallTimes> = contenders
        .iter()
        .map(|_| CallTimes {
            per_call_ns: Vec::with_capacity(total_calls),
            cpu_ns: thread_cpu_time().map(|_| 0),
        })
        .collect();
    let n = contenders.len();
    let segments = total_calls.div_ceil(seg_calls);
    for seg in 0..segments {
        let first = seg * seg_calls;
        let last = (first + seg_calls).min(total_calls);
        for turn in 0..n {
            let i = (seg + turn) % n;
            let c = &mut *contenders[i];
            let oc = c.output_channels();
            let o = &mut out[..call * oc];
            let cpu0 = thread_cpu_time();
            let turn_start = Instant::now();
            let t = &mut times[i].per_call_ns;
            for (j, k) in (first..last).enumerate() {
                if let Some(pace) = spec.pace {
                    sleep_until(turn_start + pace.mul_f64(j as f64));
                }
                let x = chunk(k);
                let t0 = Instant::now();
                c.process_block(black_box(x), o)?;
                let dt = t0.elapsed();
                black_box(&*o);
                t.push(dt.as_nanos() as u64);
            }
            let cpu = match (cpu0, thread_cpu_time(), times[i].cpu_ns) {
                (Some(a), Some(b), Some(sum)) => Some(sum + b.saturating_sub(a).as_nanos() as u64),
                _ => None,
            };
            times[i].cpu_ns = cpu;
            if spec.rest_fraction > 0.0 {
                std::thread::sleep(turn_start.elapsed().mul_f64(spec.rest_fraction));
            }
        }
        progress((seg + 1) as f64 / segments as f64);
    }
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stereo processor that records the frames it sees, to check the runner's slicing,
    /// and when each call came.
    #[derive(Default)]
    struct Recorder {
        seen: Vec<f32>,
        resets: usize,
        calls: Vec<Instant>,
    }

    impl BlockProcessor for Recorder {
        fn process_block(&mut self, input: &[f32], output: &mut [f32]) -> Result<(), ProcessError> {
            self.calls.push(Instant::now());
            self.seen.extend_from_slice(input);
            output.copy_from_slice(input);
            Ok(())
        }
        fn reset(&mut self) {
            self.seen.clear();
            self.resets += 1;
        }
        fn latency_frames(&self) -> usize {
            0
        }
        fn input_channels(&self) -> usize {
            2
        }
        fn output_channels(&self) -> usize {
            2
        }
        fn max_call_frames(&self) -> usize {
            usize::MAX
        }
    }

    #[test]
    fn every_contender_sees_the_whole_stream_in_order_after_warmup() {
        // 1000 stereo frames, calls of 64: 15 whole calls (960 frames), the rest dropped.
        let input: Vec<f32> = (0..2000).map(|v| v as f32).collect();
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        let mut fractions = vec![];
        let times = run_interleaved(
            &mut [&mut a, &mut b],
            &input,
            2,
            RunSpec {
                call_frames: 64,
                segment_frames: 200,
                total_frames: 1000,
                warmup_frames: 100,
                rest_fraction: 0.0,
                pace: None,
            },
            &mut |f| fractions.push(f),
        )
        .unwrap();
        for r in [&a, &b] {
            assert_eq!(r.resets, 1);
            assert_eq!(r.seen, input[..960 * 2].to_vec());
        }
        assert_eq!(times.len(), 2);
        assert!(times.iter().all(|t| t.per_call_ns.len() == 15));
        // Segments of ceil(200 / 64) = 4 calls: 4 segments for 15 calls.
        assert_eq!(fractions, vec![0.25, 0.5, 0.75, 1.0]);
    }

    #[test]
    fn paced_calls_of_a_turn_come_one_pace_apart_at_least() {
        let pace = Duration::from_millis(2);
        let input = vec![0.0f32; 128];
        let mut c = Recorder::default();
        let spec = RunSpec {
            call_frames: 8,
            segment_frames: 80,
            total_frames: 80,
            warmup_frames: 0,
            rest_fraction: 0.0,
            pace: Some(pace),
        };
        run_interleaved(&mut [&mut c], &input, 2, spec, &mut |_| {}).unwrap();
        assert_eq!(c.calls.len(), 10);
        // On a fixed schedule from the turn's start: call j no earlier than j paces in
        // (back to back, ten empty calls take microseconds).
        let spread = c.calls[9] - c.calls[0];
        assert!(spread >= pace * 9 - Duration::from_micros(50), "{spread:?}");
    }

    #[test]
    fn a_short_input_is_used_cyclically() {
        // 3 calls of input, 7 calls of run: calls 0 1 2 0 1 2 0.
        let input: Vec<f32> = (0..2 * 3 * 4).map(|v| v as f32).collect();
        let mut a = Recorder::default();
        let spec = RunSpec {
            call_frames: 4,
            segment_frames: 8,
            total_frames: 30,
            warmup_frames: 0,
            rest_fraction: 0.1,
            pace: None,
        };
        let times = run_interleaved(&mut [&mut a], &input, 2, spec, &mut |_| {}).unwrap();
        assert_eq!(times[0].per_call_ns.len(), 7);
        let mut expect = Vec::new();
        for k in [0, 1, 2, 0, 1, 2, 0] {
            expect.extend_from_slice(&input[k * 8..(k + 1) * 8]);
        }
        assert_eq!(a.seen, expect);
        // An input shorter than one call runs nothing.
        let none = run_interleaved(&mut [&mut a], &input[..6], 2, spec, &mut |_| {}).unwrap();
        assert!(none[0].per_call_ns.is_empty());
    }

    #[test]
    fn decaying_ir_has_unit_energy_and_falls_60_db() {
        let h = decaying_noise_ir(48_000, 7);
        let e: f64 = h.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        assert!((e - 1.0).abs() < 1e-5, "energy {e}");
        // Envelope ratio between the first and last tenth: exp(-ln(1000) * 0.9) ~ -54 dB.
        let rms = |s: &[f32]| {
            (s.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
        };
        let db = 20.0 * (rms(&h[43_200..]) / rms(&h[..4_800])).log10();
        assert!((-60.0..-48.0).contains(&db), "{db} dB");
        assert_eq!(h, decaying_noise_ir(48_000, 7));
        assert_ne!(h, decaying_noise_ir(48_000, 8));
    }

    #[test]
    fn noise_is_bounded_and_seeded() {
        let a = noise(10_000, 0.5, 1);
        assert!(a.iter().all(|v| (-0.5..0.5).contains(v)));
        let mean: f32 = a.iter().sum::<f32>() / a.len() as f32;
        // Uniform on [-0.5, 0.5): sd 0.289, sd of the mean 0.0029.
        assert!(mean.abs() < 0.015, "{mean}");
        assert_eq!(a, noise(10_000, 0.5, 1));
    }
}
