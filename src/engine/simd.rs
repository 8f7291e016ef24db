//! The inner loops of the engine, with a portable path and an AVX2+FMA path chosen at run
//! time (no `target-cpu=native` needed). The portable path is plain Rust that the compiler
//! vectorises with the baseline instruction set; the AVX path is the same code compiled
//! with AVX2 and FMA enabled (and fused multiply-adds). Tests check both against each other
//! and against the f64 reference.

/// Strided complex multiply-accumulate over several partitions:
///
/// `acc[b] += sum_{j < m} x[j*stride + b] * h[j*stride + b]` for `b` in `lo..hi`,
///
/// where complex arrays are given as separate real and imaginary slices. The sum over `j`
/// is kept in registers for each strip of bins, so the accumulator is read and written
/// once per call, not once per partition.
pub type CmacFn = fn(&mut Acc<'_>, &Spectra<'_>, Strided);

/// Direct-form FIR over a block: `y[t] += sum_k h[k] * x[h.len() - 1 + t - k]` for
/// `t < y.len()`, where `x` holds `h.len() - 1` frames of history followed by the block.
pub type FirFn = fn(&mut [f32], &[f32], &[f32]);

/// Accumulator (split complex), and optionally a second path's (see [`Spectra::pair`]).
pub struct Acc<'a> {
    pub re: &'a mut [f32],
    pub im: &'a mut [f32],
    pub pair: Option<(&'a mut [f32], &'a mut [f32])>,
}

/// Two strided families of spectra (split complex): the input's delay line `x` and the
/// kernel's partitions `h`, each starting at its partition 0 for this call.
pub struct Spectra<'a> {
    pub x_re: &'a [f32],
    pub x_im: &'a [f32],
    pub h_re: &'a [f32],
    pub h_im: &'a [f32],
    /// A second input's delay line (re, im), strided as `x`, against the same kernel and
    /// summed into [`Acc::pair`]: two paths of one kernel (a mono IR on two channels) in
    /// one sweep, reading the kernel once. Each path's sums are the bits it gets alone.
    pub pair: Option<(&'a [f32], &'a [f32])>,
}

/// Which partitions and bins a multiply-accumulate covers.
#[derive(Debug, Clone, Copy)]
pub struct Strided {
    /// Distance between consecutive partitions, in bins.
    pub stride: usize,
    /// Number of partitions summed.
    pub m: usize,
    pub lo: usize,
    pub hi: usize,
}

const LANES: usize = 16;

/// Partitions summed in registers per pass over a strip of bins. Sweeping the bins once per
/// group of partitions (the accumulator stays in L1) streams each spectrum sequentially;
/// summing all partitions per strip made the loop jump between 4m streams (a 10-partition
/// level: 40), which the prefetchers do not follow: measured on 2 inputs and one kernel
/// (`examples`-style probe, one core), 1.35 ns per complex multiply-accumulate against 0.41
/// with pairs for 10 partitions of 8192, 0.59 against 0.40-0.46 for 15 of 1024. Groups of
/// four (16 streams) were slower than pairs until the spectra were placed apart in the page
/// (`placed.rs`): with them at one page offset, a throwaway probe on a Zen 4 core gave 0.42
/// ns for groups of four against 0.21 for pairs at 10 partitions of 4097 bins, and with
/// them placed, 0.17 against 0.19 (0.12 against 0.15 at 15 of 129).
const PARTITION_GROUP: usize = 4;

