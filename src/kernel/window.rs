//! Window functions and the smoothing kernels made from them.
//!
//! The raw windows follow numpy's symmetric definitions (`numpy.hanning`, `numpy.hamming`,
//! `numpy.bartlett`, `numpy.blackman`) and `scipy.signal.get_window(..., fftbins=False)`
//! for `boxcar`, `kaiser` and `gaussian`. Like numpy and scipy, a window of length 0 is
//! empty and a window of length 1 is `[1.0]`.
//!
//! A *smoothing kernel* is a window scaled to unit DC gain (its taps sum to 1), so that a
//! constant signal passes unchanged: [`smoothing_kernel`].

use super::KernelError;

/// A window shape, with its parameter where it has one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// Rectangular window (all ones): `scipy.signal.windows.boxcar`.
    Boxcar,
    /// `numpy.hanning` (symmetric, zero end points).
    Hann,
    /// `numpy.hamming`.
    Hamming,
    /// `numpy.bartlett` (triangle with zero end points).
    Bartlett,
    /// `numpy.blackman`.
    Blackman,
    /// `scipy.signal.windows.kaiser(M, beta, sym=True)`.
    Kaiser { beta: f64 },
    /// `scipy.signal.windows.gaussian(M, std, sym=True)`.
    Gaussian { std: f64 },
}

impl Window {
    /// The window's `len` samples (symmetric, as used for filter design).
    pub fn samples(&self, len: usize) -> Vec<f64> {
        match *self {
            Window::Boxcar => boxcar(len),
            Window::Hann => hanning(len),
            Window::Hamming => hamming(len),
            Window::Bartlett => bartlett(len),
            Window::Blackman => blackman(len),
            Window::Kaiser { beta } => kaiser(len, beta),
            Window::Gaussian { std } => gaussian(len, std),
        }
    }

    /// The name used in kernel specs (`hann`, `kaiser`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Window::Boxcar => "boxcar",
            Window::Hann => "hann",
            Window::Hamming => "hamming",
            Window::Bartlett => "bartlett",
            Window::Blackman => "blackman",
            Window::Kaiser { .. } => "kaiser",
            Window::Gaussian { .. } => "gaussian",
        }
    }
}

/// numpy's `n = arange(1 - M, M, 2)` as `f64`, i.e. `2k + 1 - M` for `k = 0..M`.
fn numpy_symmetric_n(len: usize) -> impl Iterator<Item = f64> {
    let m = len as f64;
    (0..len).map(move |k| 2.0 * k as f64 + 1.0 - m)
}

/// Shared guard of the numpy windows: empty for 0, `[1.0]` for 1.
fn trivial(len: usize) -> Option<Vec<f64>> {
    (len <= 1).then(|| vec![1.0; len])
}

/// Rectangular window, all ones: `scipy.signal.windows.boxcar(M)` (`get_window('boxcar')`).
pub fn boxcar(len: usize) -> Vec<f64> {
    vec![1.0; len]
}

/// Hann window exactly as `numpy.hanning(M)`: `0.5 + 0.5 cos(pi n / (M - 1))` for
/// `n = 1-M, 3-M, ..., M-1`. Its end points are zero (so `hanning(2)` is `[0, 0]`).
pub fn hanning(len: usize) -> Vec<f64> {
    if let Some(w) = trivial(len) {
        return w;
    }
    let d = len as f64 - 1.0;
    numpy_symmetric_n(len)
        .map(|n| 0.5 + 0.5 * (std::f64::consts::PI * n / d).cos())
        .collect()
}

/// Hamming window exactly as `numpy.hamming(M)`: `0.54 + 0.46 cos(pi n / (M - 1))`.
pub fn hamming(len: usize) -> Vec<f64> {
    if let Some(w) = trivial(len) {
        return w;
    }
    let d = len as f64 - 1.0;
    numpy_symmetric_n(len)
        .map(|n| 0.54 + 0.46 * (std::f64::consts::PI * n / d).cos())
        .collect()
}

/// Triangular window exactly as `numpy.bartlett(M)`: `1 - |n| / (M - 1)`, zero end points.
pub fn bartlett(len: usize) -> Vec<f64> {
    if let Some(w) = trivial(len) {
        return w;
    }
    let d = len as f64 - 1.0;
    numpy_symmetric_n(len)
        .map(|n| if n <= 0.0 { 1.0 + n / d } else { 1.0 - n / d })
        .collect()
}

/// Blackman window exactly as `numpy.blackman(M)`:
/// `0.42 + 0.5 cos(pi n / (M - 1)) + 0.08 cos(2 pi n / (M - 1))`. Its end points are
/// zero up to rounding (about -1.4e-17, as numpy's).
pub fn blackman(len: usize) -> Vec<f64> {
    if let Some(w) = trivial(len) {
        return w;
    }
    let d = len as f64 - 1.0;
    let pi = std::f64::consts::PI;
    numpy_symmetric_n(len)
        .map(|n| 0.42 + 0.5 * (pi * n / d).cos() + 0.08 * (2.0 * pi * n / d).cos())
        .collect()
}

/// Kaiser window as `scipy.signal.windows.kaiser(M, beta, sym=True)`
/// (= `get_window(('kaiser', beta), M, fftbins=False)`):
/// `I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta)` with `a = (M - 1) / 2`.
///
/// The ratio is evaluated with the exponentially scaled Bessel function, so large `beta`
/// (where scipy's `i0` overflows) still gives a finite window. `beta` and `-beta` give
/// the same window (I0 is even).
pub fn kaiser(len: usize, beta: f64) -> Vec<f64> {
    if len <= 1 {
        return vec![1.0; len];
    }
    let beta = beta.abs();
    let alpha = (len as f64 - 1.0) / 2.0;
    let denom = bessel_i0e(beta);
    (0..len)
        .map(|k| {
            let r = (k as f64 - alpha) / alpha;
            let arg = beta * (1.0 - r * r).max(0.0).sqrt();
            bessel_i0e(arg) / denom * (arg - beta).exp()
        })
        .collect()
}

