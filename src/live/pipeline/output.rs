//! The output callback's body: play the frame captured exactly `lag_frames` before, on
//! the stream clocks; silence and a count on a shortfall.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ringbuf::traits::Consumer;
use ringbuf::HeapCons;

use super::shared::Shared;

/// The output callback's body.
pub struct OutputPort {
    ring: HeapCons<f32>,
    channels: usize,
    shared: Arc<Shared>,
    rate_hz: u32,
    lag_frames: u64,
    /// Timeline index of the next frame in the ring (frames popped or skipped so far).
    read_frame: u64,
    /// The last anchor read consistently: (clock ns, frame).
    anchor: Option<(u64, u64)>,
    started: bool,
    /// Timeline frame due at the next callback if nothing is lost.
    next_due: i64,
    /// The clocks' disagreement with `next_due` at the previous callback, and for how
    /// many callbacks in a row it has been the same.
    last_offset: i64,
    offset_runs: u32,
    /// The callback size and the processing block the lag was last computed for.
    period: usize,
    block: usize,
    /// Whether the previous callback was short because its input had not been captured.
    late_before: bool,
}

/// Callbacks in a row the stream clocks must disagree the same way with the counted
/// timeline before the output follows them (see [`OutputPort::fill`]).
pub const CLOCK_CONFIRM_CALLBACKS: u32 = 8;

/// Callbacks in a row the clocks must agree on the timeline before the output starts
/// playing (silence until then).
pub const START_CONFIRM_CALLBACKS: u32 = 3;

impl OutputPort {
    /// `lag_frames`: the output plays input frame `t - lag_frames` at time `t` (the ring
    /// prefill; see the module docs). Once a processor publishes its block in
    /// [`Shared::block_frames`], the lag follows it and the callback size: the block rounded
    /// up to whole callbacks (see [`OutputPort::fill`]).
    pub fn new(
        ring: HeapCons<f32>,
        channels: usize,
        shared: Arc<Shared>,
        rate_hz: u32,
        lag_frames: usize,
    ) -> Self {
        shared.lag_frames.store(lag_frames, Ordering::Relaxed);
        // The period the streams were opened with (0 when unknown): a first callback of
        // another size is a change, counted and logged like any later one.
        let period = shared.period_frames.load(Ordering::Relaxed);
        OutputPort {
            ring,
            channels,
            shared,
            rate_hz,
            lag_frames: lag_frames as u64,
            read_frame: 0,
            anchor: None,
            started: false,
            next_due: 0,
            last_offset: 0,
            offset_runs: 0,
            period,
            block: 0,
            late_before: false,
        }
    }

    /// Follow the callback size (the server's period) and the processing block: the lag
    /// is the block rounded up to whole callbacks, so that a block is complete before the
    /// callback that plays it. When the lag changes, the timeline moves with it: a longer
    /// lag plays silence for the frames in between (counted as an input gap), a shorter
    /// one skips them. Only atomics; called at the top of every callback.
    fn follow_period(&mut self, frames: usize) {
        let sh = &self.shared;
        let block = sh.block_frames.load(Ordering::Relaxed);
        if frames == self.period && block == self.block {
            return;
        }
        if frames != self.period {
            if self.period != 0 {
                sh.period_changes.fetch_add(1, Ordering::Relaxed);
            }
            sh.period_frames.store(frames, Ordering::Relaxed);
        }
        self.period = frames;
        self.block = block;
        if block == 0 {
            return; // no processor publishes its block: keep the lag given
        }
        let lag = (block.div_ceil(frames) * frames) as u64;
        if lag != self.lag_frames {
            self.next_due += self.lag_frames as i64 - lag as i64;
            self.lag_frames = lag;
            sh.lag_frames.store(lag as usize, Ordering::Relaxed);
        }
    }

    fn read_anchor(&mut self) {
        let sh = &self.shared;
        let s1 = sh.anchor_seq.load(Ordering::Acquire);
        if s1 == 0 || s1 % 2 == 1 {
            return; // nothing yet, or being written right now: keep the previous one
        }
        let ns = sh.anchor_ns.load(Ordering::Relaxed);
        let frame = sh.anchor_frame.load(Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Acquire);
        if sh.anchor_seq.load(Ordering::Relaxed) == s1 {
            self.anchor = Some((ns, frame));
        }
    }

