//! The kernel generators against numpy's and scipy's numbers.
//!
//! The golden files under tests/data/kernels/ are written by scripts/golden/gen_kernels.py
//! (numpy/scipy; the version is in each file's first line). Tolerance: maximum absolute
//! error <= 1e-12 per tap for every window, smoothing kernel, Savitzky–Golay, Gaussian and
//! firwin case; relative error <= 1e-14 for the Bessel function I0. Savitzky–Golay cases
//! are also checked against the exact rational coefficients, because scipy's own `lstsq`
//! result is further than 1e-12 from them for long windows and high orders (there the
//! test requires that we are no further from scipy than scipy is from the exact values,
//! plus 1e-12). The last tests check closed forms instead: Savitzky–Golay filters are exact
//! on polynomials, and a firwin low-pass is at half amplitude at its cutoff.

use std::collections::HashMap;
use std::path::PathBuf;

use faltung::kernel::firwin::{firwin, Band};
use faltung::kernel::gaussian::{gaussian_filter1d_kernel, gaussian_kernel1d, gaussian_radius};
use faltung::kernel::savgol::{savgol_coeffs, SavgolUse};
use faltung::kernel::window::{self, bessel_i0, bessel_i0e, smoothing_kernel, Window};
use faltung::reference::convolve_full;

const TOL: f64 = 1e-12;
const I0_REL_TOL: f64 = 1e-14;

struct Case {
    kind: String,
    params: HashMap<String, String>,
    values: Vec<f64>,
    line: String,
}

impl Case {
    fn get(&self, key: &str) -> &str {
        self.params
            .get(key)
            .unwrap_or_else(|| panic!("golden line lacks `{key}`: {}", self.line))
    }
    fn usize(&self, key: &str) -> usize {
        self.get(key).parse().unwrap()
    }
    fn f64(&self, key: &str) -> f64 {
        self.get(key).parse().unwrap()
    }
    fn opt_usize(&self, key: &str) -> Option<usize> {
        match self.get(key) {
            "none" => None,
            s => Some(s.parse().unwrap()),
        }
    }
}

fn load(file: &str) -> Vec<Case> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "data", "kernels", file]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/golden/gen_kernels.py)",
            path.display()
        )
    });
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (head, values) = l.split_once(" :").expect("`:` separates the values");
            let mut words = head.split_whitespace();
            let kind = words.next().unwrap().to_string();
            let params = words
                .map(|w| {
                    let (k, v) = w.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect();
            let values = values
                .split_whitespace()
                .map(|v| v.parse::<f64>().unwrap())
                .collect();
            Case {
                kind,
                params,
                values,
                line: l.chars().take(120).collect(),
            }
        })
        .collect()
}

fn max_abs_err(got: &[f64], want: &[f64], line: &str) -> f64 {
    assert_eq!(got.len(), want.len(), "length differs for {line}");
    got.iter()
        .zip(want)
        .map(|(g, w)| {
            assert!(g.is_finite(), "non-finite tap for {line}");
            (g - w).abs()
        })
        .fold(0.0, f64::max)
}

fn window_named(name: &str, c: &Case) -> Window {
    match name {
        "boxcar" | "flat" => Window::Boxcar,
        "hann" => Window::Hann,
        "hamming" => Window::Hamming,
        "bartlett" => Window::Bartlett,
        "blackman" => Window::Blackman,
        "kaiser" => Window::Kaiser {
            beta: c.f64("beta"),
        },
        "gaussian" => Window::Gaussian { std: c.f64("std") },
        other => panic!("unknown window {other}"),
    }
}

#[test]
fn windows_match_numpy_and_scipy_get_window() {
    let cases = load("windows.txt");
    let mut worst = 0.0f64;
    let mut n_cases = 0;
    for c in cases.iter().filter(|c| c.kind == "window") {
        let n = c.usize("n");
        let w = window_named(c.get("name"), c);
        // Both the enum and the named function give the same samples.
        let direct = match w {
            Window::Boxcar => window::boxcar(n),
            Window::Hann => window::hanning(n),
            Window::Hamming => window::hamming(n),
            Window::Bartlett => window::bartlett(n),
            Window::Blackman => window::blackman(n),
            Window::Kaiser { beta } => window::kaiser(n, beta),
            Window::Gaussian { std } => window::gaussian(n, std),
        };
        assert_eq!(direct, w.samples(n));
        let err = max_abs_err(&direct, &c.values, &c.line);
        assert!(err <= TOL, "{}: max error {err:e}", c.line);
        worst = worst.max(err);
        n_cases += 1;
    }
    assert!(n_cases >= 150, "only {n_cases} window cases read");
    println!("{n_cases} windows, max abs error {worst:e}");
}

