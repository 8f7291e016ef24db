//! The loader thread: the only producer of the command ring. It builds engines for hot
//! swaps (off the audio path), forwards bypass/wet commands, and drops the old engines
//! that the processing thread hands back.
//!
//! When the block follows the device period (no `--block`), it also watches the period
//! the input callback sees ([`Shared::input_period_frames`]): once a new period has held
//! for two polls (20 ms apart), it re-plans the running IR's engine for a block of that
//! period and sends it as a swap, which the processing thread crossfades in and whose
//! block it then uses (see `pipeline::processor`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ringbuf::traits::{Consumer, Producer};
use ringbuf::{HeapCons, HeapProd};

use super::pipeline::{Command, Shared};
use super::start::build_engine;
use super::{Control, LiveError};
use crate::engine::{BlockProcessor, Engine, TailStats};
use crate::kernel::Kernel;

/// What a new engine must match to replace the running one.
pub(super) struct Layout {
    pub input_channels: usize,
    pub block_frames: usize,
    pub output_channels: usize,
    pub latency_frames: usize,
    pub worker_threads: usize,
    /// Where every engine built counts its late and dropped tail periods.
    pub tail: Arc<TailStats>,
    /// Re-plan the engine when the device period changes.
    pub follow_period: bool,
    /// The largest block the processing thread accepts.
    pub max_block_frames: usize,
}

/// Start the loader thread. It runs until `stop` is set or the sender of `controls` is
/// dropped.
pub(super) fn spawn(
    kernels: Vec<Kernel>,
    layout: Layout,
    controls: crossbeam_channel::Receiver<Control>,
    mut commands: HeapProd<Command>,
    mut retired: HeapCons<Box<Engine>>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, LiveError> {
    std::thread::Builder::new()
        .name("faltung-loader".into())
        .spawn(move || {
            let mut next = 0usize;
            // The block the running (or last sent) engine was built for; a period seen on
            // the previous poll; a period no engine could be built for.
            let mut block = layout.block_frames;
            let mut seen = 0usize;
            let mut failed = 0usize;
            let send = |p: &mut HeapProd<Command>, mut c: Command| loop {
                match p.try_push(c) {
                    Ok(()) => return,
                    Err(back) => {
                        c = back;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            };
            while !stop.load(Ordering::Relaxed) {
                while let Some(old) = retired.try_pop() {
                    drop(old);
                }
                if layout.follow_period {
                    let period = shared.input_period_frames.load(Ordering::Relaxed);
                    let steady = period == seen;
                    seen = period;
                    if steady
                        && period != 0
                        && period != block
                        && period != failed
                        && period <= layout.max_block_frames
                    {
                        match build_engine(
                            &kernels[next],
                            layout.input_channels,
                            period,
                            layout.worker_threads,
                            &layout.tail,
                        ) {
                            Ok(e)
                                if e.output_channels() == layout.output_channels
                                    && e.latency_frames() == layout.latency_frames =>
                            {
                                send(&mut commands, Command::Swap(e, next));
                                block = period;
                            }
                            Ok(_) => failed = period,
                            Err(e) => {
                                eprintln!(
                                    "\r\nfaltung: cannot re-plan for a period of {period} frames: {e}"
                                );
                                failed = period;
                            }
                        }
                    }
                }
                match controls.recv_timeout(Duration::from_millis(20)) {
                    Ok(Control::SetBypass(b)) => send(&mut commands, Command::Bypass(b)),
                    Ok(Control::SetWet(w)) => send(&mut commands, Command::Wet(w)),
                    Ok(Control::NextIr) => {
                        if kernels.len() < 2 {
                            continue;
                        }
                        next = (next + 1) % kernels.len();
                        match build_engine(
                            &kernels[next],
                            layout.input_channels,
                            block,
                            layout.worker_threads,
                            &layout.tail,
                        ) {
                            Ok(e)
                                if e.output_channels() == layout.output_channels
                                    && e.latency_frames() == layout.latency_frames =>
                            {
                                send(&mut commands, Command::Swap(e, next))
                            }
                            Ok(_) => eprintln!(
                                "\r\nfaltung: cannot switch to {}: its channel layout differs from the running one",
                                kernels[next].name
                            ),
                            Err(e) => eprintln!("\r\nfaltung: cannot switch: {e}"),
                        }
                    }
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                }
            }
        })
        .map_err(|e| LiveError::Thread {
            reason: e.to_string(),
        })
}