    /// Fill one callback's interleaved buffer; `callback_ns` is the stream clock of the
    /// callback (the same clock as the input's). Only copies; never blocks or allocates.
    ///
    /// The frame due now is the latest input callback's first frame, plus the time since
    /// that callback (on whole callbacks: both streams tick once per device period), minus
    /// the lag. Late samples are skipped and missing ones (lost input cycles) replaced by
    /// silence, so the latency never drifts. Input still missing one callback after a
    /// buffer went silent for want of it is played on from the first frame not played
    /// (a lost input cycle costs one silent buffer), and the clocks then confirm or
    /// correct the lag.
    pub fn fill(&mut self, out: &mut [f32], callback_ns: u64) {
        let ch = self.channels.max(1);
        let frames = out.len() / ch;
        self.read_anchor();
        let Some((anchor_ns, anchor_frame)) = self.anchor else {
            out.fill(0.0);
            return;
        };
        if frames == 0 {
            return;
        }
        self.follow_period(frames);
        let dt_ns = callback_ns as f64 - anchor_ns as f64;
        let periods = (dt_ns * self.rate_hz as f64 / 1e9 / frames as f64).round();
        let measured =
            anchor_frame as i64 + periods as i64 * frames as i64 - self.lag_frames as i64;
        if !self.started {
            // Start once the clocks have told the same timeline for a few callbacks in a
            // row (one late callback at start-up would otherwise set the latency wrong).
            self.offset_runs = if measured == self.next_due {
                self.offset_runs + 1
            } else {
                1
            };
            self.next_due = measured + frames as i64;
            if measured < 0 || self.offset_runs < START_CONFIRM_CALLBACKS {
                out.fill(0.0);
                return;
            }
            self.started = true;
            self.next_due = measured;
            self.offset_runs = 0;
        }
        // Steady state advances by one buffer per callback. The clocks override that only
        // when they disagree the same way for CLOCK_CONFIRM_CALLBACKS callbacks in a row:
        // a lost cycle moves the timeline for good, while callbacks that run late (clients
        // without real-time scheduling, a server xrun and the back-to-back cycle after it)
        // skew a few readings either way. And the timeline never moves ahead of the input
        // captured so far: frames not yet captured cannot be due.
        let offset = measured - self.next_due;
        self.offset_runs = if offset != 0 && offset == self.last_offset {
            self.offset_runs + 1
        } else {
            1
        };
        self.last_offset = offset;
        let captured = self.shared.captured_frames.load(Ordering::Acquire) as i64;
        let mut due = if offset != 0 && self.offset_runs >= CLOCK_CONFIRM_CALLBACKS {
            // Followed: the next move needs as many agreeing callbacks again.
            self.offset_runs = 0;
            self.last_offset = 0;
            measured.min(self.next_due.max(captured - frames as i64))
        } else {
            self.next_due
        };
        // The previous buffer went silent for want of input, and this one's input is not
        // there either, but the previous one's is: the input client lost a cycle (a
        // server skips a client while its graph changes) or ran late twice. Play on from
        // the first frame not played instead of skipping a buffer of audio to stay late:
        // the lag grows by the frames held back, until the clocks (above) say otherwise.
        // Without this, one lost input cycle would silence every callback until the
        // clocks were confirmed, CLOCK_CONFIRM_CALLBACKS buffers of audio thrown away.
        let read = self.read_frame as i64;
        if self.late_before
            && read < due
            && due + frames as i64 > captured
            && read + frames as i64 <= captured
        {
            due = read;
        }
        self.next_due = due + frames as i64;
        let due = due.max(0) as u64;
        let mut short = false;
        if self.read_frame < due {
            let want = (due - self.read_frame) as usize * ch;
            let skipped = self.ring.skip(want);
            self.read_frame += (skipped / ch) as u64;
            short |= skipped < want;
        }
        // Frames of this buffer that lie before the ring's next frame: silence.
        let gap = if self.read_frame > due {
            ((self.read_frame - due) as usize).min(frames)
        } else {
            0
        };
        out[..gap * ch].fill(0.0);
        let got = if short {
            0
        } else {
            self.ring.pop_slice(&mut out[gap * ch..])
        };
        self.read_frame += (got / ch) as u64;
        self.late_before = false;
        if gap * ch + got < out.len() {
            out[gap * ch + got..].fill(0.0);
            self.shared.underruns.fetch_add(1, Ordering::Relaxed);
            if due + frames as u64 > self.shared.captured_frames.load(Ordering::Acquire) {
                self.shared.late_input.fetch_add(1, Ordering::Relaxed);
                self.late_before = true;
            }
        } else if gap > 0 {
            self.shared.input_gaps.fetch_add(1, Ordering::Relaxed);
        }
        self.shared
            .output_frames
            .fetch_add(frames as u64, Ordering::Relaxed);
    }

    pub fn started(&self) -> bool {
        self.started
    }

    /// The counters and meters this port reports to.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }
}
