//! Every engine variant against the direct f64 reference (`faltung::reference`).
//!
//! Tolerance: max abs error <= 1e-5 x the peak of the reference output (the engine works
//! in f32; its error grows with log of FFT size and the number of partitions summed).

mod common;

use common::*;
use faltung::engine::plan::{self, Buffering, Scheme};
use faltung::engine::{BlockProcessor, Engine, PlanRequest, Routing, SchemeChoice, Variant};
use faltung::reference;

const TOL: f64 = 1e-5;

/// Run a mono engine over `x` with the given call sizes (cycled), then flush enough zeros
/// to cover the latency, returning `x.len()` output frames aligned to the input.
fn run(engine: &mut Engine, x: &[f32], calls: &[usize]) -> Vec<f32> {
    let lat = engine.latency_frames();
    let total = x.len() + lat;
    let mut input = x.to_vec();
    input.resize(total, 0.0);
    let mut out = vec![0.0f32; total];
    let mut pos = 0;
    let mut i = 0;
    while pos < total {
        let n = calls[i % calls.len()].min(total - pos);
        engine
            .process_block(&input[pos..pos + n], &mut out[pos..pos + n])
            .unwrap();
        pos += n;
        i += 1;
    }
    out.drain(..lat);
    out.truncate(x.len());
    out
}

fn check(engine: &mut Engine, x: &[f32], h: &[f32], calls: &[usize], what: &str) {
    let y = run(engine, x, calls);
    let want = reference::convolve_prefix(&to_f64(x), &to_f64(h), x.len());
    let (e, peak) = max_err(&y, &want);
    assert!(
        e <= TOL * peak.max(1e-30),
        "{what}: plan [{}], max err {e:.3e} > {TOL:e} x peak {peak:.3e}",
        engine.plan()
    );
}

fn random_calls(seed: u64, max: usize) -> Vec<usize> {
    let mut r = Rng::new(seed);
    (0..97).map(|_| 1 + r.below(max)).collect()
}

#[test]
fn auto_plans_match_reference_over_call_sizes_and_ir_lengths() {
    let calls = [1usize, 7, 32, 64, 100, 128, 256, 1024, 4096];
    let irs = [1usize, 2, 63, 64, 65, 1000, 48_000, 96_001];
    for (ci, &c) in calls.iter().enumerate() {
        for (li, &l) in irs.iter().enumerate() {
            let h = decaying_ir(100 + li as u64, l);
            // Inputs long enough to reach well into the IR, short enough for the reference.
            let n = if l > 10_000 {
                3 * 4096 + 333
            } else {
                (3 * l).max(2000) + 17
            };
            let x = noise(7 + ci as u64, n);
            let mut e = Engine::realtime(std::slice::from_ref(&h), Routing::mono_ir(1), c).unwrap();
            check(&mut e, &x, &h, &[c], &format!("call {c}, ir {l}"));
        }
    }
}

#[test]
fn varying_call_sizes_match_reference() {
    for (li, &l) in [63usize, 1000, 48_000].iter().enumerate() {
        let h = decaying_ir(200 + li as u64, l);
        let x = noise(9, 9000);
        for base in [64usize, 256] {
            let calls = random_calls(l as u64 + base as u64, 3 * base);
            let req = PlanRequest {
                max_call_frames: 3 * base,
                ..PlanRequest::realtime(0, 1, 1, base)
            };
            let mut e = Engine::new(std::slice::from_ref(&h), Routing::mono_ir(1), req).unwrap();
            check(
                &mut e,
                &x,
                &h,
                &calls,
                &format!("random calls, base {base}, ir {l}"),
            );
        }
    }
}

fn plan_with(
    ir_len: usize,
    call: usize,
    choice: SchemeChoice,
    variant: Variant,
    budget: usize,
) -> faltung::Plan {
    plan::plan(&PlanRequest {
        ir_len,
        input_channels: 1,
        output_channels: 1,
        paths: 1,
        call_frames: Some(call),
        max_call_frames: 8192,
        latency_budget_frames: budget,
        choice,
        variant,
        worker_threads: 0,
    })
    .unwrap()
}

