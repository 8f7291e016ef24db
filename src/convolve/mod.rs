//! One-shot convolution over `f64` slices with numpy/scipy semantics.
//!
//! # What each function mirrors
//!
//! - [`convolve`]`(a, v, mode, method)` returns exactly the samples of
//!   [`numpy.convolve(a, v, mode)`](https://numpy.org/doc/stable/reference/generated/numpy.convolve.html)
//!   for every [`Mode`], whatever the [`Method`]:
//!   - [`Mode::Full`]: length `N + M - 1`;
//!   - [`Mode::Same`]: length `max(N, M)`, centred as numpy centres it: the output starts at
//!     index `(m - 1) - m / 2` (integer division) of the full result, `m = min(N, M)`;
//!   - [`Mode::Valid`]: length `max(N, M) - min(N, M) + 1`, the points where the inputs
//!     overlap completely.
//!
//!   Like numpy, the longer input is treated as the signal and the shorter one as the kernel
//!   ("numpy swaps `a` and `v` when `v` is longer"), so `Same` and `Valid` give the same
//!   result whichever argument is longer. This is where numpy and `scipy.signal.convolve`
//!   differ: scipy's `'same'` returns `len(in1)` samples centred on `in1`, so
//!   `scipy.signal.convolve(a, v, 'same')` equals ours only when `a` is the longer input
//!   (or both have equal length). `'full'` and `'valid'` agree everywhere.
//! - The [`Method`] mirrors the algorithm scipy would use, never the semantics:
//!   - [`Method::Direct`]: `scipy.signal.convolve(method='direct')`, i.e. `numpy.convolve`'s
//!     direct sum, computing only the requested output samples;
//!   - [`Method::Fft`]: `scipy.signal.fftconvolve`: one real FFT of a fast length
//!     ([`fast_len`]: an even 7-smooth length measured fastest for RustFFT). For `Same`
//!     and `Valid` the transform is only as long as needed for the requested samples to be
//!     free of circular wrap-around (`max(hi, L - lo)` for the output range `lo..hi` of the
//!     full result of length `L`; `max(N, M)` for `Valid`), which is cheaper than scipy's
//!     full-length transform and gives the same numbers up to rounding;
//!   - [`Method::OverlapAdd`]: `scipy.signal.oaconvolve`: the shorter input is transformed
//!     once and the longer one is cut into blocks; the block length is the even fast length
//!     that minimises the measured cost model below for these exact lengths (scipy's
//!     `_calc_oa_lens` minimises a continuous `N log2 N / (N - M + 1)` with a Lambert W and
//!     rounds up to a fast length; the choices land close). Like scipy, it falls back to one
//!     plain FFT when the lengths are equal, when either input has length 1, when the shorter
//!     input is at least half the longer one, or when no block is cheaper; only the blocks
//!     that touch the requested output range are computed;
//!   - [`Method::Auto`]: like `scipy.signal.convolve(method='auto')` / `choose_conv_method`,
//!     picks the cheapest of the three by a cost model (see below), see [`choose_method`].
//! - [`deconvolve`]`(signal, divisor)` is
//!   [`scipy.signal.deconvolve`](https://docs.scipy.org/doc/scipy/reference/generated/scipy.signal.deconvolve.html):
//!   polynomial division, `signal = convolve(divisor, quotient) + remainder`.
//! - [`circular`]`(a, v, n)` is MATLAB's `cconv(a, v, n)`: the full linear convolution
//!   wrapped modulo `n` (aliased when `n < N + M - 1`, zero-padded when larger).
//!
//! Empty input is an error ([`ConvolveError::EmptyInput`]), as numpy raises
//! `ValueError('a cannot be empty')`; the error names the argument that is empty (`"a"`
//! or `"v"`), as numpy does since it checks before swapping.
//!
//! # The cost model behind [`Method::Auto`]
//!
//! Estimated time in nanoseconds, on the machine it was measured on (2 vCPU Xeon shared
//! with other work, release build, one thread, `f64`, default target features):
//!
//! - direct: [`DIRECT_NS_PER_MAC`] x (multiply-adds for the requested outputs, counted
//!   exactly) + [`DIRECT_NS_PER_TAP`] x `m` + [`DIRECT_OVERHEAD_NS`];
//! - FFT of length `b`: `T(b)` = [`FFT_NS_PER_UNIT`] x `b log2 b` (x [`FFT_LARGE_FACTOR`]
//!   above [`FFT_LARGE_LEN`]); one-FFT convolution: `3 T(b)` + [`FFT_OVERHEAD_NS`];
//! - overlap-add with `k` blocks of `b`: `(2k + 1) T(b)` + [`OA_NS_PER_BLOCK_SAMPLE`] x
//!   `k b` + [`FFT_OVERHEAD_NS`].
//!
//! FFT plans and work buffers are cached per thread (plans for up to 32 lengths, buffers
//! up to [`WORK_KEEP_MAX_LEN`] points), like scipy's pocketfft plan cache; the model
//! describes such warm calls. The first call at a new length also pays for planning.
//!
//! The constants are least-squares fits to minimum-of-15 timings printed by
//! `FALTUNG_CALIBRATE=1 cargo bench --bench offline -- --list` (the model's estimate is
//! printed beside each measurement). Measured on that machine, full mode:
//!
//! - direct cost 0.17 ns per multiply-add at every length (0.95 ns at 8 x 8 where the
//!   per-call overhead dominates) with one tap per pass and SSE2; four taps per pass with
//!   AVX2 made it 2.2x (31 taps) to 2.9x (64 and 128 taps) faster in a side-by-side run, so
//!   the constant is now 0.07, and the calibration run put the crossover against
//!   overlap-add for a 100 000-sample signal at about 64 taps (direct 0.65 ms, overlap-add
//!   0.66 ms; 32 taps: 0.34 ms against 0.90 ms). The figures below are the one-tap fit's.
//! - One FFT convolution costs 0.14 us at 4 x 4, 7.4 us at 1024 x 1024, 0.35 ms at 32 768 x 32 768, 17 ms at 262 144 x 262 144;
//! - equal lengths `N = M`: direct wins up to about 24 samples each (16 x 16: direct
//!   0.12 us, FFT 0.19 us; 32 x 32: direct 0.28 us, FFT 0.25 us);
//! - a long signal (1 000 to 1 000 000 samples) and a short kernel: direct wins up to
//!   about 16 taps (100 000 x 8: direct 0.14 ms, overlap-add 0.33 ms; 100 000 x 24:
//!   direct 0.46 ms, overlap-add 0.27 ms), overlap-add above that;
//! - overlap-add beats the single FFT as soon as the kernel is well shorter than the
//!   signal (1 000 000 x 1 000: 6.9 ms against 66 ms; 100 000 x 4 096: 0.51 ms against
//!   0.70 ms); the single FFT wins when the lengths are close, where overlap-add falls back
//!   to it anyway.
//!
//! A different machine moves these points; the estimate only has to pick a method within
//! a small factor of the best, and every method gives the same numbers up to rounding.

