//! Kernel hot swap: a [`BlockProcessor`] wrapper that crossfades from the running engine to
//! a new one.
//!
//! The new engine is built elsewhere (off the audio thread) and handed in with
//! [`Crossfade::begin`]; that only moves a value, so it neither allocates nor locks. During
//! the fade both engines run on the same input and the output is the mixture
//! `(1 - g) * old + g * new`, with `g` rising linearly (equal gain, the JUCE
//! `dsp::Convolution` choice: the two engines hear the same input, so their outputs are
//! correlated and equal gain keeps the level constant) from `1 / fade_frames` at the fade's
//! first frame to exactly 1 at its last. When the fade ends the old engine is parked in a
//! slot that the owner empties with [`Crossfade::take_retired`] and sends away to be dropped
//! off the audio thread.
//!
//! `process_block` never allocates: the scratch buffer for the second engine's output is
//! sized at construction for the largest call.

use super::BlockProcessor;
use crate::error::{EngineError, ProcessError};

/// A boxed processor is a processor: lets a [`Crossfade`] hold `Box<Engine>`s, so that
/// handing engines to and from the audio thread moves a pointer and never frees memory
/// there.
impl<T: BlockProcessor + ?Sized> BlockProcessor for Box<T> {
    fn process_block(&mut self, input: &[f32], output: &mut [f32]) -> Result<(), ProcessError> {
        (**self).process_block(input, output)
    }
    fn reset(&mut self) {
        (**self).reset()
    }
    fn latency_frames(&self) -> usize {
        (**self).latency_frames()
    }
    fn input_channels(&self) -> usize {
        (**self).input_channels()
    }
    fn output_channels(&self) -> usize {
        (**self).output_channels()
    }
    fn max_call_frames(&self) -> usize {
        (**self).max_call_frames()
    }
}

/// Why [`Crossfade::begin`] refused a new engine (the engine is handed back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SwapRefused {
    #[error("a crossfade is already running")]
    Busy,
    #[error("the old engine of the previous swap has not been taken yet")]
    RetiredNotTaken,
    #[error("the new engine's shape (channels, latency, call size) differs from the running one")]
    ShapeMismatch,
}

/// A processor that can swap its inner processor with a linear crossfade.
pub struct Crossfade<P: BlockProcessor> {
    current: P,
    incoming: Option<P>,
    retired: Option<P>,
    fade_frames: usize,
    /// Frames of the running fade already output.
    fade_pos: usize,
    scratch: Vec<f32>,
}

impl<P: BlockProcessor> Crossfade<P> {
    /// Wrap `engine`; swaps will fade over `fade_frames` frames (at least 1).
    pub fn new(engine: P, fade_frames: usize) -> Result<Self, EngineError> {
        let capacity = engine.max_call_frames();
        Self::with_capacity(engine, fade_frames, capacity)
    }

    /// Like [`new`](Crossfade::new), with the scratch buffer sized for calls of up to
    /// `capacity_frames` (at least the engine's maximum call): for an owner that swaps to
    /// engines built for other call sizes with [`begin_resized`](Crossfade::begin_resized).
    pub fn with_capacity(
        engine: P,
        fade_frames: usize,
        capacity_frames: usize,
    ) -> Result<Self, EngineError> {
        if fade_frames == 0 {
            return Err(EngineError::InvalidConfig {
                what: "crossfade length must be at least 1 frame".into(),
            });
        }
        let frames = capacity_frames.max(engine.max_call_frames());
        let scratch = vec![0.0; frames * engine.output_channels()];
        Ok(Crossfade {
            current: engine,
            incoming: None,
            retired: None,
            fade_frames,
            fade_pos: 0,
            scratch,
        })
    }

    /// Start fading to `next`. Refused (and `next` handed back) while a fade runs, while the
    /// previous old engine has not been taken, or if `next` has a different shape (channel
    /// counts, latency, or a smaller maximum call). Never allocates.
    pub fn begin(&mut self, next: P) -> Result<(), (P, SwapRefused)> {
        self.try_begin(next, true)
    }

