//! Savitzky–Golay filter coefficients, as `scipy.signal.savgol_coeffs`.
//!
//! The coefficients are those of the least-squares polynomial fit of degree `polyorder`
//! over `window_length` equally spaced samples, evaluated (or differentiated `deriv`
//! times) at position `pos` of the window. scipy finds them with `lstsq` on the raw
//! Vandermonde matrix; here they come from polynomials orthonormal on the sample points
//! (built by the Arnoldi process on points scaled to [-1, 1]), which is the same
//! least-squares solution computed without forming an ill-conditioned matrix. For the windows people use (up to ~31 taps, order up to ~6) the two agree to
//! 1e-13; for long windows or high orders scipy's `lstsq` loses digits (e.g. 1e-11 for
//! `savgol_coeffs(101, 4)`, 2e-8 for `savgol_coeffs(51, 8, deriv=2)`), while these stay
//! within ~1e-15 of the exact rational coefficients (the golden tests check both).

use super::KernelError;

/// The parameters of a Savitzky–Golay filter, as a `savgol:` kernel spec gives them
/// (see [`super::spec::parse_savgol`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Savgol {
    pub window: usize,
    pub polyorder: usize,
    pub deriv: usize,
    pub delta: f64,
    /// Evaluation position in the window; `None` = the middle.
    pub pos: Option<usize>,
}

/// Coefficient order, as scipy's `use=` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SavgolUse {
    /// Ordered for convolution (scipy's default `use='conv'`): tap `k` multiplies the
    /// sample `k` positions *before* the output position, so the taps feed straight into
    /// [`crate::reference::convolve_full`] or the engine.
    #[default]
    Conv,
    /// Ordered for a dot product with the window of samples (`use='dot'`): the reverse
    /// of [`SavgolUse::Conv`].
    Dot,
}

/// Savitzky–Golay coefficients, mirroring
/// `scipy.signal.savgol_coeffs(window_length, polyorder, deriv, delta, pos, use)`.
///
/// - `window_length` >= 1, any parity (even lengths are allowed, as in scipy; their
///   default position is the half-sample centre `window_length / 2 - 0.5`).
/// - `polyorder < window_length`.
/// - `deriv`: derivative order; `deriv > polyorder` gives all zeros, as scipy does.
/// - `delta`: sample spacing, only used when `deriv > 0` (the result is scaled by
///   `deriv! / delta^deriv`, i.e. it is the derivative per unit of `delta`).
/// - `pos`: evaluation position within the window; `None` = the middle.
///
/// Errors (as scipy's `ValueError`s): zero length, `polyorder >= window_length`,
/// `pos >= window_length`; a `delta` that is not finite and positive, or so small that
/// `1 / delta^deriv` overflows.
pub fn savgol_coeffs(
    window_length: usize,
    polyorder: usize,
    deriv: usize,
    delta: f64,
    pos: Option<usize>,
    use_: SavgolUse,
) -> Result<Vec<f64>, KernelError> {
    let bad = |reason: String| KernelError::BadParameter {
        kernel: "savgol",
        reason,
    };
    if window_length == 0 {
        return Err(bad("window length must be at least 1".into()));
    }
    if polyorder >= window_length {
        return Err(bad(format!(
            "polyorder ({polyorder}) must be less than the window length ({window_length})"
        )));
    }
    if !(delta.is_finite() && delta > 0.0) {
        return Err(bad(format!(
            "delta must be positive and finite, got {}",
            crate::text::short_num(delta)
        )));
    }
    let pos = match pos {
        Some(p) if p >= window_length => {
            return Err(bad(format!(
                "pos ({p}) must be less than the window length ({window_length})"
            )))
        }
        Some(p) => p as f64,
        None if window_length % 2 == 0 => window_length as f64 / 2.0 - 0.5,
        None => (window_length / 2) as f64,
    };
    if deriv > polyorder {
        return Ok(vec![0.0; window_length]);
    }

    // Sample positions relative to `pos`, in dot order, scaled to [-1, 1].
    let scale = (pos).max(window_length as f64 - 1.0 - pos).max(1.0);
    let t: Vec<f64> = (0..window_length)
        .map(|k| (k as f64 - pos) / scale)
        .collect();

    // Orthonormal polynomials q_j on the points t, by the Arnoldi process (Vandermonde with
    // Arnoldi): q_0 = 1 / sqrt(n), and q_{j+1} is t q_j orthogonalised against q_0..q_j
    // (twice, modified Gram-Schmidt, which keeps it accurate up to degree n - 1), then
    // normalised. Alongside each q_j we carry its derivatives at t = 0 up to `deriv`, by
    // the same linear combinations; (t q)^(d)(0) = d q^(d-1)(0).
    // The least-squares fit evaluated at 0 is sum_j q_j^(deriv)(0) <q_j, y>, so
    // coefficient k is sum_j q_j^(deriv)(0) q_j(t_k).
    let n = window_length;
    let q0 = 1.0 / (n as f64).sqrt();
    let mut basis: Vec<Vec<f64>> = vec![vec![q0; n]];
    let mut basis_d: Vec<Vec<f64>> = vec![{
        let mut d = vec![0.0; deriv + 1];
        d[0] = q0;
        d
    }];
    for j in 0..polyorder {
        let mut v: Vec<f64> = t.iter().zip(&basis[j]).map(|(x, q)| x * q).collect();
        let mut vd: Vec<f64> = (0..=deriv)
            .map(|d| {
                if d > 0 {
                    d as f64 * basis_d[j][d - 1]
                } else {
                    0.0
                }
            })
            .collect();
        for _pass in 0..2 {
            for (q, qd) in basis.iter().zip(&basis_d) {
                let h: f64 = v.iter().zip(q).map(|(a, b)| a * b).sum();
                for (vk, qk) in v.iter_mut().zip(q) {
                    *vk -= h * qk;
                }
                for (vk, qk) in vd.iter_mut().zip(qd) {
                    *vk -= h * qk;
                }
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        basis.push(v.iter().map(|x| x / norm).collect());
        basis_d.push(vd.iter().map(|x| x / norm).collect());
    }
    let mut coeffs = vec![0.0f64; n];
    for (q, qd) in basis.iter().zip(&basis_d) {
        let weight = qd[deriv];
        if weight != 0.0 {
            for (c, qk) in coeffs.iter_mut().zip(q) {
                *c += weight * qk;
            }
        }
    }

    // Back from the scaled variable: d/dx = (1/scale) d/dt, and the spacing `delta`.
    let factor = 1.0 / (scale * delta).powi(deriv as i32);
    if !factor.is_finite() || coeffs.iter().any(|c| !(c * factor).is_finite()) {
        return Err(bad(format!(
            "delta {} with deriv={deriv} scales the taps by 1/delta^{deriv}, which overflows \
             64-bit floating point",
            crate::text::short_num(delta)
        )));
    }
    if factor != 1.0 {
        for c in &mut coeffs {
            *c *= factor;
        }
    }
    if use_ == SavgolUse::Conv {
        coeffs.reverse();
    }
    Ok(coeffs)
}
