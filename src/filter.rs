//! One-shot 1-D filters over `f64` slices with scipy's semantics: `scipy.ndimage`'s
//! [`correlate1d`] / [`convolve1d`] / [`gaussian_filter1d`] and `scipy.signal`'s
//! [`savgol_filter`].
//!
//! # What each function mirrors
//!
//! - [`correlate1d`]`(x, w, extend, origin)` is `scipy.ndimage.correlate1d(x, w, mode=...,
//!   cval=..., origin=...)`: with `L = w.len()`, `s = L / 2`,
//!   `y[i] = sum_j w[j] x_ext[i - origin + j - s]`, where `x_ext` is `x` extended past its
//!   ends by [`Extend`] (scipy.ndimage's modes, repeated as often as a long filter needs).
//! - [`convolve1d`] is `scipy.ndimage.convolve1d`: [`correlate1d`] with the weights
//!   reversed and the origin negated (and moved one sample left for even lengths).
//! - [`gaussian_filter1d`] is `scipy.ndimage.gaussian_filter1d(x, sigma, order=...,
//!   mode=..., truncate=...)`: [`convolve1d`] with
//!   [`crate::kernel::gaussian::gaussian_kernel1d`].
//! - [`savgol_filter`] is `scipy.signal.savgol_filter(x, window_length, polyorder, deriv,
//!   delta, mode=..., cval=...)`: [`convolve1d`] with
//!   [`crate::kernel::savgol::savgol_coeffs`]; [`SavgolEdge::Interp`] (scipy's default
//!   `mode='interp'`) replaces the `window_length / 2` samples at each end with the fitted
//!   polynomial of the first and last windows (its `deriv`-th derivative).
//!
//! The sums run through [`crate::convolve::convolve`] on the extended signal, so long
//! filters use FFTs; the numbers equal scipy's direct sums up to rounding.

use crate::convolve::{convolve, convolve_range_into, Method, Mode};
use crate::kernel::gaussian::gaussian_filter1d_kernel;
use crate::kernel::savgol::{savgol_coeffs, SavgolUse};
use crate::kernel::savgol_fit::polyfit_eval;
use crate::kernel::KernelError;

/// How a signal continues past its ends: `scipy.ndimage`'s `mode` (its `'grid-mirror'`,
/// `'grid-constant'` and `'grid-wrap'` are the same as `Reflect`, `Constant` and `Wrap`
/// for these filters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Extend {
    /// Half-sample symmetric, `'reflect'`: `(d c b a | a b c d | d c b a)`.
    Reflect,
    /// Whole-sample symmetric, `'mirror'`: `(d c b | a b c d | c b a)`.
    Mirror,
    /// The edge sample repeated, `'nearest'`: `(a a a a | a b c d | d d d d)`.
    Nearest,
    /// Periodic, `'wrap'`: `(a b c d | a b c d | a b c d)`.
    Wrap,
    /// A constant value, `'constant'` with `cval`: `(k k k k | a b c d | k k k k)`.
    Constant(f64),
}

impl Extend {
    /// scipy's name (`"reflect"`, ...) with `cval` for `"constant"`; `None` for other names.
    pub fn from_scipy(mode: &str, cval: f64) -> Option<Extend> {
        Some(match mode {
            "reflect" | "grid-mirror" => Extend::Reflect,
            "mirror" => Extend::Mirror,
            "nearest" => Extend::Nearest,
            "wrap" | "grid-wrap" => Extend::Wrap,
            "constant" | "grid-constant" => Extend::Constant(cval),
            _ => return None,
        })
    }

    /// The value at index `j` (any integer) of `x` extended by this rule (`x` non-empty).
    pub fn at(self, x: &[f64], j: i64) -> f64 {
        let n = x.len() as i64;
        if (0..n).contains(&j) {
            return x[j as usize];
        }
        let k = match self {
            Extend::Constant(c) => return c,
            Extend::Nearest => j.clamp(0, n - 1),
            Extend::Wrap => j.rem_euclid(n),
            Extend::Reflect => {
                let k = j.rem_euclid(2 * n);
                if k < n {
                    k
                } else {
                    2 * n - 1 - k
                }
            }
            Extend::Mirror if n == 1 => 0,
            Extend::Mirror => {
                let p = 2 * n - 2;
                let k = j.rem_euclid(p);
                if k < n {
                    k
                } else {
                    p - k
                }
            }
        };
        x[k as usize]
    }
}

