//! Live filtering: audio device in, convolution, audio device out (cpal; on JACK a client
//! of faltung's own).
//!
//! [`Session::start`] (in `start`, in named steps; the device side in `streams`) opens the
//! devices, builds the engine and starts the pipeline of
//! [`pipeline`]: cpal input callback → SPSC ring → processing thread (the engine in fixed
//! blocks) → SPSC ring → cpal output callback. The session knows nothing of terminals:
//! the caller polls [`Session::stats`], sends [`Control`]s and calls [`Session::stop`].
//!
//! ## Threads
//! - cpal's input and output callbacks: [`pipeline::InputPort::push`] and
//!   [`pipeline::OutputPort::fill`] only (copy, count, wake). On JACK (jackd, or PipeWire
//!   through `pw-jack`) one process callback of faltung's own client runs both, input
//!   first ([`pipeline::Duplex`], `jack_duplex`): with cpal's two clients the server
//!   schedules input and output separately, and PipeWire can skip one of them for a cycle
//!   while its graph changes, which left the output without its input.
//! - `faltung-dsp`: runs [`pipeline::Processor::step`] whenever the input callback wakes it
//!   with `Thread::unpark`, and otherwise sleeps in `park_timeout` (a quarter of a device
//!   period). Waking by unpark keeps the callback free of locks and allocation (it is an
//!   atomic swap plus, if the thread sleeps, a futex wake), and the processing thread does
//!   not spin on a 2-core machine. The short timeout is there because a futex wake can be
//!   slow to arrive on a virtual machine: in a 60 s run at 64-frame periods on this
//!   project's 2-vCPU VM, a few dozen wake-ups took a whole period (the old timeout) and
//!   each of those was an underrun; with the quarter-period timeout the processing starts
//!   within 0.2 ms of the input in all but a handful of blocks, for about 3000 extra
//!   wake-ups a second at 64 frames.
//! - Placement ([`crate::rt::cpu`], [`crate::rt::priority`]): the callbacks and
//!   `faltung-dsp` share one CPU and `faltung-dsp` runs above the callbacks' real-time
//!   priority, so the wake-up from the input callback is a local preemption and the block
//!   is done before the output callback can run on that CPU, even in the back-to-back
//!   cycle a server runs after its own xrun. `LiveOptions::cpu` / `--cpu` choose the CPU
//!   or turn this off. Why: with the ring prefill at one device period, the processing
//!   thread has one period from an input callback to the output callback that plays the
//!   result. A server that misses a cycle (a JACK xrun) runs the next cycle at once, and
//!   its output callback can then start a few microseconds after the input callback, on
//!   the other CPU, before a processing thread woken there has done anything: an
//!   underrun. On one CPU, with the processing thread above the callbacks, the wake-up is
//!   a local preemption (no inter-processor interrupt, which is slow on a virtual
//!   machine). Measured at 64-frame JACK periods: see BENCHMARKS.md, live soak. The
//!   processing thread pins itself; the thread that opens the streams is pinned while it
//!   does so, so that the callback threads created then inherit the CPU; the callbacks'
//!   priority is read from `/proc/self/task/*/stat` once the streams run.
//! - `faltung-loader`: the only producer of the command ring. It builds engines for hot
//!   swaps (off the audio path), forwards bypass/wet commands, and drops the old engines
//!   that the processing thread hands back.
//! - [`Session::start_play_record`] runs the same devices and pipeline with
//!   [`pipeline::PlayRecord`] in place of the engine: it plays a signal and records the
//!   input on the same clock (`faltung measure`).
//! - `faltung-record` (with `--record`): drains the record ring into a WAV file.
//! - On JACK, the thread that starts the session connects faltung's ports once the
//!   client runs (`connect`: a second JACK client, off the audio path).
//!
//! ## Real-time safety, and how it is checked
//! - No allocation: `tests/realtime_alloc.rs` runs the two callback bodies and the
//!   processing step (including a hot swap mid-crossfade) under a counting global
//!   allocator and asserts zero heap events.
//! - No lock, no blocking: by construction, checked in review. [`pipeline`] uses no
//!   `Mutex` and no channel: only atomics (relaxed counters, a seqlock for the input clock
//!   anchor) and ringbuf's lock-free SPSC rings, whose `push_slice`/`pop_slice`/`skip`
//!   never wait. The one `Mutex` here holds a device error message and is only
//!   `try_lock`ed, from cpal's error callback, off the data path. The only wake-up is
//!   `Thread::unpark`. Engines are built by the loader and freed by it; the processing
//!   thread only moves `Box`es through rings.
//!
//! ## Latency
//! The output plays input frame `t - lag` at time `t`, where `lag` (the ring prefill) is
//! the processing block rounded up to whole device periods — one period when the block
//! equals the period. The engine is built for zero latency at the block size, so faltung
//! adds `lag + engine latency` frames beyond the device buffers.
//!
//! ## A period that changes
//! A server may change its period while faltung runs (JACK's buffer size, PipeWire's
//! quantum when another client asks for more or less latency, or `clock.force-quantum`).
//! The output callback follows at once: the lag becomes the block rounded up to the new
//! period (a longer lag plays the frames in between as silence, a shorter one skips
//! them). Without `--block`, the loader then re-plans the engine for a block of the new
//! period (off the audio thread) and sends it as a swap; the processing thread crossfades
//! to it at a callback boundary and takes its block, and the lag follows the block. The
//! current values are in [`Stats::timing`] and [`Summary::timing`] ([`Session::timing`]
//! reads them without resetting any meter).

#[cfg(feature = "jack")]
mod connect;
pub mod devices;
mod error;
#[cfg(feature = "jack")]
pub mod jack_duplex;
mod loader;
mod options;
pub mod pipeline;
mod play_record;
pub mod record;
mod report;
mod session;
mod start;
mod streams;

pub use error::LiveError;
pub use options::{Connection, Control, LiveOptions};
pub use play_record::{PlayRecordOptions, PlaySignal, Recording};
pub use report::{SessionInfo, Stats, Summary, Timing};
pub use session::Session;
