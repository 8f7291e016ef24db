//! One-shot `convolve` and `circular` against numpy/scipy golden numbers and against the
//! direct f64 reference.
//!
//! Golden data: `scripts/golden/gen_convolve.py` (numpy.convolve, scipy.signal.fftconvolve,
//! scipy.signal.oaconvolve, MATLAB-style cconv in numpy), committed under
//! `tests/data/convolve/`. Tolerance everywhere: max abs error <= 1e-10 x max(1, peak),
//! where peak is the largest magnitude in the expected output.

use faltung::convolve::{choose_method, circular, convolve, Method, Mode};
use faltung::error::ConvolveError;
use faltung::reference;
use std::collections::HashMap;
mod common;

const REL_TOL: f64 = 1e-10;

const METHODS: [Method; 4] = [
    Method::Auto,
    Method::Direct,
    Method::Fft,
    Method::OverlapAdd,
];
const MODES: [(Mode, &str); 3] = [
    (Mode::Full, "full"),
    (Mode::Same, "same"),
    (Mode::Valid, "valid"),
];

/// The (len(a), len(v)) grid written by the generator script.
const CASES: [(usize, usize); 15] = [
    (1, 1),
    (1, 5),
    (5, 1),
    (2, 1),
    (7, 3),
    (3, 7),
    (8, 4),
    (4, 8),
    (6, 6),
    (100, 31),
    (31, 100),
    (1000, 257),
    (257, 1000),
    (4096, 4096),
    (10000, 1000),
];

/// Named f64 arrays of one golden file, in header order.
struct Golden {
    arrays: Vec<(String, Vec<f64>)>,
}

impl Golden {
    fn load(na: usize, nv: usize) -> Golden {
        Golden {
            arrays: common::read_golden(
                "convolve",
                &format!("a{na}_v{nv}.bin"),
                "scripts/golden/gen_convolve.py",
            ),
        }
    }

    fn get(&self, name: &str) -> &[f64] {
        &self
            .arrays
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no array {name}"))
            .1
    }
}

/// Max abs error of `got` against `want`, and the bound it must meet.
fn check(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let peak = want.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let err = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (g, w)| m.max((g - w).abs()));
    let bound = REL_TOL * peak.max(1.0);
    assert!(
        err <= bound,
        "{what}: max abs error {err:e} > {bound:e} (peak {peak})"
    );
}

