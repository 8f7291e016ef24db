//! The harness's two JACK clients' callbacks (the feed and the capture, counting frames
//! from the same cycle by JACK's frame time) and its xrun counter. They allocate nothing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::AMPLITUDE;

/// The harness's feed: the impulses, from the first cycle after it is armed.
pub(super) struct Probe {
    pub(super) feed: jack::Port<jack::AudioOut>,
    pub(super) armed: Arc<AtomicBool>,
    /// JACK's frame time of the first fed frame, with bit 32 set once it is known.
    pub(super) first: Arc<AtomicU64>,
    pub(super) impulses: Vec<usize>,
    pub(super) next: usize,
    pub(super) total: usize,
}

const KNOWN: u64 = 1 << 32;

/// Frames from the first fed frame to the start of this cycle, if feeding has begun.
fn harness_frame(first: &AtomicU64, ps: &jack::ProcessScope) -> Option<usize> {
    let f = first.load(Ordering::Acquire);
    (f & KNOWN != 0).then(|| ps.last_frame_time().wrapping_sub(f as u32) as usize)
}

impl jack::ProcessHandler for Probe {
    fn process(&mut self, _: &jack::Client, ps: &jack::ProcessScope) -> jack::Control {
        let out = self.feed.as_mut_slice(ps);
        out.fill(0.0);
        let frame = match harness_frame(&self.first, ps) {
            Some(f) => f,
            None if self.armed.load(Ordering::Acquire) => {
                let now = u64::from(ps.last_frame_time());
                self.first.store(KNOWN | now, Ordering::Release);
                0
            }
            None => return jack::Control::Continue,
        };
        if frame >= self.total {
            return jack::Control::Continue;
        }
        let n = out.len();
        while let Some(&t) = self.impulses.get(self.next) {
            if t >= frame + n {
                break;
            }
            if t >= frame {
                out[t - frame] = AMPLITUDE;
            }
            self.next += 1;
        }
        jack::Control::Continue
    }
}

/// The harness's capture: what faltung played, on the feed's frame count (the server runs
/// the feed, faltung and the capture in that order in every cycle).
pub(super) struct Capture {
    pub(super) caps: Vec<jack::Port<jack::AudioIn>>,
    pub(super) capture: Vec<Vec<f32>>,
    pub(super) first: Arc<AtomicU64>,
    pub(super) done: Arc<AtomicBool>,
    pub(super) total: usize,
}

impl jack::ProcessHandler for Capture {
    fn process(&mut self, _: &jack::Client, ps: &jack::ProcessScope) -> jack::Control {
        let Some(frame) = harness_frame(&self.first, ps) else {
            return jack::Control::Continue;
        };
        if frame >= self.total {
            return jack::Control::Continue;
        }
        let take = (ps.n_frames() as usize).min(self.total - frame);
        for (buf, port) in self.capture.iter_mut().zip(&self.caps) {
            buf[frame..frame + take].copy_from_slice(&port.as_slice(ps)[..take]);
        }
        if frame + take >= self.total {
            self.done.store(true, Ordering::Release);
        }
        jack::Control::Continue
    }
}

/// Counts the server's xruns.
pub(super) struct Notes {
    pub(super) xruns: Arc<AtomicU64>,
}

impl jack::NotificationHandler for Notes {
    fn xrun(&mut self, _: &jack::Client) -> jack::Control {
        self.xruns.fetch_add(1, Ordering::Relaxed);
        jack::Control::Continue
    }
}
