//! What a session reports: its fixed facts, its meters while it runs, its final figures.

/// What a running session looks like (meters since the previous call).
#[derive(Debug, Clone)]
pub struct Stats {
    pub in_peak_db: f64,
    pub out_peak_db: f64,
    pub underruns: u64,
    /// Of the underruns, those whose input had not yet arrived from the server.
    pub late_input: u64,
    pub input_gaps: u64,
    pub overruns: u64,
    pub xruns: u64,
    pub record_dropped: u64,
    /// Processing load in % of a block's deadline over the blocks since the last call.
    pub load_p50_pct: u32,
    pub load_p99_pct: u32,
    pub load_max_pct: u32,
    pub blocks: u64,
    pub input_frames: u64,
    pub output_frames: u64,
    pub current_ir: usize,
    pub ir_name: String,
    pub bypass: bool,
    pub wet: f32,
    pub swaps: u64,
    /// The period, block and lag in use now (see [`Timing`]).
    pub timing: Timing,
}

/// The device period, processing block and ring prefill in use right now: they follow
/// the server's period when it changes while running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The output callback's size (0 before the first callback).
    pub period_frames: usize,
    pub block_frames: usize,
    /// Ring prefill: the block rounded up to whole periods.
    pub lag_frames: usize,
    pub engine_latency_frames: usize,
    /// Times the period changed while running.
    pub period_changes: u64,
}

impl Timing {
    /// Frames faltung adds beyond the device buffers: ring prefill + engine latency.
    pub fn added_latency_frames(&self) -> usize {
        self.lag_frames + self.engine_latency_frames
    }

    /// The whole budget: input buffer + what faltung adds + output buffer.
    pub fn budget_frames(&self) -> usize {
        2 * self.period_frames + self.added_latency_frames()
    }
}

/// The fixed facts of a session, for the start-up banner.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub host: String,
    pub input_device: String,
    pub output_device: String,
    pub input_channels: usize,
    pub output_channels: usize,
    pub engine_output_channels: usize,
    pub rate_hz: u32,
    /// Device period if the device reports a fixed one.
    pub period_frames: Option<usize>,
    pub block_frames: usize,
    /// The ring prefill (see the module docs).
    pub lag_frames: usize,
    pub engine_latency_frames: usize,
    pub plan: String,
    /// The processing thread's SCHED_FIFO priority (above the callbacks' where they run
    /// real-time); `None` where real-time scheduling was not permitted.
    pub processing_priority: Option<i32>,
    /// The highest real-time priority among the audio library's callback threads.
    pub callback_priority: Option<i32>,
    /// The CPU the callbacks and the processing thread share, if pinned.
    pub audio_cpu: Option<usize>,
    /// On JACK: the connections faltung made on its ports, `source -> destination`.
    pub connections: Vec<String>,
    /// On JACK: a side left unconnected for want of a port, and what to do.
    pub connection_notes: Vec<String>,
    /// Whether the process's memory was locked into RAM once the audio path was built
    /// (`Err`: why not; the session runs either way).
    pub memory_lock: Result<(), String>,
}

impl SessionInfo {
    /// Frames faltung adds beyond the device buffers: ring prefill + engine latency.
    pub fn added_latency_frames(&self) -> usize {
        self.lag_frames + self.engine_latency_frames
    }

    pub fn ms(&self, frames: usize) -> f64 {
        frames as f64 * 1000.0 / self.rate_hz as f64
    }
}

/// Final figures of a session.
#[derive(Debug, Clone)]
pub struct Summary {
    pub underruns: u64,
    /// Of the underruns, those whose input had not yet arrived from the server.
    pub late_input: u64,
    pub input_gaps: u64,
    pub overruns: u64,
    pub xruns: u64,
    pub record_dropped: u64,
    pub input_frames: u64,
    pub output_frames: u64,
    pub recorded_frames: Option<u64>,
    /// The period, block and lag at the end.
    pub timing: Timing,
    /// Tail periods whose worker thread was late (see `faltung live --threads`), and of
    /// those the ones whose result was dropped from the output.
    pub tail_late: u64,
    pub tail_dropped: u64,
}
