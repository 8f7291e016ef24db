//! The AVX2+FMA kernels (and, where AVX-512VL gives 32 registers, a wider pair kernel),
//! chosen at run time by [`super::select`]: the same operations in the same order as the
//! portable macros, so the same bits.

use super::*;

#[inline(always)]
fn fused(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}

/// One bin past the vector body: the four sums of partitions `parts` of input `x`
/// against `s`'s kernel, in the vector lanes' order, as `(re, im)` to add.
#[inline(always)]
fn tail_bin(
    x_re: &[f32],
    x_im: &[f32],
    s: &Spectra<'_>,
    parts: std::ops::Range<usize>,
    stride: usize,
    b: usize,
) -> (f32, f32) {
    let (mut rr, mut rq, mut ir, mut iq) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for j in parts {
        let o = j * stride + b;
        let (a, c, h, gm) = (x_re[o], x_im[o], s.h_re[o], s.h_im[o]);
        rr = fused(a, h, rr);
        rq = fused(-c, gm, rq);
        ir = fused(a, gm, ir);
        iq = fused(c, h, iq);
    }
    (rr + rq, ir + iq)
}

/// How far ahead, in floats (256 bytes), each partition's spectra are prefetched.
///
/// A group of four partitions is 16 (one path) or 24 (two paths) streams of spectra, and
/// the large levels' spectra (a 16384-frame level of a 6 s IR: 6 MB for two paths) stream
/// from L3; the hardware prefetchers do not keep that many streams ahead. Measured with
/// `taskset -c 0 faltung bench --channels 2 --seconds 60`, old and new binaries in turn, 6
/// rounds, median RTF by CPU time: 6 s IR at 1024 frames 502x -> 550x, at 128 frames 311x
/// -> 337x, at 32 frames 188x -> 228x; 0.5 s at 1024 1350x -> 1410x; 2 s at 256 unchanged
/// (602x, 599x). 32 floats ahead measured the same as 64; 192 slower in every cell.
const PREFETCH_FLOATS: usize = 64;

/// [`cmac_impl`] written with AVX intrinsics: the same operations in the same order
/// (per lane four sums over a group of `PARTITION_GROUP` partitions, `x_re h_re`,
/// `-x_im h_im`, `x_re h_im` and `x_im h_re`, each one fused multiply-add per partition,
/// then `re += rr + rq`, `im += ir + iq`), so the same bits as the macro compiled with
/// FMA, at about twice its speed: the macro's per-partition slice checks kept it from
/// streaming.
///
/// Four separate sums, not two sums of two fused steps each: a fused multiply-add waits
/// 4 cycles for its addend, so two chained per partition left the loop waiting on
/// latency. A throwaway probe (one core of the Zen 4, arrays placed as `placed.rs`
/// places them): 0.17 to 0.21 ns per complex multiply-accumulate with two chained sums
/// in pairs of partitions, 0.12 to 0.21 with four sums in groups of four, from 15
/// partitions of 129 bins to 7 of 32769.
#[target_feature(enable = "avx2,fma")]
unsafe fn cmac_inner(acc: &mut Acc<'_>, s: &Spectra<'_>, g: Strided) {
    use std::arch::x86_64::*;
    let Strided { stride, m, lo, hi } = g;
    if m == 0 || lo >= hi {
        return;
    }
    let need = (m - 1) * stride + hi;
    assert!(
        s.x_re.len() >= need
            && s.x_im.len() >= need
            && s.h_re.len() >= need
            && s.h_im.len() >= need
            && acc.re.len() >= hi
            && acc.im.len() >= hi,
        "cmac: spectra or accumulator shorter than the strided range"
    );
    let (xr, xi, hr, hm) = (
        s.x_re.as_ptr(),
        s.x_im.as_ptr(),
        s.h_re.as_ptr(),
        s.h_im.as_ptr(),
    );
    let (ar, ai) = (acc.re.as_mut_ptr(), acc.im.as_mut_ptr());
    let body_end = lo + (hi - lo) / LANES * LANES;
    let mut j0 = 0;
    while j0 < m {
        let j1 = (j0 + PARTITION_GROUP).min(m);
        let mut b = lo;
        while b < body_end {
            // SAFETY: every offset is below `need` (checked above) or below `hi` for
            // the accumulator; unaligned loads and stores.
            unsafe {
                let z = _mm256_setzero_ps();
                let (mut rr0, mut rr1, mut rq0, mut rq1) = (z, z, z, z);
                let (mut ir0, mut ir1, mut iq0, mut iq1) = (z, z, z, z);
                for j in j0..j1 {
                    let o = j * stride + b;
                    for p in [xr, xi, hr, hm] {
                        let ahead = p.wrapping_add(o + PREFETCH_FLOATS);
                        _mm_prefetch::<_MM_HINT_T0>(ahead as *const i8);
                    }
                    let a0 = _mm256_loadu_ps(xr.add(o));
                    let a1 = _mm256_loadu_ps(xr.add(o + 8));
                    let c0 = _mm256_loadu_ps(xi.add(o));
                    let c1 = _mm256_loadu_ps(xi.add(o + 8));
                    let h0 = _mm256_loadu_ps(hr.add(o));
                    let h1 = _mm256_loadu_ps(hr.add(o + 8));
                    let g0 = _mm256_loadu_ps(hm.add(o));
                    let g1 = _mm256_loadu_ps(hm.add(o + 8));
                    rr0 = _mm256_fmadd_ps(a0, h0, rr0);
                    rr1 = _mm256_fmadd_ps(a1, h1, rr1);
                    rq0 = _mm256_fnmadd_ps(c0, g0, rq0);
                    rq1 = _mm256_fnmadd_ps(c1, g1, rq1);
                    ir0 = _mm256_fmadd_ps(a0, g0, ir0);
                    ir1 = _mm256_fmadd_ps(a1, g1, ir1);
                    iq0 = _mm256_fmadd_ps(c0, h0, iq0);
                    iq1 = _mm256_fmadd_ps(c1, h1, iq1);
                }
                let (pr, pi) = (ar.add(b), ai.add(b));
                for (p, x, y) in [
                    (pr, rr0, rq0),
                    (pr.add(8), rr1, rq1),
                    (pi, ir0, iq0),
                    (pi.add(8), ir1, iq1),
                ] {
                    let sum = _mm256_add_ps(x, y);
                    _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), sum));
                }
            }
            b += LANES;
        }
        for b in body_end..hi {
            let (r, i) = tail_bin(s.x_re, s.x_im, s, j0..j1, stride, b);
            acc.re[b] += r;
            acc.im[b] += i;
        }
        j0 = j1;
    }
}