    /// Start fading to `next`, an engine built for another call size (the live path follows
    /// a device period that changed): refused like [`begin`](Crossfade::begin) but for the
    /// maximum call, which may be smaller or larger than the running engine's. The caller
    /// keeps every call within both engines' maximum until the fade ends (a call beyond
    /// either, or beyond the capacity, is an error, not a panic). Never allocates.
    pub fn begin_resized(&mut self, next: P) -> Result<(), (P, SwapRefused)> {
        self.try_begin(next, false)
    }

    /// The checks both swaps share; `same_max_call` also refuses a smaller maximum call.
    fn try_begin(&mut self, next: P, same_max_call: bool) -> Result<(), (P, SwapRefused)> {
        if self.incoming.is_some() {
            return Err((next, SwapRefused::Busy));
        }
        if self.retired.is_some() {
            return Err((next, SwapRefused::RetiredNotTaken));
        }
        let c = &self.current;
        if next.input_channels() != c.input_channels()
            || next.output_channels() != c.output_channels()
            || next.latency_frames() != c.latency_frames()
            || (same_max_call && next.max_call_frames() < c.max_call_frames())
        {
            return Err((next, SwapRefused::ShapeMismatch));
        }
        self.incoming = Some(next);
        self.fade_pos = 0;
        Ok(())
    }

    /// True while a crossfade runs.
    pub fn is_fading(&self) -> bool {
        self.incoming.is_some()
    }

    /// The old engine of a finished swap, to be dropped off the audio thread.
    pub fn take_retired(&mut self) -> Option<P> {
        self.retired.take()
    }

    /// The engine currently at full gain (the old one while fading).
    pub fn current(&self) -> &P {
        &self.current
    }

    pub fn fade_frames(&self) -> usize {
        self.fade_frames
    }

    /// Gain of the incoming engine at frame `k` of a fade of `fade_frames` frames
    /// (`k` from 0): `(k + 1) / fade_frames`. The old engine gets `1 - gain`.
    pub fn incoming_gain(k: usize, fade_frames: usize) -> f32 {
        ((k + 1) as f64 / fade_frames as f64).min(1.0) as f32
    }
}

impl<P: BlockProcessor> BlockProcessor for Crossfade<P> {
    fn process_block(&mut self, input: &[f32], output: &mut [f32]) -> Result<(), ProcessError> {
        self.current.process_block(input, output)?;
        let Some(next) = self.incoming.as_mut() else {
            return Ok(());
        };
        let oc = self.current.output_channels();
        let frames = output.len() / oc;
        if output.len() > self.scratch.len() {
            return Err(ProcessError::TooManyFrames {
                frames,
                max_frames: self.scratch.len() / oc,
            });
        }
        let scratch = &mut self.scratch[..output.len()];
        next.process_block(input, scratch)?;
        let remaining = self.fade_frames - self.fade_pos;
        let fading = frames.min(remaining);
        for f in 0..fading {
            let g = Self::incoming_gain(self.fade_pos + f, self.fade_frames);
            for c in 0..oc {
                let i = f * oc + c;
                output[i] = (1.0 - g) * output[i] + g * scratch[i];
            }
        }
        output[fading * oc..].copy_from_slice(&scratch[fading * oc..]);
        self.fade_pos += fading;
        if self.fade_pos == self.fade_frames {
            if let Some(next) = self.incoming.take() {
                let old = std::mem::replace(&mut self.current, next);
                self.retired = Some(old);
            }
            self.fade_pos = 0;
        }
        Ok(())
    }

    fn reset(&mut self) {
        if let Some(next) = self.incoming.take() {
            let old = std::mem::replace(&mut self.current, next);
            self.retired = Some(old);
        }
        self.fade_pos = 0;
        self.current.reset();
    }

