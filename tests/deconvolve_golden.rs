//! `convolve::deconvolve` against `scipy.signal.deconvolve` on seeded data, and its edge
//! cases (scipy's errors).
//!
//! Golden data: `scripts/golden/gen_deconvolve.py`, committed under
//! `tests/data/deconvolve/`. Tolerance: max abs error <= 1e-10 x max(1, peak of the
//! expected array).

mod common;

use faltung::convolve::{convolve, deconvolve, Method, Mode};
use faltung::error::ConvolveError;

/// The (len(signal), len(divisor)) grid written by the generator script.
const CASES: [(usize, usize); 9] = [
    (1, 1),
    (5, 1),
    (5, 2),
    (8, 3),
    (16, 16),
    (3, 5),
    (64, 7),
    (200, 20),
    (1000, 4),
];

fn load(ns: usize, nd: usize) -> Vec<(String, Vec<f64>)> {
    common::read_golden(
        "deconvolve",
        &format!("s{ns}_d{nd}.bin"),
        "scripts/golden/gen_deconvolve.py",
    )
}

fn get<'a>(arrays: &'a [(String, Vec<f64>)], name: &str) -> &'a [f64] {
    &arrays.iter().find(|(n, _)| n == name).expect(name).1
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let peak = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let err = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        err <= 1e-10 * peak,
        "{what}: max error {err:e} (peak {peak})"
    );
}

#[test]
fn deconvolve_equals_scipy_on_seeded_data() {
    for (ns, nd) in CASES {
        let g = load(ns, nd);
        let (q, r) = deconvolve(get(&g, "signal"), get(&g, "divisor")).unwrap();
        assert_close(&q, get(&g, "quotient"), &format!("s{ns}_d{nd} quotient"));
        assert_close(&r, get(&g, "remainder"), &format!("s{ns}_d{nd} remainder"));
    }
}

#[test]
fn quotient_times_divisor_plus_remainder_is_the_signal() {
    // Independent of scipy: the defining identity, and an exact division.
    let divisor = [2.0, -1.0, 0.5];
    let quotient = [1.0, 0.25, -3.0, 4.0];
    let signal = convolve(&divisor, &quotient, Mode::Full, Method::Direct).unwrap();
    let (q, r) = deconvolve(&signal, &divisor).unwrap();
    assert_close(&q, &quotient, "exact quotient");
    assert!(r.iter().all(|v| v.abs() < 1e-12), "{r:?}");
}

#[test]
fn edge_cases_follow_scipy() {
    // A divisor longer than the signal: empty quotient, the signal as remainder, even
    // with a leading zero (scipy returns before filtering).
    assert_eq!(
        deconvolve(&[1.0, 2.0], &[0.0, 1.0, 2.0]).unwrap(),
        (vec![], vec![1.0, 2.0])
    );
    // A leading zero: scipy's "filter coefficient a[0] == 0" ValueError.
    let e = deconvolve(&[1.0, 2.0, 3.0], &[0.0, 1.0]).unwrap_err();
    assert_eq!(e, ConvolveError::LeadingZeroDivisor);
    assert!(e.to_string().contains("divisor"), "{e}");
    // Empty inputs are errors naming the parameter, as scipy's.
    assert_eq!(
        deconvolve(&[1.0], &[]).unwrap_err(),
        ConvolveError::EmptyInput { which: "divisor" }
    );
    assert_eq!(
        deconvolve(&[], &[1.0]).unwrap_err(),
        ConvolveError::EmptyInput { which: "signal" }
    );
}