/// [`cmac_inner`] for two paths of one kernel: the kernel's strip is loaded once for
/// both inputs. Per path the same sums in the same order (strips of 8 bins instead of
/// 16 do not change any bin's arithmetic), so the same bits as two single calls.
/// `S` strips of 8 bins are summed per pass: 8 S sums in flight. The callers below
/// compile it with the target features that hold them in registers.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn cmac_pair_strips<const S: usize>(
    ar0: &mut [f32],
    ai0: &mut [f32],
    ar1: &mut [f32],
    ai1: &mut [f32],
    s: &Spectra<'_>,
    x1_re: &[f32],
    x1_im: &[f32],
    g: Strided,
) {
    use std::arch::x86_64::*;
    let Strided { stride, m, lo, hi } = g;
    if m == 0 || lo >= hi {
        return;
    }
    let need = (m - 1) * stride + hi;
    assert!(
        [s.x_re, s.x_im, s.h_re, s.h_im, x1_re, x1_im]
            .iter()
            .all(|v| v.len() >= need)
            && [&*ar0, &*ai0, &*ar1, &*ai1].iter().all(|v| v.len() >= hi),
        "cmac: spectra or accumulators shorter than the strided range"
    );
    let x = [
        (s.x_re.as_ptr(), s.x_im.as_ptr()),
        (x1_re.as_ptr(), x1_im.as_ptr()),
    ];
    let (hr, hm) = (s.h_re.as_ptr(), s.h_im.as_ptr());
    let out = [
        (ar0.as_mut_ptr(), ai0.as_mut_ptr()),
        (ar1.as_mut_ptr(), ai1.as_mut_ptr()),
    ];
    let w = 8 * S;
    let body_end = lo + (hi - lo) / w * w;
    let mut j0 = 0;
    while j0 < m {
        let j1 = (j0 + PARTITION_GROUP).min(m);
        let mut b = lo;
        while b < body_end {
            // SAFETY: every offset is below `need` (checked above) or below `hi` for
            // the accumulators; unaligned loads and stores.
            unsafe {
                let z = _mm256_setzero_ps();
                // Per strip and path: x_re h_re, -x_im h_im, x_re h_im, x_im h_re.
                let mut sums = [[[z; 4]; 2]; S];
                for j in j0..j1 {
                    let ahead = j * stride + b + PREFETCH_FLOATS;
                    for p in [hr, hm, x[0].0, x[0].1, x[1].0, x[1].1] {
                        _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(ahead) as *const i8);
                    }
                    for (k, strip) in sums.iter_mut().enumerate() {
                        let o = j * stride + b + 8 * k;
                        let h = _mm256_loadu_ps(hr.add(o));
                        let g = _mm256_loadu_ps(hm.add(o));
                        for (sum, &(xr, xi)) in strip.iter_mut().zip(&x) {
                            let a = _mm256_loadu_ps(xr.add(o));
                            let c = _mm256_loadu_ps(xi.add(o));
                            sum[0] = _mm256_fmadd_ps(a, h, sum[0]);
                            sum[1] = _mm256_fnmadd_ps(c, g, sum[1]);
                            sum[2] = _mm256_fmadd_ps(a, g, sum[2]);
                            sum[3] = _mm256_fmadd_ps(c, h, sum[3]);
                        }
                    }
                }
                for (k, strip) in sums.iter().enumerate() {
                    for (sum, &(pr, pi)) in strip.iter().zip(&out) {
                        let o = b + 8 * k;
                        for (p, x, y) in [(pr.add(o), sum[0], sum[1]), (pi.add(o), sum[2], sum[3])]
                        {
                            let add = _mm256_add_ps(x, y);
                            _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), add));
                        }
                    }
                }
            }
            b += w;
        }
        for b in body_end..hi {
            for (xr, xi, ar, ai) in [
                (s.x_re, s.x_im, &mut *ar0, &mut *ai0),
                (x1_re, x1_im, &mut *ar1, &mut *ai1),
            ] {
                let (r, i) = tail_bin(xr, xi, s, j0..j1, stride, b);
                ar[b] += r;
                ai[b] += i;
            }
        }
        j0 = j1;
    }
}