    fn latency_frames(&self) -> usize {
        self.current.latency_frames()
    }
    fn input_channels(&self) -> usize {
        self.current.input_channels()
    }
    fn output_channels(&self) -> usize {
        self.current.output_channels()
    }
    fn max_call_frames(&self) -> usize {
        self.current.max_call_frames()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, Routing};
    use crate::rng::SplitMix64;

    fn noise(seed: u64, n: usize) -> Vec<f32> {
        let mut r = SplitMix64::new(seed);
        (0..n).map(|_| r.next_bipolar()).collect()
    }

    fn engine(ir: &[f32], block: usize) -> Box<Engine> {
        Box::new(
            Engine::realtime(
                &[ir.to_vec(), ir.to_vec()],
                Routing::mono_to_stereo(),
                block,
            )
            .unwrap(),
        )
    }

    /// Independent truth: one engine alone over `input` from frame `start` on (it starts
    /// cold there), called `call` frames at a time; stereo out, silence before `start`.
    fn run_alone(ir: &[f32], block: usize, input: &[f32], start: usize, call: usize) -> Vec<f32> {
        let mut e = engine(ir, block);
        let mut out = vec![0.0; input.len() * 2];
        for (i, o) in input[start..]
            .chunks(call)
            .zip(out[start * 2..].chunks_mut(call * 2))
        {
            e.process_block(i, o).unwrap();
        }
        out
    }

    /// The largest distance of `out` from the old engine's output `a` before `swap_at`
    /// and from the documented gain-weighted mixture of `a` and the new `b` after it.
    fn mixture_error(out: &[f32], a: &[f32], b: &[f32], swap_at: usize, fade: usize) -> f32 {
        let mut max_err = 0.0f32;
        for f in 0..out.len() / 2 {
            let g = if f < swap_at {
                0.0
            } else {
                Crossfade::<Box<Engine>>::incoming_gain(f - swap_at, fade)
            };
            for c in 0..2 {
                let want = (1.0 - g) * a[f * 2 + c] + g * b[f * 2 + c];
                max_err = max_err.max((out[f * 2 + c] - want).abs());
            }
        }
        max_err
    }

    /// During and after a swap the output is exactly the mixture of the two engines run
    /// alone, with the documented gains; before the swap it is the old engine alone.
    #[test]
    fn swap_output_is_the_gain_weighted_mixture_of_both_engines() {
        let block = 64;
        let ir_a: Vec<f32> = noise(1, 300).iter().map(|v| v * 0.1).collect();
        let ir_b: Vec<f32> = noise(2, 500).iter().map(|v| v * 0.1).collect();
        let fade = 150; // not a multiple of the block: the fade ends inside a call
        let input = noise(3, block * 12);
        let swap_at = block * 3;
        let a = run_alone(&ir_a, block, &input, 0, block);
        let b = run_alone(&ir_b, block, &input, swap_at, block);
        let mut xf = Crossfade::new(engine(&ir_a, block), fade).unwrap();
        let mut out = vec![0.0; input.len() * 2];
        for (n, (i, o)) in input
            .chunks(block)
            .zip(out.chunks_mut(block * 2))
            .enumerate()
        {
            if n * block == swap_at {
                assert!(xf.begin(engine(&ir_b, block)).is_ok());
                assert!(xf.is_fading());
            }
            xf.process_block(i, o).unwrap();
        }
        assert!(!xf.is_fading());
        assert!(xf.take_retired().is_some(), "old engine handed back");
        let max_err = mixture_error(&out, &a, &b, swap_at, fade);
        assert!(max_err <= 1e-6, "max error {max_err}");
        // After the fade the output is the new engine alone, bit for bit.
        let end = (swap_at + fade) * 2;
        assert_eq!(&out[end..], &b[end..]);
    }

