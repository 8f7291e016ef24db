//! `faltung::offline` against independent truth: scipy/numpy golden data
//! (scripts/golden/gen_process.py), the direct f64 reference, and the streaming engine.
//!
//! Tolerances: f32 output within 1e-5 x the reference peak (the engine runs in f32, the
//! references in f64); integer output within 0.5 LSB (no dither) or 1.5 LSB (TPDF dither
//! is +-1 LSB) plus the f32 error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use faltung::audio_file::SampleFormat;
use faltung::engine::{BlockProcessor, Engine, Routing};
use faltung::kernel::Kernel;
use faltung::offline::{process_file, Edge, Mode, OfflineError, Options};
use faltung::reference::convolve_full;

mod common;
use common::wav::{read_wav, write_wav};
use common::{max_abs_diff as max_err, peak_abs as peak, seeded};

fn golden() -> HashMap<String, Vec<f64>> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/process/golden.txt"),
    )
    .expect("golden data (run scripts/golden/gen_process.py)");
    text.lines()
        .map(|l| {
            let mut it = l.split_whitespace();
            let name = it.next().unwrap().to_string();
            let n: usize = it.next().unwrap().parse().unwrap();
            let v: Vec<f64> = it.map(|s| s.parse().unwrap()).collect();
            assert_eq!(v.len(), n, "{name}");
            (name, v)
        })
        .collect()
}

fn kernel(chans: Vec<Vec<f64>>) -> Kernel {
    Kernel {
        channels: chans,
        sample_rate_hz: None,
        name: "test kernel".into(),
    }
}

fn f32_opts() -> Options {
    Options {
        format: Some(SampleFormat::F32),
        ..Options::default()
    }
}

