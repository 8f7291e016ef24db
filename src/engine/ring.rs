//! The output ring: per output, a ring of absolute frame positions where every level adds
//! its results and from which each block's output is read.

use super::loops::{interleave, join_stereo};
use super::zeroed;

/// Per-output rings of absolute frame positions where all levels sum their results.
pub(super) struct Ring {
    data: Vec<Vec<f32>>,
    mask: usize,
}

impl Ring {
    /// Rings for `outputs` outputs of at least `min_len` frames (rounded up to a power of two).
    pub(super) fn new(outputs: usize, min_len: usize) -> Ring {
        let len = min_len.next_power_of_two();
        Ring {
            data: zeroed(outputs, len),
            mask: len - 1,
        }
    }

    pub(super) fn reset(&mut self) {
        for d in &mut self.data {
            d.fill(0.0);
        }
    }

    pub(super) fn add(&mut self, output: usize, start: u64, src: &[f32]) {
        let len = self.data[output].len();
        let s = (start as usize) & self.mask;
        let first = (len - s).min(src.len());
        let d = &mut self.data[output];
        for (a, b) in d[s..s + first].iter_mut().zip(&src[..first]) {
            *a += b;
        }
        for (a, b) in d[..src.len() - first].iter_mut().zip(&src[first..]) {
            *a += b;
        }
    }

    /// Interleaved `frames` (one channel per output) from the rings at absolute frames
    /// `start..`.
    pub(super) fn read_frames(&self, start: u64, frames: &mut [f32]) {
        let oc = self.data.len();
        let len = self.mask + 1;
        let s = (start as usize) & self.mask;
        let n = frames.len() / oc;
        let first = (len - s).min(n);
        let (f1, f2) = frames.split_at_mut(first * oc);
        if let [l, r] = &self.data[..] {
            join_stereo(f1, &l[s..s + first], &r[s..s + first]);
            join_stereo(f2, &l[..n - first], &r[..n - first]);
            return;
        }
        for (o, d) in self.data.iter().enumerate() {
            interleave(f1, &d[s..s + first], oc, o);
            interleave(f2, &d[..n - first], oc, o);
        }
    }

    #[inline]
    pub(super) fn get(&self, output: usize, t: u64) -> f32 {
        self.data[output][(t as usize) & self.mask]
    }

    pub(super) fn clear(&mut self, start: u64, len: usize) {
        for d in &mut self.data {
            let n = d.len();
            let s = (start as usize) & self.mask;
            let first = (n - s).min(len);
            d[s..s + first].fill(0.0);
            d[..len - first].fill(0.0);
        }
    }
}
