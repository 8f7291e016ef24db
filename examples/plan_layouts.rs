//! Time the engine with explicit non-uniform layouts, next to the plan Auto picks.
//! Used to fit the planner's cost constants (`scripts/fit_planner.py`):
//!
//! ```sh
//! cargo run --release --example plan_layouts -- 96000 64,512,8192 64,256,2048,16384
//! ```
//! Arguments: IR length in frames, then layouts as comma-separated level sizes (the first
//! is the call size). Prints `layout levels ns/frame` per layout (stereo, per-channel IRs,
//! trimmed mean of per-call times, best of 3 runs of 8 s).
use faltung::engine::plan::{layout, Buffering, Scheme, Variant};
use faltung::engine::{BlockProcessor, Engine, Plan, Routing};
use std::time::Instant;
fn noise(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let len: usize = args[1].parse().unwrap();
    let secs = 8.0;
    let frames = (secs * 48000.0) as usize;
    let inter = noise(1, frames * 2);
    let irs = vec![noise(10, len), noise(11, len)];
    for spec in &args[2..] {
        let sizes: Vec<usize> = spec.split(',').map(|v| v.parse().unwrap()).collect();
        let Some(levels) = layout(len, &sizes) else {
            println!("{spec}: unused level");
            continue;
        };
        let plan = Plan {
            scheme: Scheme::NonUniform,
            variant: Variant::OverlapSave,
            block_frames: sizes[0],
            levels: levels.clone(),
            buffering: Buffering::ZeroLatency,
            latency_frames: 0,
            est_ns_per_frame: 0.0,
            ir_len: len,
        };
        let mut best = f64::MAX;
        for _ in 0..3 {
            let mut e =
                Engine::with_plan(&irs, Routing::per_channel(2), plan.clone(), sizes[0]).unwrap();
            let b = sizes[0];
            let mut out = vec![0.0f32; b * 2];
            let mut times = Vec::with_capacity(frames / b);
            for c in inter.chunks_exact(b * 2) {
                let t = Instant::now();
                e.process_block(c, &mut out).unwrap();
                times.push(t.elapsed().as_nanos() as f64);
            }
            let mut t = times.clone();
            t.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let med = t[t.len() / 2];
            let kept: Vec<f64> = t
                .into_iter()
                .filter(|&v| v < 20.0 * med.max(1000.0))
                .collect();
            let ns_per_frame = kept.iter().sum::<f64>() / kept.len() as f64 / b as f64;
            best = best.min(ns_per_frame);
        }
        let counts: Vec<String> = levels
            .iter()
            .map(|l| format!("{}x{}", l.count, l.size))
            .collect();
        let est = faltung::engine::plan::plan(&faltung::engine::PlanRequest::realtime(
            len, 2, 2, sizes[0],
        ))
        .unwrap();
        println!(
            "{spec:28} {:40} {best:6.1} ns/frame  rtf {:6.0}x   (auto picks {})",
            counts.join("+"),
            1e9 / (best * 48000.0),
            est
        );
    }
}
