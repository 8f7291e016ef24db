//! The device-free part of the live audio path: the two callback bodies and the processing
//! step, as plain functions over ring-buffer halves, so that tests can run them (and count
//! their allocations) without any audio device.
//!
//! ```text
//! input callback ──InputPort::push──> [input ring] ──Processor::step──> [output ring] ──OutputPort::fill──> output callback
//!                                                          └──> [record ring] ──> writer thread (audio_file)
//! ```
//!
//! - [`InputPort::push`] copies the device's samples into the input ring, counts samples that
//!   do not fit as overruns, and wakes the processing thread with `Thread::unpark` (an atomic
//!   and, only if the thread sleeps, one futex wake: no allocation, no lock).
//! - [`Processor::step`] runs every complete block of `block_frames` through the engine
//!   (wrapped in a [`Crossfade`] for hot swaps), mixes dry/wet and gain with per-block
//!   ramps, meters peaks and load, and pushes the result to the output ring (and the record
//!   ring, whose overflow is counted, never waited for). Commands (bypass, wet, new engine)
//!   arrive in an SPSC ring and retired engines leave through another, so nothing is freed
//!   here.
//! - [`OutputPort::fill`] only copies. It plays the frame that was captured exactly
//!   `lag_frames` (the ring prefill) before, measured on the stream clocks against the
//!   latest input callback, so the added latency is exactly `lag_frames` whatever order the
//!   two callbacks run in. On a shortfall it writes silence and counts an underrun; samples
//!   that arrive late are skipped and lost input cycles are replaced by silence, so the
//!   latency never drifts.
//! - [`Duplex`] runs both bodies in one callback, in that order, for a host that delivers a
//!   cycle's input and output together (faltung's own JACK client).

mod duplex;
mod input;
mod output;
mod playrec;
mod processor;
mod shared;
#[cfg(test)]
mod tests;
mod wired;

pub use duplex::Duplex;
pub use input::InputPort;
pub use output::{OutputPort, CLOCK_CONFIRM_CALLBACKS, START_CONFIRM_CALLBACKS};
pub use playrec::{PlayRecord, Step};
pub use processor::{Command, Processor, ProcessorConfig, ProcessorRings};
pub use shared::{Shared, LOAD_BUCKETS};
pub use wired::Wired;