fn run(
    input: &Path,
    out: &Path,
    k: &Kernel,
    o: &Options,
) -> Result<faltung::offline::Summary, OfflineError> {
    let never = AtomicBool::new(false);
    process_file(input, out, k, o, &mut |_, _| {}, &never)
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn every_mode_and_edge_equals_numpy_and_scipy_ndimage() {
    let g = golden();
    let dir = tmp();
    let mut checked = 0;
    let mut worst = 0f64;
    for xn in ["x_long", "x_short"] {
        let x = &g[xn];
        let input = dir.path().join(format!("{xn}.wav"));
        write_wav(&input, std::slice::from_ref(x), 48_000, SampleFormat::F32);
        for hn in ["h7", "h8", "h13"] {
            let k = kernel(vec![g[hn].clone()]);
            let cases: [(&str, Mode, Option<Edge>); 8] = [
                ("full", Mode::Full, None),
                ("same", Mode::Same, None),
                ("valid", Mode::Valid, None),
                ("edge_constant", Mode::Same, Some(Edge::Constant)),
                ("edge_reflect", Mode::Same, Some(Edge::Reflect)),
                ("edge_mirror", Mode::Same, Some(Edge::Mirror)),
                ("edge_nearest", Mode::Same, Some(Edge::Nearest)),
                ("edge_wrap", Mode::Same, Some(Edge::Wrap)),
            ];
            for (tag, mode, edge) in cases {
                let want = &g[&format!("{xn}.{hn}.{tag}")];
                let out = dir.path().join(format!("{xn}.{hn}.{tag}.wav"));
                let o = Options {
                    mode,
                    edge,
                    ..f32_opts()
                };
                let s = run(&input, &out, &k, &o).unwrap();
                let (got, fmt) = read_wav(&out);
                assert_eq!(fmt, SampleFormat::F32);
                assert_eq!(s.output_frames as usize, want.len(), "{xn} {hn} {tag}");
                let e = max_err(&got[0], want);
                assert!(e <= 1e-5 * peak(want), "{xn} {hn} {tag}: max err {e:e}");
                worst = worst.max(e / peak(want));
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 48);
    eprintln!("worst error relative to the peak over {checked} cases: {worst:e}");
}

#[test]
fn savgol_interp_equals_scipy_savgol_filter() {
    let g = golden();
    let dir = tmp();
    let input = dir.path().join("x.wav");
    write_wav(&input, &[g["x_long"].clone()], 48_000, SampleFormat::F32);
    for (w, p, d, delta) in [
        (7, 2, 0, 1.0),
        (11, 3, 0, 1.0),
        (11, 3, 1, 0.5),
        (9, 4, 2, 1.0),
    ] {
        let tag = format!("savgol_{w}_{p}_{d}_{delta}");
        let k = kernel(vec![g[&format!("{tag}.coeffs")].clone()]);
        let sg =
            faltung::kernel::spec::parse_savgol(&format!("savgol:{w},{p},deriv={d},delta={delta}"))
                .unwrap()
                .unwrap();
        let out = dir.path().join(format!("{tag}.wav"));
        let o = Options {
            mode: Mode::Same,
            edge: Some(Edge::Interp(sg)),
            ..f32_opts()
        };
        run(&input, &out, &k, &o).unwrap();
        let want = &g[&format!("x_long.{tag}.interp")];
        let (got, _) = read_wav(&out);
        let e = max_err(&got[0], want);
        assert!(e <= 1e-5 * peak(want), "{tag}: max err {e:e}");
        // The edges are where interp differs from zero padding: the fit must be exercised.
        let coeffs = &g[&format!("{tag}.coeffs")];
        let padded = &convolve_full(&g["x_long"], coeffs)[w / 2..w / 2 + want.len()];
        let half = w / 2;
        assert!(
            max_err(&padded[..half], &want[..half]) > 1e-3 * peak(want),
            "{tag}"
        );
        assert!(
            max_err(
                &padded[half..want.len() - half],
                &got[0][half..want.len() - half]
            ) <= 1e-5 * peak(want)
        );
    }
}

/// (input channels, IR channels, output channels, paths as (input, IR, output)).
type Layout = (usize, usize, usize, Vec<(usize, usize, usize)>);

#[test]
fn channel_layouts_equal_the_direct_reference() {
    let dir = tmp();
    let n = 3000;
    let m = 700;
    // (input channels, IR channels, expected output channels, paths (in, ir, out))
    let layouts: Vec<Layout> = vec![
        (1, 1, 1, vec![(0, 0, 0)]),
        (3, 1, 3, vec![(0, 0, 0), (1, 0, 1), (2, 0, 2)]),
        (2, 2, 2, vec![(0, 0, 0), (1, 1, 1)]),
        (1, 2, 2, vec![(0, 0, 0), (0, 1, 1)]),
        // True stereo: LL, LR, RL, RR (LR = left input to right output).
        (2, 4, 2, vec![(0, 0, 0), (0, 1, 1), (1, 2, 0), (1, 3, 1)]),
    ];
    for (ic, kc, oc, paths) in layouts {
        let x: Vec<Vec<f64>> = (0..ic).map(|c| seeded(n, 10 + c as u64, 0.5)).collect();
        let h: Vec<Vec<f64>> = (0..kc).map(|c| seeded(m, 100 + c as u64, 0.05)).collect();
        let input = dir.path().join(format!("in{ic}_{kc}.wav"));
        let out = dir.path().join(format!("out{ic}_{kc}.wav"));
        write_wav(&input, &x, 44_100, SampleFormat::F32);
        let s = run(&input, &out, &kernel(h.clone()), &f32_opts()).unwrap();
        assert_eq!(s.output_channels, oc);
        let (got, _) = read_wav(&out);
        assert_eq!(got.len(), oc);
        let mut want = vec![vec![0.0; n + m - 1]; oc];
        for (i, k, o) in paths {
            for (w, v) in want[o].iter_mut().zip(convolve_full(&x[i], &h[k])) {
                *w += v;
            }
        }
        for c in 0..oc {
            let e = max_err(&got[c], &want[c]);
            assert!(e <= 1e-5 * peak(&want[c]), "{ic}x{kc} ch {c}: {e:e}");
        }
    }
}

#[test]
fn unsupported_layout_names_both_channel_counts() {
    let dir = tmp();
    let input = dir.path().join("three.wav");
    write_wav(
        &input,
        &vec![seeded(100, 1, 0.5); 3],
        48_000,
        SampleFormat::F32,
    );
    let k = kernel(vec![seeded(10, 2, 0.1); 2]);
    let e = run(&input, &dir.path().join("o.wav"), &k, &f32_opts()).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            OfflineError::Channels {
                input_channels: 3,
                ir_channels: 2,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("three.wav") && msg.contains('3') && msg.contains("2-channel"),
        "{msg}"
    );
}

/// Run the engine `Engine::offline` builds over `x` (plus the tail) in calls whose sizes
/// `size(k, block)` gives; returns the interleaved output with the latency removed.
fn stream_engine(x: &[Vec<f64>], h: &[Vec<f64>], size: impl Fn(usize, usize) -> usize) -> Vec<f32> {
    let irs: Vec<Vec<f32>> = h
        .iter()
        .map(|c| c.iter().map(|&v| v as f32).collect())
        .collect();
    let ch = x.len();
    let mut eng = Engine::offline(&irs, Routing::auto(ch, h.len()).unwrap()).unwrap();
    let n = x[0].len();
    let total = n + h[0].len() - 1;
    let block = eng.plan().preferred_call_frames();
    let mut out: Vec<f32> = Vec::new();
    let (mut pos, mut k) = (0usize, 0usize);
    while pos < total + eng.latency_frames() {
        let c = size(k, block).min(eng.max_call_frames());
        k += 1;
        let inp: Vec<f32> = (pos..pos + c)
            .flat_map(|i| (0..ch).map(move |c| if i < n { x[c][i] as f32 } else { 0.0 }))
            .collect();
        let mut o = vec![0f32; c * ch];
        eng.process_block(&inp, &mut o).unwrap();
        out.extend_from_slice(&o);
        pos += c;
    }
    let lat = eng.latency_frames();
    out[lat * ch..(lat + total) * ch].to_vec()
}

#[test]
fn offline_output_equals_the_streaming_engine() {
    let dir = tmp();
    let n = 20_000;
    let x = vec![seeded(n, 7, 0.5), seeded(n, 8, 0.5)];
    let h = vec![seeded(5000, 9, 0.02), seeded(5000, 10, 0.02)];
    let input = dir.path().join("in.wav");
    let out = dir.path().join("out.wav");
    write_wav(&input, &x, 48_000, SampleFormat::F32);
    run(&input, &out, &kernel(h.clone()), &f32_opts()).unwrap();
    let (got, _) = read_wav(&out);
    let got: Vec<f32> = (0..got[0].len())
        .flat_map(|i| [got[0][i] as f32, got[1][i] as f32])
        .collect();

    // Fed in whole blocks (1, 3, 2 blocks per call): the same arithmetic, bit for bit.
    let blocks = stream_engine(&x, &h, |k, b| b * [1, 3, 2][k % 3]);
    assert_eq!(got.len(), blocks.len());
    let differ = got
        .iter()
        .zip(&blocks)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(
        differ, 0,
        "offline output differs from the block-fed engine"
    );

    // Fed live-style in odd call sizes: partial blocks go through the engine's zero-latency
    // head (the same sums in another order), so agreement to f32 rounding.
    let odd = stream_engine(&x, &h, |k, _| [1usize, 7, 333, 64, 4097, 2, 1023][k % 7]);
    let pk = odd.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
    let worst = got
        .iter()
        .zip(&odd)
        .map(|(a, b)| (a - b).abs() as f64)
        .fold(0.0, f64::max);
    assert!(worst <= 1e-6 * pk, "max diff {worst:e} (peak {pk})");
    eprintln!("offline vs streaming in odd calls: max diff {worst:e}, peak {pk:.3}");
}

#[test]
fn integer_output_is_within_one_lsb_plus_dither() {
    let dir = tmp();
    let x = seeded(4000, 3, 0.6);
    let h = seeded(300, 4, 0.03);
    let want = convolve_full(&x, &h);
    let input = dir.path().join("in.wav");
    write_wav(&input, std::slice::from_ref(&x), 48_000, SampleFormat::F32);
    for (fmt, dither) in [
        (SampleFormat::I16, true),
        (SampleFormat::I16, false),
        (SampleFormat::I24, true),
        (SampleFormat::I24, false),
    ] {
        let out = dir.path().join(format!("o{fmt:?}{dither}.wav"));
        let o = Options {
            format: Some(fmt),
            dither,
            ..Options::default()
        };
        let s = run(&input, &out, &kernel(vec![h.clone()]), &o).unwrap();
        assert_eq!(s.clipped, 0);
        let (got, f) = read_wav(&out);
        assert_eq!(f, fmt);
        let lsb = 1.0 / (1u64 << (fmt.bits() - 1)) as f64;
        let bound = if dither { 1.5 * lsb } else { 0.5 * lsb } + 1e-5 * peak(&want);
        let e = max_err(&got[0], &want);
        assert!(e <= bound, "{fmt:?} dither={dither}: {e:e} > {bound:e}");
        if dither {
            // The dither is really there: the error is not just rounding.
            assert!(e > 0.5 * lsb, "{fmt:?}: no dither visible ({e:e})");
        }
    }
}

#[test]
fn dither_is_reproducible() {
    let dir = tmp();
    let input = dir.path().join("in.wav");
    write_wav(&input, &[seeded(2000, 5, 0.5)], 48_000, SampleFormat::I16);
    let k = kernel(vec![seeded(50, 6, 0.1)]);
    run(&input, &dir.path().join("a.wav"), &k, &Options::default()).unwrap();
    run(&input, &dir.path().join("b.wav"), &k, &Options::default()).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("a.wav")).unwrap(),
        std::fs::read(dir.path().join("b.wav")).unwrap()
    );
}

#[test]
fn clipping_is_counted_and_refused_unless_allowed() {
    let dir = tmp();
    let x = seeded(3000, 11, 0.9);
    let h = vec![1.5]; // gain of 1.5: every |x| > 2/3 clips
    let input = dir.path().join("in.wav");
    write_wav(&input, std::slice::from_ref(&x), 48_000, SampleFormat::I16);
    let (xi, _) = read_wav(&input);
    let expect = xi[0]
        .iter()
        .filter(|&&v| {
            let q = (v * 1.5 * 32768.0).round();
            !(-32768.0..=32767.0).contains(&q)
        })
        .count() as u64;
    assert!(expect > 100);
    let out = dir.path().join("out.wav");
    let e = run(&input, &out, &kernel(vec![h.clone()]), &Options::default()).unwrap_err();
    match &e {
        OfflineError::Clipped {
            count, peak_dbfs, ..
        } => {
            assert_eq!(*count, expect);
            let pk = peak(&xi[0]) * 1.5;
            assert!((peak_dbfs - 20.0 * pk.log10()).abs() < 1e-3, "{peak_dbfs}");
        }
        other => panic!("expected Clipped, got {other}"),
    }
    assert!(!out.exists(), "a clipped output must not be written");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temp files left"
    );
    let o = Options {
        allow_clip: true,
        ..Options::default()
    };
    let s = run(&input, &out, &kernel(vec![h]), &o).unwrap();
    assert_eq!(s.clipped, expect);
    let (got, _) = read_wav(&out);
    assert!(peak(&got[0]) <= 1.0);
}

