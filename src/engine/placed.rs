//! Spectra placed so that the streams of one multiply-accumulate do not share L1 sets.
//!
//! A level's multiply-accumulate reads `x_re`, `x_im`, `h_re` and `h_im` of several
//! partitions at once and adds into `acc_re` and `acc_im`. Each is its own allocation, and
//! allocations of 128 KiB and more come from `mmap`, so they all start at the same offset in
//! a page: every stream then maps to the same few sets of the L1 cache (a set is chosen by
//! address bits 6..12), which holds only 8 lines per set on the CPUs we measure, and the
//! stores into the accumulator alias the loads (4 KiB aliasing). A throwaway probe on a Zen 4
//! core, 22 partitions of 1025 bins: 0.26 to 0.29 ns per complex multiply-accumulate with the
//! arrays at one offset in the page, 0.19 with them 1088 bytes apart. [`Placer`] hands out
//! zeroed buffers whose first sample sits at evenly spread offsets within a page.

use std::ops::{Deref, DerefMut};

/// Bytes in the span over which buffers are spread (the L1 set-index range of address bits).
pub(crate) const SPAN: usize = 4096;
const LINE: usize = 64;
const F32: usize = std::mem::size_of::<f32>();

/// The index in `buf` of the first element whose address is `offset` modulo 4096 (`offset`
/// a multiple of the element size); below `4096 / size_of::<T>()`, so a buffer padded by
/// that many elements always holds it.
pub(crate) fn start_index<T>(buf: &[T], offset: usize) -> usize {
    let base = buf.as_ptr() as usize % SPAN;
    (offset % SPAN + SPAN - base) % SPAN / std::mem::size_of::<T>()
}

/// A zeroed `f32` buffer that starts at a chosen offset within a page.
pub(super) struct Placed {
    buf: Vec<f32>,
    start: usize,
    len: usize,
}

impl Placed {
    /// `len` zeros whose first sample's address is `offset` (a multiple of 4) modulo 4096.
    fn zeroed(len: usize, offset: usize) -> Placed {
        // A fresh zeroed allocation (calloc): its pages are not touched until written.
        let buf = vec![0.0f32; len + SPAN / F32];
        let start = start_index(&buf, offset);
        Placed { buf, start, len }
    }
}

impl Deref for Placed {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.buf[self.start..self.start + self.len]
    }
}

impl DerefMut for Placed {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

/// Hands out `count` buffers at offsets spread evenly (to whole cache lines) over a page.
pub(super) struct Placer {
    count: usize,
    next: usize,
}

impl Placer {
    pub(super) fn new(count: usize) -> Placer {
        Placer {
            count: count.max(1),
            next: 0,
        }
    }

    /// The next buffer: `len` zeros.
    pub(super) fn zeroed(&mut self, len: usize) -> Placed {
        let offset = self.next * SPAN / self.count / LINE * LINE;
        self.next += 1;
        Placed::zeroed(len, offset)
    }

    /// `k` buffers of `len` zeros.
    pub(super) fn zeroed_k(&mut self, k: usize, len: usize) -> Vec<Placed> {
        (0..k).map(|_| self.zeroed(len)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_start_at_distinct_lines_of_the_page_and_hold_zeros() {
        for (count, len) in [(12, 7 * 32769), (6, 22 * 1025), (4, 1), (1, 0), (40, 100)] {
            let mut placer = Placer::new(count);
            let bufs = placer.zeroed_k(count, len);
            let mut lines: Vec<usize> = bufs
                .iter()
                .map(|b| b.as_ptr() as usize % SPAN / LINE)
                .collect();
            for b in &bufs {
                assert_eq!(b.len(), len);
                assert!(b.iter().all(|&v| v == 0.0));
                assert_eq!(b.as_ptr() as usize % LINE, 0, "each buffer starts a line");
            }
            lines.sort_unstable();
            lines.dedup();
            assert_eq!(
                lines.len(),
                count.min(SPAN / LINE),
                "{count} buffers of {len}"
            );
        }
    }

    #[test]
    fn writes_land_in_the_placed_range_only() {
        let mut p = Placer::new(3);
        let mut a = p.zeroed(10);
        a.iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = i as f32 + 1.0);
        assert_eq!(a.buf.iter().filter(|&&v| v != 0.0).count(), 10);
        assert_eq!(&a[..3], &[1.0, 2.0, 3.0]);
    }
}
