//! Real FFTs with split (separate real / imaginary) spectra, the layout of the engine's
//! delay lines, kernel spectra and accumulators.
//!
//! A real signal of even length `N` is transformed as a complex signal of `M = N / 2`
//! points (`z[n] = x[2n] + i x[2n+1]`, the samples' own memory, in place) by RustFFT, and
//! the `M + 1` bins of the real spectrum are then separated from it in one pass that writes
//! the split arrays directly (the inverse runs the same steps backwards). This is the
//! algorithm of the `realfft` crate, whose post-processing writes interleaved complex
//! values; here the pass is written in lanes of 8 so that it vectorises, and it replaces the
//! copy between interleaved and split layouts that the engine needed around `realfft`.
//!
//! Scaling as `realfft` (and FFTW): both directions unnormalised, so
//! `inverse(forward(x)) = N * x`.
//!
//! Only a forward complex FFT is planned: the inverse transform of `Z` is the forward
//! transform of `Z` with its bins in reversed order (`Z'[k] = Z[-k mod M]`), and the inverse's
//! pre-processing pass writes its bins in that order at no cost. One plan and one set of
//! twiddles serve both directions (half the planning, and less cache for the tables).

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

const LANES: usize = 8;

/// Forward and inverse real FFT of one even length, split-complex spectra.
pub(crate) struct SplitRfft {
    m: usize,
    fwd: Arc<dyn Fft<f32>>,
    /// `W^k = exp(-2 pi i k / N)` for `k` in `0..=M/2`.
    tw_re: Vec<f32>,
    tw_im: Vec<f32>,
    scratch_len: usize,
}

impl SplitRfft {
    /// Plan transforms of `n` real points (`n` even, at least 2).
    pub(crate) fn new(n: usize, planner: &mut FftPlanner<f32>) -> SplitRfft {
        assert!(
            n >= 2 && n % 2 == 0,
            "real FFT length must be even, got {n}"
        );
        let m = n / 2;
        let fwd = planner.plan_fft_forward(m);
        let scratch_len = fwd.get_inplace_scratch_len();
        let (tw_re, tw_im) = (0..=m / 2)
            .map(|k| {
                let a = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
                (a.cos() as f32, a.sin() as f32)
            })
            .unzip();
        SplitRfft {
            m,
            fwd,
            tw_re,
            tw_im,
            scratch_len,
        }
    }

    /// Complex scratch the transforms need.
    pub(crate) fn scratch_len(&self) -> usize {
        self.scratch_len
    }

