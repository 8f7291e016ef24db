//! What the callbacks, the processing thread and the session share: counters, meters,
//! the input clock anchor and the load histogram, all atomics.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// Buckets of the processing-load histogram: 1 % of the deadline each, the last one
/// collects everything at or above it.
pub const LOAD_BUCKETS: usize = 401;

/// Counters and meters shared by the audio path and the control thread. All atomics.
pub struct Shared {
    /// Output callbacks that found fewer processed samples than they needed (the
    /// processing fell behind).
    pub underruns: AtomicU64,
    /// Of the underruns, those where the input for the frames due had not even arrived
    /// (the server ran faltung's input client late, after its output client of the next
    /// cycle), rather than arrived but not yet processed.
    pub late_input: AtomicU64,
    /// Output callbacks that had to play silence for input frames that were never
    /// captured (the server skipped the input's cycle, an xrun), not counted as underruns.
    pub input_gaps: AtomicU64,
    /// Input samples dropped because the input ring was full.
    pub overruns: AtomicU64,
    /// Samples the record ring could not take (the writer fell behind).
    pub record_dropped: AtomicU64,
    /// Peak |sample| since the last read, as `f32` bits (non-negative floats order like
    /// their bits).
    pub in_peak_bits: AtomicU32,
    pub out_peak_bits: AtomicU32,
    /// The latest input callback: its stream-clock time in ns and the index of its first
    /// frame in the input ring's timeline, published under the sequence counter
    /// `anchor_seq` (odd while being written; a seqlock, so neither side ever waits).
    pub anchor_seq: AtomicU64,
    pub anchor_ns: AtomicU64,
    pub anchor_frame: AtomicU64,
    pub input_frames: AtomicU64,
    /// Frames on the input ring's timeline so far (what entered the ring).
    pub captured_frames: AtomicU64,
    pub output_frames: AtomicU64,
    pub blocks: AtomicU64,
    /// Histogram of per-block processing time in % of the block's deadline.
    pub load_hist: Box<[AtomicU32]>,
    /// Index of the IR at full gain.
    pub current_ir: AtomicUsize,
    pub swaps_done: AtomicU64,
    pub bypass: AtomicBool,
    pub process_errors: AtomicU64,
    /// Frames of the latest input callback (the server's period as the input sees it; 0
    /// before the first). Stored by the input callback when it changes.
    pub input_period_frames: AtomicUsize,
    /// Frames of the latest output callback (0 before the first).
    pub period_frames: AtomicUsize,
    /// Output callbacks whose size differed from the previous one's: period changes.
    pub period_changes: AtomicU64,
    /// The processing block in use (set by the processor when it changes).
    pub block_frames: AtomicUsize,
    /// The ring prefill the output plays with: the block rounded up to whole periods
    /// (set by the output callback when it changes).
    pub lag_frames: AtomicUsize,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            underruns: AtomicU64::new(0),
            late_input: AtomicU64::new(0),
            input_gaps: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
            record_dropped: AtomicU64::new(0),
            in_peak_bits: AtomicU32::new(0),
            out_peak_bits: AtomicU32::new(0),
            anchor_seq: AtomicU64::new(0),
            anchor_ns: AtomicU64::new(0),
            anchor_frame: AtomicU64::new(0),
            input_frames: AtomicU64::new(0),
            captured_frames: AtomicU64::new(0),
            output_frames: AtomicU64::new(0),
            blocks: AtomicU64::new(0),
            load_hist: (0..LOAD_BUCKETS).map(|_| AtomicU32::new(0)).collect(),
            current_ir: AtomicUsize::new(0),
            swaps_done: AtomicU64::new(0),
            bypass: AtomicBool::new(false),
            process_errors: AtomicU64::new(0),
            input_period_frames: AtomicUsize::new(0),
            period_frames: AtomicUsize::new(0),
            period_changes: AtomicU64::new(0),
            block_frames: AtomicUsize::new(0),
            lag_frames: AtomicUsize::new(0),
        }
    }
}

impl Shared {
    /// Read and reset a peak meter, in dBFS (`-inf` for silence).
    pub fn take_peak_db(bits: &AtomicU32) -> f64 {
        let v = f32::from_bits(bits.swap(0, Ordering::Relaxed)) as f64;
        20.0 * v.log10()
    }

    /// Read and reset the load histogram; returns `(blocks, p50 %, p99 %, max %)`.
    pub fn take_load(&self) -> (u64, u32, u32, u32) {
        let counts: Vec<u32> = self
            .load_hist
            .iter()
            .map(|b| b.swap(0, Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().map(|&c| c as u64).sum();
        if total == 0 {
            return (0, 0, 0, 0);
        }
        let pct = |q: f64| {
            let want = (q * total as f64).ceil().max(1.0) as u64;
            let mut acc = 0u64;
            for (i, &c) in counts.iter().enumerate() {
                acc += c as u64;
                if acc >= want {
                    return i as u32;
                }
            }
            (LOAD_BUCKETS - 1) as u32
        };
        let max = counts.iter().rposition(|&c| c > 0).unwrap_or(0) as u32;
        (total, pct(0.5), pct(0.99), max)
    }
}

pub(super) fn raise_peak(meter: &AtomicU32, samples: &[f32]) {
    let peak = samples.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
    if peak.is_finite() {
        meter.fetch_max(peak.to_bits(), Ordering::Relaxed);
    }
}