use crate::engine::placed::{start_index, SPAN};
use crate::error::ConvolveError;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

mod direct;
mod fast_len;
use direct::direct_range_add;
pub use fast_len::fast_len;
use fast_len::fast_lens_between;

/// Which part of the full linear convolution to return, as `numpy.convolve`'s `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// All `N + M - 1` samples (numpy `'full'`).
    Full,
    /// `max(N, M)` samples centred on the longer input (numpy `'same'`).
    Same,
    /// The `max(N, M) - min(N, M) + 1` samples where the inputs overlap completely
    /// (numpy `'valid'`).
    Valid,
}

/// How to compute it, as `scipy.signal.convolve`'s `method` (plus overlap-add).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// The cheapest of the three by the cost model in the module docs.
    Auto,
    /// Direct summation (`scipy.signal.convolve(method='direct')`, `numpy.convolve`).
    Direct,
    /// One FFT product (`scipy.signal.fftconvolve`).
    Fft,
    /// Overlap-add with FFT blocks (`scipy.signal.oaconvolve`).
    OverlapAdd,
}

/// Nanoseconds per multiply-add of the direct sum (measured, see the module docs).
pub const DIRECT_NS_PER_MAC: f64 = 0.07;
/// Nanoseconds per kernel tap of the direct sum (loop set-up per tap).
pub const DIRECT_NS_PER_TAP: f64 = 2.8;
/// Fixed cost of a direct call in nanoseconds (allocation of the output).
pub const DIRECT_OVERHEAD_NS: f64 = 34.0;
/// Nanoseconds per `n log2 n` of one real FFT of length `n` while its buffers stay in
/// cache (measured; includes the spectral product and copies).
pub const FFT_NS_PER_UNIT: f64 = 0.125;
/// Fixed cost of an FFT-based call in nanoseconds (plan look-up and buffer allocation).
pub const FFT_OVERHEAD_NS: f64 = 150.0;
/// Nanoseconds per block sample of overlap-add's per-block work outside the transforms
/// (zero padding, spectral product, adding the block into the output; measured).
pub const OA_NS_PER_BLOCK_SAMPLE: f64 = 0.7;
/// Transforms longer than this get fresh buffers on every call (see [`WORK_KEEP_MAX_LEN`]):
/// they fault in new pages and leave the caches, and cost more per `n log2 n`.
pub const FFT_LARGE_LEN: usize = WORK_KEEP_MAX_LEN;
/// Cost factor per `n log2 n` for transforms longer than [`FFT_LARGE_LEN`] (measured 4.6x
/// at 524 288 points against the in-cache constant).
pub const FFT_LARGE_FACTOR: f64 = 4.5;
/// Work buffers for transforms up to this length are kept per thread between calls
/// (about 8 MB at most); longer ones are freed after the call.
pub const WORK_KEEP_MAX_LEN: usize = 1 << 18;

