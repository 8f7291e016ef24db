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
//! Where the CPU has AVX2 the pairs of the pass run as intrinsics (`avx`), the same
//! operations in the same order as the portable lanes, so the same bits; the compiler's
//! own vectorisation of the lanes gathered the reversed half one float at a time.
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
    /// Run the pairs' passes with AVX2 (the same operations, unfused: the same bits).
    avx: bool,
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
            avx: super::simd::avx2_fma_available(),
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
        #[cfg(target_arch = "x86_64")]
        if self.avx {
            // SAFETY: `avx` is set only where the CPU reported AVX2.
            k = unsafe { avx::forward_pairs(z, tr, ti, out_re, out_im, m, pairs) };
        }
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
        #[cfg(target_arch = "x86_64")]
        if self.avx {
            // SAFETY: as in `forward`.
            k = unsafe { avx::inverse_pairs(in_re, in_im, tr, ti, z, m, pairs) };
        }
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

/// The pairs' passes of [`SplitRfft`] with AVX2 intrinsics: the portable lanes' operations in
/// the same order (multiplies and adds, nothing fused), so the same bits.
#[cfg(target_arch = "x86_64")]
mod avx {
    use rustfft::num_complex::Complex;
    use std::arch::x86_64::*;

    /// `[r0 i0 r1 i1 ..]` in two vectors to `([r0..r7], [i0..i7])`.
    #[inline(always)]
    unsafe fn split(v0: __m256, v1: __m256) -> (__m256, __m256) {
        let re = _mm256_castps_pd(_mm256_shuffle_ps::<0x88>(v0, v1));
        let im = _mm256_castps_pd(_mm256_shuffle_ps::<0xDD>(v0, v1));
        (
            _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(re)),
            _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(im)),
        )
    }

    /// The inverse of [`split`].
    #[inline(always)]
    unsafe fn join(re: __m256, im: __m256) -> (__m256, __m256) {
        let lo = _mm256_unpacklo_ps(re, im);
        let hi = _mm256_unpackhi_ps(re, im);
        (
            _mm256_permute2f128_ps::<0x20>(lo, hi),
            _mm256_permute2f128_ps::<0x31>(lo, hi),
        )
    }

    #[inline(always)]
    unsafe fn reverse(v: __m256) -> __m256 {
        _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0))
    }

    /// The forward pass's pairs `k, m - k` for `k = 1..` in lanes of 8 while they fit in
    /// `pairs`; returns the first `k` not done.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn forward_pairs(
        z: &[Complex<f32>],
        tr: &[f32],
        ti: &[f32],
        out_re: &mut [f32],
        out_im: &mut [f32],
        m: usize,
        pairs: usize,
    ) -> usize {
        assert!(
            z.len() >= m
                && tr.len() > pairs
                && ti.len() > pairs
                && out_re.len() > m
                && out_im.len() > m
                && 2 * pairs < m,
            "rfft: buffers shorter than the transform"
        );
        let zp = z.as_ptr().cast::<f32>();
        let (half, nhalf) = (_mm256_set1_ps(0.5), _mm256_set1_ps(-0.5));
        let mut k = 1;
        while k + 8 <= pairs + 1 {
            let lo = m - k + 1 - 8;
            // SAFETY: k + 7 <= pairs and lo + 7 = m - k < m (checked above).
            unsafe {
                let (are, aim) = split(
                    _mm256_loadu_ps(zp.add(2 * k)),
                    _mm256_loadu_ps(zp.add(2 * k + 8)),
                );
                let (bre, bim) = split(
                    _mm256_loadu_ps(zp.add(2 * lo)),
                    _mm256_loadu_ps(zp.add(2 * lo + 8)),
                );
                let (bre, bim) = (reverse(bre), reverse(bim));
                let er = _mm256_mul_ps(half, _mm256_add_ps(are, bre));
                let ei = _mm256_mul_ps(half, _mm256_sub_ps(aim, bim));
                let or = _mm256_mul_ps(half, _mm256_add_ps(aim, bim));
                let oi = _mm256_mul_ps(nhalf, _mm256_sub_ps(are, bre));
                let wr = _mm256_loadu_ps(tr.as_ptr().add(k));
                let wi = _mm256_loadu_ps(ti.as_ptr().add(k));
                let t_re = _mm256_sub_ps(_mm256_mul_ps(wr, or), _mm256_mul_ps(wi, oi));
                let t_im = _mm256_add_ps(_mm256_mul_ps(wr, oi), _mm256_mul_ps(wi, or));
                _mm256_storeu_ps(out_re.as_mut_ptr().add(k), _mm256_add_ps(er, t_re));
                _mm256_storeu_ps(out_im.as_mut_ptr().add(k), _mm256_add_ps(ei, t_im));
                _mm256_storeu_ps(
                    out_re.as_mut_ptr().add(lo),
                    reverse(_mm256_sub_ps(er, t_re)),
                );
                _mm256_storeu_ps(
                    out_im.as_mut_ptr().add(lo),
                    reverse(_mm256_sub_ps(t_im, ei)),
                );
            }
            k += 8;
        }
        k
    }

    /// The inverse pass's pairs, as [`forward_pairs`].
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn inverse_pairs(
        in_re: &[f32],
        in_im: &[f32],
        tr: &[f32],
        ti: &[f32],
        z: &mut [Complex<f32>],
        m: usize,
        pairs: usize,
    ) -> usize {
        assert!(
            in_re.len() > m
                && in_im.len() > m
                && tr.len() > pairs
                && ti.len() > pairs
                && z.len() >= m
                && 2 * pairs < m,
            "rfft: buffers shorter than the transform"
        );
        let zp = z.as_mut_ptr().cast::<f32>();
        let mut k = 1;
        while k + 8 <= pairs + 1 {
            let lo = m - k + 1 - 8;
            // SAFETY: as in `forward_pairs`.
            unsafe {
                let ar = _mm256_loadu_ps(in_re.as_ptr().add(k));
                let ai = _mm256_loadu_ps(in_im.as_ptr().add(k));
                let br = reverse(_mm256_loadu_ps(in_re.as_ptr().add(lo)));
                let bi = reverse(_mm256_loadu_ps(in_im.as_ptr().add(lo)));
                let wr = _mm256_loadu_ps(tr.as_ptr().add(k));
                let wi = _mm256_loadu_ps(ti.as_ptr().add(k));
                let (er, ei) = (_mm256_add_ps(ar, br), _mm256_sub_ps(ai, bi));
                let (dr, di) = (_mm256_sub_ps(ar, br), _mm256_add_ps(ai, bi));
                let or = _mm256_add_ps(_mm256_mul_ps(dr, wr), _mm256_mul_ps(di, wi));
                let oi = _mm256_sub_ps(_mm256_mul_ps(di, wr), _mm256_mul_ps(dr, wi));
                let (a0, a1) = join(_mm256_add_ps(er, oi), _mm256_sub_ps(or, ei));
                _mm256_storeu_ps(zp.add(2 * k), a0);
                _mm256_storeu_ps(zp.add(2 * k + 8), a1);
                let (b0, b1) = join(
                    reverse(_mm256_sub_ps(er, oi)),
                    reverse(_mm256_add_ps(ei, or)),
                );
                _mm256_storeu_ps(zp.add(2 * lo), b0);
                _mm256_storeu_ps(zp.add(2 * lo + 8), b1);
            }
            k += 8;
        }
        k
    }
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

    /// The AVX2 pairs' passes give the portable passes' bits, forward and inverse, over
    /// lengths around the lane width.
    #[test]
    fn avx_passes_equal_the_portable_passes_bit_for_bit() {
        if !crate::engine::simd::avx2_fma_available() {
            eprintln!("AVX2 not available on this CPU: nothing to compare");
            return;
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for n in [34usize, 36, 64, 66, 130, 256, 1000, 2048, 4096, 4098] {
            let mut planner = FftPlanner::new();
            let fast = SplitRfft::new(n, &mut planner);
            let mut slow = SplitRfft::new(n, &mut planner);
            assert!(fast.avx);
            slow.avx = false;
            let x = signal(n, 3 * n as u64);
            let bins = n / 2 + 1;
            let mut scratch = vec![Complex::default(); fast.scratch_len().max(1)];
            let mut spectra = Vec::new();
            for f in [&fast, &slow] {
                let (mut re, mut im) = (vec![0f32; bins], vec![0f32; bins]);
                f.forward(&mut x.clone(), &mut scratch, &mut re, &mut im);
                spectra.push((re, im));
            }
            assert_eq!(
                bits(&spectra[0].0),
                bits(&spectra[1].0),
                "forward re, n {n}"
            );
            assert_eq!(
                bits(&spectra[0].1),
                bits(&spectra[1].1),
                "forward im, n {n}"
            );
            let (re, im) = &spectra[0];
            let mut outs = Vec::new();
            for f in [&fast, &slow] {
                let mut t = vec![0f32; n];
                f.inverse(re, im, &mut scratch, &mut t);
                outs.push(t);
            }
            assert_eq!(bits(&outs[0]), bits(&outs[1]), "inverse, n {n}");
        }
    }
}
