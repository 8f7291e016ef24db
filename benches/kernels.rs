//! Kernel design cost: how long it takes to make the taps (this happens off the audio
//! thread, but a live kernel swap waits for it).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use faltung::kernel::firwin::{firwin, Band};
use faltung::kernel::gaussian::gaussian_filter1d_kernel;
use faltung::kernel::parse_spec;
use faltung::kernel::savgol::{savgol_coeffs, SavgolUse};
use faltung::kernel::window::{smoothing_kernel, Window};

fn design(c: &mut Criterion) {
    let mut g = c.benchmark_group("kernel_design");
    g.bench_function("savgol_101_4", |b| {
        b.iter(|| savgol_coeffs(black_box(101), black_box(4), 0, 1.0, None, SavgolUse::Conv))
    });
    g.bench_function("savgol_101_4_deriv2", |b| {
        b.iter(|| savgol_coeffs(black_box(101), black_box(4), 2, 1.0, None, SavgolUse::Conv))
    });
    g.bench_function("kaiser_4001_beta8.6", |b| {
        b.iter(|| {
            smoothing_kernel(
                Window::Kaiser {
                    beta: black_box(8.6),
                },
                black_box(4001),
            )
        })
    });
    g.bench_function("firwin_lowpass_4001_hamming", |b| {
        b.iter(|| {
            firwin(
                black_box(4001),
                Band::Lowpass { cutoff_hz: 3400.0 },
                Window::Hamming,
                48_000.0,
            )
        })
    });
    g.bench_function("firwin_bandpass_4001_kaiser", |b| {
        b.iter(|| {
            firwin(
                black_box(4001),
                Band::Bandpass {
                    low_hz: 300.0,
                    high_hz: 3400.0,
                },
                Window::Kaiser { beta: 8.6 },
                48_000.0,
            )
        })
    });
    g.bench_function("gaussian_sigma50_order1", |b| {
        b.iter(|| gaussian_filter1d_kernel(black_box(50.0), 1, 4.0))
    });
    g.bench_function("spec_bandpass_4001", |b| {
        b.iter(|| parse_spec(black_box("bandpass:4001,low=300,high=3400"), Some(48_000)))
    });
    g.finish();
}

criterion_group!(benches, design);
criterion_main!(benches);