/// numpy-compatible one-shot convolution of `a` with `v`. See the module docs for what
/// each [`Mode`] and [`Method`] mirrors.
///
/// ```
/// use faltung::convolve::{convolve, Method, Mode};
/// let y = convolve(&[1.0, 2.0, 3.0], &[0.0, 1.0, 0.5], Mode::Same, Method::Auto).unwrap();
/// assert_eq!(y, vec![1.0, 2.5, 4.0]); // numpy.convolve([1,2,3],[0,1,0.5],'same')
/// ```
pub fn convolve(
    a: &[f64],
    v: &[f64],
    mode: Mode,
    method: Method,
) -> Result<Vec<f64>, ConvolveError> {
    check_nonempty(a, v)?;
    // numpy: the longer input is the signal, the shorter the kernel.
    let (x, h) = if v.len() > a.len() { (v, a) } else { (a, v) };
    let (lo, hi) = output_range(x.len(), h.len(), mode);
    let method = match method {
        Method::Auto => choose_method(a.len(), v.len(), mode),
        m => m,
    };
    let mut y = vec![0.0; hi - lo];
    compute_into(x, h, lo, method, &mut y);
    Ok(y)
}

/// Polynomial division of `signal` by `divisor`, as
/// [`scipy.signal.deconvolve`](https://docs.scipy.org/doc/scipy/reference/generated/scipy.signal.deconvolve.html):
/// returns `(quotient, remainder)` with `signal = convolve(divisor, quotient, full) +
/// remainder`.
///
/// - `len(divisor) > len(signal)`: the quotient is empty and the remainder is `signal`
///   (scipy returns there before looking at the coefficients);
/// - otherwise the quotient has `len(signal) - len(divisor) + 1` samples (the first
///   samples of the impulse response of the filter `signal / divisor`, as scipy computes
///   it with `lfilter`) and the remainder has `len(signal)` samples;
/// - a divisor whose first coefficient is 0 is an error
///   ([`ConvolveError::LeadingZeroDivisor`]; scipy raises `ValueError`), and so is an
///   empty signal or divisor ([`ConvolveError::EmptyInput`] naming `"signal"` or
///   `"divisor"`; scipy raises `ValueError` naming the parameter).
///
/// ```
/// use faltung::convolve::deconvolve;
/// // (x^2 + 3x + 2) / (x + 1) = x + 2, remainder 0.
/// let (q, r) = deconvolve(&[1.0, 3.0, 2.0], &[1.0, 1.0]).unwrap();
/// assert_eq!(q, vec![1.0, 2.0]);
/// assert_eq!(r, vec![0.0, 0.0, 0.0]);
/// ```
pub fn deconvolve(signal: &[f64], divisor: &[f64]) -> Result<(Vec<f64>, Vec<f64>), ConvolveError> {
    if signal.is_empty() {
        return Err(ConvolveError::EmptyInput { which: "signal" });
    }
    if divisor.is_empty() {
        return Err(ConvolveError::EmptyInput { which: "divisor" });
    }
    let (n, d) = (signal.len(), divisor.len());
    if d > n {
        return Ok((Vec::new(), signal.to_vec()));
    }
    let a0 = divisor[0];
    if a0 == 0.0 {
        return Err(ConvolveError::LeadingZeroDivisor);
    }
    // lfilter(signal, divisor, impulse): coefficients normalised by a[0], then
    // y[i] = b[i] - sum_{k=1..} a[k] y[i - k] (the input is a unit impulse).
    let a: Vec<f64> = divisor.iter().map(|&v| v / a0).collect();
    let qlen = n - d + 1;
    let mut q = vec![0.0; qlen];
    for i in 0..qlen {
        let mut acc = signal[i] / a0;
        for k in 1..d.min(i + 1) {
            acc -= a[k] * q[i - k];
        }
        q[i] = acc;
    }
    let prod = convolve(divisor, &q, Mode::Full, Method::Auto)?;
    let r = signal.iter().zip(&prod).map(|(s, p)| s - p).collect();
    Ok((q, r))
}

