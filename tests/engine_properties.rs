//! Properties every engine must have, over a matrix of plans: a unit impulse gives the
//! kernel at `latency_frames()`; the output does not depend on how the input is cut into
//! calls; `reset()` reproduces the first run; the engine is linear; garbage in scratch
//! buffers changes nothing; every multichannel layout equals the reference per path;
//! the SIMD path equals the portable one; paired paths of a mono IR equal separate paths.

mod common;

use common::*;
use faltung::engine::plan::{self, Buffering, Scheme};
use faltung::engine::simd::Isa;
use faltung::engine::{BlockProcessor, Engine, PlanRequest, Routing, SchemeChoice, Variant};
use faltung::reference;

const TOL: f64 = 1e-5;

fn plans(ir_len: usize) -> Vec<(String, faltung::Plan)> {
    let mut out = Vec::new();
    for variant in [Variant::OverlapSave, Variant::OverlapAdd] {
        for choice in [
            SchemeChoice::Auto,
            SchemeChoice::Direct,
            SchemeChoice::Uniform(Some(64)),
            SchemeChoice::NonUniform,
        ] {
            for (call, budget) in [(64usize, 0usize), (48, 0), (48, 256)] {
                let p = plan::plan(&PlanRequest {
                    ir_len,
                    input_channels: 1,
                    output_channels: 1,
                    paths: 1,
                    call_frames: Some(call),
                    max_call_frames: 1024,
                    latency_budget_frames: budget,
                    choice,
                    variant,
                    worker_threads: 0,
                })
                .unwrap();
                out.push((
                    format!("{choice:?}/{variant:?}/call {call}/budget {budget}"),
                    p,
                ));
            }
        }
    }
    out
}

fn run_calls(e: &mut Engine, x: &[f32], calls: &[usize]) -> Vec<f32> {
    let ic = e.input_channels();
    let oc = e.output_channels();
    let frames = x.len() / ic;
    let mut out = vec![0.0f32; frames * oc];
    let (mut pos, mut i) = (0, 0);
    while pos < frames {
        let n = calls[i % calls.len()].min(frames - pos);
        e.process_block(
            &x[pos * ic..(pos + n) * ic],
            &mut out[pos * oc..(pos + n) * oc],
        )
        .unwrap();
        pos += n;
        i += 1;
    }
    out
}

#[test]
fn unit_impulse_gives_the_kernel_at_latency_frames() {
    let l = 5000;
    let h = decaying_ir(1, l);
    for (what, p) in plans(l) {
        let mut e =
            Engine::with_plan(std::slice::from_ref(&h), Routing::mono_ir(1), p, 1024).unwrap();
        let lat = e.latency_frames();
        let mut x = vec![0.0f32; l + lat + 300];
        x[0] = 1.0;
        let y = run_calls(&mut e, &x, &[37, 64, 1, 200]);
        let peak = h.iter().fold(0.0f32, |a, v| a.max(v.abs())) as f64;
        for (t, &v) in y.iter().enumerate() {
            let want = if t >= lat && t - lat < l {
                h[t - lat]
            } else {
                0.0
            };
            assert!(
                ((v - want) as f64).abs() <= TOL * peak,
                "{what}: frame {t}: got {v}, want {want} (latency {lat})"
            );
        }
        if e.plan().buffering == Buffering::ZeroLatency {
            assert_eq!(lat, 0, "{what}");
        }
    }
}

#[test]
fn zero_latency_when_partition_equals_call_size() {
    for (l, call) in [
        (10_000usize, 64usize),
        (96_000, 128),
        (3000, 256),
        (50_000, 100),
    ] {
        let h = decaying_ir(3, l);
        let e = Engine::realtime(&[h], Routing::mono_ir(2), call).unwrap();
        assert_eq!(e.latency_frames(), 0, "{}", e.plan());
        if e.plan().scheme != Scheme::Direct {
            assert_eq!(e.plan().block_frames, call, "{}", e.plan());
        }
    }
}

#[test]
fn output_does_not_depend_on_call_sizes() {
    let l = 3000;
    let h = decaying_ir(4, l);
    let x = noise(5, 12_000);
    for (what, p) in plans(l) {
        let mut a = Engine::with_plan(
            std::slice::from_ref(&h),
            Routing::mono_ir(1),
            p.clone(),
            1024,
        )
        .unwrap();
        let mut b =
            Engine::with_plan(std::slice::from_ref(&h), Routing::mono_ir(1), p, 1024).unwrap();
        let ya = run_calls(&mut a, &x, &[64]);
        let yb = run_calls(&mut b, &x, &[1, 13, 64, 500, 7, 1024, 3]);
        let peak = ya.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
        for (t, (u, v)) in ya.iter().zip(&yb).enumerate() {
            assert!(
                ((u - v) as f64).abs() <= TOL * peak,
                "{what}: frame {t}: {u} vs {v}"
            );
        }
    }
}