/// How [`savgol_filter`] treats the ends: `mode='interp'` or an [`Extend`] rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SavgolEdge {
    /// Fit the polynomial to the first and last windows (scipy's default).
    Interp,
    /// Extend the signal (`'mirror'`, `'nearest'`, `'wrap'`, `'constant'`).
    Extend(Extend),
}

/// Errors of the one-shot filters; each names the parameter, with scipy's argument names.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    #[error("input: cannot be empty")]
    EmptyInput,
    #[error("weights: no filter weights given")]
    EmptyWeights,
    #[error("origin: {origin} is invalid for {len} weights (must lie in {min}..={max})")]
    BadOrigin {
        origin: i64,
        len: usize,
        min: i64,
        max: i64,
    },
    #[error("window_length: with mode 'interp' it must be at most the length of x ({len}), got {window_length}")]
    WindowTooLong { window_length: usize, len: usize },
    #[error("{0}")]
    Kernel(String),
}

impl From<KernelError> for FilterError {
    fn from(e: KernelError) -> FilterError {
        FilterError::Kernel(e.to_string())
    }
}

/// `scipy.ndimage.correlate1d(x, weights, mode, cval, origin)` (see the module docs).
/// `origin` must lie in `-(L / 2)..=(L - 1) / 2` (scipy's `ValueError('invalid origin')`).
pub fn correlate1d(
    x: &[f64],
    weights: &[f64],
    extend: Extend,
    origin: i64,
) -> Result<Vec<f64>, FilterError> {
    let mut y = vec![0.0; x.len()];
    correlate1d_into(x, weights, extend, origin, &mut y)?;
    Ok(y)
}

/// [`correlate1d`] written into `out` (as long as `x`), so that a caller that owns the
/// output (an array lane) gets it without another buffer of the signal's length.
pub fn correlate1d_into(
    x: &[f64],
    weights: &[f64],
    extend: Extend,
    origin: i64,
    out: &mut [f64],
) -> Result<(), FilterError> {
    let len = weights.len();
    if len == 0 {
        return Err(FilterError::EmptyWeights);
    }
    let half = (len / 2) as i64;
    if half + origin < 0 || half + origin >= len as i64 {
        return Err(FilterError::BadOrigin {
            origin,
            len,
            min: -half,
            max: len as i64 - 1 - half,
        });
    }
    if x.is_empty() {
        return Err(FilterError::EmptyInput);
    }
    let n = x.len();
    assert_eq!(
        out.len(),
        n,
        "correlate1d_into: the output is as long as the input"
    );
    // x_ext[k] = x at index k - before, for k in 0..n + len - 1; output i is
    // sum_k weights[k] x_ext[i + k]. Correlation with w is convolution with w reversed.
    let before = (half + origin) as usize;
    let reversed: Vec<f64> = weights.iter().rev().copied().collect();
    // The outputs that lie wholly on the extended samples k0..k1 ('valid'), into `out`.
    let valid_ext = |k0: usize, k1: usize, out: &mut [f64]| {
        if out.is_empty() {
            return;
        }
        let ext: Vec<f64> = (k0..k1)
            .map(|k| extend.at(x, k as i64 - before as i64))
            .collect();
        let y = convolve(&ext, &reversed, Mode::Valid, Method::Auto)
            .expect("both inputs are non-empty");
        out.copy_from_slice(&y);
    };
    if n < len {
        valid_ext(0, n + len - 1, out);
        return Ok(());
    }
    // Outputs before..=n - len + before read x only: the valid convolution of x itself,
    // with no extended copy of the signal. The few outputs at each end read the rule.
    let (head, rest) = out.split_at_mut(before);
    let (interior, tail) = rest.split_at_mut(n - len + 1);
    valid_ext(0, before + len - 1, head);
    convolve_range_into(x, &reversed, len - 1, Method::Auto, interior)
        .expect("both inputs are non-empty and the window lies in the result");
    valid_ext(n - len + before + 1, n + len - 1, tail);
    Ok(())
}

/// `scipy.ndimage.convolve1d(x, weights, mode, cval, origin)` (see the module docs).
pub fn convolve1d(
    x: &[f64],
    weights: &[f64],
    extend: Extend,
    origin: i64,
) -> Result<Vec<f64>, FilterError> {
    let mut y = vec![0.0; x.len()];
    convolve1d_into(x, weights, extend, origin, &mut y)?;
    Ok(y)
}

