//! Real-time thread control, shared by the jobs that run time-critical threads (the live
//! path's processing thread, the benchmark's timing thread, the measurement client):
//!
//! - [`priority`]: SCHED_FIFO for a thread, and the real-time priorities this process's
//!   threads run at.
//! - [`cpu`]: CPU placement (which CPUs a thread may use, pinning, the `--cpu` choice).
//! - [`clock`]: the calling thread's CPU clock, which does not run while it is preempted.
//! - [`memory`]: locking the process's pages into RAM once the audio path is built.

pub mod clock;
pub mod cpu;
pub mod memory;
pub mod priority;

pub use clock::thread_cpu_time;
pub use cpu::{CpuChoice, PinGuard};
pub use priority::{max_realtime_priority, set_realtime_priority};