macro_rules! cmac_impl {
    ($acc:ident, $s:ident, $g:ident, $fma:expr) => {{
        let Strided { stride, m, lo, hi } = $g;
        let fma: fn(f32, f32, f32) -> f32 = $fma;
        let mut j0 = 0;
        while j0 < m {
            let j1 = (j0 + PARTITION_GROUP).min(m);
            let mut b = lo;
            while b + LANES <= hi {
                // The products of x_re and of x_im go to separate sums (see `cmac_inner`).
                let mut rr = [0.0f32; LANES];
                let mut rq = [0.0f32; LANES];
                let mut ir = [0.0f32; LANES];
                let mut iq = [0.0f32; LANES];
                for j in j0..j1 {
                    let o = j * stride + b;
                    let xr: &[f32; LANES] = $s.x_re[o..o + LANES].try_into().unwrap();
                    let xi: &[f32; LANES] = $s.x_im[o..o + LANES].try_into().unwrap();
                    let hr: &[f32; LANES] = $s.h_re[o..o + LANES].try_into().unwrap();
                    let hi: &[f32; LANES] = $s.h_im[o..o + LANES].try_into().unwrap();
                    for l in 0..LANES {
                        rr[l] = fma(xr[l], hr[l], rr[l]);
                        rq[l] = fma(-xi[l], hi[l], rq[l]);
                        ir[l] = fma(xr[l], hi[l], ir[l]);
                        iq[l] = fma(xi[l], hr[l], iq[l]);
                    }
                }
                let (dr, di) = (&mut $acc.re[b..b + LANES], &mut $acc.im[b..b + LANES]);
                for l in 0..LANES {
                    dr[l] += rr[l] + rq[l];
                    di[l] += ir[l] + iq[l];
                }
                b += LANES;
            }
            for b in b..hi {
                let (mut rr, mut rq, mut ir, mut iq) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
                for j in j0..j1 {
                    let o = j * stride + b;
                    let (xr, xi, hr, hi) = ($s.x_re[o], $s.x_im[o], $s.h_re[o], $s.h_im[o]);
                    rr = fma(xr, hr, rr);
                    rq = fma(-xi, hi, rq);
                    ir = fma(xr, hi, ir);
                    iq = fma(xi, hr, iq);
                }
                $acc.re[b] += rr + rq;
                $acc.im[b] += ir + iq;
            }
            j0 = j1;
        }
    }};
}

#[inline(always)]
fn mul_add_plain(a: f32, b: f32, c: f32) -> f32 {
    a * b + c
}

const FIR_LANES: usize = 32;

/// Register-blocked FIR: 32 outputs are accumulated in registers over all taps, one
/// broadcast multiply-add per tap and lane group.
macro_rules! fir_impl {
    ($y:ident, $h:ident, $x:ident, $fma:expr) => {{
        let fma: fn(f32, f32, f32) -> f32 = $fma;
        let l = $h.len();
        let n = $y.len();
        assert!($x.len() + 1 >= n + l, "FIR history too short");
        let mut t = 0;
        while t + FIR_LANES <= n {
            let mut acc = [0.0f32; FIR_LANES];
            for (k, &hk) in $h.iter().enumerate() {
                let o = l - 1 + t - k;
                let xs: &[f32; FIR_LANES] = $x[o..o + FIR_LANES].try_into().unwrap();
                for j in 0..FIR_LANES {
                    acc[j] = fma(hk, xs[j], acc[j]);
                }
            }
            for (d, a) in $y[t..t + FIR_LANES].iter_mut().zip(acc) {
                *d += a;
            }
            t += FIR_LANES;
        }
        for t in t..n {
            let mut a = 0.0f32;
            for (k, &hk) in $h.iter().enumerate() {
                a = fma(hk, $x[l - 1 + t - k], a);
            }
            $y[t] += a;
        }
    }};
}

/// Portable strided complex multiply-accumulate.
pub fn cmac_scalar(acc: &mut Acc<'_>, s: &Spectra<'_>, g: Strided) {
    cmac_impl!(acc, s, g, mul_add_plain);
    if let (Some((re, im)), Some((x_re, x_im))) = (acc.pair.as_mut(), s.pair) {
        let (a2, s2) = second_path(re, im, x_re, x_im, s);
        cmac_impl!(a2, s2, g, mul_add_plain);
    }
}

/// The second path of a pair as a single path.
fn second_path<'a>(
    re: &'a mut [f32],
    im: &'a mut [f32],
    x_re: &'a [f32],
    x_im: &'a [f32],
    s: &Spectra<'a>,
) -> (Acc<'a>, Spectra<'a>) {
    let acc = Acc { re, im, pair: None };
    let spectra = Spectra {
        x_re,
        x_im,
        h_re: s.h_re,
        h_im: s.h_im,
        pair: None,
    };
    (acc, spectra)
}

/// Portable FIR block.
pub fn fir_scalar(y: &mut [f32], h: &[f32], x: &[f32]) {
    fir_impl!(y, h, x, mul_add_plain)
}

#[cfg(target_arch = "x86_64")]
mod avx;

/// Which implementation is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Portable,
    Avx2Fma,
}

/// Whether the AVX2+FMA path can run on this CPU.
pub fn avx2_fma_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The fastest kernels this CPU runs. Set `FALTUNG_PORTABLE=1` to force the portable path.
pub fn select() -> (Isa, CmacFn, FirFn) {
    let forced = std::env::var_os("FALTUNG_PORTABLE").is_some_and(|v| v != "0");
    let isa = if !forced && avx2_fma_available() {
        Isa::Avx2Fma
    } else {
        Isa::Portable
    };
    let (c, a) = kernels_for(isa).unwrap_or((cmac_scalar, fir_scalar));
    (isa, c, a)
}

