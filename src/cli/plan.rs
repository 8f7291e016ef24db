//! `faltung plan`: what the planner picks for an IR length and call size.

use anyhow::anyhow;
use clap::Args;
use faltung::engine::{plan, PlanRequest, SchemeChoice};
use faltung::limits;

#[derive(Args)]
pub struct PlanArgs {
    /// IR length in frames.
    #[arg(long)]
    pub ir_frames: usize,
    /// Frames per call (the audio callback size).
    #[arg(long, default_value_t = 64)]
    pub block: usize,
    /// Number of convolution paths (channels x IRs).
    #[arg(long, default_value_t = 2)]
    pub paths: usize,
    /// Latency budget in frames beyond the call size.
    #[arg(long, default_value_t = 0)]
    pub latency_budget: usize,
    /// Plan for offline use (latency free).
    #[arg(long)]
    pub offline: bool,
    /// Worker threads that will run the tail (as `faltung live --threads`): the plan is
    /// chosen for the calling thread's share of the work first.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

pub fn run(a: PlanArgs) -> anyhow::Result<()> {
    limits::check_ir_frames(a.ir_frames)
        .map_err(|e| anyhow!("--ir-frames {}: {e}", a.ir_frames))?;
    limits::check_block_frames(a.block).map_err(|e| anyhow!("--block {}: {e}", a.block))?;
    let max_paths = limits::MAX_CHANNELS * 4;
    if !(1..=max_paths).contains(&a.paths) {
        anyhow::bail!("--paths {}: must be 1..={max_paths}", a.paths);
    }
    let req = PlanRequest {
        ir_len: a.ir_frames,
        input_channels: a.paths,
        output_channels: a.paths,
        paths: a.paths,
        call_frames: if a.offline { None } else { Some(a.block) },
        max_call_frames: a.block,
        latency_budget_frames: a.latency_budget,
        choice: SchemeChoice::Auto,
        variant: Default::default(),
        worker_threads: a.threads,
    };
    let p = plan::plan(&req)?;
    println!("{p}");
    Ok(())
}