#[test]
fn every_scheme_and_variant_matches_reference() {
    let l = 20_000;
    let h = decaying_ir(5, l);
    let x = noise(6, 6000);
    for variant in [Variant::OverlapSave, Variant::OverlapAdd] {
        for choice in [
            SchemeChoice::Direct,
            SchemeChoice::Uniform(Some(64)),
            SchemeChoice::Uniform(Some(100)),
            SchemeChoice::Uniform(Some(512)),
            SchemeChoice::NonUniform,
        ] {
            for (call, budget) in [(64usize, 0usize), (37, 0), (64, 512), (37, 512)] {
                let p = plan_with(l, call, choice, variant, budget);
                let mut e =
                    Engine::with_plan(std::slice::from_ref(&h), Routing::mono_ir(1), p, 8192)
                        .unwrap();
                let what = format!("{choice:?} {variant:?} call {call} budget {budget}");
                check(&mut e, &x, &h, &[call], &what);
                let calls = random_calls(call as u64, 200);
                e.reset();
                check(&mut e, &x, &h, &calls, &format!("{what}, random calls"));
            }
        }
    }
}

#[test]
fn explicit_nonuniform_layouts_match_reference() {
    let l = 40_000;
    let h = decaying_ir(11, l);
    let x = noise(12, 9000);
    for sizes in [
        vec![64, 128],
        vec![64, 256, 1024],
        vec![64, 512, 4096],
        vec![32, 1024, 8192],
        vec![128, 256, 512, 1024, 2048],
    ] {
        let levels = plan::layout(l, &sizes).unwrap();
        for variant in [Variant::OverlapSave, Variant::OverlapAdd] {
            let p = faltung::Plan {
                scheme: Scheme::NonUniform,
                variant,
                block_frames: sizes[0],
                levels: levels.clone(),
                buffering: Buffering::ZeroLatency,
                latency_frames: 0,
                est_ns_per_frame: 0.0,
                ir_len: l,
            };
            let mut e =
                Engine::with_plan(std::slice::from_ref(&h), Routing::mono_ir(1), p, 4096).unwrap();
            check(
                &mut e,
                &x,
                &h,
                &[sizes[0]],
                &format!("{sizes:?} {variant:?}"),
            );
        }
    }
}

#[test]
fn six_second_ir_matches_reference() {
    // 6 s at 48 kHz; checked on a prefix that reaches the last partitions' start and an
    // input that ends early so the tail (all levels) is exercised.
    let l = 288_000;
    let h = decaying_ir(60, l);
    let x = noise(61, 4000);
    let mut e = Engine::realtime(std::slice::from_ref(&h), Routing::mono_ir(1), 64).unwrap();
    assert_eq!(e.plan().scheme, Scheme::NonUniform, "{}", e.plan());
    // Output over the whole IR span for a short input: compare every 97th frame to
    // keep the f64 reference cheap, and all of the first 20k frames.
    let n = x.len() + l - 1;
    let mut input = x.clone();
    input.resize(n, 0.0);
    let mut out = vec![0.0f32; n];
    for (i, o) in input.chunks(64).zip(out.chunks_mut(64)) {
        e.process_block(i, o).unwrap();
    }
    let xd = to_f64(&x);
    let hd = to_f64(&h);
    let mut err = 0.0f64;
    let mut peak = 0.0f64;
    for t in (0..n).filter(|t| t < &20_000 || t % 97 == 0) {
        let lo = t.saturating_sub(l - 1);
        let hi = t.min(x.len() - 1);
        let mut acc = 0.0;
        for k in lo..=hi {
            acc += xd[k] * hd[t - k];
        }
        err = err.max((out[t] as f64 - acc).abs());
        peak = peak.max(acc.abs());
    }
    assert!(
        err <= TOL * peak,
        "6 s IR: err {err:e} peak {peak:e}, plan {}",
        e.plan()
    );
}