#[test]
fn smoothing_kernels_are_the_windows_over_their_sum() {
    let cases = load("windows.txt");
    let mut worst = 0.0f64;
    let mut n_cases = 0;
    for c in cases.iter().filter(|c| c.kind == "smooth") {
        let taps = smoothing_kernel(window_named(c.get("name"), c), c.usize("n")).unwrap();
        let err = max_abs_err(&taps, &c.values, &c.line);
        assert!(err <= TOL, "{}: max error {err:e}", c.line);
        let dc: f64 = taps.iter().sum();
        assert!((dc - 1.0).abs() <= 1e-14, "{}: DC gain {dc}", c.line);
        worst = worst.max(err);
        n_cases += 1;
    }
    assert!(n_cases >= 40, "only {n_cases} smoothing cases read");
    println!("{n_cases} smoothing kernels, max abs error {worst:e}");
}

#[test]
fn bessel_i0_matches_scipy_special_to_1e_14_relative() {
    let cases = load("i0.txt");
    let mut worst = 0.0f64;
    for c in &cases {
        let x = c.f64("x");
        let got = match c.kind.as_str() {
            "i0" => bessel_i0(x),
            "i0e" => bessel_i0e(x),
            k => panic!("unknown kind {k}"),
        };
        let want = c.values[0];
        let rel = ((got - want) / want).abs();
        assert!(
            rel <= I0_REL_TOL,
            "{}: {got} vs {want}, rel {rel:e}",
            c.line
        );
        // Even function.
        assert_eq!(
            got,
            if c.kind == "i0" {
                bessel_i0(-x)
            } else {
                bessel_i0e(-x)
            }
        );
        worst = worst.max(rel);
    }
    assert!(cases.len() >= 30);
    println!("{} I0 values, max relative error {worst:e}", cases.len());
}

fn savgol_of(c: &Case) -> Vec<f64> {
    let use_ = match c.get("use") {
        "conv" => SavgolUse::Conv,
        "dot" => SavgolUse::Dot,
        u => panic!("use={u}"),
    };
    savgol_coeffs(
        c.usize("window"),
        c.usize("polyorder"),
        c.usize("deriv"),
        c.f64("delta"),
        c.opt_usize("pos"),
        use_,
    )
    .unwrap()
}

#[test]
fn savgol_matches_exact_coefficients_and_scipy() {
    let cases = load("savgol.txt");
    let exact: Vec<&Case> = cases.iter().filter(|c| c.kind == "savgol_exact").collect();
    let scipy: Vec<&Case> = cases.iter().filter(|c| c.kind == "savgol_scipy").collect();
    assert_eq!(exact.len(), scipy.len());
    assert!(exact.len() >= 20);
    let (mut worst_exact, mut worst_scipy) = (0.0f64, 0.0f64);
    let mut scipy_strict = 0;
    for (e, s) in exact.iter().zip(&scipy) {
        assert_eq!(e.params, s.params, "golden file pairs the cases");
        let ours = savgol_of(e);
        let err_exact = max_abs_err(&ours, &e.values, &e.line);
        assert!(err_exact <= TOL, "{}: vs exact {err_exact:e}", e.line);
        worst_exact = worst_exact.max(err_exact);

        let err_scipy = max_abs_err(&ours, &s.values, &s.line);
        let scipy_vs_exact = max_abs_err(&s.values, &e.values, &s.line);
        if scipy_vs_exact <= 1e-13 {
            assert!(err_scipy <= TOL, "{}: vs scipy {err_scipy:e}", s.line);
            worst_scipy = worst_scipy.max(err_scipy);
            scipy_strict += 1;
        } else {
            // scipy's lstsq itself is this far from the exact values: ask no more.
            assert!(
                err_scipy <= scipy_vs_exact + TOL,
                "{}: vs scipy {err_scipy:e}, scipy vs exact {scipy_vs_exact:e}",
                s.line
            );
            println!(
                "scipy is {scipy_vs_exact:.1e} from exact (ours {err_exact:.1e}) for {}",
                s.line
            );
        }
    }
    assert!(scipy_strict >= 18, "only {scipy_strict} strict scipy cases");
    println!(
        "{} savgol cases: max abs error vs exact {worst_exact:e}; vs scipy {worst_scipy:e} \
         ({scipy_strict} cases where scipy is within 1e-13 of exact)",
        exact.len()
    );
}