    /// `out = FFT(time)` for bins `0..=N/2`. `time` (N samples) is used as work space and
    /// left holding garbage.
    pub(crate) fn forward(
        &self,
        time: &mut [f32],
        scratch: &mut [Complex<f32>],
        out_re: &mut [f32],
        out_im: &mut [f32],
    ) {
        let m = self.m;
        let z = as_complex(time, m);
        self.fwd
            .process_with_scratch(z, &mut scratch[..self.scratch_len]);
        let (out_re, out_im) = (&mut out_re[..m + 1], &mut out_im[..m + 1]);
        out_re[0] = z[0].re + z[0].im;
        out_im[0] = 0.0;
        out_re[m] = z[0].re - z[0].im;
        out_im[m] = 0.0;
        // Pairs (k, m - k) for 1 <= k < m - k, then the middle bin if m is even.
        let pairs = (m - 1) / 2;
        let (tr, ti) = (&self.tw_re, &self.tw_im);
        let mut k = 1;
        while k + LANES <= pairs + 1 {
            // Lane l is the pair (k + l, m - k - l): the second half is read and written
            // backwards, as fixed-size arrays so that there are no per-element checks.
            let za: &[Complex<f32>; LANES] = z[k..k + LANES].try_into().unwrap();
            let zb: &[Complex<f32>; LANES] = z[m - k + 1 - LANES..m - k + 1].try_into().unwrap();
            let wr: &[f32; LANES] = tr[k..k + LANES].try_into().unwrap();
            let wi: &[f32; LANES] = ti[k..k + LANES].try_into().unwrap();
            let mut xr = [0f32; LANES];
            let mut xi = [0f32; LANES];
            let mut yr = [0f32; LANES];
            let mut yi = [0f32; LANES];
            for l in 0..LANES {
                let (a, b) = (za[l], zb[LANES - 1 - l]);
                // E = (a + conj b) / 2, O = (a - conj b) / 2i, T = W^k O;
                // X[k] = E + T, X[m-k] = conj(E - T).
                let (er, ei) = (0.5 * (a.re + b.re), 0.5 * (a.im - b.im));
                let (or, oi) = (0.5 * (a.im + b.im), -0.5 * (a.re - b.re));
                let (t_re, t_im) = (wr[l] * or - wi[l] * oi, wr[l] * oi + wi[l] * or);
                xr[l] = er + t_re;
                xi[l] = ei + t_im;
                yr[LANES - 1 - l] = er - t_re;
                yi[LANES - 1 - l] = t_im - ei;
            }
            out_re[k..k + LANES].copy_from_slice(&xr);
            out_im[k..k + LANES].copy_from_slice(&xi);
            out_re[m - k + 1 - LANES..m - k + 1].copy_from_slice(&yr);
            out_im[m - k + 1 - LANES..m - k + 1].copy_from_slice(&yi);
            k += LANES;
        }
        while k <= pairs {
            let (a, b) = (z[k], z[m - k]);
            let (er, ei) = (0.5 * (a.re + b.re), 0.5 * (a.im - b.im));
            let (or, oi) = (0.5 * (a.im + b.im), -0.5 * (a.re - b.re));
            let (wr, wi) = (tr[k], ti[k]);
            let (t_re, t_im) = (wr * or - wi * oi, wr * oi + wi * or);
            out_re[k] = er + t_re;
            out_im[k] = ei + t_im;
            out_re[m - k] = er - t_re;
            out_im[m - k] = t_im - ei;
            k += 1;
        }
        if m % 2 == 0 && m >= 2 {
            let h = m / 2;
            out_re[h] = z[h].re;
            out_im[h] = -z[h].im;
        }
    }

    /// `time = IFFT(spectrum)` (unnormalised: `N` times the signal) from bins `0..=N/2`.
    /// The imaginary parts of bins 0 and N/2 are taken as zero.
    pub(crate) fn inverse(
        &self,
        in_re: &[f32],
        in_im: &[f32],
        scratch: &mut [Complex<f32>],
        time: &mut [f32],
    ) {
        let m = self.m;
        let (in_re, in_im) = (&in_re[..m + 1], &in_im[..m + 1]);
        let z = as_complex(time, m);
        z[0] = Complex::new(in_re[0] + in_re[m], in_re[0] - in_re[m]);
        let pairs = (m - 1) / 2;
        let (tr, ti) = (&self.tw_re, &self.tw_im);
        // E = X[k] + conj X[m-k], O = (X[k] - conj X[m-k]) conj(W^k);
        // Z[k] = E + iO, Z[m-k] = conj(E) + i conj(O), each stored at the other's index
        // (bins reversed, see the module docs).
        let pre = |k: usize| {
            let (ar, ai, br, bi) = (in_re[k], in_im[k], in_re[m - k], in_im[m - k]);
            let (er, ei) = (ar + br, ai - bi);
            let (dr, di) = (ar - br, ai + bi);
            let (wr, wi) = (tr[k], ti[k]);
            let (or, oi) = (dr * wr + di * wi, di * wr - dr * wi);
            (er - oi, ei + or, er + oi, or - ei)
        };
        let mut k = 1;
        while k + LANES <= pairs + 1 {
            let lo = m - k + 1 - LANES;
            let ar: &[f32; LANES] = in_re[k..k + LANES].try_into().unwrap();
            let ai: &[f32; LANES] = in_im[k..k + LANES].try_into().unwrap();
            let br: &[f32; LANES] = in_re[lo..lo + LANES].try_into().unwrap();
            let bi: &[f32; LANES] = in_im[lo..lo + LANES].try_into().unwrap();
            let wr: &[f32; LANES] = tr[k..k + LANES].try_into().unwrap();
            let wi: &[f32; LANES] = ti[k..k + LANES].try_into().unwrap();
            let mut za = [Complex::new(0f32, 0f32); LANES];
            let mut zb = [Complex::new(0f32, 0f32); LANES];
            for l in 0..LANES {
                let r = LANES - 1 - l;
                let (er, ei) = (ar[l] + br[r], ai[l] - bi[r]);
                let (dr, di) = (ar[l] - br[r], ai[l] + bi[r]);
                let (or, oi) = (dr * wr[l] + di * wi[l], di * wr[l] - dr * wi[l]);
                za[l] = Complex::new(er + oi, or - ei);
                zb[r] = Complex::new(er - oi, ei + or);
            }
            z[k..k + LANES].copy_from_slice(&za);
            z[lo..lo + LANES].copy_from_slice(&zb);
            k += LANES;
        }
        while k <= pairs {
            let (xr, xi, yr, yi) = pre(k);
            z[k] = Complex::new(yr, yi);
            z[m - k] = Complex::new(xr, xi);
            k += 1;
        }
        if m % 2 == 0 && m >= 2 {
            let h = m / 2;
            z[h] = Complex::new(2.0 * in_re[h], -2.0 * in_im[h]);
        }
        self.fwd
            .process_with_scratch(z, &mut scratch[..self.scratch_len]);
    }
}