/// [`convolve1d`] written into `out` (as long as `x`).
pub fn convolve1d_into(
    x: &[f64],
    weights: &[f64],
    extend: Extend,
    origin: i64,
    out: &mut [f64],
) -> Result<(), FilterError> {
    let reversed: Vec<f64> = weights.iter().rev().copied().collect();
    let mut corr_origin = -origin;
    if weights.len() % 2 == 0 {
        corr_origin -= 1;
    }
    correlate1d_into(x, &reversed, extend, corr_origin, out).map_err(|e| match e {
        // The allowed range is the same for both functions; report the caller's origin.
        FilterError::BadOrigin { len, min, max, .. } => FilterError::BadOrigin {
            origin,
            len,
            min,
            max,
        },
        other => other,
    })
}

/// `scipy.ndimage.gaussian_filter1d(x, sigma, order=order, mode=..., truncate=truncate,
/// radius=radius)`; `radius` `None` is `int(truncate * sigma + 0.5)`.
pub fn gaussian_filter1d(
    x: &[f64],
    sigma: f64,
    order: usize,
    extend: Extend,
    truncate: f64,
    radius: Option<usize>,
) -> Result<Vec<f64>, FilterError> {
    let mut y = vec![0.0; x.len()];
    gaussian_filter1d_into(x, sigma, order, extend, truncate, radius, &mut y)?;
    Ok(y)
}

/// [`gaussian_filter1d`] written into `out` (as long as `x`).
pub fn gaussian_filter1d_into(
    x: &[f64],
    sigma: f64,
    order: usize,
    extend: Extend,
    truncate: f64,
    radius: Option<usize>,
    out: &mut [f64],
) -> Result<(), FilterError> {
    let kernel = match radius {
        None => gaussian_filter1d_kernel(sigma, order, truncate)?,
        Some(r) => crate::kernel::gaussian::gaussian_kernel1d(sigma, order, r)?,
    };
    convolve1d_into(x, &kernel, extend, 0, out)
}

/// `scipy.signal.savgol_filter(x, window_length, polyorder, deriv, delta, mode, cval)`
/// (see the module docs).
pub fn savgol_filter(
    x: &[f64],
    window_length: usize,
    polyorder: usize,
    deriv: usize,
    delta: f64,
    edge: SavgolEdge,
) -> Result<Vec<f64>, FilterError> {
    let mut y = vec![0.0; x.len()];
    savgol_filter_into(x, window_length, polyorder, deriv, delta, edge, &mut y)?;
    Ok(y)
}