#[test]
fn normalize_scales_the_whole_output_to_the_target_peak() {
    let dir = tmp();
    let x = seeded(5000, 12, 0.9);
    let h = seeded(200, 13, 0.2);
    let want = convolve_full(&x, &h);
    let input = dir.path().join("in.wav");
    write_wav(&input, &[x], 48_000, SampleFormat::F32);
    let out = dir.path().join("out.wav");
    let o = Options {
        normalize_peak_db: Some(-3.0),
        gain_db: 12.0, // overridden by the normalisation
        ..f32_opts()
    };
    let s = run(&input, &out, &kernel(vec![h]), &o).unwrap();
    let target = 10f64.powf(-3.0 / 20.0);
    let (got, _) = read_wav(&out);
    assert!((peak(&got[0]) - target).abs() < 1e-6 * target);
    assert!((s.peak - target).abs() < 1e-6);
    let g = target / peak(&want);
    let scaled: Vec<f64> = want.iter().map(|v| v * g).collect();
    assert!(max_err(&got[0], &scaled) <= 1e-5 * target);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 2, "pass-1 temp file must be removed");
}

#[test]
fn wet_dry_mix_and_gain() {
    let dir = tmp();
    let x = seeded(3000, 14, 0.5);
    let h = seeded(101, 15, 0.1);
    let input = dir.path().join("in.wav");
    write_wav(&input, std::slice::from_ref(&x), 48_000, SampleFormat::F32);
    let full = convolve_full(&x, &h);
    let g = 10f64.powf(-6.0 / 20.0);
    // full mode: the dry signal lines up with tap 0.
    let want: Vec<f64> = (0..full.len())
        .map(|i| g * (0.25 * full[i] + 0.75 * x.get(i).copied().unwrap_or(0.0)))
        .collect();
    let out = dir.path().join("full.wav");
    let o = Options {
        wet: 0.25,
        gain_db: -6.0,
        ..f32_opts()
    };
    run(&input, &out, &kernel(vec![h.clone()]), &o).unwrap();
    let (got, _) = read_wav(&out);
    assert!(max_err(&got[0], &want) <= 1e-5 * peak(&want));
    // same mode: the dry signal lines up with the kernel centre (zero phase).
    let off = 50;
    let want: Vec<f64> = (0..x.len())
        .map(|i| g * (0.25 * full[i + off] + 0.75 * x[i]))
        .collect();
    let out = dir.path().join("same.wav");
    let o = Options {
        mode: Mode::Same,
        ..o
    };
    run(&input, &out, &kernel(vec![h]), &o).unwrap();
    let (got, _) = read_wav(&out);
    assert!(max_err(&got[0], &want) <= 1e-5 * peak(&want));
}