/// Gaussian window as `scipy.signal.windows.gaussian(M, std, sym=True)`
/// (= `get_window(('gaussian', std), M, fftbins=False)`): `exp(-n^2 / (2 std^2))` with
/// `n = k - (M - 1) / 2`.
pub fn gaussian(len: usize, std: f64) -> Vec<f64> {
    if len <= 1 {
        return vec![1.0; len];
    }
    let half = (len as f64 - 1.0) / 2.0;
    let sig2 = 2.0 * std * std;
    (0..len)
        .map(|k| {
            let n = k as f64 - half;
            (-(n * n) / sig2).exp()
        })
        .collect()
}

/// Where the power series of I0 hands over to the asymptotic expansion. Below it the
/// series needs at most ~60 positive terms; above it the asymptotic series reaches a
/// term below 1e-20 before it starts to diverge.
const I0_ASYMPTOTIC_FROM: f64 = 25.0;

/// Modified Bessel function of the first kind, order 0, scaled: `exp(-|x|) I0(x)`
/// (as `scipy.special.i0e`). Relative error about 1e-15 for all finite `x`.
pub fn bessel_i0e(x: f64) -> f64 {
    let x = x.abs();
    if x < I0_ASYMPTOTIC_FROM {
        i0_series(x) * (-x).exp()
    } else {
        // I0(x) ~ e^x / sqrt(2 pi x) * sum_k ((2k-1)!!)^2 / (k! (8x)^k)
        let mut term = 1.0f64;
        let mut sum = 1.0f64;
        let mut k = 1.0f64;
        loop {
            let next = term * (2.0 * k - 1.0) * (2.0 * k - 1.0) / (8.0 * k * x);
            if next >= term {
                break; // the asymptotic series starts to diverge here
            }
            sum += next;
            term = next;
            if term < sum * 1e-18 {
                break;
            }
            k += 1.0;
        }
        sum / (2.0 * std::f64::consts::PI * x).sqrt()
    }
}

/// Modified Bessel function of the first kind, order 0 (as `scipy.special.i0`).
/// Relative error about 1e-15; overflows to infinity above x ~ 713 like scipy's.
pub fn bessel_i0(x: f64) -> f64 {
    let x = x.abs();
    if x < I0_ASYMPTOTIC_FROM {
        i0_series(x)
    } else {
        bessel_i0e(x) * x.exp()
    }
}

/// `sum_k ((x/2)^k / k!)^2`: all terms positive, so no cancellation.
fn i0_series(x: f64) -> f64 {
    let q = 0.25 * x * x;
    let mut term = 1.0f64;
    let mut sum = 1.0f64;
    let mut k = 1.0f64;
    while term > sum * 1e-18 {
        term *= q / (k * k);
        sum += term;
        k += 1.0;
    }
    sum
}

/// The window scaled to unit DC gain (taps sum to 1): a smoothing kernel whose output
/// for a constant input is that constant.
///
/// Errors when the window's sum is not clearly positive: `hanning(2)`, `bartlett(2)` and
/// `blackman(2)` are zero (up to rounding), and length 0 is empty.
pub fn smoothing_kernel(window: Window, len: usize) -> Result<Vec<f64>, KernelError> {
    if len == 0 {
        return Err(KernelError::BadParameter {
            kernel: window.name(),
            reason: "length must be at least 1".into(),
        });
    }
    normalise_dc(window.samples(len)).ok_or_else(|| KernelError::BadParameter {
        kernel: window.name(),
        reason: format!(
            "a {} window of length {len} sums to zero{}, so it cannot be normalised to unit \
             DC gain{}",
            window.name(),
            if len == 2 { "" } else { " or is not finite" },
            if len == 2 {
                " (use length 1 or at least 3)"
            } else {
                ""
            }
        ),
    })
}

/// Divide by the sum so the taps sum to 1; `None` if the sum is not clearly positive.
pub fn normalise_dc(mut taps: Vec<f64>) -> Option<Vec<f64>> {
    let sum: f64 = taps.iter().sum();
    let scale: f64 = taps.iter().map(|v| v.abs()).sum();
    if !sum.is_finite() || sum <= 1e-9 * scale {
        return None;
    }
    for v in &mut taps {
        *v /= sum;
    }
    Some(taps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i0_series_and_asymptotic_agree_at_the_hand_over() {
        // Both branches evaluated at the same point must agree to ~1e-15 relative.
        let x = I0_ASYMPTOTIC_FROM;
        let series = i0_series(x) * (-x).exp();
        let asym = bessel_i0e(x);
        assert!(((series - asym) / asym).abs() < 3e-15, "{series} vs {asym}");
    }

    #[test]
    fn hann_of_two_cannot_be_a_smoothing_kernel() {
        assert!(smoothing_kernel(Window::Hann, 2).is_err());
        assert!(smoothing_kernel(Window::Bartlett, 2).is_err());
        assert!(smoothing_kernel(Window::Blackman, 2).is_err());
        assert_eq!(
            smoothing_kernel(Window::Hamming, 2).unwrap(),
            vec![0.5, 0.5]
        );
    }
}