#[test]
fn every_method_and_mode_matches_numpy_and_scipy() {
    let mut checked = 0;
    for (na, nv) in CASES {
        let g = Golden::load(na, nv);
        let (a, v) = (g.get("a"), g.get("v"));
        assert_eq!((a.len(), v.len()), (na, nv));
        for (mode, mname) in MODES {
            for method in METHODS {
                let got = convolve(a, v, mode, method).unwrap();
                for src in ["numpy", "fft", "oa"] {
                    let what = format!("a{na} v{nv} {mname} {method:?} vs {src}");
                    check(&got, g.get(&format!("{src}_{mname}")), &what);
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, CASES.len() * 3 * 4 * 3);
}

#[test]
fn circular_matches_cconv_golden_and_the_reference() {
    let mut periods_checked = 0;
    for (na, nv) in CASES {
        let g = Golden::load(na, nv);
        let (a, v) = (g.get("a"), g.get("v"));
        for (name, want) in &g.arrays {
            let Some(n) = name.strip_prefix("circ_") else {
                continue;
            };
            let n: usize = n.parse().unwrap();
            let got = circular(a, v, n).unwrap();
            check(&got, want, &format!("cconv a{na} v{nv} n={n}"));
            check(
                &got,
                &reference::circular(a, v, n),
                &format!("reference::circular a{na} v{nv} n={n}"),
            );
            periods_checked += 1;
        }
    }
    // Every file holds at least 4 distinct periods (1, the shorter, the longer, full + 5).
    assert!(periods_checked >= 4 * CASES.len(), "{periods_checked}");
}

/// The crate's seeded generator with the two draws the property tests use.
struct Rng(faltung::rng::SplitMix64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(faltung::rng::SplitMix64::new(seed))
    }
    /// Uniform in [-1, 1).
    fn signal(&mut self, len: usize) -> Vec<f64> {
        (0..len).map(|_| self.0.next_bipolar_f64()).collect()
    }
    /// Uniform in lo..=hi.
    fn len(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.0.below(hi - lo + 1)
    }
}

/// numpy's mode applied to a full result, written from numpy's C code (`_pyarray_correlate`:
/// the shorter length m, `n_left = m / 2`, so `same` drops `m - 1 - m / 2` samples in front).
fn numpy_mode_slice(full: &[f64], na: usize, nv: usize, mode: Mode) -> Vec<f64> {
    let (n, m) = (na.max(nv), na.min(nv));
    match mode {
        Mode::Full => full.to_vec(),
        Mode::Same => full[m - 1 - m / 2..m - 1 - m / 2 + n].to_vec(),
        Mode::Valid => full[m - 1..n].to_vec(),
    }
}

/// Seeded random lengths: mostly small (exercising edges), some long enough that Auto,
/// FFT and overlap-add take their block paths.
fn random_pairs(rng: &mut Rng, count: usize) -> Vec<(usize, usize)> {
    (0..count)
        .map(|i| match i % 4 {
            0 => (rng.len(1, 16), rng.len(1, 16)),
            1 => (rng.len(1, 300), rng.len(1, 300)),
            2 => (rng.len(500, 5000), rng.len(2, 120)),
            _ => (rng.len(2, 120), rng.len(500, 5000)),
        })
        .collect()
}

#[test]
fn every_method_matches_the_direct_reference_on_random_lengths() {
    let mut rng = Rng::new(0x00fa_1700);
    for (na, nv) in random_pairs(&mut rng, 80) {
        let a = rng.signal(na);
        let v = rng.signal(nv);
        let full = reference::convolve_full(&a, &v);
        for (mode, mname) in MODES {
            let want = numpy_mode_slice(&full, na, nv, mode);
            for method in METHODS {
                let got = convolve(&a, &v, mode, method).unwrap();
                check(&got, &want, &format!("a{na} v{nv} {mname} {method:?}"));
            }
        }
    }
}

#[test]
fn full_mode_is_commutative_and_same_valid_ignore_argument_order() {
    let mut rng = Rng::new(0xc0ff_ee11);
    for (na, nv) in random_pairs(&mut rng, 40) {
        let a = rng.signal(na);
        let v = rng.signal(nv);
        for (mode, mname) in MODES {
            for method in METHODS {
                let av = convolve(&a, &v, mode, method).unwrap();
                let va = convolve(&v, &a, mode, method).unwrap();
                check(
                    &av,
                    &va,
                    &format!("a{na} v{nv} {mname} {method:?} a*v vs v*a"),
                );
            }
        }
    }
}

#[test]
fn all_methods_give_the_same_numbers() {
    let mut rng = Rng::new(0x5eed_0003);
    // Longer than the reference-checked pairs: 20000 x 700 takes overlap-add's block path.
    let mut pairs = random_pairs(&mut rng, 20);
    pairs.extend([(20_000, 700), (3000, 2999), (1, 9000)]);
    for (na, nv) in pairs {
        let a = rng.signal(na);
        let v = rng.signal(nv);
        for (mode, mname) in MODES {
            let direct = convolve(&a, &v, mode, Method::Direct).unwrap();
            for method in [Method::Auto, Method::Fft, Method::OverlapAdd] {
                let got = convolve(&a, &v, mode, method).unwrap();
                check(
                    &got,
                    &direct,
                    &format!("a{na} v{nv} {mname} {method:?} vs Direct"),
                );
            }
        }
    }
}

#[test]
fn circular_matches_the_reference_for_periods_below_and_above_the_length() {
    let mut rng = Rng::new(0x0cc0_0c0c);
    for (na, nv) in random_pairs(&mut rng, 40) {
        let a = rng.signal(na);
        let v = rng.signal(nv);
        let full_len = na + nv - 1;
        let periods = [
            1,
            rng.len(1, full_len),
            na,
            nv,
            full_len,
            full_len + rng.len(1, 50),
        ];
        for n in periods {
            check(
                &circular(&a, &v, n).unwrap(),
                &reference::circular(&a, &v, n),
                &format!("a{na} v{nv} n={n}"),
            );
        }
    }
}

#[test]
fn numpy_documented_examples() {
    // From the numpy.convolve docstring.
    let y = convolve(
        &[1.0, 2.0, 3.0],
        &[0.0, 1.0, 0.5],
        Mode::Full,
        Method::Direct,
    )
    .unwrap();
    assert_eq!(y, vec![0.0, 1.0, 2.5, 4.0, 1.5]);
    let y = convolve(
        &[1.0, 2.0, 3.0],
        &[0.0, 1.0, 0.5],
        Mode::Same,
        Method::Direct,
    )
    .unwrap();
    assert_eq!(y, vec![1.0, 2.5, 4.0]);
    let y = convolve(
        &[1.0, 2.0, 3.0],
        &[0.0, 1.0, 0.5],
        Mode::Valid,
        Method::Direct,
    )
    .unwrap();
    assert_eq!(y, vec![2.5]);
}

#[test]
fn empty_input_and_zero_period_are_errors() {
    for method in METHODS {
        for (mode, _) in MODES {
            assert_eq!(
                convolve(&[], &[1.0], mode, method),
                Err(ConvolveError::EmptyInput { which: "a" })
            );
            assert_eq!(
                convolve(&[1.0, 2.0], &[], mode, method),
                Err(ConvolveError::EmptyInput { which: "v" })
            );
        }
    }
    assert_eq!(
        circular(&[1.0], &[1.0], 0),
        Err(ConvolveError::BadPeriod { period: 0 })
    );
    assert_eq!(
        circular(&[], &[1.0], 3),
        Err(ConvolveError::EmptyInput { which: "a" })
    );
}

#[test]
fn auto_picks_direct_for_tiny_and_transforms_for_large_inputs() {
    let mut picks = HashMap::new();
    for (na, nv) in [(7, 3), (100_000, 100_000), (1_000_000, 200)] {
        for (mode, _) in MODES {
            let m = choose_method(na, nv, mode);
            assert_ne!(m, Method::Auto);
            assert_eq!(m, choose_method(nv, na, mode), "order of lengths");
            picks.insert((na, nv, mode), m);
        }
    }
    assert_eq!(picks[&(7, 3, Mode::Full)], Method::Direct);
    // 10^10 multiply-adds against a few 2^18-point FFTs.
    assert_eq!(picks[&(100_000, 100_000, Mode::Full)], Method::Fft);
    // A long signal and a kernel far shorter: overlap-add's blocks beat one huge FFT.
    assert_eq!(picks[&(1_000_000, 200, Mode::Full)], Method::OverlapAdd);
}

#[test]
fn convolve_range_returns_any_window_of_the_full_result_by_every_method() {
    let mut rng = Rng::new(0x5c1_9e0);
    for (na, nv) in random_pairs(&mut rng, 40) {
        let a = rng.signal(na);
        let v = rng.signal(nv);
        let full = reference::convolve_full(&a, &v);
        let len = full.len();
        // scipy's 'same' (centred on `a` whichever input is longer), the whole result, an
        // empty window, and a window touching only the tail.
        let scipy_same = ((nv - 1) / 2, (nv - 1) / 2 + na);
        let tail = (len - len.min(3), len);
        for (lo, hi) in [scipy_same, (0, len), (len / 2, len / 2), tail] {
            for method in METHODS {
                let got = faltung::convolve::convolve_range(&a, &v, lo, hi, method).unwrap();
                check(
                    &got,
                    &full[lo..hi],
                    &format!("a{na} v{nv} {lo}..{hi} {method:?}"),
                );
            }
        }
    }
}

#[test]
fn convolve_range_rejects_windows_past_the_end_and_empty_inputs() {
    let r = faltung::convolve::convolve_range(&[1.0, 2.0], &[1.0], 0, 3, Method::Auto);
    assert!(matches!(
        r,
        Err(ConvolveError::BadRange {
            lo: 0,
            hi: 3,
            full_len: 2
        })
    ));
    let r = faltung::convolve::convolve_range(&[1.0], &[], 0, 0, Method::Auto);
    assert!(matches!(r, Err(ConvolveError::EmptyInput { which: "v" })));
}