#[test]
fn long_ir_over_many_blocks_matches_the_reference_on_a_prefix() {
    // A 2 s IR at 8 kHz over a 5 s input: many engine blocks, partitioned plan.
    let dir = tmp();
    let x = seeded(40_000, 16, 0.5);
    let h = seeded(16_000, 17, 0.01);
    let input = dir.path().join("in.wav");
    write_wav(
        &input,
        &[x.clone(), x.iter().map(|v| -v).collect()],
        8_000,
        SampleFormat::F32,
    );
    let out = dir.path().join("out.wav");
    let s = run(&input, &out, &kernel(vec![h.clone()]), &f32_opts()).unwrap();
    assert_eq!(s.output_frames, 40_000 + 16_000 - 1);
    let (got, _) = read_wav(&out);
    // Check the first 3000 and the last 3000 frames against the direct reference.
    let head = faltung::reference::convolve_prefix(&x, &h, 3000);
    let full_tail: Vec<f64> = {
        let xr: Vec<f64> = x.iter().rev().copied().collect();
        let hr: Vec<f64> = h.iter().rev().copied().collect();
        let mut t = faltung::reference::convolve_prefix(&xr, &hr, 3000);
        t.reverse();
        t
    };
    let pk = peak(&head).max(peak(&full_tail));
    assert!(max_err(&got[0][..3000], &head) <= 1e-5 * pk);
    assert!(max_err(&got[0][got[0].len() - 3000..], &full_tail) <= 1e-5 * pk);
    let neg: Vec<f64> = head.iter().map(|v| -v).collect();
    assert!(max_err(&got[1][..3000], &neg) <= 1e-5 * pk);
}

