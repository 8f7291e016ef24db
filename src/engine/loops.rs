//! Small scalar inner loops of the engine (the vectorised multiply-accumulate and FIR
//! kernels are in `simd`): a dot product for the zero-latency head, and interleaving.

/// Dot product with several partial sums (vectorises without reassociation flags).
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f32>() + tail
}

/// `dst[i] = frames[i * ch + c]`, with the common channel counts as constants so that the
/// loop vectorises.
pub(super) fn deinterleave(dst: &mut [f32], frames: &[f32], ch: usize, c: usize) {
    fn go<const N: usize>(dst: &mut [f32], frames: &[f32], c: usize) {
        for (v, f) in dst.iter_mut().zip(frames.chunks_exact(N)) {
            *v = f[c];
        }
    }
    match ch {
        1 => dst.copy_from_slice(&frames[..dst.len()]),
        2 => go::<2>(dst, frames, c),
        4 => go::<4>(dst, frames, c),
        _ => {
            for (v, f) in dst.iter_mut().zip(frames.chunks_exact(ch)) {
                *v = f[c];
            }
        }
    }
}

/// `frames[i * ch + c] = src[i]`, the inverse of [`deinterleave`].
pub(super) fn interleave(frames: &mut [f32], src: &[f32], ch: usize, c: usize) {
    fn go<const N: usize>(frames: &mut [f32], src: &[f32], c: usize) {
        for (f, &v) in frames.chunks_exact_mut(N).zip(src) {
            f[c] = v;
        }
    }
    match ch {
        1 => {
            let n = src.len().min(frames.len());
            frames[..n].copy_from_slice(&src[..n]);
        }
        2 => go::<2>(frames, src, c),
        4 => go::<4>(frames, src, c),
        _ => {
            for (f, &v) in frames.chunks_exact_mut(ch).zip(src) {
                f[c] = v;
            }
        }
    }
}