/// [`savgol_filter`] written into `out` (as long as `x`).
pub fn savgol_filter_into(
    x: &[f64],
    window_length: usize,
    polyorder: usize,
    deriv: usize,
    delta: f64,
    edge: SavgolEdge,
    out: &mut [f64],
) -> Result<(), FilterError> {
    let coeffs = savgol_coeffs(
        window_length,
        polyorder,
        deriv,
        delta,
        None,
        SavgolUse::Conv,
    )?;
    if x.is_empty() {
        return Err(FilterError::EmptyInput);
    }
    match edge {
        SavgolEdge::Extend(extend) => convolve1d_into(x, &coeffs, extend, 0, out),
        SavgolEdge::Interp => {
            let n = x.len();
            if window_length > n {
                return Err(FilterError::WindowTooLong {
                    window_length,
                    len: n,
                });
            }
            convolve1d_into(x, &coeffs, Extend::Constant(0.0), 0, out)?;
            let half = window_length / 2;
            let head: Vec<f64> = (0..half).map(|i| i as f64).collect();
            let fit = polyfit_eval(&x[..window_length], polyorder, deriv, delta, &head);
            out[..half].copy_from_slice(&fit);
            let tail: Vec<f64> = (window_length - half..window_length)
                .map(|i| i as f64)
                .collect();
            let fit = polyfit_eval(&x[n - window_length..], polyorder, deriv, delta, &tail);
            out[n - half..].copy_from_slice(&fit);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, summed directly: y[i] = sum_j w[j] x_ext[i - origin + j - L/2].
    fn correlate_direct(x: &[f64], w: &[f64], e: Extend, origin: i64) -> Vec<f64> {
        let half = (w.len() / 2) as i64;
        (0..x.len() as i64)
            .map(|i| {
                w.iter()
                    .enumerate()
                    .map(|(j, &wj)| wj * e.at(x, i - origin + j as i64 - half))
                    .sum()
            })
            .collect()
    }

    fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(p, q)| (p - q).abs() <= tol)
    }

    const MODES: [Extend; 5] = [
        Extend::Reflect,
        Extend::Mirror,
        Extend::Nearest,
        Extend::Wrap,
        Extend::Constant(1.5),
    ];

    #[test]
    fn extension_rules_match_scipy_ndimage_documentation() {
        // scipy.ndimage's tutorial: 'reflect' (d c b a | a b c d | d c b a), etc.
        let x = [1.0, 2.0, 3.0, 4.0];
        let ext = |e: Extend| (-4..8).map(|j| e.at(&x, j)).collect::<Vec<_>>();
        assert_eq!(
            ext(Extend::Reflect),
            [4., 3., 2., 1., 1., 2., 3., 4., 4., 3., 2., 1.]
        );
        assert_eq!(
            ext(Extend::Mirror),
            [3., 4., 3., 2., 1., 2., 3., 4., 3., 2., 1., 2.]
        );
        assert_eq!(
            ext(Extend::Nearest),
            [1., 1., 1., 1., 1., 2., 3., 4., 4., 4., 4., 4.]
        );
        assert_eq!(
            ext(Extend::Wrap),
            [1., 2., 3., 4., 1., 2., 3., 4., 1., 2., 3., 4.]
        );
        assert_eq!(Extend::Mirror.at(&[7.0], -3), 7.0);
    }

    #[test]
    fn scipy_documentation_examples() {
        // scipy.ndimage.correlate1d / convolve1d docstrings (mode='reflect').
        let x = [2.0, 8.0, 0.0, 4.0, 1.0, 9.0, 9.0, 0.0];
        let c = correlate1d(&x, &[1.0, 3.0], Extend::Reflect, 0).unwrap();
        assert_eq!(c, [8., 26., 8., 12., 7., 28., 36., 9.]);
        let v = convolve1d(&x, &[1.0, 3.0], Extend::Reflect, 0).unwrap();
        assert_eq!(v, [14., 24., 4., 13., 12., 36., 27., 0.]);
        // scipy.signal.savgol_filter docstring, printed to 2 decimals.
        let x = [2.0, 2.0, 5.0, 2.0, 1.0, 0.0, 1.0, 4.0, 9.0];
        let y = savgol_filter(&x, 5, 2, 0, 1.0, SavgolEdge::Interp).unwrap();
        let want = [1.66, 3.17, 3.54, 2.86, 0.66, 0.17, 1., 4., 9.];
        assert!(close(&y, &want, 0.005), "{y:?}");
        let y = savgol_filter(&x, 5, 2, 0, 1.0, SavgolEdge::Extend(Extend::Nearest)).unwrap();
        let want = [1.74, 3.03, 3.54, 2.86, 0.66, 0.17, 1., 4.6, 7.97];
        assert!(close(&y, &want, 0.005), "{y:?}");
    }

    #[test]
    fn correlate1d_equals_the_direct_sum_for_every_mode_length_and_origin() {
        let mut seed = 0x1234_5678u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        // Filters shorter and far longer than the signal (extension repeats), as long as
        // it and one sample shorter (the interior, read straight from x, is one output).
        for (n, len) in [
            (1, 1),
            (1, 4),
            (5, 3),
            (7, 8),
            (4, 23),
            (8, 8),
            (9, 8),
            (50, 2),
            (300, 41),
            (2000, 300),
        ] {
            let x: Vec<f64> = (0..n).map(|_| next()).collect();
            let w: Vec<f64> = (0..len).map(|_| next()).collect();
            let half = (len / 2) as i64;
            for e in MODES {
                for origin in [-half, 0, len as i64 - 1 - half] {
                    let got = correlate1d(&x, &w, e, origin).unwrap();
                    let want = correlate_direct(&x, &w, e, origin);
                    assert!(close(&got, &want, 1e-12), "n={n} L={len} {e:?} o={origin}");
                }
            }
        }
    }

    #[test]
    fn convolve1d_is_correlation_with_reversed_weights() {
        let x: Vec<f64> = (0..50).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
        for w in [vec![1.0, -2.0, 0.5], vec![0.25, 1.0, -1.0, 3.0]] {
            let rev: Vec<f64> = w.iter().rev().copied().collect();
            let shift = if w.len() % 2 == 0 { -1 } else { 0 };
            for e in MODES {
                assert_eq!(
                    convolve1d(&x, &w, e, 0).unwrap(),
                    correlate_direct(&x, &rev, e, shift)
                );
            }
        }
    }

    #[test]
    fn bad_arguments_are_errors_naming_them() {
        let x = [1.0, 2.0, 3.0];
        assert_eq!(
            correlate1d(&x, &[], Extend::Reflect, 0),
            Err(FilterError::EmptyWeights)
        );
        assert!(matches!(
            correlate1d(&x, &[1.0, 2.0, 3.0], Extend::Reflect, 2),
            Err(FilterError::BadOrigin { origin: 2, .. })
        ));
        assert!(matches!(
            convolve1d(&x, &[1.0, 2.0, 3.0], Extend::Reflect, -2),
            Err(FilterError::BadOrigin { origin: -2, .. })
        ));
        // scipy: -(L // 2) <= origin <= (L - 1) // 2, also for convolve1d's even lengths.
        assert!(convolve1d(&x, &[1.0, 2.0, 3.0, 4.0], Extend::Reflect, -2).is_ok());
        assert!(matches!(
            convolve1d(&x, &[1.0, 2.0, 3.0, 4.0], Extend::Reflect, 2),
            Err(FilterError::BadOrigin {
                origin: 2,
                min: -2,
                max: 1,
                ..
            })
        ));
        assert_eq!(
            correlate1d(&[], &[1.0], Extend::Reflect, 0),
            Err(FilterError::EmptyInput)
        );
        assert_eq!(
            savgol_filter(&x, 5, 2, 0, 1.0, SavgolEdge::Interp),
            Err(FilterError::WindowTooLong {
                window_length: 5,
                len: 3
            })
        );
        assert!(matches!(
            savgol_filter(&x, 3, 3, 0, 1.0, SavgolEdge::Interp),
            Err(FilterError::Kernel(_))
        ));
        assert!(matches!(
            gaussian_filter1d(&x, -1.0, 0, Extend::Reflect, 4.0, None),
            Err(FilterError::Kernel(_))
        ));
    }

    #[test]
    fn savgol_interp_reproduces_a_polynomial_and_its_derivative_exactly() {
        // A cubic is its own least-squares cubic: every output, edges included, is the
        // polynomial (deriv 0) or its derivative per unit of delta (deriv 1).
        let delta = 0.5;
        let p = |t: f64| 0.3 * t * t * t - 2.0 * t * t + t - 4.0;
        let dp = |t: f64| 0.9 * t * t - 4.0 * t + 1.0;
        let x: Vec<f64> = (0..40).map(|i| p(i as f64 * delta)).collect();
        let y = savgol_filter(&x, 9, 3, 0, delta, SavgolEdge::Interp).unwrap();
        assert!(close(&y, &x, 1e-9));
        let d = savgol_filter(&x, 9, 3, 1, delta, SavgolEdge::Interp).unwrap();
        let want: Vec<f64> = (0..40).map(|i| dp(i as f64 * delta)).collect();
        assert!(close(&d, &want, 1e-9), "{d:?}");
    }

    #[test]
    fn gaussian_filter1d_preserves_a_constant_and_differentiates_a_ramp() {
        let x = vec![2.5; 30];
        let y = gaussian_filter1d(&x, 2.0, 0, Extend::Reflect, 4.0, None).unwrap();
        assert!(close(&y, &x, 1e-12));
        // Slope of a ramp away from the ends: d/dx (3 x) = 3 per sample, up to the sampled
        // and truncated kernel (sum of -k g'(k) over the taps is 0.99978 at sigma 1.5).
        let ramp: Vec<f64> = (0..60).map(|i| 3.0 * i as f64).collect();
        let d = gaussian_filter1d(&ramp, 1.5, 1, Extend::Nearest, 4.0, None).unwrap();
        let k = crate::kernel::gaussian::gaussian_filter1d_kernel(1.5, 1, 4.0).unwrap();
        let r = (k.len() / 2) as f64;
        let gain: f64 = k.iter().enumerate().map(|(i, g)| (r - i as f64) * g).sum();
        assert!((gain - 1.0).abs() < 1e-3, "{gain}");
        assert!(
            d[20..40].iter().all(|v| (v - 3.0 * gain).abs() < 1e-9),
            "{d:?}"
        );
    }
}