#[test]
fn cancelled_run_leaves_nothing_and_keeps_the_existing_output() {
    let dir = tmp();
    let input = dir.path().join("in.wav");
    write_wav(
        &input,
        &[seeded(10_000, 18, 0.5)],
        48_000,
        SampleFormat::F32,
    );
    let out = dir.path().join("out.wav");
    std::fs::write(&out, b"precious").unwrap();
    let cancel = AtomicBool::new(true);
    let o = Options {
        force: true,
        ..f32_opts()
    };
    let e = process_file(
        &input,
        &out,
        &kernel(vec![vec![0.5]]),
        &o,
        &mut |_, _| {},
        &cancel,
    )
    .unwrap_err();
    assert!(matches!(e, OfflineError::Cancelled { .. }), "{e}");
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn refuses_the_input_as_output_and_existing_outputs_without_force() {
    let dir = tmp();
    let input = dir.path().join("in.wav");
    write_wav(&input, &[seeded(100, 19, 0.5)], 48_000, SampleFormat::F32);
    let before = std::fs::read(&input).unwrap();
    let k = kernel(vec![vec![0.5]]);
    let o = Options {
        force: true,
        ..f32_opts()
    };
    let alias: PathBuf = dir.path().join(".").join("in.wav");
    let e = run(&input, &alias, &k, &o).unwrap_err();
    assert!(matches!(e, OfflineError::OutputIsInput { .. }), "{e}");
    assert_eq!(std::fs::read(&input).unwrap(), before);
    let out = dir.path().join("out.wav");
    std::fs::write(&out, b"keep").unwrap();
    let e = run(&input, &out, &k, &f32_opts()).unwrap_err();
    assert!(matches!(e, OfflineError::OutputExists { .. }), "{e}");
    assert_eq!(std::fs::read(&out).unwrap(), b"keep");
    run(&input, &out, &k, &o).unwrap();
    assert_ne!(std::fs::read(&out).unwrap(), b"keep");
}

#[test]
fn an_engine_with_latency_is_compensated_in_every_mode_and_for_the_dry_signal() {
    use faltung::engine::{PlanRequest, SchemeChoice};
    // Calls of 100 frames on 64-frame partitions with a latency budget: the engine buffers
    // one block (64 frames of latency), which the offline driver must remove.
    let req = PlanRequest {
        call_frames: Some(100),
        max_call_frames: 100,
        latency_budget_frames: 64,
        choice: SchemeChoice::Uniform(Some(64)),
        ..PlanRequest::realtime(0, 1, 1, 100)
    };
    let probe = Engine::new(&[vec![1.0f32; 300]], Routing::mono_ir(1), req.clone()).unwrap();
    assert_eq!(probe.latency_frames(), 64, "{}", probe.plan());

    let dir = tmp();
    let x = seeded(2500, 40, 0.5);
    let h = seeded(300, 41, 0.05);
    let input = dir.path().join("in.wav");
    write_wav(&input, std::slice::from_ref(&x), 48_000, SampleFormat::F32);
    let full = convolve_full(&x, &h);
    let wet = 0.6;
    let cases: [(Mode, usize, usize, usize); 3] = [
        // (mode, start in full, length, dry offset into x)
        (Mode::Full, 0, full.len(), 0),
        (Mode::Same, 149, 2500, 0),
        (Mode::Valid, 299, 2201, 299 - 149),
    ];
    for (mode, start, len, dry_off) in cases {
        let out = dir.path().join(format!("{mode:?}.wav"));
        let o = Options {
            mode,
            wet,
            plan_request: Some(req.clone()),
            ..f32_opts()
        };
        let s = run(&input, &out, &kernel(vec![h.clone()]), &o).unwrap();
        assert!(s.plan.contains("latency 64"), "{}", s.plan);
        let want: Vec<f64> = (0..len)
            .map(|i| {
                let d = x.get(i + dry_off).copied().unwrap_or(0.0);
                wet * full[start + i] + (1.0 - wet) * d
            })
            .collect();
        let (got, _) = read_wav(&out);
        let e = max_err(&got[0], &want);
        assert!(e <= 1e-5 * peak(&want), "{mode:?}: {e:e}");
    }
}
