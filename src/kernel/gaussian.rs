//! Gaussian smoothing and derivative-of-Gaussian kernels, as
//! `scipy.ndimage.gaussian_filter1d` builds them.
//!
//! scipy makes the kernel with `_gaussian_kernel1d(sigma, order, radius)`: taps at
//! `x = -radius..=radius`, `phi(x) = exp(-x^2 / (2 sigma^2))` normalised to sum 1, and for
//! `order > 0` the `order`-th derivative of the Gaussian, `q(x) phi(x)` with the polynomial
//! `q` built by repeated differentiation. `gaussian_filter1d` then *reverses* that kernel
//! and correlates the signal with it, which is the same as **convolving** the signal with
//! the unreversed kernel. So the taps returned here are `_gaussian_kernel1d`'s exactly, in
//! convolution order: convolved in mode `'same'` (centre tap at index `radius`) they give
//! `gaussian_filter1d(x, sigma, order=order, truncate=truncate, mode='constant')`. For
//! odd orders the kernel is antisymmetric: `order=1` gives the slope of the smoothed
//! signal (positive on a rising ramp), per sample.

use super::KernelError;

/// The radius `gaussian_filter1d` uses: `int(truncate * sigma + 0.5)`.
pub fn gaussian_radius(sigma: f64, truncate: f64) -> usize {
    (truncate * sigma + 0.5) as usize
}

/// `scipy.ndimage._filters._gaussian_kernel1d(sigma, order, radius)`: `2 radius + 1` taps,
/// in convolution order (see the module docs).
///
/// Errors when `sigma` is not finite and positive.
pub fn gaussian_kernel1d(sigma: f64, order: usize, radius: usize) -> Result<Vec<f64>, KernelError> {
    if !(sigma.is_finite() && sigma > 0.0) {
        return Err(KernelError::BadParameter {
            kernel: "gaussian",
            reason: format!(
                "sigma must be positive and finite, got {}",
                crate::text::short_num(sigma)
            ),
        });
    }
    let sigma2 = sigma * sigma;
    if !sigma2.is_normal() || !(1.0 / sigma2).is_finite() {
        return Err(KernelError::BadParameter {
            kernel: "gaussian",
            reason: format!(
                "sigma {} is too small or too large: its square is outside 64-bit floating \
                 point",
                crate::text::short_num(sigma)
            ),
        });
    }
    let r = radius as f64;
    let xs: Vec<f64> = (0..2 * radius + 1).map(|k| k as f64 - r).collect();
    let c = -0.5 / sigma2;
    let mut phi: Vec<f64> = xs.iter().map(|&x| (c * (x * x)).exp()).collect();
    let sum: f64 = phi.iter().sum();
    for v in &mut phi {
        *v /= sum;
    }
    if order == 0 {
        return Ok(phi);
    }
    // q(x) starts as 1; each step maps q -> q' + q p' with p'(x) = -x / sigma^2, i.e. on
    // the coefficient vector: (D + P) q with D the derivative and P the shift by -1/sigma^2.
    let mut q = vec![0.0f64; order + 1];
    q[0] = 1.0;
    let shift = -1.0 / sigma2;
    for _ in 0..order {
        let next: Vec<f64> = (0..=order)
            .map(|i| {
                let from_p = if i > 0 { shift * q[i - 1] } else { 0.0 };
                let from_d = if i < order {
                    (i + 1) as f64 * q[i + 1]
                } else {
                    0.0
                };
                from_p + from_d
            })
            .collect();
        q = next;
    }
    Ok(xs
        .iter()
        .zip(&phi)
        .map(|(&x, &p)| {
            let mut xp = 1.0f64;
            let mut poly = 0.0f64;
            for &qj in &q {
                poly += xp * qj;
                xp *= x;
            }
            poly * p
        })
        .collect())
}

/// The kernel `scipy.ndimage.gaussian_filter1d(x, sigma, order=order, truncate=truncate)`
/// applies (as a convolution): [`gaussian_kernel1d`] with radius
/// [`gaussian_radius`]`(sigma, truncate)`. scipy's default `truncate` is 4.0.
///
/// Errors when `sigma` or `truncate` is not finite and positive.
pub fn gaussian_filter1d_kernel(
    sigma: f64,
    order: usize,
    truncate: f64,
) -> Result<Vec<f64>, KernelError> {
    if !(truncate.is_finite() && truncate > 0.0) {
        return Err(KernelError::BadParameter {
            kernel: "gaussian",
            reason: format!(
                "truncate must be positive and finite, got {}",
                crate::text::short_num(truncate)
            ),
        });
    }
    gaussian_kernel1d(sigma, order, gaussian_radius(sigma, truncate))
}