/// Samples `lo..hi` of the full linear convolution of `a` and `v` (length `N + M - 1`),
/// computed with `method` and only as far as those samples need. This is the building block
/// for output windows that [`Mode`] does not name, such as `scipy.signal.convolve(in1, in2,
/// 'same')`, which is centred on `in1` even when `in2` is longer (samples
/// `(M - 1) / 2 .. (M - 1) / 2 + N`). The inputs commute, so which one is longer does not
/// matter. `hi` past the end of the full result is an error.
///
/// ```
/// use faltung::convolve::{convolve_range, Method};
/// // scipy.signal.convolve([1, 2], [1, 1, 1, 1], 'same') == [3, 3]
/// let y = convolve_range(&[1.0, 2.0], &[1.0; 4], 1, 3, Method::Auto).unwrap();
/// assert_eq!(y, vec![3.0, 3.0]);
/// ```
pub fn convolve_range(
    a: &[f64],
    v: &[f64],
    lo: usize,
    hi: usize,
    method: Method,
) -> Result<Vec<f64>, ConvolveError> {
    check_nonempty(a, v)?;
    let full_len = a.len() + v.len() - 1;
    if lo > hi || hi > full_len {
        return Err(ConvolveError::BadRange { lo, hi, full_len });
    }
    let (x, h) = if v.len() > a.len() { (v, a) } else { (a, v) };
    let method = match method {
        Method::Auto => choose_method_range(x.len(), h.len(), lo, hi),
        m => m,
    };
    let mut y = vec![0.0; hi - lo];
    compute_into(x, h, lo, method, &mut y);
    Ok(y)
}

/// [`convolve_range`] written into `out`, whose length sets `hi = lo + out.len()`: nothing
/// is allocated for the result, and each method writes its samples straight into `out`. For
/// callers that own the output already (the filters, the Python package's arrays).
///
/// ```
/// use faltung::convolve::{convolve_range_into, Method};
/// let mut y = [0.0; 2];
/// convolve_range_into(&[1.0, 2.0], &[1.0; 4], 1, Method::Auto, &mut y).unwrap();
/// assert_eq!(y, [3.0, 3.0]); // scipy.signal.convolve([1, 2], [1, 1, 1, 1], 'same')
/// ```
pub fn convolve_range_into(
    a: &[f64],
    v: &[f64],
    lo: usize,
    method: Method,
    out: &mut [f64],
) -> Result<(), ConvolveError> {
    check_nonempty(a, v)?;
    let hi = lo + out.len();
    let full_len = a.len() + v.len() - 1;
    if hi > full_len {
        return Err(ConvolveError::BadRange { lo, hi, full_len });
    }
    let (x, h) = if v.len() > a.len() { (v, a) } else { (a, v) };
    let method = match method {
        Method::Auto => choose_method_range(x.len(), h.len(), lo, hi),
        m => m,
    };
    compute_into(x, h, lo, method, out);
    Ok(())
}

/// Samples `lo..lo + out.len()` of the full convolution of signal `x` and kernel `h`
/// (`h.len() <= x.len()`, the window checked by the caller) with a resolved `method`,
/// written into `out` whatever it held.
fn compute_into(x: &[f64], h: &[f64], lo: usize, method: Method, out: &mut [f64]) {
    match method {
        Method::Direct => {
            out.fill(0.0);
            direct_range_add(x, h, lo, out);
        }
        Method::Fft => fft_range_into(x, h, lo, out),
        // `Auto` is resolved by every caller.
        Method::OverlapAdd | Method::Auto => oa_range_into(x, h, lo, out),
    }
}