#[test]
fn reset_reproduces_the_first_run_exactly() {
    let l = 9000;
    let h = decaying_ir(6, l);
    let x = noise(7, 20_000);
    for (what, p) in plans(l) {
        let mut e =
            Engine::with_plan(std::slice::from_ref(&h), Routing::mono_ir(1), p, 1024).unwrap();
        let first = run_calls(&mut e, &x, &[64, 17]);
        e.reset();
        let second = run_calls(&mut e, &x, &[64, 17]);
        assert_eq!(first, second, "{what}");
    }
}

#[test]
fn engine_is_linear() {
    let l = 4000;
    let h = decaying_ir(8, l);
    let x1 = noise(9, 10_000);
    let x2 = noise(10, 10_000);
    let (a, b) = (0.75f32, -1.5f32);
    let mix: Vec<f32> = x1.iter().zip(&x2).map(|(u, v)| a * u + b * v).collect();
    for (what, p) in plans(l) {
        let mk = || {
            Engine::with_plan(
                std::slice::from_ref(&h),
                Routing::mono_ir(1),
                p.clone(),
                1024,
            )
            .unwrap()
        };
        let y1 = run_calls(&mut mk(), &x1, &[64]);
        let y2 = run_calls(&mut mk(), &x2, &[64]);
        let ym = run_calls(&mut mk(), &mix, &[64]);
        let peak = ym.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
        for t in 0..ym.len() {
            let want = a as f64 * y1[t] as f64 + b as f64 * y2[t] as f64;
            assert!(
                (ym[t] as f64 - want).abs() <= 4.0 * TOL * peak,
                "{what}: frame {t}"
            );
        }
    }
}

#[test]
fn garbage_in_scratch_buffers_changes_nothing() {
    let l = 7000;
    let h = decaying_ir(11, l);
    let x = noise(12, 9000);
    for (what, p) in plans(l) {
        let mut clean = Engine::with_plan(
            std::slice::from_ref(&h),
            Routing::mono_ir(1),
            p.clone(),
            1024,
        )
        .unwrap();
        let mut dirty =
            Engine::with_plan(std::slice::from_ref(&h), Routing::mono_ir(1), p, 1024).unwrap();
        let calls = [64usize, 31, 97];
        let (mut pos, mut i) = (0, 0);
        let mut yc = vec![0.0f32; x.len()];
        let mut yd = vec![0.0f32; x.len()];
        while pos < x.len() {
            let n = calls[i % 3].min(x.len() - pos);
            dirty.poison_scratch(if i % 2 == 0 { f32::NAN } else { 1e30 });
            clean
                .process_block(&x[pos..pos + n], &mut yc[pos..pos + n])
                .unwrap();
            dirty
                .process_block(&x[pos..pos + n], &mut yd[pos..pos + n])
                .unwrap();
            pos += n;
            i += 1;
        }
        assert_eq!(yc, yd, "{what}");
    }
}

/// Check an interleaved multichannel output against the reference sum over paths.
fn check_routing(routing: Routing, irs: &[Vec<f32>], call: usize, what: &str) {
    let ic = routing.input_channels;
    let oc = routing.output_channels;
    let frames = 8000;
    let x = noise(13, frames * ic);
    let mut e = Engine::realtime(irs, routing.clone(), call).unwrap();
    let y = run_calls(&mut e, &x, &[call]);
    for o in 0..oc {
        let mut want = vec![0.0f64; frames];
        for p in routing.paths.iter().filter(|p| p.output == o) {
            let xin = to_f64(&channel(&x, ic, p.input));
            let r = reference::convolve_prefix(&xin, &to_f64(&irs[p.ir]), frames);
            for (w, v) in want.iter_mut().zip(r) {
                *w += v;
            }
        }
        let (err, peak) = max_err(&channel(&y, oc, o), &want);
        assert!(
            err <= TOL * peak,
            "{what}: output {o}: err {err:e} peak {peak:e} ({})",
            e.plan()
        );
    }
}

#[test]
fn multichannel_layouts_match_reference() {
    for (call, l) in [(64usize, 30_000usize), (128, 1000), (64, 40)] {
        let irs: Vec<Vec<f32>> = (0..4)
            .map(|i| decaying_ir(20 + i, l - i as usize * 7))
            .collect();
        check_routing(
            Routing::mono_ir(3),
            &irs[..1],
            call,
            "mono IR on 3 channels",
        );
        check_routing(
            Routing::per_channel(2),
            &irs[..2],
            call,
            "one IR per channel",
        );
        check_routing(
            Routing::mono_to_stereo(),
            &irs[..2],
            call,
            "mono in, stereo IR",
        );
        check_routing(Routing::true_stereo(), &irs, call, "true stereo");
        assert_eq!(Routing::auto(2, 4).unwrap(), Routing::true_stereo());
        assert_eq!(Routing::auto(1, 2).unwrap(), Routing::mono_to_stereo());
        assert!(Routing::auto(3, 2).is_err());
    }
}

