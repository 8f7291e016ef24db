//! Latency benchmarks: time a block processor call by call and say what it means for a
//! real-time callback — per-call percentiles, deadline, headroom, real-time factor and a
//! verdict. The `faltung bench` command and `benches/engine.rs` are built on this.
//!
//! - [`stats`]: percentiles (numpy's linear method), [`Summary`], [`Verdict`].
//! - [`run`]: seeded test signals and [`run_interleaved`], which drives several
//!   processors over one stream taking turns, so that machine noise hits all alike.
//! - [`plot`]: the per-call time distribution as SVG.
//! - [`capacity`]: how many engines one calling thread runs in real time, paced, and the
//!   search for that number.
//! - [`Report`]: one (call size, plan) result, serialisable to the JSON schema documented
//!   in BENCHMARKS.md.
//!
//! The round trip through a real audio server lives in `measure::roundtrip`; the
//! real-time thread control the timing thread uses, in [`crate::rt`].

pub mod capacity;
pub mod plot;
pub mod run;
pub mod stats;

pub use run::{
    decaying_noise_ir, noise, run_interleaved, set_realtime_priority, thread_cpu_time, CallTimes,
    RunSpec,
};
pub use stats::{quantile_sorted, Summary, Verdict};

use serde::Serialize;

/// The result for one call size and one plan. Times are in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Frames per call.
    pub block_frames: usize,
    /// Latency the engine adds, in frames (`BlockProcessor::latency_frames`).
    pub latency_frames: usize,
    pub latency_ms: f64,
    /// What was asked for: `auto`, `uniform`, `nonuniform` or `direct`.
    pub plan_request: String,
    /// What the planner chose (`Display` of the plan).
    pub plan: String,
    pub rate_hz: u32,
    pub channels: usize,
    pub calls: usize,
    /// Real-time factor: audio seconds processed per second of processing time
    /// (wall clock, summed over the calls).
    pub rtf: f64,
    /// Real-time factor by the thread's CPU time instead of wall-clock time: what the
    /// engine costs when the machine is shared. `None` where the platform cannot tell.
    pub rtf_cpu: Option<f64>,
    pub min_us: f64,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    /// Worker threads running the engine's tail (0: all on the calling thread).
    pub worker_threads: usize,
    /// Periods of the tail whose worker had not finished when they were due (the calling
    /// thread ran them, or they were dropped).
    pub late_periods: u64,
    /// Tail periods missing from the output (a worker still running after the bounded
    /// spin).
    pub dropped_periods: u64,
    /// Duration of one call's audio: the time a callback has.
    pub deadline_us: f64,
    /// p99 as a percentage of the deadline.
    pub headroom_pct: f64,
    pub verdict: String,
}

/// The facts about a run that timings alone do not carry.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub block_frames: usize,
    pub latency_frames: usize,
    pub plan_request: String,
    pub plan: String,
    pub rate_hz: u32,
    pub channels: usize,
    /// Worker threads running the engine's tail.
    pub worker_threads: usize,
}

impl Report {
    /// Summarise one contender's call times. `None` if there were no calls.
    pub fn new(info: &RunInfo, times: &CallTimes) -> Option<Report> {
        let s = Summary::from_nanos_as_micros(&times.per_call_ns)?;
        let rate = f64::from(info.rate_hz.max(1));
        let deadline_us = info.block_frames as f64 / rate * 1e6;
        let audio_s = (s.count * info.block_frames) as f64 / rate;
        let busy_s = times.busy_seconds();
        let rtf = if busy_s > 0.0 {
            audio_s / busy_s
        } else {
            f64::INFINITY
        };
        let rtf_cpu = times
            .cpu_seconds()
            .map(|c| if c > 0.0 { audio_s / c } else { f64::INFINITY });
        Some(Report {
            rtf_cpu,
            block_frames: info.block_frames,
            latency_frames: info.latency_frames,
            latency_ms: info.latency_frames as f64 / rate * 1e3,
            plan_request: info.plan_request.clone(),
            plan: info.plan.clone(),
            rate_hz: info.rate_hz,
            channels: info.channels,
            calls: s.count,
            rtf,
            min_us: s.min,
            mean_us: s.mean,
            p50_us: s.p50,
            p99_us: s.p99,
            p999_us: s.p999,
            max_us: s.max,
            worker_threads: info.worker_threads,
            late_periods: 0,
            dropped_periods: 0,
            deadline_us,
            headroom_pct: 100.0 * s.p99 / deadline_us,
            verdict: Verdict::judge(s.p999, s.max, deadline_us, rtf).to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_from_known_times() {
        // 48 kHz, 48-frame calls: deadline 1000 us. 100 calls of 100 us and one of 600 us.
        let mut ns = vec![100_000u64; 100];
        ns.push(600_000);
        let info = RunInfo {
            block_frames: 48,
            latency_frames: 96,
            plan_request: "auto".into(),
            plan: "p".into(),
            rate_hz: 48_000,
            channels: 2,
            worker_threads: 0,
        };
        let r = Report::new(
            &info,
            &CallTimes {
                per_call_ns: ns,
                cpu_ns: Some(20_200_000),
            },
        )
        .unwrap();
        assert_eq!(r.calls, 101);
        assert!((r.deadline_us - 1000.0).abs() < 1e-9);
        assert!((r.latency_ms - 2.0).abs() < 1e-12);
        // 101 ms of audio in 10.6 ms of work.
        assert!((r.rtf - 101.0 / 10.6).abs() < 1e-9, "{}", r.rtf);
        // By CPU time: 101 ms of audio in 20.2 ms.
        assert!((r.rtf_cpu.unwrap() - 5.0).abs() < 1e-9);
        // p99.9 at index 99.9 of 101 sorted values: 100 + 0.9 * 500 = 550 us > 50%.
        assert!((r.p999_us - 550.0).abs() < 1e-9);
        assert!((r.headroom_pct - 10.0).abs() < 1e-9);
        assert_eq!(r.verdict, "tight");
        assert!(Report::new(&info, &CallTimes::default()).is_none());
    }
}
