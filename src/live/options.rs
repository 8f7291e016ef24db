//! What a live session runs with, and the controls a user sends it.

use std::path::PathBuf;

use crate::kernel::Kernel;
use crate::rt::CpuChoice;

/// What to run.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Kernels to cycle through with [`Control::NextIr`]; the first is used at start.
    pub kernels: Vec<Kernel>,
    pub host: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub rate_hz: Option<u32>,
    /// Processing block in frames (default: the device period, or 256).
    pub block_frames: Option<usize>,
    /// Input channels (default: 2 for a 4-channel true-stereo IR, else 1).
    pub input_channels: Option<usize>,
    pub wet: f32,
    pub gain_db: f32,
    pub record: Option<PathBuf>,
    /// Hot-swap crossfade length in milliseconds.
    pub fade_ms: f64,
    /// The CPU of the callbacks and the processing thread (see [`crate::rt::cpu`]).
    pub cpu: CpuChoice,
    /// Worker threads for the engine's tail (0: all on the processing thread).
    pub worker_threads: usize,
    /// On JACK: what faltung's input is connected to (see [`Connection`]).
    pub connect_input: Connection,
    /// On JACK: what faltung's outputs are connected to.
    pub connect_output: Connection,
}

/// What one side of faltung is connected to on a JACK server (jackd or PipeWire's JACK
/// library); other hosts route by device choice and ignore [`Connection::Default`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Connection {
    /// The default device: the first physical capture (for the input) or playback (for
    /// the outputs) ports, which on PipeWire are the default source's and sink's.
    #[default]
    Default,
    /// These JACK ports (`client:port`), paired in order with faltung's ports.
    Ports(Vec<String>),
    /// Nothing: the user links the ports (`jack_connect`, `pw-link`, a patchbay).
    Off,
}

impl LiveOptions {
    pub fn new(kernels: Vec<Kernel>) -> Self {
        LiveOptions {
            kernels,
            host: None,
            input: None,
            output: None,
            rate_hz: None,
            block_frames: None,
            input_channels: None,
            wet: 1.0,
            gain_db: 0.0,
            record: None,
            fade_ms: 50.0,
            cpu: CpuChoice::Auto,
            worker_threads: 0,
            connect_input: Connection::Default,
            connect_output: Connection::Default,
        }
    }
}

/// A control from the user.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Control {
    SetBypass(bool),
    SetWet(f32),
    NextIr,
}