/// [`choose_method`] for an arbitrary output window `lo..hi` of the full result (signal `n`
/// samples, kernel `m <= n`).
fn choose_method_range(n: usize, m: usize, lo: usize, hi: usize) -> Method {
    let direct = DIRECT_NS_PER_MAC * (mac_prefix(n, m, hi) - mac_prefix(n, m, lo)) as f64
        + DIRECT_NS_PER_TAP * m as f64
        + DIRECT_OVERHEAD_NS;
    let fft = 3.0 * transform_cost_ns(fast_len(fft_need(n, m, lo, hi))) + FFT_OVERHEAD_NS;
    let oa = oa_block_len(n, m).map(|b| oa_block_cost_ns(n, m, b));
    match oa {
        Some(oa) if oa < fft && oa < direct => Method::OverlapAdd,
        _ if fft < direct => Method::Fft,
        _ => Method::Direct,
    }
}

/// Circular convolution with period `n`: MATLAB's `cconv(a, v, n)`, the full linear
/// convolution of `a` and `v` wrapped modulo `n` (`y[i] = sum_j full[i + j n]`). `n` may be
/// smaller than the inputs (time-domain aliasing) or larger than `N + M - 1` (zero padded).
///
/// Computed as the linear convolution (with [`Method::Auto`], so FFT-based for large
/// inputs) of `a` and `v` each first wrapped modulo `n`, then wrapped once more; the cost is
/// therefore that of a linear convolution of at most `n` by `n` samples.
pub fn circular(a: &[f64], v: &[f64], n: usize) -> Result<Vec<f64>, ConvolveError> {
    if n == 0 {
        return Err(ConvolveError::BadPeriod { period: n });
    }
    check_nonempty(a, v)?;
    let aw = wrap(a, n);
    let vw = wrap(v, n);
    let full = convolve(&aw, &vw, Mode::Full, Method::Auto)?;
    let mut y = wrap(&full, n);
    y.resize(n, 0.0);
    Ok(y)
}

/// The method [`Method::Auto`] resolves to for these input lengths and mode: the cheapest
/// of direct, FFT and overlap-add by the cost model in the module docs. Never returns
/// `Auto`. Lengths of zero give `Direct` (the call itself reports the error).
pub fn choose_method(a_len: usize, v_len: usize, mode: Mode) -> Method {
    if a_len == 0 || v_len == 0 {
        return Method::Direct;
    }
    let (n, m) = (a_len.max(v_len), a_len.min(v_len));
    let direct = direct_cost_ns(n, m, mode);
    let fft = fft_cost_ns(n, m, mode);
    let oa = oa_block_len(n, m).map(|b| oa_block_cost_ns(n, m, b));
    match oa {
        Some(oa) if oa < fft && oa < direct => Method::OverlapAdd,
        _ if fft < direct => Method::Fft,
        _ => Method::Direct,
    }
}

/// Estimated cost in nanoseconds of [`Method::Direct`] for these lengths (see module docs).
pub fn direct_cost_ns(a_len: usize, v_len: usize, mode: Mode) -> f64 {
    let (n, m) = (a_len.max(v_len), a_len.min(v_len));
    let (lo, hi) = output_range(n, m, mode);
    DIRECT_NS_PER_MAC * (mac_prefix(n, m, hi) - mac_prefix(n, m, lo)) as f64
        + DIRECT_NS_PER_TAP * m as f64
        + DIRECT_OVERHEAD_NS
}

/// Estimated cost in nanoseconds of [`Method::Fft`] for these lengths (see module docs).
pub fn fft_cost_ns(a_len: usize, v_len: usize, mode: Mode) -> f64 {
    let (n, m) = (a_len.max(v_len), a_len.min(v_len));
    let (lo, hi) = output_range(n, m, mode);
    3.0 * transform_cost_ns(fast_len(fft_need(n, m, lo, hi))) + FFT_OVERHEAD_NS
}

