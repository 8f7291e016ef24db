//! The direct FIR: time-domain convolution for kernels too short to gain from FFTs.

use super::routing::{Path, Routing};
use super::simd::FirFn;
use super::zeroed;

const DIRECT_CHUNK: usize = 256;

pub(super) struct DirectFir {
    input_channels: usize,
    output_channels: usize,
    paths: Vec<Path>,
    /// Taps per IR, all padded to `len`.
    taps: Vec<Vec<f32>>,
    taps_len: usize,
    /// Per input: the last `len - 1` inputs followed by the current chunk.
    input_history: Vec<Vec<f32>>,
    /// Per output: the chunk being accumulated.
    output_chunk: Vec<Vec<f32>>,
    fir: FirFn,
}

impl DirectFir {
    pub(super) fn new(irs: &[Vec<f32>], routing: &Routing, fir: FirFn) -> DirectFir {
        let len = irs.iter().map(|h| h.len()).max().unwrap_or(1);
        let h = irs
            .iter()
            .map(|h| {
                let mut r = h.clone();
                r.resize(len, 0.0);
                r
            })
            .collect();
        DirectFir {
            input_channels: routing.input_channels,
            output_channels: routing.output_channels,
            paths: routing.paths.clone(),
            taps: h,
            taps_len: len,
            input_history: zeroed(routing.input_channels, len - 1 + DIRECT_CHUNK),
            output_chunk: zeroed(routing.output_channels, DIRECT_CHUNK),
            fir,
        }
    }

    pub(super) fn reset(&mut self) {
        for h in &mut self.input_history {
            h.fill(0.0);
        }
    }

    pub(super) fn process(&mut self, input: &[f32], output: &mut [f32], frames: usize) {
        let l1 = self.taps_len - 1;
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(DIRECT_CHUNK);
            for (ch, h) in self.input_history.iter_mut().enumerate() {
                for (i, v) in h[l1..l1 + n].iter_mut().enumerate() {
                    *v = input[(done + i) * self.input_channels + ch];
                }
            }
            for a in &mut self.output_chunk {
                a[..n].fill(0.0);
            }
            for p in &self.paths {
                (self.fir)(
                    &mut self.output_chunk[p.output][..n],
                    &self.taps[p.ir],
                    &self.input_history[p.input][..l1 + n],
                );
            }
            for (o, a) in self.output_chunk.iter().enumerate() {
                for (i, &v) in a[..n].iter().enumerate() {
                    output[(done + i) * self.output_channels + o] = v;
                }
            }
            for h in self.input_history.iter_mut() {
                h.copy_within(n..n + l1, 0);
            }
            done += n;
        }
    }
}
