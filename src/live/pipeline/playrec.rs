//! The play-and-record step: in place of the engine, the processing thread plays a
//! prepared signal and records the input, frame for frame on the input's timeline (the
//! room measurement's harness, `faltung measure`).
//!
//! Output ring frame `k` is signal frame `k`, and [`OutputPort::fill`](super::OutputPort::fill)
//! plays it exactly `lag_frames` after input frame `k` was captured. The recording's frame
//! `k` is input frame `k`. So a system between the output and the input with round trip
//! `d` (device buffers, cables, air) puts its response to signal frame `j` at recording
//! frame `j + lag + d`: the delay is known up to the devices' own latency.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ringbuf::traits::{Consumer, Observer, Producer};
use ringbuf::{HeapCons, HeapProd};

use super::shared::{raise_peak, Shared};

/// What the processing thread runs: the engine ([`super::Processor`]) or the
/// play-and-record step. `step` never allocates, locks or blocks.
pub trait Step: Send {
    /// Work through what the input ring holds; returns the units of work done (0: none).
    fn step(&mut self) -> usize;
}

impl Step for super::Processor {
    fn step(&mut self) -> usize {
        super::Processor::step(self)
    }
}

/// Plays `signal` (mono, repeated on every output channel) and records every input
/// channel of the first `record_frames` frames into the `recording` ring.
pub struct PlayRecord {
    input: HeapCons<f32>,
    output: HeapProd<f32>,
    recording: HeapProd<f32>,
    signal: Vec<f32>,
    shared: Arc<Shared>,
    in_ch: usize,
    out_ch: usize,
    /// Input frames taken so far (the timeline).
    frame: usize,
    record_frames: usize,
    in_buf: Vec<f32>,
    out_buf: Vec<f32>,
}

/// Frames handled per round of [`PlayRecord::step`] (scratch buffers are this long).
const CHUNK_FRAMES: usize = 1024;

impl PlayRecord {
    /// `recording` must have room for `record_frames * in_ch` samples, or what does not
    /// fit is counted in [`Shared::record_dropped`]. `block_frames` is published as the
    /// processing block, so that the output's lag is one block rounded up to whole periods.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input: HeapCons<f32>,
        output: HeapProd<f32>,
        recording: HeapProd<f32>,
        signal: Vec<f32>,
        shared: Arc<Shared>,
        in_ch: usize,
        out_ch: usize,
        record_frames: usize,
        block_frames: usize,
    ) -> Self {
        shared.block_frames.store(block_frames, Ordering::Relaxed);
        PlayRecord {
            input,
            output,
            recording,
            signal,
            shared,
            in_ch: in_ch.max(1),
            out_ch: out_ch.max(1),
            frame: 0,
            record_frames,
            in_buf: vec![0.0; CHUNK_FRAMES * in_ch.max(1)],
            out_buf: vec![0.0; CHUNK_FRAMES * out_ch.max(1)],
        }
    }
}

impl Step for PlayRecord {
    fn step(&mut self) -> usize {
        let mut done = 0;
        loop {
            let n = (self.input.occupied_len() / self.in_ch)
                .min(self.output.vacant_len() / self.out_ch)
                .min(CHUNK_FRAMES);
            if n == 0 {
                return done;
            }
            let ins = &mut self.in_buf[..n * self.in_ch];
            self.input.pop_slice(ins);
            raise_peak(&self.shared.in_peak_bits, ins);
            if self.frame < self.record_frames {
                let keep = n.min(self.record_frames - self.frame) * self.in_ch;
                let pushed = self.recording.push_slice(&ins[..keep]);
                if pushed < keep {
                    self.shared
                        .record_dropped
                        .fetch_add((keep - pushed) as u64, Ordering::Relaxed);
                }
            }
            let outs = &mut self.out_buf[..n * self.out_ch];
            for (f, frame) in outs.chunks_exact_mut(self.out_ch).enumerate() {
                frame.fill(self.signal.get(self.frame + f).copied().unwrap_or(0.0));
            }
            raise_peak(&self.shared.out_peak_bits, outs);
            self.output.push_slice(outs);
            self.frame += n;
            self.shared.blocks.fetch_add(1, Ordering::Relaxed);
            done += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{InputPort, OutputPort};
    use super::*;
    use ringbuf::traits::Split;
    use ringbuf::HeapRb;

    const P: usize = 64;
    const RATE: u32 = 48_000;

    /// Callbacks driven by hand, input before output in each cycle: the signal's frame
    /// `j` is played in the callback that covers input frame `j + lag`, and the recording
    /// is the input, frame for frame.
    #[test]
    fn plays_the_signal_lag_frames_after_the_input_timeline_and_records_the_input() {
        let shared = Arc::new(Shared::default());
        let (in_prod, in_cons) = HeapRb::<f32>::new(P * 32).split();
        let (out_prod, out_cons) = HeapRb::<f32>::new(P * 2 * 32).split();
        let (rec_prod, mut rec_cons) = HeapRb::<f32>::new(P * 20).split();
        let signal: Vec<f32> = (0..P * 12).map(|j| 1.0 + j as f32).collect();
        let mut step = PlayRecord::new(
            in_cons,
            out_prod,
            rec_prod,
            signal,
            shared.clone(),
            1,
            2,
            P * 10,
            P,
        );
        let mut input = InputPort::new(in_prod, 1, shared.clone(), None);
        let mut output = OutputPort::new(out_cons, 2, shared.clone(), RATE, P);
        let mut played = Vec::new();
        for k in 0..16u64 {
            let ns = 1_000_000_000 + k * P as u64 * 1_000_000_000 / RATE as u64;
            let data: Vec<f32> = (0..P).map(|i| -((k as usize * P + i) as f32)).collect();
            input.push(&data, ns);
            step.step();
            let mut out = vec![0.0; 2 * P];
            output.fill(&mut out, ns);
            played.push((k as usize, out));
        }
        // The first callback that plays: input frames k P.. are being captured, and the
        // output plays signal frames k P - lag.., the same on both channels.
        let (k, out) = played
            .iter()
            .find(|(_, o)| o.iter().any(|&v| v != 0.0))
            .unwrap();
        let first = out[0] as usize - 1;
        assert_eq!(first + P, k * P, "lag of one period");
        for (f, pair) in out.chunks(2).enumerate() {
            assert_eq!(pair, [(first + f + 1) as f32; 2]);
        }
        let mut rec = vec![0.0; P * 20];
        let n = rec_cons.pop_slice(&mut rec);
        assert_eq!(n, P * 10, "exactly record_frames frames");
        for (i, v) in rec[..n].iter().enumerate() {
            assert_eq!(*v, -(i as f32));
        }
        assert_eq!(shared.record_dropped.load(Ordering::Relaxed), 0);
    }
}