/// Estimated cost in nanoseconds of [`Method::OverlapAdd`] for these lengths (whole output;
/// the plain FFT's cost when overlap-add has no useful block).
pub fn oa_cost_ns(a_len: usize, v_len: usize) -> f64 {
    let (n, m) = (a_len.max(v_len), a_len.min(v_len));
    match oa_block_len(n, m) {
        Some(b) => oa_block_cost_ns(n, m, b),
        None => fft_cost_ns(n, m, Mode::Full),
    }
}

/// One real transform of length `len`, in nanoseconds.
fn transform_cost_ns(len: usize) -> f64 {
    let l = len as f64;
    let factor = if len > FFT_LARGE_LEN {
        FFT_LARGE_FACTOR
    } else {
        1.0
    };
    FFT_NS_PER_UNIT * factor * l * l.log2()
}

/// Overlap-add with blocks of `block`: `k` forward and `k` inverse block transforms plus
/// the kernel's transform.
fn oa_block_cost_ns(n: usize, m: usize, block: usize) -> f64 {
    let blocks = n.div_ceil(block - m + 1) as f64;
    (2.0 * blocks + 1.0) * transform_cost_ns(block)
        + OA_NS_PER_BLOCK_SAMPLE * blocks * block as f64
        + FFT_OVERHEAD_NS
}

/// The overlap-add block (FFT) length for a signal of `n` and a kernel of `m` samples
/// (either order), or `None` when overlap-add falls back to one plain FFT, as scipy's
/// `_calc_oa_lens` does: equal lengths, a length of 1, the shorter input at least half the
/// longer, or no block cheaper than the single transform. Otherwise the even fast length
/// `b > m` minimising the overlap-add cost for these exact lengths.
pub fn oa_block_len(a_len: usize, v_len: usize) -> Option<usize> {
    let (n, m) = (a_len.max(v_len), a_len.min(v_len));
    if n == m || m <= 1 || 2 * m >= n {
        return None;
    }
    let single = fast_len(n + m - 1);
    let single_cost = fft_cost_ns(n, m, Mode::Full);
    let mut best: Option<(f64, usize)> = None;
    for b in fast_lens_between(m + 1, single) {
        let c = oa_block_cost_ns(n, m, b);
        if best.is_none_or(|(bc, _)| c < bc) {
            best = Some((c, b));
        }
    }
    match best {
        Some((c, b)) if c < single_cost => Some(b),
        _ => None,
    }
}

fn check_nonempty(a: &[f64], v: &[f64]) -> Result<(), ConvolveError> {
    if a.is_empty() {
        return Err(ConvolveError::EmptyInput { which: "a" });
    }
    if v.is_empty() {
        return Err(ConvolveError::EmptyInput { which: "v" });
    }
    Ok(())
}

/// The part `lo..hi` of the full result (length `n + m - 1`) that `mode` returns, for a
/// signal of `n >= m` samples and a kernel of `m`. numpy's `'same'` drops `(m - 1) - m / 2`
/// samples at the front.
fn output_range(n: usize, m: usize, mode: Mode) -> (usize, usize) {
    debug_assert!(n >= m && m >= 1);
    match mode {
        Mode::Full => (0, n + m - 1),
        Mode::Same => {
            let lo = (m - 1) - m / 2;
            (lo, lo + n)
        }
        Mode::Valid => (m - 1, n),
    }
}

/// Number of multiply-adds in full-result samples `0..k` (signal `n >= m`, kernel `m`).
fn mac_prefix(n: usize, m: usize, k: usize) -> u128 {
    let (n, m, k) = (n as u128, m as u128, k as u128);
    let len = n + m - 1;
    if k < m {
        k * (k + 1) / 2
    } else if k <= n {
        (m - 1) * m / 2 + (k - (m - 1)) * m
    } else {
        let r = len - k;
        n * m - r * (r + 1) / 2
    }
}

/// Wrap `x` modulo `n`: `y[i] = sum_j x[i + j n]`, length `min(len, n)`.
fn wrap(x: &[f64], n: usize) -> Vec<f64> {
    if x.len() <= n {
        return x.to_vec();
    }
    let mut y = x[..n].to_vec();
    for chunk in x[n..].chunks(n) {
        for (yi, xi) in y.iter_mut().zip(chunk) {
            *yi += xi;
        }
    }
    y
}