#[test]
fn gaussian_kernels_match_ndimage() {
    let cases = load("gaussian.txt");
    let mut worst = 0.0f64;
    let mut n_cases = 0;
    for c in cases.iter().filter(|c| c.kind == "gaussian_kernel1d") {
        let (sigma, order, radius) = (c.f64("sigma"), c.usize("order"), c.usize("radius"));
        let taps = gaussian_kernel1d(sigma, order, radius).unwrap();
        if c.get("truncate") != "none" {
            let truncate = c.f64("truncate");
            assert_eq!(gaussian_radius(sigma, truncate), radius, "{}", c.line);
            assert_eq!(
                gaussian_filter1d_kernel(sigma, order, truncate).unwrap(),
                taps
            );
        }
        let err = max_abs_err(&taps, &c.values, &c.line);
        assert!(err <= TOL, "{}: max error {err:e}", c.line);
        worst = worst.max(err);
        n_cases += 1;
    }
    assert!(n_cases >= 30);
    println!("{n_cases} Gaussian kernels, max abs error {worst:e}");
}

#[test]
fn gaussian_kernel_convolved_same_equals_gaussian_filter1d() {
    let cases = load("gaussian.txt");
    let signal = &cases.iter().find(|c| c.kind == "signal").unwrap().values;
    let mut worst = 0.0f64;
    let mut n_cases = 0;
    for c in cases.iter().filter(|c| c.kind == "gaussian_filter1d") {
        let taps =
            gaussian_filter1d_kernel(c.f64("sigma"), c.usize("order"), c.f64("truncate")).unwrap();
        // numpy.convolve(signal, taps, 'same'): the full convolution from (len - 1) / 2 on.
        let full = convolve_full(signal, &taps);
        let start = (taps.len() - 1) / 2;
        let same = &full[start..start + signal.len()];
        let err = max_abs_err(same, &c.values, &c.line);
        assert!(err <= TOL, "{}: max error {err:e}", c.line);
        worst = worst.max(err);
        n_cases += 1;
    }
    assert_eq!(n_cases, 16);
    println!("{n_cases} gaussian_filter1d outputs, max abs error {worst:e}");
}

fn band_of(c: &Case) -> Band {
    let cut: Vec<f64> = c
        .get("cutoffs")
        .split('/')
        .map(|v| v.parse().unwrap())
        .collect();
    match c.get("band") {
        "lowpass" => Band::Lowpass { cutoff_hz: cut[0] },
        "highpass" => Band::Highpass { cutoff_hz: cut[0] },
        "bandpass" => Band::Bandpass {
            low_hz: cut[0],
            high_hz: cut[1],
        },
        "bandstop" => Band::Bandstop {
            low_hz: cut[0],
            high_hz: cut[1],
        },
        b => panic!("band={b}"),
    }
}

#[test]
fn firwin_matches_scipy() {
    let cases = load("firwin.txt");
    let mut worst = 0.0f64;
    let mut n_cases = 0;
    for c in &cases {
        let window = window_named(c.get("window"), c);
        let result = firwin(c.usize("numtaps"), band_of(c), window, c.f64("fs"));
        match c.kind.as_str() {
            "firwin" => {
                let taps = result.unwrap_or_else(|e| panic!("{}: {e}", c.line));
                let err = max_abs_err(&taps, &c.values, &c.line);
                assert!(err <= TOL, "{}: max error {err:e}", c.line);
                worst = worst.max(err);
                n_cases += 1;
            }
            // scipy divides 0 by 0 (an all-zero window); we refuse the design instead.
            "firwin_nan" => assert!(result.is_err(), "{}", c.line),
            k => panic!("unknown kind {k}"),
        }
    }
    assert!(n_cases >= 100);
    println!("{n_cases} firwin designs, max abs error {worst:e}");
}

