//! The input callback's body: copy into the input ring, count, wake the processing thread.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::Thread;

use ringbuf::traits::Producer;
use ringbuf::HeapProd;

use super::shared::Shared;

/// The input callback's body.
pub struct InputPort {
    ring: HeapProd<f32>,
    channels: usize,
    /// Frames pushed so far.
    frames: u64,
    shared: Arc<Shared>,
    wake: Option<Thread>,
}

impl InputPort {
    pub fn new(
        ring: HeapProd<f32>,
        channels: usize,
        shared: Arc<Shared>,
        wake: Option<Thread>,
    ) -> Self {
        InputPort {
            ring,
            channels,
            frames: 0,
            shared,
            wake,
        }
    }

    /// Take one callback's interleaved samples; `callback_ns` is the stream clock of the
    /// callback. Never blocks or allocates.
    pub fn push(&mut self, data: &[f32], callback_ns: u64) {
        let frame = self.frames;
        let pushed = self.ring.push_slice(data);
        if pushed < data.len() {
            self.shared
                .overruns
                .fetch_add((data.len() - pushed) as u64, Ordering::Relaxed);
        }
        // Only what entered the ring is on the timeline the output side counts.
        self.frames += (pushed / self.channels) as u64;
        let sh = &self.shared;
        let seq = sh.anchor_seq.load(Ordering::Relaxed);
        sh.anchor_seq.store(seq + 1, Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Release);
        sh.anchor_ns.store(callback_ns, Ordering::Relaxed);
        sh.anchor_frame.store(frame, Ordering::Relaxed);
        sh.anchor_seq.store(seq + 2, Ordering::Release);
        let callback_frames = data.len() / self.channels;
        sh.input_frames
            .fetch_add(callback_frames as u64, Ordering::Relaxed);
        if sh.input_period_frames.load(Ordering::Relaxed) != callback_frames {
            sh.input_period_frames
                .store(callback_frames, Ordering::Relaxed);
        }
        sh.captured_frames.store(self.frames, Ordering::Release);
        if let Some(t) = &self.wake {
            t.unpark();
        }
    }
}