/// The kernels for an explicitly chosen ISA (`None` if this CPU cannot run it).
pub fn kernels_for(isa: Isa) -> Option<(CmacFn, FirFn)> {
    match isa {
        Isa::Portable => Some((cmac_scalar, fir_scalar)),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma if avx2_fma_available() => Some((avx::cmac_avx, avx::fir_avx)),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX intrinsics give the bits of the same loop written portably with fused
    /// multiply-adds, over partition counts around the group size, bins around the lane
    /// width and strides longer than the bins.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx_cmac_equals_the_fused_loop_bit_for_bit() {
        if !avx2_fma_available() {
            eprintln!("AVX2+FMA not available on this CPU: nothing to compare");
            return;
        }
        let mut seed = 7u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        for m in [1, 2, 3, 5, 15] {
            for (bins, lo, hi) in [(65, 0, 65), (1025, 0, 1025), (1025, 17, 530), (40, 3, 19)] {
                let stride = bins + 3;
                let len = m * stride;
                let mut v = || (0..len).map(|_| rnd()).collect::<Vec<f32>>();
                let (xr, xi, hr, hi_) = (v(), v(), v(), v());
                let s = Spectra {
                    x_re: &xr,
                    x_im: &xi,
                    h_re: &hr,
                    h_im: &hi_,
                    pair: None,
                };
                let g = Strided { stride, m, lo, hi };
                let a0: Vec<f32> = (0..bins).map(|_| rnd()).collect();
                let (mut ar, mut ai) = (a0.clone(), a0.clone());
                let (mut br, mut bi) = (a0.clone(), a0);
                avx::cmac_avx(
                    &mut Acc {
                        re: &mut ar,
                        im: &mut ai,
                        pair: None,
                    },
                    &s,
                    g,
                );
                // SAFETY: AVX2 and FMA checked above.
                unsafe {
                    avx::cmac_macro_fused(
                        &mut Acc {
                            re: &mut br,
                            im: &mut bi,
                            pair: None,
                        },
                        &s,
                        g,
                    )
                };
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&ar), bits(&br), "re: m {m}, bins {bins}, {lo}..{hi}");
                assert_eq!(bits(&ai), bits(&bi), "im: m {m}, bins {bins}, {lo}..{hi}");
            }
        }
    }

    /// Both kernels against a plain f64 evaluation of the definition.
    #[test]
    fn cmac_kernels_match_definition() {
        let bins = 37;
        let m = 5;
        let mut seed = 1u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let xr: Vec<f32> = (0..bins * m).map(|_| rnd()).collect();
        let xi: Vec<f32> = (0..bins * m).map(|_| rnd()).collect();
        let hr: Vec<f32> = (0..bins * m).map(|_| rnd()).collect();
        let hi: Vec<f32> = (0..bins * m).map(|_| rnd()).collect();
        let a0r: Vec<f32> = (0..bins).map(|_| rnd()).collect();
        let a0i: Vec<f32> = (0..bins).map(|_| rnd()).collect();
        for isa in [Isa::Portable, Isa::Avx2Fma] {
            let Some((cmac, fir)) = kernels_for(isa) else {
                continue;
            };
            for (lo, hi_b) in [(0, bins), (3, 35), (16, 32), (5, 6)] {
                let (mut ar, mut ai) = (a0r.clone(), a0i.clone());
                let s = Spectra {
                    x_re: &xr,
                    x_im: &xi,
                    h_re: &hr,
                    h_im: &hi,
                    pair: None,
                };
                let g = Strided {
                    stride: bins,
                    m,
                    lo,
                    hi: hi_b,
                };
                cmac(
                    &mut Acc {
                        re: &mut ar,
                        im: &mut ai,
                        pair: None,
                    },
                    &s,
                    g,
                );
                for b in 0..bins {
                    let (mut wr, mut wi) = (a0r[b] as f64, a0i[b] as f64);
                    if (lo..hi_b).contains(&b) {
                        for j in 0..m {
                            let o = j * bins + b;
                            let (a, c, d, e) =
                                (xr[o] as f64, xi[o] as f64, hr[o] as f64, hi[o] as f64);
                            wr += a * d - c * e;
                            wi += a * e + c * d;
                        }
                    }
                    assert!((ar[b] as f64 - wr).abs() < 1e-5, "{isa:?} re bin {b}");
                    assert!((ai[b] as f64 - wi).abs() < 1e-5, "{isa:?} im bin {b}");
                }
            }
            // FIR: y[t] += sum_k h[k] x[L-1+t-k], over lengths with and without tails.
            for (taps, n) in [(1usize, 40usize), (5, 32), (13, 100), (3, 7)] {
                let h = &hr[..taps];
                let x = &xi[..taps - 1 + n];
                let mut y = a0r[..n.min(bins)].to_vec();
                y.resize(n, 0.25);
                let y0 = y.clone();
                fir(&mut y, h, x);
                for t in 0..n {
                    let mut want = y0[t] as f64;
                    for k in 0..taps {
                        want += h[k] as f64 * x[taps - 1 + t - k] as f64;
                    }
                    assert!((y[t] as f64 - want).abs() < 1e-5, "{isa:?} fir t {t}");
                }
            }
        }
    }

    /// A pair of paths of one kernel gives each path the bits of a single call, in every
    /// implementation, and the AVX pair kernel the bits of the fused loop.
    #[test]
    fn a_pair_call_gives_each_path_the_bits_of_a_single_call() {
        let mut seed = 11u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for m in [1, 3, 4, 5, 9] {
            for (bins, lo, hi) in [(65, 0, 65), (1025, 0, 1025), (1025, 17, 530), (40, 3, 19)] {
                let stride = bins + 5;
                let len = m * stride;
                let mut v = |n: usize| (0..n).map(|_| rnd()).collect::<Vec<f32>>();
                let (x0r, x0i, x1r, x1i, hr, hi_) =
                    (v(len), v(len), v(len), v(len), v(len), v(len));
                let a0 = v(4 * bins);
                let g = Strided { stride, m, lo, hi };
                let single = |cmac: CmacFn, xr: &[f32], xi: &[f32], a: &[f32]| {
                    let (mut re, mut im) = (a[..bins].to_vec(), a[bins..2 * bins].to_vec());
                    let s = Spectra {
                        x_re: xr,
                        x_im: xi,
                        h_re: &hr,
                        h_im: &hi_,
                        pair: None,
                    };
                    cmac(
                        &mut Acc {
                            re: &mut re,
                            im: &mut im,
                            pair: None,
                        },
                        &s,
                        g,
                    );
                    (re, im)
                };
                let paired = |cmac: CmacFn| {
                    let mut acc: Vec<Vec<f32>> = a0.chunks(bins).map(|c| c.to_vec()).collect();
                    let [r0, i0, r1, i1] = &mut acc[..] else {
                        unreachable!()
                    };
                    let s = Spectra {
                        x_re: &x0r,
                        x_im: &x0i,
                        h_re: &hr,
                        h_im: &hi_,
                        pair: Some((&x1r, &x1i)),
                    };
                    cmac(
                        &mut Acc {
                            re: r0,
                            im: i0,
                            pair: Some((r1, i1)),
                        },
                        &s,
                        g,
                    );
                    acc
                };
                let mut results = Vec::new();
                for isa in [Isa::Portable, Isa::Avx2Fma] {
                    let Some((cmac, _)) = kernels_for(isa) else {
                        continue;
                    };
                    let (r0, i0) = single(cmac, &x0r, &x0i, &a0);
                    let (r1, i1) = single(cmac, &x1r, &x1i, &a0[2 * bins..]);
                    let p = paired(cmac);
                    let what = format!("{isa:?}, m {m}, bins {bins}, {lo}..{hi}");
                    assert_eq!(bits(&p[0]), bits(&r0), "path 0 re: {what}");
                    assert_eq!(bits(&p[1]), bits(&i0), "path 0 im: {what}");
                    assert_eq!(bits(&p[2]), bits(&r1), "path 1 re: {what}");
                    assert_eq!(bits(&p[3]), bits(&i1), "path 1 im: {what}");
                    results.push(p);
                }
                #[cfg(target_arch = "x86_64")]
                if avx2_fma_available() {
                    let fused: CmacFn = |a, s, g| unsafe { avx::cmac_macro_fused(a, s, g) };
                    let want = paired(fused);
                    let got = results.last().expect("the AVX path ran");
                    for (w, g) in want.iter().zip(got) {
                        assert_eq!(bits(w), bits(g), "AVX pair against the fused loop");
                    }
                    // The 8-bin pair kernel too, where the CPU's own pick is the 16-bin one.
                    let narrow = paired(avx::cmac_avx_narrow);
                    for (w, g) in want.iter().zip(&narrow) {
                        assert_eq!(bits(w), bits(g), "8-bin AVX pair against the fused loop");
                    }
                }
            }
        }
    }
}