#[test]
fn simd_path_equals_portable_path() {
    let l = 20_000;
    let h = decaying_ir(30, l);
    let x = noise(31, 10_000);
    for (what, p) in plans(l) {
        let portable = Engine::with_plan_and_isa(
            std::slice::from_ref(&h),
            Routing::mono_ir(1),
            p.clone(),
            1024,
            Isa::Portable,
        )
        .unwrap()
        .unwrap();
        let Some(avx) = Engine::with_plan_and_isa(
            std::slice::from_ref(&h),
            Routing::mono_ir(1),
            p,
            1024,
            Isa::Avx2Fma,
        )
        .unwrap() else {
            eprintln!("AVX2+FMA not available on this CPU: only the portable path is tested");
            return;
        };
        let (mut a, mut b) = (portable, avx);
        let ya = run_calls(&mut a, &x, &[64, 5]);
        let yb = run_calls(&mut b, &x, &[64, 5]);
        let lat = a.latency_frames();
        let want = reference::convolve_prefix(&to_f64(&x), &to_f64(&h), x.len() - lat);
        let (ea, peak) = max_err(&ya[lat..], &want);
        let (eb, _) = max_err(&yb[lat..], &want);
        assert!(
            ea <= TOL * peak && eb <= TOL * peak,
            "{what}: portable {ea:e}, avx {eb:e}"
        );
        let diff = ya
            .iter()
            .zip(&yb)
            .fold(0.0f64, |m, (u, v)| m.max((u - v).abs() as f64));
        assert!(
            diff <= TOL * peak,
            "{what}: portable vs avx differ by {diff:e}"
        );
    }
}

/// A mono IR on two channels runs its two paths' history multiply-accumulates as pairs
/// (one sweep reads the kernel for both); the same IR given once per channel runs them one
/// path at a time. The outputs must be the same bits, in every plan and implementation.
#[test]
fn paired_paths_of_a_mono_ir_give_the_bits_of_separate_paths() {
    let l = 20_000;
    let h = decaying_ir(32, l);
    let x = noise(33, 2 * 12_000);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for (what, p) in plans(l) {
        for isa in [Isa::Portable, Isa::Avx2Fma] {
            let build = |irs: &[Vec<f32>], routing: Routing| {
                Engine::with_plan_and_isa(irs, routing, p.clone(), 1024, isa).unwrap()
            };
            let Some(mut paired) = build(std::slice::from_ref(&h), Routing::mono_ir(2)) else {
                continue;
            };
            let mut separate = build(&[h.clone(), h.clone()], Routing::per_channel(2)).unwrap();
            let a = run_calls(&mut paired, &x, &[64, 5, 300]);
            let b = run_calls(&mut separate, &x, &[64, 5, 300]);
            assert!(a.iter().any(|&v| v != 0.0), "{what}: silent output");
            assert_eq!(bits(&a), bits(&b), "{what}, {isa:?}");
        }
    }
}

#[test]
fn bad_irs_and_calls_are_errors_not_panics() {
    use faltung::error::{EngineError, ProcessError};
    assert!(matches!(
        Engine::realtime(&[], Routing::mono_ir(1), 64),
        Err(EngineError::EmptyIr)
    ));
    assert!(matches!(
        Engine::realtime(&[vec![]], Routing::mono_ir(1), 64),
        Err(EngineError::EmptyIrChannel { .. })
    ));
    assert!(matches!(
        Engine::realtime(&[vec![0.0, f32::NAN]], Routing::mono_ir(1), 64),
        Err(EngineError::NonFiniteIr { channel: 0, tap: 1 })
    ));
    assert!(Engine::realtime(&[vec![1.0]], Routing::per_channel(2), 64).is_err());
    let mut e = Engine::realtime(&[vec![1.0; 100]], Routing::mono_ir(2), 64).unwrap();
    let mut out = vec![0.0; 256];
    assert!(matches!(
        e.process_block(&[0.0; 3], &mut out[..4]),
        Err(ProcessError::BadInterleave { .. })
    ));
    assert!(matches!(
        e.process_block(&[0.0; 4], &mut out[..6]),
        Err(ProcessError::FrameMismatch { .. })
    ));
    assert!(matches!(
        e.process_block(&[0.0; 256], &mut out[..256]),
        Err(ProcessError::TooManyFrames { .. })
    ));
}