/// The transform length needed so that full-result samples `lo..hi` are free of circular
/// wrap-around: `max(hi, L - lo)` (and never shorter than either input).
fn fft_need(n: usize, m: usize, lo: usize, hi: usize) -> usize {
    let len = n + m - 1;
    hi.max(len - lo).max(n)
}

/// Most distinct transform lengths whose plans a thread keeps; past it the cache starts over.
const PLAN_CACHE_LENGTHS: usize = 32;

struct PlanCache {
    planner: RealFftPlanner<f64>,
    lengths: HashSet<usize>,
}

thread_local! {
    /// Per-thread FFT plans (like scipy's pocketfft plan cache): planning a transform costs
    /// several times its execution, and one-shot calls often repeat the same lengths.
    static PLANS: RefCell<PlanCache> = RefCell::new(PlanCache {
        planner: RealFftPlanner::new(),
        lengths: HashSet::new(),
    });
}

type Plans = (Arc<dyn RealToComplex<f64>>, Arc<dyn ComplexToReal<f64>>);

/// Forward and inverse real FFT plans of length `len`, from this thread's cache.
fn plans(len: usize) -> Plans {
    PLANS.with(|cell| {
        let mut cache = cell.borrow_mut();
        if !cache.lengths.contains(&len) && cache.lengths.len() >= PLAN_CACHE_LENGTHS {
            cache.planner = RealFftPlanner::new();
            cache.lengths.clear();
        }
        cache.lengths.insert(len);
        (
            cache.planner.plan_fft_forward(len),
            cache.planner.plan_fft_inverse(len),
        )
    })
}

/// Work buffers for one transform length, kept per thread between calls so that repeated
/// calls do not fault in fresh pages for every buffer.
#[derive(Default)]
struct WorkStore {
    time: Vec<f64>,
    spec_a: Vec<Complex<f64>>,
    spec_b: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

/// The work buffers of one call, each starting at its own offset within a page.
struct Work<'a> {
    time: &'a mut [f64],
    spec_a: &'a mut [Complex<f64>],
    spec_b: &'a mut [Complex<f64>],
    scratch: &'a mut [Complex<f64>],
}

thread_local! {
    static WORK: RefCell<WorkStore> = RefCell::new(WorkStore::default());
}

/// `len` elements of `v` (grown as needed) starting at byte offset `offset` within a page
/// (as the engine places its spectra, `engine::placed`).
fn placed<T: Clone + Default>(v: &mut Vec<T>, len: usize, offset: usize) -> &mut [T] {
    let pad = SPAN / std::mem::size_of::<T>();
    if v.len() < len + pad {
        v.resize(len + pad, T::default());
    }
    let start = start_index(v, offset);
    &mut v[start..start + len]
}

/// Run `f` with this thread's work buffers sized for a real transform of length `len`
/// (`time`: `len`, spectra: `len / 2 + 1`, `scratch`: `scratch_len`).
fn with_work<R>(len: usize, scratch_len: usize, f: impl FnOnce(&mut Work) -> R) -> R {
    let mut w = WORK.with(|c| c.take());
    let r = {
        let mut work = Work {
            time: placed(&mut w.time, len, 0),
            spec_a: placed(&mut w.spec_a, len / 2 + 1, 1024),
            spec_b: placed(&mut w.spec_b, len / 2 + 1, 2048),
            scratch: placed(&mut w.scratch, scratch_len, 3072),
        };
        f(&mut work)
    };
    if len <= WORK_KEEP_MAX_LEN {
        WORK.with(|c| c.replace(w));
    }
    r
}

/// One-FFT convolution: full-result samples `lo..lo + out.len()` written into `out`.
fn fft_range_into(x: &[f64], h: &[f64], lo: usize, out: &mut [f64]) {
    let hi = lo + out.len();
    let nfft = fast_len(fft_need(x.len(), h.len(), lo, hi));
    let (r2c, c2r) = plans(nfft);
    with_work(
        nfft,
        r2c.get_scratch_len().max(c2r.get_scratch_len()),
        |w| {
            let Work {
                time,
                spec_a: xs,
                spec_b: hs,
                scratch,
            } = w;
            time[..x.len()].copy_from_slice(x);
            time[x.len()..].fill(0.0);
            r2c.process_with_scratch(time, xs, scratch)
                .expect("buffer lengths come from the plan");
            time[..h.len()].copy_from_slice(h);
            time[h.len()..].fill(0.0);
            r2c.process_with_scratch(time, hs, scratch)
                .expect("buffer lengths come from the plan");

            let scale = 1.0 / nfft as f64;
            for (xi, hi) in xs.iter_mut().zip(hs.iter()) {
                *xi = *xi * *hi * scale;
            }
            clear_edge_imag(xs);
            c2r.process_with_scratch(xs, time, scratch)
                .expect("buffer lengths come from the plan");
            out.copy_from_slice(&time[lo..hi]);
        },
    )
}