#[test]
fn parameters_scipy_rejects_are_rejected() {
    let cases = load("errors.txt");
    for c in &cases {
        let result = match c.kind.as_str() {
            "firwin_error" => firwin(c.usize("numtaps"), band_of(c), Window::Hamming, c.f64("fs")),
            "savgol_error" => savgol_coeffs(
                c.usize("window"),
                c.usize("polyorder"),
                0,
                1.0,
                c.opt_usize("pos"),
                SavgolUse::Conv,
            ),
            k => panic!("unknown kind {k}"),
        };
        match result {
            Err(e) => assert!(!e.to_string().is_empty()),
            Ok(taps) => panic!("{}: accepted, gave {} taps", c.line, taps.len()),
        }
    }
    assert_eq!(cases.len(), 15);
}

// Closed forms, independent of scipy.

#[test]
fn savgol_reproduces_polynomials_and_their_derivatives() {
    // A Savitzky–Golay filter of order p is exact on polynomials of degree <= p: dotted
    // with samples of f at spacing delta it gives f^(deriv) at the window's position.
    for &(w, p, deriv, delta) in &[
        (11usize, 3usize, 0usize, 1.0f64),
        (11, 3, 1, 1.0),
        (21, 4, 2, 1.0),
        (31, 5, 3, 0.5),
        (10, 2, 1, 0.1),
        (101, 4, 2, 1.0),
        (41, 20, 5, 0.05),
    ] {
        let coeffs = savgol_coeffs(w, p, deriv, delta, None, SavgolUse::Dot).unwrap();
        let centre = (w as f64 - 1.0) / 2.0;
        // f(x) = sum_k a_k x^k with a_k = 1/(k+1), x in units of the sample positions.
        let f = |x: f64| {
            (0..=p)
                .map(|k| x.powi(k as i32) / (k + 1) as f64)
                .sum::<f64>()
        };
        let f_deriv = |x: f64| {
            (deriv..=p)
                .map(|k| {
                    let falling: f64 = (0..deriv).map(|i| (k - i) as f64).product();
                    falling * x.powi((k - deriv) as i32) / (k + 1) as f64
                })
                .sum::<f64>()
        };
        let x0 = 0.3; // the window's position, in x
        let samples: Vec<f64> = (0..w)
            .map(|i| f(x0 + (i as f64 - centre) * delta))
            .collect();
        let got: f64 = coeffs.iter().zip(&samples).map(|(c, s)| c * s).sum();
        let want = f_deriv(x0);
        let scale: f64 = coeffs
            .iter()
            .zip(&samples)
            .map(|(c, s)| (c * s).abs())
            .sum();
        assert!(
            (got - want).abs() <= 1e-12 * scale.max(1.0),
            "savgol({w}, {p}, deriv={deriv}, delta={delta}): {got} vs {want}"
        );
    }
}

#[test]
fn firwin_lowpass_is_half_amplitude_at_its_cutoff() {
    // firwin's cutoff is the -6 dB point: |H(cutoff)| = 0.5 up to the window's ripple.
    let rate = 48_000.0;
    for &(n, cutoff, window) in &[
        (255usize, 3400.0f64, Window::Hamming),
        (255, 1000.0, Window::Kaiser { beta: 8.6 }),
        (101, 8000.0, Window::Blackman),
    ] {
        let h = firwin(n, Band::Lowpass { cutoff_hz: cutoff }, window, rate).unwrap();
        let response = |f_hz: f64| {
            let w = 2.0 * std::f64::consts::PI * f_hz / rate;
            let (re, im) = h.iter().enumerate().fold((0.0, 0.0), |(re, im), (k, &v)| {
                (re + v * (w * k as f64).cos(), im - v * (w * k as f64).sin())
            });
            (re * re + im * im).sqrt()
        };
        assert!((response(0.0) - 1.0).abs() < 1e-12);
        let at_cutoff = response(cutoff);
        assert!(
            (at_cutoff - 0.5).abs() < 5e-3,
            "{n} taps, {cutoff} Hz, {window:?}: |H| = {at_cutoff}"
        );
        // Linear phase: symmetric taps.
        for k in 0..n / 2 {
            assert!((h[k] - h[n - 1 - k]).abs() < 1e-15);
        }
    }
}