    /// A swap to an engine built for another call size (the live path following a changed
    /// device period): with calls that fit both, the output is the gain-weighted mixture of
    /// the two engines run alone, then the new engine alone; a call beyond the capacity is
    /// an error, and `begin` (same call size or larger only) refuses the smaller engine.
    #[test]
    fn resized_swap_mixes_engines_of_different_call_sizes() {
        let ir_a: Vec<f32> = noise(4, 700).iter().map(|v| v * 0.1).collect();
        let ir_b: Vec<f32> = noise(5, 700).iter().map(|v| v * 0.1).collect();
        let (big, small, fade) = (256, 64, 200);
        let input = noise(6, big * 8);
        let swap_at = big * 2;
        let a = run_alone(&ir_a, big, &input, 0, small);
        let b = run_alone(&ir_b, small, &input, swap_at, small);
        let mut xf = Crossfade::with_capacity(engine(&ir_a, big), fade, big).unwrap();
        let mut out = vec![0.0; input.len() * 2];
        for (k, (i, o)) in input.chunks(big).zip(out.chunks_mut(big * 2)).enumerate() {
            if k * big < swap_at {
                xf.process_block(i, o).unwrap();
                continue;
            }
            if k * big == swap_at {
                let refused = xf.begin(engine(&ir_b, small));
                assert!(matches!(refused, Err((_, SwapRefused::ShapeMismatch))));
                assert!(xf.begin_resized(engine(&ir_b, small)).is_ok());
            }
            for (ii, oo) in i.chunks(small).zip(o.chunks_mut(small * 2)) {
                xf.process_block(ii, oo).unwrap();
            }
        }
        assert!(xf.take_retired().is_some());
        assert_eq!(xf.max_call_frames(), small);
        let max_err = mixture_error(&out, &a, &b, swap_at, fade);
        assert!(max_err <= 1e-6, "max error {max_err}");
        // Mid-fade, a call larger than the capacity is refused with an error.
        let mut xf = Crossfade::with_capacity(engine(&ir_a, small), fade, small).unwrap();
        assert!(xf.begin_resized(engine(&ir_b, big)).is_ok());
        let mut o = vec![0.0; big * 2];
        assert!(xf.process_block(&input[..big], &mut o).is_err());
    }

    #[test]
    fn gains_rise_linearly_to_exactly_one() {
        let f = 2400;
        assert_eq!(Crossfade::<Box<Engine>>::incoming_gain(f - 1, f), 1.0);
        assert!((Crossfade::<Box<Engine>>::incoming_gain(0, f) - 1.0 / 2400.0).abs() < 1e-9);
        assert!((Crossfade::<Box<Engine>>::incoming_gain(1199, f) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn swaps_are_refused_while_busy_or_with_a_different_shape() {
        let ir = vec![1.0f32, 0.5];
        let mut xf = Crossfade::new(engine(&ir, 32), 100).unwrap();
        let mono =
            Box::new(Engine::realtime(std::slice::from_ref(&ir), Routing::mono_ir(1), 32).unwrap());
        assert!(matches!(
            xf.begin(mono).map_err(|e| e.1),
            Err(SwapRefused::ShapeMismatch)
        ));
        assert!(xf.begin(engine(&ir, 32)).is_ok());
        assert!(matches!(
            xf.begin(engine(&ir, 32)).map_err(|e| e.1),
            Err(SwapRefused::Busy)
        ));
        let mut out = vec![0.0; 64 * 2];
        for _ in 0..4 {
            xf.process_block(&[0.0; 64][..32], &mut out[..64]).unwrap();
        }
        assert!(!xf.is_fading());
        assert!(matches!(
            xf.begin(engine(&ir, 32)).map_err(|e| e.1),
            Err(SwapRefused::RetiredNotTaken)
        ));
        assert!(xf.take_retired().is_some());
        assert!(xf.begin(engine(&ir, 32)).is_ok());
    }
}
