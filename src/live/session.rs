//! A running session: controls, meters, failure, stop. [`Session::start`] is in `start`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::pipeline::Shared;
use super::{record, Control, LiveError, SessionInfo, Stats, Summary, Timing};
use crate::engine::TailStats;

pub(super) struct ErrorSlot {
    pub(super) fatal: AtomicBool,
    /// Xruns reported to the input and to the output stream.
    pub(super) xruns: [AtomicU64; 2],
    pub(super) message: Mutex<Option<String>>,
}

impl ErrorSlot {
    pub(super) fn new() -> ErrorSlot {
        ErrorSlot {
            fatal: AtomicBool::new(false),
            xruns: Default::default(),
            message: Mutex::new(None),
        }
    }

    /// Record a lost device or server: the first message is kept (`try_lock` only, so a
    /// callback thread never waits on it), and the session is marked failed.
    pub(super) fn fail(&self, message: String) {
        if let Ok(mut m) = self.message.try_lock() {
            if m.is_none() {
                *m = Some(message);
            }
        }
        self.fatal.store(true, Ordering::Release);
    }

    /// The server's xruns. JACK tells every client of each xrun, and with cpal's JACK host
    /// faltung has two (the input and the output stream), so the larger of the two counts
    /// is the server's.
    pub(super) fn xruns(&self) -> u64 {
        let [i, o] = &self.xruns;
        i.load(Ordering::Relaxed).max(o.load(Ordering::Relaxed))
    }
}

/// A running live session.
pub struct Session {
    pub(super) info: SessionInfo,
    pub(super) shared: Arc<Shared>,
    pub(super) errors: Arc<ErrorSlot>,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) streams: Option<super::streams::Running>,
    pub(super) dsp: Option<JoinHandle<()>>,
    pub(super) loader: Option<JoinHandle<()>>,
    pub(super) loader_tx: crossbeam_channel::Sender<Control>,
    pub(super) recorder: Option<record::Recorder>,
    pub(super) names: Vec<String>,
    pub(super) wet: f32,
    pub(super) bypass: bool,
    /// Late and dropped periods of the engines' tail workers.
    pub(super) tail: Arc<TailStats>,
}

impl Session {
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Send a control; takes effect within a block (a swap: after its ~50 ms fade).
    pub fn control(&mut self, c: Control) {
        match c {
            Control::SetBypass(b) => self.bypass = b,
            Control::SetWet(w) => self.wet = w.clamp(0.0, 1.0),
            Control::NextIr => {}
        }
        let c = match c {
            Control::SetWet(_) => Control::SetWet(self.wet),
            other => other,
        };
        let _ = self.loader_tx.send(c);
    }

    pub fn bypass(&self) -> bool {
        self.bypass
    }

    pub fn wet(&self) -> f32 {
        self.wet
    }

    /// The period, block and lag in use now (they follow a changing device period).
    pub fn timing(&self) -> Timing {
        let s = &self.shared;
        Timing {
            period_frames: s.period_frames.load(Ordering::Relaxed),
            block_frames: s.block_frames.load(Ordering::Relaxed),
            lag_frames: s.lag_frames.load(Ordering::Relaxed),
            engine_latency_frames: self.info.engine_latency_frames,
            period_changes: s.period_changes.load(Ordering::Relaxed),
        }
    }

    /// Meters and counters; peaks and load are since the previous call.
    pub fn stats(&mut self) -> Stats {
        let s = &self.shared;
        let (blocks, p50, p99, max) = s.take_load();
        let ir = s.current_ir.load(Ordering::Relaxed);
        let xruns = self.errors.xruns();
        Stats {
            in_peak_db: Shared::take_peak_db(&s.in_peak_bits),
            out_peak_db: Shared::take_peak_db(&s.out_peak_bits),
            underruns: s.underruns.load(Ordering::Relaxed),
            late_input: s.late_input.load(Ordering::Relaxed),
            input_gaps: s.input_gaps.load(Ordering::Relaxed),
            overruns: s.overruns.load(Ordering::Relaxed),
            xruns,
            record_dropped: s.record_dropped.load(Ordering::Relaxed),
            load_p50_pct: p50,
            load_p99_pct: p99,
            load_max_pct: max,
            blocks,
            input_frames: s.input_frames.load(Ordering::Relaxed),
            output_frames: s.output_frames.load(Ordering::Relaxed),
            current_ir: ir,
            ir_name: self.names.get(ir).cloned().unwrap_or_default(),
            bypass: s.bypass.load(Ordering::Relaxed),
            wet: self.wet,
            swaps: s.swaps_done.load(Ordering::Relaxed),
            timing: self.timing(),
        }
    }

    /// The device or server failed (lost device, server stopped): the message, once set.
    pub fn failure(&self) -> Option<String> {
        if !self.errors.fatal.load(Ordering::Acquire) {
            return None;
        }
        Some(
            self.errors
                .message
                .lock()
                .ok()
                .and_then(|m| m.clone())
                .unwrap_or_else(|| "audio stream failed".into()),
        )
    }

    fn summary(&self, recorded_frames: Option<u64>) -> Summary {
        let s = &self.shared;
        Summary {
            underruns: s.underruns.load(Ordering::Relaxed),
            late_input: s.late_input.load(Ordering::Relaxed),
            input_gaps: s.input_gaps.load(Ordering::Relaxed),
            overruns: s.overruns.load(Ordering::Relaxed),
            xruns: self.errors.xruns(),
            record_dropped: s.record_dropped.load(Ordering::Relaxed),
            input_frames: s.input_frames.load(Ordering::Relaxed),
            output_frames: s.output_frames.load(Ordering::Relaxed),
            recorded_frames,
            timing: self.timing(),
            tail_late: self.tail.late.load(Ordering::Relaxed),
            tail_dropped: self.tail.dropped.load(Ordering::Relaxed),
        }
    }

    fn stop_threads(&mut self) -> Result<Option<u64>, LiveError> {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.dsp.take() {
            h.thread().unpark();
            let _ = h.join();
        }
        if let Some(h) = self.loader.take() {
            let _ = h.join();
        }
        self.recorder.take().map(|r| r.finish()).transpose()
    }

    /// Stop the streams and threads, finalise the recording.
    pub fn stop(mut self) -> Result<Summary, LiveError> {
        if let Some(s) = self.streams.take() {
            s.stop();
        }
        let rec = self.stop_threads()?;
        Ok(self.summary(rec))
    }

    /// After a [`failure`](Session::failure): finalise the recording and stop the threads
    /// without touching the dead streams (closing a client of a server that is gone can
    /// block), so the caller can exit at once.
    pub fn abandon(mut self) -> Result<Summary, LiveError> {
        if let Some(s) = self.streams.take() {
            std::mem::forget(s);
        }
        let rec = self.stop_threads()?;
        Ok(self.summary(rec))
    }
}
