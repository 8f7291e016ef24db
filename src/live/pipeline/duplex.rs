//! Both callback bodies in one process cycle, for a host that hands one callback the
//! input and the output of the same cycle (faltung's own JACK client): the input's
//! channels are interleaved into a buffer made at start, [`InputPort::push`] and
//! [`OutputPort::fill`] run on it in that order, and the output is de-interleaved into
//! the host's channel buffers. Nothing here allocates; a cycle longer than the buffers
//! (longer than any period a session follows) plays silence and counts an underrun.

use std::sync::atomic::Ordering;

use super::{InputPort, OutputPort};

/// One process cycle's exchange: the host's per-channel buffers in, interleaved through
/// the two ports, per-channel buffers out.
pub struct Duplex {
    input: InputPort,
    output: OutputPort,
    input_channels: usize,
    output_channels: usize,
    max_frames: usize,
    interleaved_in: Vec<f32>,
    interleaved_out: Vec<f32>,
    /// Frames of the cycle in progress, set by [`Duplex::begin`].
    frames: usize,
}

impl Duplex {
    /// Buffers for cycles of up to `max_frames` frames.
    pub fn new(
        input: InputPort,
        output: OutputPort,
        input_channels: usize,
        output_channels: usize,
        max_frames: usize,
    ) -> Duplex {
        Duplex {
            input,
            output,
            input_channels,
            output_channels,
            max_frames,
            interleaved_in: vec![0.0; max_frames * input_channels],
            interleaved_out: vec![0.0; max_frames * output_channels],
            frames: 0,
        }
    }

    /// Start a cycle of `frames` frames; false (and the cycle is silence) when it is longer
    /// than the buffers.
    pub fn begin(&mut self, frames: usize) -> bool {
        self.frames = frames;
        frames <= self.max_frames
    }

    /// Input channel `ch` of the cycle (its first `frames` samples are used).
    pub fn put_input(&mut self, ch: usize, samples: &[f32]) {
        let n = self.input_channels;
        if ch >= n || self.frames > self.max_frames {
            return;
        }
        let frames = self.frames.min(samples.len());
        for (dst, &s) in self.interleaved_in[ch..]
            .iter_mut()
            .step_by(n)
            .zip(&samples[..frames])
        {
            *dst = s;
        }
    }

    /// Push the cycle's input and fill its output; `callback_ns` is the cycle's time (the
    /// same for both ports: they run in the same cycle).
    pub fn exchange(&mut self, callback_ns: u64) {
        let frames = self.frames;
        if frames > self.max_frames {
            self.output
                .shared()
                .underruns
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.input.push(
            &self.interleaved_in[..frames * self.input_channels],
            callback_ns,
        );
        self.output.fill(
            &mut self.interleaved_out[..frames * self.output_channels],
            callback_ns,
        );
    }

    /// Output channel `ch` of the cycle, written into `out` (silence for a cycle that did
    /// not fit).
    pub fn take_output(&self, ch: usize, out: &mut [f32]) {
        let n = self.output_channels;
        if ch >= n || self.frames > self.max_frames {
            out.fill(0.0);
            return;
        }
        let frames = self.frames.min(out.len());
        for (dst, &s) in out[..frames]
            .iter_mut()
            .zip(self.interleaved_out[ch..].iter().step_by(n))
        {
            *dst = s;
        }
        out[frames..].fill(0.0);
    }
}
