//! Small inner loops of the engine (the vectorised multiply-accumulate and FIR kernels are
//! in `simd`): a dot product for the zero-latency head, and interleaving.

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

/// Every channel of interleaved `frames` into its own buffer: channel `c` to
/// `dst[c][at..at + n]`, where `n = frames.len() / dst.len()`. Stereo, the common case, is
/// split in one pass with SSE shuffles (per channel, the strided reads did not vectorise and
/// cost more per frame than the real FFTs at 1024-frame calls).
pub(super) fn deinterleave_all(dst: &mut [Vec<f32>], at: usize, frames: &[f32]) {
    let ch = dst.len();
    let n = frames.len() / ch;
    if let [l, r] = dst {
        return split_stereo(&mut l[at..at + n], &mut r[at..at + n], &frames[..2 * n]);
    }
    for (c, d) in dst.iter_mut().enumerate() {
        deinterleave(&mut d[at..at + n], frames, ch, c);
    }
}

/// `l[i] = frames[2 i]`, `r[i] = frames[2 i + 1]` (all three of matching lengths).
fn split_stereo(l: &mut [f32], r: &mut [f32], frames: &[f32]) {
    let n = l.len().min(r.len()).min(frames.len() / 2);
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_loadu_ps, _mm_shuffle_ps, _mm_storeu_ps};
        while done + 4 <= n {
            // SAFETY: SSE is part of x86-64; `done + 4 <= n` keeps the two 4-float reads
            // within `frames[2 done..2 done + 8]` and the writes within `l`, `r`.
            unsafe {
                let a = _mm_loadu_ps(frames.as_ptr().add(2 * done));
                let b = _mm_loadu_ps(frames.as_ptr().add(2 * done + 4));
                _mm_storeu_ps(
                    l.as_mut_ptr().add(done),
                    _mm_shuffle_ps::<0b10_00_10_00>(a, b),
                );
                _mm_storeu_ps(
                    r.as_mut_ptr().add(done),
                    _mm_shuffle_ps::<0b11_01_11_01>(a, b),
                );
            }
            done += 4;
        }
    }
    for i in done..n {
        l[i] = frames[2 * i];
        r[i] = frames[2 * i + 1];
    }
}

/// `frames[2 i] = l[i]`, `frames[2 i + 1] = r[i]`: the inverse of [`split_stereo`].
pub(super) fn join_stereo(frames: &mut [f32], l: &[f32], r: &[f32]) {
    let n = l.len().min(r.len()).min(frames.len() / 2);
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_loadu_ps, _mm_storeu_ps, _mm_unpackhi_ps, _mm_unpacklo_ps};
        while done + 4 <= n {
            // SAFETY: SSE is part of x86-64; `done + 4 <= n` keeps the reads within `l`, `r`
            // and the two 4-float writes within `frames[2 done..2 done + 8]`.
            unsafe {
                let a = _mm_loadu_ps(l.as_ptr().add(done));
                let b = _mm_loadu_ps(r.as_ptr().add(done));
                let f = frames.as_mut_ptr().add(2 * done);
                _mm_storeu_ps(f, _mm_unpacklo_ps(a, b));
                _mm_storeu_ps(f.add(4), _mm_unpackhi_ps(a, b));
            }
            done += 4;
        }
    }
    for i in done..n {
        frames[2 * i] = l[i];
        frames[2 * i + 1] = r[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_split_and_join_match_the_per_channel_loops_at_every_length() {
        for n in 0..19 {
            let frames: Vec<f32> = (0..2 * n).map(|i| i as f32 * 0.5 - 3.0).collect();
            let mut split = vec![vec![9.0f32; n + 3]; 2];
            deinterleave_all(&mut split, 3, &frames);
            for (c, ch) in split.iter().enumerate() {
                assert!(ch[..3].iter().all(|&v| v == 9.0), "n {n}: before `at` kept");
                let want: Vec<f32> = (0..n).map(|i| frames[2 * i + c]).collect();
                assert_eq!(ch[3..], want[..], "n {n}, channel {c}");
            }
            let mut joined = vec![0.0f32; 2 * n];
            join_stereo(&mut joined, &split[0][3..], &split[1][3..]);
            assert_eq!(joined, frames, "n {n}");
        }
    }

    #[test]
    fn other_channel_counts_split_per_channel() {
        let frames: Vec<f32> = (0..15).map(|i| i as f32).collect();
        let mut split = vec![vec![0.0f32; 5]; 3];
        deinterleave_all(&mut split, 0, &frames);
        assert_eq!(split[2], [2.0, 5.0, 8.0, 11.0, 14.0]);
    }
}
