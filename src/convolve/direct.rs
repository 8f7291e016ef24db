//! The direct sum of [`super::Method::Direct`]: full-result samples of `x * h` in
//! L1-sized output chunks, four taps per pass, with an AVX2 build of the same loop chosen at
//! run time (the same operations in the same order, so the same numbers on every CPU).

/// Adds full-result samples `lo..lo + y.len()` of `x * h` into `y`.
pub(super) fn direct_range_add(x: &[f64], h: &[f64], lo: usize, y: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { direct_range_avx2(x, h, lo, y) };
    }
    direct_range_body(x, h, lo, y)
}

/// [`direct_range_body`] compiled for AVX2 (four `f64` lanes instead of SSE2's two); the
/// same operations in the same order, so the same numbers bit for bit.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn direct_range_avx2(x: &[f64], h: &[f64], lo: usize, y: &mut [f64]) {
    direct_range_body(x, h, lo, y)
}

/// Full-result samples `lo..lo + y.len()` of `x * h` by direct summation, added into `y`.
/// The output goes in chunks
/// that stay in the L1 cache while every tap is added into them (one pass per tap over a
/// long output would stream it through memory once per tap), and within a chunk four taps
/// are added per pass where all four apply, so that each output is loaded and stored once
/// per four multiply-adds rather than once per multiply-add.
#[inline(always)]
fn direct_range_body(x: &[f64], h: &[f64], lo: usize, y: &mut [f64]) {
    let n = x.len();
    let hi = lo + y.len();
    // Output k takes tap j when k - j lies in 0..n.
    let tap_range = |j: usize, c0: usize, c1: usize| (c0.max(j), c1.min(j + n));
    for c0 in (lo..hi).step_by(DIRECT_CHUNK) {
        let c1 = (c0 + DIRECT_CHUNK).min(hi);
        for (g, taps) in h.chunks(DIRECT_TAPS).enumerate() {
            let j = g * DIRECT_TAPS;
            // Where all taps of the group apply: k - j - (last) >= 0 and k - j < n.
            let (f0, f1) = if taps.len() == DIRECT_TAPS {
                tap_range(j + DIRECT_TAPS - 1, c0, c1.min(j + n))
            } else {
                (c1, c1)
            };
            let fused = f0 < f1;
            if fused {
                let ys = &mut y[f0 - lo..f1 - lo];
                let len = ys.len();
                let x0 = &x[f0 - j..][..len];
                let x1 = &x[f0 - j - 1..][..len];
                let x2 = &x[f0 - j - 2..][..len];
                let x3 = &x[f0 - j - 3..][..len];
                let (h0, h1, h2, h3) = (taps[0], taps[1], taps[2], taps[3]);
                for i in 0..len {
                    ys[i] += h0 * x0[i] + h1 * x1[i] + h2 * x2[i] + h3 * x3[i];
                }
            }
            // Each tap alone where the group does not all apply.
            for (t, &ht) in taps.iter().enumerate() {
                let (k0, k1) = tap_range(j + t, c0, c1);
                let pieces = if fused {
                    [(k0, f0.min(k1)), (f1.max(k0), k1)]
                } else {
                    [(k0, k1), (k1, k1)]
                };
                for (p0, p1) in pieces {
                    if p0 >= p1 {
                        continue;
                    }
                    let xs = &x[p0 - j - t..p1 - j - t];
                    for (yk, xk) in y[p0 - lo..p1 - lo].iter_mut().zip(xs) {
                        *yk += ht * xk;
                    }
                }
            }
        }
    }
}

/// Taps added per pass of [`direct_range_body`].
const DIRECT_TAPS: usize = 4;

/// Outputs per chunk of [`direct_range_body`]: 16 KiB of `f64`, with the inputs they read, fits
/// in a 32 KiB L1 data cache.
const DIRECT_CHUNK: usize = 2048;
