//! One-shot convolution cost: direct vs FFT vs overlap-add across lengths, and where
//! `Method::Auto` switches (printed before the runs; the cost-model constants in
//! `src/convolve.rs` were fitted to these timings).
//!
//! `cargo bench --bench offline` (add `--no-default-features` to skip the audio backends).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use faltung::convolve::{choose_method, convolve, Method, Mode};
use std::time::{Duration, Instant};

fn signal(len: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
        .collect()
}

/// (group name, signal lengths, kernel lengths): equal lengths, then fixed signals with
/// growing kernels, the shapes where direct, FFT and overlap-add trade places.
fn grids() -> Vec<(&'static str, Vec<(usize, usize)>)> {
    vec![
        (
            "full_equal_lengths",
            [16, 32, 64, 96, 128, 192, 256, 512, 1024]
                .iter()
                .map(|&n| (n, n))
                .collect(),
        ),
        (
            "full_signal_10000",
            [8, 16, 32, 48, 64, 128, 256, 1024, 4096]
                .iter()
                .map(|&m| (10_000, m))
                .collect(),
        ),
        (
            "full_signal_100000",
            [16, 32, 48, 64, 96, 128, 512, 4096]
                .iter()
                .map(|&m| (100_000, m))
                .collect(),
        ),
    ]
}

fn print_auto_choices() {
    eprintln!("Method::Auto picks (full mode):");
    for (group, pairs) in grids() {
        let picks: Vec<String> = pairs
            .iter()
            .map(|&(n, m)| format!("{n}x{m}:{:?}", choose_method(n, m, Mode::Full)))
            .collect();
        eprintln!("  {group}: {}", picks.join(" "));
    }
}

/// Minimum over samples of the time of one call of `f`, in nanoseconds: the minimum is the
/// statistic least disturbed by other load on a shared machine.
fn min_ns(mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    f();
    let once = t.elapsed().as_nanos().max(1) as f64;
    let reps = ((300_000.0 / once) as usize).clamp(1, 100_000);
    (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_nanos() as f64 / reps as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// `FALTUNG_CALIBRATE=1 cargo bench --bench offline`: the raw timings the cost-model
/// constants in `src/convolve.rs` are fitted to (min-of-15 per call).
fn calibrate() {
    eprintln!("direct (full): n m ns ns/MAC");
    for &(n, m) in &[
        (8, 8),
        (16, 16),
        (24, 24),
        (32, 32),
        (48, 48),
        (64, 64),
        (96, 96),
        (128, 128),
        (256, 256),
        (1024, 1024),
        (10_000, 4),
        (10_000, 16),
        (10_000, 64),
        (100_000, 16),
    ] {
        let (a, v) = (signal(n, 1), signal(m, 2));
        let t = min_ns(|| {
            black_box(convolve(black_box(&a), &v, Mode::Full, Method::Direct).unwrap());
        });
        let model = faltung::convolve::direct_cost_ns(n, m, Mode::Full);
        eprintln!(
            "  D {n} {m} {t:.0} {:.3} model {model:.0}",
            t / (n * m) as f64
        );
    }
    eprintln!("fft (full, warm plans): n m nfft ns");
    for &n in &[
        4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16_384, 32_768, 65_536, 131_072,
        262_144, 750, 3000, 12_000, 50_000, 8193, 16_385, 32_769, 65_537, 131_073, 262_145,
    ] {
        let (a, v) = (signal(n, 1), signal(n, 2));
        let t = min_ns(|| {
            black_box(convolve(black_box(&a), &v, Mode::Full, Method::Fft).unwrap());
        });
        let nfft = faltung::convolve::fast_len(2 * n - 1);
        let model = faltung::convolve::fft_cost_ns(n, n, Mode::Full);
        eprintln!("  FFT {n} {n} {nfft} {t:.0} model {model:.0}");
    }
    eprintln!("direct vs fft vs oa (full): n m ns ns ns block, model ns ns ns, auto pick");
    for &(n, m) in &[
        (1_000_000, 16),
        (1_000_000, 32),
        (1_000_000, 1000),
        (1_000_000, 20_000),
        (100_000, 8),
        (100_000, 16),
        (100_000, 24),
        (100_000, 32),
        (100_000, 64),
        (100_000, 128),
        (100_000, 512),
        (100_000, 4096),
        (100_000, 20_000),
        (10_000, 8),
        (10_000, 16),
        (10_000, 24),
        (10_000, 32),
        (10_000, 64),
        (10_000, 128),
        (10_000, 1000),
        (1000, 8),
        (1000, 16),
        (1000, 32),
        (1000, 64),
        (1000, 200),
    ] {
        let (a, v) = (signal(n, 1), signal(m, 2));
        let t: Vec<f64> = [Method::Direct, Method::Fft, Method::OverlapAdd]
            .iter()
            .map(|&meth| {
                min_ns(|| {
                    black_box(convolve(black_box(&a), &v, Mode::Full, meth).unwrap());
                })
            })
            .collect();
        eprintln!(
            "  OA {n} {m} {:.0} {:.0} {:.0} {:?} model {:.0} {:.0} {:.0} auto {:?}",
            t[0],
            t[1],
            t[2],
            faltung::convolve::oa_block_len(n, m),
            faltung::convolve::direct_cost_ns(n, m, Mode::Full),
            faltung::convolve::fft_cost_ns(n, m, Mode::Full),
            faltung::convolve::oa_cost_ns(n, m),
            choose_method(n, m, Mode::Full),
        );
    }
}

fn bench(c: &mut Criterion) {
    if std::env::var_os("FALTUNG_CALIBRATE").is_some() {
        calibrate();
    }
    print_auto_choices();
    for (group, pairs) in grids() {
        let mut g = c.benchmark_group(group);
        g.warm_up_time(Duration::from_millis(300));
        g.measurement_time(Duration::from_secs(1));
        g.sample_size(20);
        for (n, m) in pairs {
            let a = signal(n, 1);
            let v = signal(m, 2);
            for method in [
                Method::Direct,
                Method::Fft,
                Method::OverlapAdd,
                Method::Auto,
            ] {
                // Overlap-add without a useful block is the plain FFT: skip the duplicate.
                if method == Method::OverlapAdd && faltung::convolve::oa_block_len(n, m).is_none() {
                    continue;
                }
                g.bench_with_input(
                    BenchmarkId::new(format!("{method:?}"), format!("{n}x{m}")),
                    &(&a, &v),
                    |b, (a, v)| b.iter(|| convolve(black_box(a), black_box(v), Mode::Full, method)),
                );
            }
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