/// The DC and Nyquist bins of a real signal's spectrum are real; products keep them real
/// up to rounding, and realfft's inverse requires them to be exactly real.
fn clear_edge_imag(spec: &mut [Complex<f64>]) {
    if let Some(first) = spec.first_mut() {
        first.im = 0.0;
    }
    if let Some(last) = spec.last_mut() {
        last.im = 0.0;
    }
}

/// Overlap-add convolution (scipy `oaconvolve`): full-result samples `lo..lo + out.len()`
/// written into `out`. Only the blocks that touch that window are computed.
fn oa_range_into(x: &[f64], h: &[f64], lo: usize, out: &mut [f64]) {
    let (n, m) = (x.len(), h.len());
    let Some(block) = oa_block_len(n, m) else {
        return fft_range_into(x, h, lo, out);
    };
    let hi = lo + out.len();
    let step = block - m + 1;
    let (r2c, c2r) = plans(block);
    with_work(
        block,
        r2c.get_scratch_len().max(c2r.get_scratch_len()),
        |w| {
            let Work {
                time,
                spec_a: hs,
                spec_b: spec,
                scratch,
            } = w;
            time[..m].copy_from_slice(h);
            time[m..].fill(0.0);
            r2c.process_with_scratch(time, hs, scratch)
                .expect("buffer lengths come from the plan");
            let scale = 1.0 / block as f64;
            for c in hs.iter_mut() {
                *c *= scale;
            }

            out.fill(0.0);
            for start in (0..n).step_by(step) {
                let len = step.min(n - start);
                // This block contributes to full-result samples start..start + len + m - 1.
                let (b_lo, b_hi) = (start, start + len + m - 1);
                if b_hi <= lo || b_lo >= hi {
                    continue;
                }
                time[..len].copy_from_slice(&x[start..start + len]);
                time[len..].fill(0.0);
                r2c.process_with_scratch(time, spec, scratch)
                    .expect("buffer lengths come from the plan");
                for (s, hc) in spec.iter_mut().zip(hs.iter()) {
                    *s *= *hc;
                }
                clear_edge_imag(spec);
                c2r.process_with_scratch(spec, time, scratch)
                    .expect("buffer lengths come from the plan");
                let (c_lo, c_hi) = (b_lo.max(lo), b_hi.min(hi));
                for (yi, ti) in out[c_lo - lo..c_hi - lo]
                    .iter_mut()
                    .zip(&time[c_lo - start..c_hi - start])
                {
                    *yi += ti;
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_prefix_counts_the_terms_of_each_output() {
        for (n, m) in [(1, 1), (5, 1), (7, 3), (10, 10), (31, 7)] {
            let mut acc = 0u128;
            for k in 0..=(n + m - 1) {
                assert_eq!(mac_prefix(n, m, k), acc, "n={n} m={m} k={k}");
                if k < n + m - 1 {
                    let terms = k.min(n - 1) + 1 - k.saturating_sub(m - 1);
                    acc += terms as u128;
                }
            }
        }
    }

    #[test]
    fn wrap_sums_every_period() {
        assert_eq!(wrap(&[1.0, 2.0, 3.0, 4.0, 5.0], 2), vec![9.0, 6.0]);
        assert_eq!(wrap(&[1.0, 2.0], 5), vec![1.0, 2.0]);
    }

    #[test]
    fn oa_block_follows_scipy_fallbacks() {
        assert_eq!(oa_block_len(100, 100), None);
        assert_eq!(oa_block_len(100, 1), None);
        assert_eq!(oa_block_len(100, 50), None);
        let b = oa_block_len(100_000, 100).expect("long signal, short kernel");
        assert!(b > 100 && b < fast_len(100_099) && fast_len(b) == b);
        assert_eq!(
            oa_block_len(100, 100_000),
            Some(b),
            "order of the inputs is irrelevant"
        );
    }
}