/// The first `2m` samples of `time` as `m` complex values (`re` = even, `im` = odd sample).
fn as_complex(time: &mut [f32], m: usize) -> &mut [Complex<f32>] {
    let time = &mut time[..2 * m];
    // SAFETY: `Complex<f32>` is `#[repr(C)]` with fields `re`, `im` of type f32, so it has
    // the size (8) and layout of `[f32; 2]` and an alignment (4) that f32 storage meets; the
    // slice covers exactly the `2m` floats borrowed mutably above.
    unsafe { std::slice::from_raw_parts_mut(time.as_mut_ptr().cast::<Complex<f32>>(), m) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use realfft::RealFftPlanner;

    fn signal(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    /// Every length class (M odd, M even, M a power of two, tiny) against realfft's
    /// transforms, and the round trip against N * x.
    #[test]
    fn matches_realfft_forward_and_inverse() {
        for n in [2usize, 4, 6, 10, 18, 34, 48, 64, 130, 1000, 4096] {
            let mut planner = FftPlanner::new();
            let f = SplitRfft::new(n, &mut planner);
            let mut rp = RealFftPlanner::<f32>::new();
            let (rf, ri) = (rp.plan_fft_forward(n), rp.plan_fft_inverse(n));
            let x = signal(n, n as u64);
            let mut want = rf.make_output_vec();
            rf.process(&mut x.clone(), &mut want).unwrap();
            let bins = n / 2 + 1;
            let (mut re, mut im) = (vec![0f32; bins], vec![0f32; bins]);
            let mut scratch = vec![Complex::default(); f.scratch_len()];
            let mut time = x.clone();
            f.forward(&mut time, &mut scratch, &mut re, &mut im);
            let tol = 1e-5 * n as f32;
            for b in 0..bins {
                assert!(
                    (re[b] - want[b].re).abs() <= tol && (im[b] - want[b].im).abs() <= tol,
                    "n {n} bin {b}: ({}, {}) vs {}",
                    re[b],
                    im[b],
                    want[b]
                );
            }
            let mut back = vec![0f32; n];
            f.inverse(&re, &im, &mut scratch, &mut back);
            let mut want_back = vec![0f32; n];
            ri.process(&mut want.clone(), &mut want_back).unwrap();
            for t in 0..n {
                assert!((back[t] - n as f32 * x[t]).abs() <= tol, "n {n} t {t}");
                assert!((back[t] - want_back[t]).abs() <= tol, "n {n} t {t}");
            }
        }
    }
}