/// [`cmac_pair_strips`] with `S` strips where the call has two paths of one kernel (a
/// pair accumulator and a pair input), else [`cmac_inner`].
#[inline(always)]
unsafe fn cmac_strips<const S: usize>(acc: &mut Acc<'_>, s: &Spectra<'_>, g: Strided) {
    // SAFETY: the callers below are compiled with (at least) AVX2 and FMA, and only
    // called where the CPU has them.
    unsafe {
        match (acc.pair.as_mut(), s.pair) {
            (Some((re, im)), Some((x_re, x_im))) => {
                cmac_pair_strips::<S>(acc.re, acc.im, re, im, s, x_re, x_im, g)
            }
            _ => cmac_inner(acc, s, g),
        }
    }
}

/// One strip of 8 bins per pass: 8 sums, within AVX2's 16 registers.
#[target_feature(enable = "avx2,fma")]
unsafe fn cmac_narrow(acc: &mut Acc<'_>, s: &Spectra<'_>, g: Strided) {
    // SAFETY: the caller's CPU has AVX2 and FMA (this function's own contract).
    unsafe { cmac_strips::<1>(acc, s, g) }
}

/// Two strips, 16 bins: sixteen sums in flight, which take 16 of the 32 vector registers
/// that AVX-512VL gives (with AVX2's 16 they spill, and the loop is slower than 8 bins).
/// `faltung bench` at 0.5 s / 1024 frames (24 partitions of 1025 bins, two paths of a mono
/// IR), 6 rounds in turn: 1354x real time with 8 bins, 1477x with 16.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
unsafe fn cmac_wide(acc: &mut Acc<'_>, s: &Spectra<'_>, g: Strided) {
    // SAFETY: the caller's CPU has AVX2, FMA and AVX-512F/VL (this function's contract).
    unsafe { cmac_strips::<2>(acc, s, g) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn fir_inner(y: &mut [f32], h: &[f32], x: &[f32]) {
    fir_impl!(y, h, x, fused)
}

pub fn cmac_avx(acc: &mut Acc<'_>, s: &Spectra<'_>, g: Strided) {
    // SAFETY: only handed out by `select()`/`kernels_for()` after the CPU reported
    // AVX2 and FMA; the wide kernel only where it also reported AVX-512F and VL.
    unsafe {
        if wide_registers() {
            cmac_wide(acc, s, g)
        } else {
            cmac_narrow(acc, s, g)
        }
    }
}

/// Whether the CPU has AVX-512F and AVX-512VL (32 vector registers for the 256-bit
/// loops), asked once.
fn wide_registers() -> bool {
    static WIDE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WIDE.get_or_init(|| {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
    })
}

/// [`cmac_avx`] with the 8-bin pair kernel whatever the CPU: for the tests that hold the
/// two pair kernels to the same bits.
#[cfg(test)]
pub(super) fn cmac_avx_narrow(acc: &mut Acc<'_>, s: &Spectra<'_>, g: Strided) {
    // SAFETY: as in `cmac_avx`.
    unsafe { cmac_narrow(acc, s, g) }
}

pub fn fir_avx(y: &mut [f32], h: &[f32], x: &[f32]) {
    // SAFETY: as above.
    unsafe { fir_inner(y, h, x) }
}

/// The macro compiled with the same fused operations: what `cmac_inner` must equal bit
/// for bit.
#[cfg(test)]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn cmac_macro_fused(acc: &mut Acc<'_>, s: &Spectra<'_>, g: Strided) {
    cmac_impl!(acc, s, g, fused);
    if let (Some((re, im)), Some((x_re, x_im))) = (acc.pair.as_mut(), s.pair) {
        let (a2, s2) = second_path(re, im, x_re, x_im, s);
        cmac_impl!(a2, s2, g, fused);
    }
}
