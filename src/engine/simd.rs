//! The two inner loops of the engine, with a portable path and an AVX2+FMA path chosen at
//! run time (no `target-cpu=native` needed). The portable path is plain Rust that the
//! compiler vectorises with the baseline instruction set; the AVX path is the same code
//! compiled with AVX2 and FMA enabled. Tests check both against each other.

/// Split-complex multiply-accumulate: `acc += x * h` element-wise, where each complex
/// array is given as separate real and imaginary slices of equal length.
pub type CmacFn = fn(&mut [f32], &mut [f32], &[f32], &[f32], &[f32], &[f32]);

/// Dot product of two equal-length slices.
pub type DotFn = fn(&[f32], &[f32]) -> f32;

#[inline(always)]
fn cmac_body(
    acc_re: &mut [f32],
    acc_im: &mut [f32],
    x_re: &[f32],
    x_im: &[f32],
    h_re: &[f32],
    h_im: &[f32],
) {
    let n = acc_re.len();
    let (acc_im, x_re, x_im, h_re, h_im) = (
        &mut acc_im[..n],
        &x_re[..n],
        &x_im[..n],
        &h_re[..n],
        &h_im[..n],
    );
    for i in 0..n {
        let (xr, xi, hr, hi) = (x_re[i], x_im[i], h_re[i], h_im[i]);
        acc_re[i] += xr * hr - xi * hi;
        acc_im[i] += xr * hi + xi * hr;
    }
}

#[inline(always)]
fn dot_body(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 16];
    let chunks = n / 16;
    for c in 0..chunks {
        let (ac, bc) = (&a[c * 16..c * 16 + 16], &b[c * 16..c * 16 + 16]);
        for j in 0..16 {
            acc[j] += ac[j] * bc[j];
        }
    }
    let mut tail = 0.0f32;
    for i in chunks * 16..n {
        tail += a[i] * b[i];
    }
    let mut s = 0.0f32;
    for v in acc {
        s += v;
    }
    s + tail
}

/// Portable complex multiply-accumulate.
pub fn cmac_scalar(
    acc_re: &mut [f32],
    acc_im: &mut [f32],
    x_re: &[f32],
    x_im: &[f32],
    h_re: &[f32],
    h_im: &[f32],
) {
    cmac_body(acc_re, acc_im, x_re, x_im, h_re, h_im)
}

/// Portable dot product.
pub fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    dot_body(a, b)
}

#[cfg(target_arch = "x86_64")]
mod avx {
    #[target_feature(enable = "avx2,fma")]
    unsafe fn cmac_avx_inner(
        acc_re: &mut [f32],
        acc_im: &mut [f32],
        x_re: &[f32],
        x_im: &[f32],
        h_re: &[f32],
        h_im: &[f32],
    ) {
        let n = acc_re.len();
        let (acc_im, x_re, x_im, h_re, h_im) = (
            &mut acc_im[..n],
            &x_re[..n],
            &x_im[..n],
            &h_re[..n],
            &h_im[..n],
        );
        for i in 0..n {
            let (xr, xi, hr, hi) = (x_re[i], x_im[i], h_re[i], h_im[i]);
            acc_re[i] = xr.mul_add(hr, (-xi).mul_add(hi, acc_re[i]));
            acc_im[i] = xr.mul_add(hi, xi.mul_add(hr, acc_im[i]));
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_avx_inner(a: &[f32], b: &[f32]) -> f32 {
        super::dot_body(a, b)
    }

    pub fn cmac_avx(
        acc_re: &mut [f32],
        acc_im: &mut [f32],
        x_re: &[f32],
        x_im: &[f32],
        h_re: &[f32],
        h_im: &[f32],
    ) {
        // SAFETY: only handed out by `select()` after the CPU reported AVX2 and FMA.
        unsafe { cmac_avx_inner(acc_re, acc_im, x_re, x_im, h_re, h_im) }
    }

    pub fn dot_avx(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: only handed out by `select()` after the CPU reported AVX2 and FMA.
        unsafe { dot_avx_inner(a, b) }
    }
}

/// Which implementation [`select`] picked.
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
pub fn select() -> (Isa, CmacFn, DotFn) {
    let forced = std::env::var_os("FALTUNG_PORTABLE").is_some_and(|v| v != "0");
    #[cfg(target_arch = "x86_64")]
    if !forced && avx2_fma_available() {
        return (Isa::Avx2Fma, avx::cmac_avx, avx::dot_avx);
    }
    let _ = forced;
    (Isa::Portable, cmac_scalar, dot_scalar)
}

/// The kernels for an explicitly chosen ISA (`None` if this CPU cannot run it).
pub fn kernels_for(isa: Isa) -> Option<(CmacFn, DotFn)> {
    match isa {
        Isa::Portable => Some((cmac_scalar, dot_scalar)),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma if avx2_fma_available() => Some((avx::cmac_avx, avx::dot_avx)),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}
