//! Minimum-phase conversion (`kernel::minphase`, `faltung kernel --min-phase`): the
//! magnitude response is kept within 0.1 dB wherever it is above -80 dB of its peak, the
//! result is minimum phase (all zeros inside the unit circle for short kernels; energy
//! front-loaded for long IRs), and converting twice changes nothing (to 5e-4 of the peak).

mod common;

use std::process::Command;

use faltung::kernel::analysis::magnitude_response;
use faltung::kernel::minphase::minimum_phase;
use faltung::kernel::parse_spec;

fn db(v: f64) -> f64 {
    20.0 * v.max(1e-300).log10()
}

/// Largest magnitude difference in dB where the original is above -80 dB of its peak.
fn magnitude_error_db(a: &[f64], b: &[f64]) -> f64 {
    let n = (8 * a.len().max(b.len())).next_power_of_two().max(4096);
    let ma = magnitude_response(a, n);
    let mb = magnitude_response(b, n);
    let peak = ma.iter().cloned().fold(0.0, f64::max);
    ma.iter()
        .zip(&mb)
        .filter(|(x, _)| db(**x / peak) > -80.0)
        .map(|(x, y)| (db(*x) - db(*y)).abs())
        .fold(0.0, f64::max)
}

/// Zeros of `h[0] z^(n-1) + h[1] z^(n-2) + ... + h[n-1]` (those of `H(z)`), by the
/// Durand-Kerner iteration in complex f64.
fn zeros(h: &[f64]) -> Vec<(f64, f64)> {
    type C = (f64, f64);
    let mul = |a: C, b: C| (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0);
    let sub = |a: C, b: C| (a.0 - b.0, a.1 - b.1);
    let div = |a: C, b: C| {
        let d = b.0 * b.0 + b.1 * b.1;
        ((a.0 * b.0 + a.1 * b.1) / d, (a.1 * b.0 - a.0 * b.1) / d)
    };
    let c: Vec<f64> = h.iter().map(|v| v / h[0]).collect();
    let deg = c.len() - 1;
    let eval = |z: C| {
        c.iter().fold((0.0, 0.0), |acc, &k| {
            let m = mul(acc, z);
            (m.0 + k, m.1)
        })
    };
    let mut r: Vec<C> = (0..deg)
        .map(|i| {
            let a = 2.0 * std::f64::consts::PI * i as f64 / deg as f64 + 0.4;
            (0.9 * a.cos(), 0.9 * a.sin())
        })
        .collect();
    for _ in 0..2000 {
        let mut moved = 0.0f64;
        for i in 0..deg {
            let mut den = (1.0, 0.0);
            for j in 0..deg {
                if i != j {
                    den = mul(den, sub(r[i], r[j]));
                }
            }
            let step = div(eval(r[i]), den);
            r[i] = sub(r[i], step);
            moved = moved.max(step.0.hypot(step.1));
        }
        if moved < 1e-14 {
            break;
        }
    }
    // Every zero found must be a zero.
    for &z in &r {
        let v = eval(z);
        assert!(v.0.hypot(v.1) < 1e-8, "not converged: {z:?}");
    }
    r
}

#[test]
fn short_kernels_keep_their_magnitude_and_get_every_zero_inside_the_unit_circle() {
    let mut rng = common::Rng::new(11);
    for len in [2usize, 5, 8, 16, 24] {
        let h: Vec<f64> = (0..len).map(|_| rng.next_bipolar_f64()).collect();
        let mp = minimum_phase(&h);
        assert_eq!(mp.len(), len);
        let err = magnitude_error_db(&h, &mp);
        assert!(err < 0.1, "len {len}: {err} dB");
        let zs = zeros(&mp);
        let outside = zs.iter().map(|z| z.0.hypot(z.1)).fold(0.0, f64::max);
        assert!(
            outside < 1.0 + 1e-6,
            "len {len}: a zero at radius {outside}"
        );
        // A random kernel has zeros outside: the conversion really moved them.
        let before = zeros(&h).iter().map(|z| z.0.hypot(z.1)).fold(0.0, f64::max);
        if before > 1.01 {
            // Each zero z outside is reflected to 1/conj(z): the largest radius inside
            // is then the inverse of the smallest outside, never above 1.
            assert!(outside < 1.0, "len {len}");
        }
    }
}

#[test]
fn designed_filters_and_long_irs_keep_their_magnitude_and_front_load_their_energy() {
    let lowpass = parse_spec("lowpass:255,cutoff=3000", Some(48_000))
        .unwrap()
        .channels[0]
        .clone();
    // A room-like IR: 200 frames of delay, then 0.1 s of decaying noise.
    let mut room = vec![0.0; 200];
    room.extend(common::decaying_ir(5, 4800).iter().map(|&v| f64::from(v)));
    // What the centroid of the energy must fall below, as a function of the original's:
    // the linear-phase low-pass had its energy at 127 frames, now at the start; the room
    // loses its 200 frames of delay and its decay is front-loaded further (the exact
    // minimum phase, the same on every grid from 2^16 to 2^22 points, has its centroid at
    // 0.51 of the original's after the delay).
    let lowpass_bound: fn(f64) -> f64 = |c| 0.25 * c;
    let room_bound: fn(f64) -> f64 = |c| 0.6 * (c - 200.0);
    for (name, h, bound) in [
        ("lowpass", lowpass, lowpass_bound),
        ("room", room, room_bound),
    ] {
        let mp = minimum_phase(&h);
        let err = magnitude_error_db(&h, &mp);
        assert!(err < 0.1, "{name}: {err} dB");
        // Same energy, and at every length the minimum-phase kernel holds at least as
        // much of it as the original (the defining property of minimum phase).
        let e = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>();
        let total = e(&h);
        assert!((e(&mp) / total - 1.0).abs() < 1e-3, "{name}");
        let (mut a, mut b) = (0.0, 0.0);
        for (x, y) in h.iter().zip(&mp) {
            a += x * x;
            b += y * y;
            assert!(b >= a - 1e-4 * total, "{name}: {b} < {a}");
        }
        let centroid = |x: &[f64]| {
            x.iter()
                .enumerate()
                .map(|(i, v)| i as f64 * v * v)
                .sum::<f64>()
                / e(x)
        };
        assert!(
            centroid(&mp) < bound(centroid(&h)),
            "{name}: centroid {} of {}",
            centroid(&mp),
            centroid(&h)
        );
        // Idempotent: already minimum phase, converted again, the same taps.
        let twice = minimum_phase(&mp);
        let peak = mp.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let diff = mp
            .iter()
            .zip(&twice)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
        // (The grid's finite length leaves ~1e-4 of the peak on a 255-tap low-pass.)
        assert!(diff < 5e-4 * peak, "{name}: {diff:e}");
    }
}

#[test]
fn kernel_cli_writes_the_minimum_phase_kernel_and_reports_decay_times() {
    let out_path = common::scratch_path("minphase", "lp_mp.wav");
    let out = Command::new(env!("CARGO_BIN_EXE_faltung"))
        .args([
            "kernel",
            "lowpass:127,cutoff=2000",
            "--rate",
            "48000",
            "--min-phase",
            "-o",
        ])
        .arg(&out_path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("minimum phase"), "{text}");
    assert!(text.contains("T20") && text.contains("T30"), "{text}");
    let (got, _) = common::wav::read_wav(&out_path);
    let want = minimum_phase(
        &parse_spec("lowpass:127,cutoff=2000", Some(48_000))
            .unwrap()
            .channels[0],
    );
    let diff = got[0]
        .iter()
        .zip(&want)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(diff < 1e-6, "{diff:e}");
}
