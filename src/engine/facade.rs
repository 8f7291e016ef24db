//! The [`Engine`] facade: validates IRs, routing and call sizes, builds the direct FIR or
//! the partitioned convolver a [`Plan`] asks for, and checks every call's buffers before
//! handing them on.

use std::sync::Arc;

use super::direct::DirectFir;
use super::partitioned::Partitioned;
use super::plan::{self, Plan, PlanRequest, Scheme};
use super::routing::Routing;
use super::simd::{self, CmacFn, FirFn, Isa};
use super::workers::{TailStats, WorkerPriority, WorkerStall, MIN_WORKER_PARTITION};
use super::BlockProcessor;
use crate::error::{EngineError, ProcessError};

/// A convolution engine over any [`Routing`], built from a [`Plan`].
pub struct Engine {
    inner: Inner,
    plan: Plan,
    routing: Routing,
    max_call_frames: usize,
    isa: Isa,
}

enum Inner {
    Direct(DirectFir),
    Partitioned(Box<Partitioned>),
}

impl Engine {
    /// Build an engine for `irs` routed by `routing`, with a plan chosen for `request`
    /// (its `ir_len`, `paths` and channel counts are filled in from `irs` and `routing`).
    pub fn new(
        irs: &[Vec<f32>],
        routing: Routing,
        request: PlanRequest,
    ) -> Result<Engine, EngineError> {
        let ir_len = validate_irs(irs)?;
        routing.validate(irs.len())?;
        let req = PlanRequest {
            ir_len,
            input_channels: routing.input_channels,
            output_channels: routing.output_channels,
            paths: routing.paths.len().max(1),
            ..request
        };
        let plan = plan::plan(&req)?;
        let (isa, cmac, fir) = simd::select();
        let mut engine =
            Engine::with_plan_isa(irs, routing, plan, req.max_call_frames, isa, cmac, fir)?;
        // An offline request (no call size) runs on no audio thread: its buffers are faulted
        // in as they are first used, and the ones a run never needs (the zero-latency head's
        // when every call fills whole blocks) are never touched at all.
        if req.call_frames.is_some() {
            engine.prefault();
        }
        Ok(engine)
    }

    /// A real-time engine: zero latency at calls of `call_frames`.
    pub fn realtime(
        irs: &[Vec<f32>],
        routing: Routing,
        call_frames: usize,
    ) -> Result<Engine, EngineError> {
        Engine::new(irs, routing, PlanRequest::realtime(0, 1, 1, call_frames))
    }

    /// An offline engine: the cheapest plan, latency free. Call it with
    /// [`Plan::preferred_call_frames`] frames at a time for best speed.
    pub fn offline(irs: &[Vec<f32>], routing: Routing) -> Result<Engine, EngineError> {
        Engine::new(irs, routing, PlanRequest::offline(0, 1, 1))
    }

    /// Build an engine with an explicit plan.
    pub fn with_plan(
        irs: &[Vec<f32>],
        routing: Routing,
        plan: Plan,
        max_call_frames: usize,
    ) -> Result<Engine, EngineError> {
        let (isa, cmac, fir) = simd::select();
        let mut engine =
            Engine::with_plan_isa(irs, routing, plan, max_call_frames, isa, cmac, fir)?;
        engine.prefault();
        Ok(engine)
    }

    /// Build an engine with an explicit plan and instruction set (for testing the SIMD
    /// paths against the portable one). `None` if this CPU cannot run `isa`.
    pub fn with_plan_and_isa(
        irs: &[Vec<f32>],
        routing: Routing,
        plan: Plan,
        max_call_frames: usize,
        isa: Isa,
    ) -> Result<Option<Engine>, EngineError> {
        match simd::kernels_for(isa) {
            None => Ok(None),
            Some((cmac, fir)) => {
                let mut engine =
                    Engine::with_plan_isa(irs, routing, plan, max_call_frames, isa, cmac, fir)?;
                engine.prefault();
                Ok(Some(engine))
            }
        }
    }

    fn with_plan_isa(
        irs: &[Vec<f32>],
        routing: Routing,
        plan: Plan,
        max_call_frames: usize,
        isa: Isa,
        cmac: CmacFn,
        fir: FirFn,
    ) -> Result<Engine, EngineError> {
        validate_irs(irs)?;
        routing.validate(irs.len())?;
        if max_call_frames == 0 {
            return Err(EngineError::InvalidConfig {
                what: "max_call_frames must be at least 1".into(),
            });
        }
        let inner = match plan.scheme {
            Scheme::Direct => Inner::Direct(DirectFir::new(irs, &routing, fir)),
            Scheme::Uniform | Scheme::NonUniform => {
                if plan.levels.is_empty() || plan.block_frames == 0 {
                    return Err(EngineError::InvalidConfig {
                        what: "a partitioned plan needs at least one level".into(),
                    });
                }
                Inner::Partitioned(Box::new(Partitioned::new(irs, &routing, &plan, cmac)?))
            }
        };
        // Every buffer is allocated zeroed (the state `reset` gives), one allocation per
        // channel, so that untouched ones stay unmapped until `prefault`.
        Ok(Engine {
            inner,
            plan,
            routing,
            max_call_frames,
            isa,
        })
    }

    /// Zeroed allocations are mapped lazily: write every buffer once, so that the first
    /// calls on the audio thread do not take page faults.
    fn prefault(&mut self) {
        self.reset();
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn routing(&self) -> &Routing {
        &self.routing
    }

    /// The instruction set of the inner loops.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Run the tail on `threads` worker threads (0: all on the calling thread, the
    /// default): the levels beyond the first whose partitions have at least
    /// [`MIN_WORKER_PARTITION`] frames. Shorter levels stay on the calling thread, spread
    /// over their period's calls: their results are due within a few calls, sooner than
    /// a worker can be relied on to be scheduled. The audio thread hands each period over
    /// without a lock or an allocation and takes its result when the inline engine would
    /// add it, so the output is bit-identical to the single-thread engine's. A worker that
    /// has not started a period by then is overtaken (the calling thread runs the period);
    /// one still running after a bounded spin has that period's result dropped. Both are
    /// counted in [`tail_stats`](Engine::tail_stats). History is reset. Plans without such
    /// levels (direct, uniform, short IRs) start no threads. Build the engine from a
    /// request with the same [`PlanRequest::worker_threads`] so that its plan suits the
    /// split (the calling thread's share first).
    pub fn with_worker_threads(self, threads: usize) -> Result<Engine, EngineError> {
        self.with_tail_workers(threads, MIN_WORKER_PARTITION)
    }

    /// As [`with_worker_threads`](Engine::with_worker_threads), counting the late and
    /// dropped tail periods in `stats`, which several engines may share (a live session
    /// counts over the engines it swaps between).
    pub fn with_worker_threads_counted(
        mut self,
        threads: usize,
        stats: &Arc<TailStats>,
    ) -> Result<Engine, EngineError> {
        if let Inner::Partitioned(p) = &mut self.inner {
            p.count_tail_in(stats);
        }
        self.with_worker_threads(threads)
    }

    /// Have the worker threads, once started, follow the scheduling requested in
    /// `priority` (which several engines may share, and which may change at any time).
    /// Call before starting the workers; without it they keep the scheduling of the
    /// thread that starts them.
    pub fn with_worker_priority(mut self, priority: &Arc<WorkerPriority>) -> Engine {
        if let Inner::Partitioned(p) = &mut self.inner {
            p.follow_priority(priority);
        }
        self
    }

    /// The scheduling request the worker threads follow (a default one, never applied,
    /// unless [`with_worker_priority`](Engine::with_worker_priority) gave one).
    pub fn worker_priority(&self) -> Arc<WorkerPriority> {
        match &self.inner {
            Inner::Partitioned(p) => p.worker_priority().clone(),
            Inner::Direct(_) => Arc::new(WorkerPriority::default()),
        }
    }

    /// As [`with_worker_threads`](Engine::with_worker_threads), with the levels beyond the
    /// first whose partitions have at least `min_partition` frames on the workers (0 or 1:
    /// all of them).
    pub fn with_tail_workers(
        mut self,
        threads: usize,
        min_partition: usize,
    ) -> Result<Engine, EngineError> {
        if let Inner::Partitioned(p) = &mut self.inner {
            p.start_workers(threads, min_partition)?;
        }
        Ok(self)
    }

    /// Worker threads running the tail (0: none).
    pub fn worker_threads(&self) -> usize {
        match &self.inner {
            Inner::Partitioned(p) => p.worker_threads(),
            Inner::Direct(_) => 0,
        }
    }

    /// Counters of late tail workers (shared: clone it to read them from another thread).
    /// All zero without worker threads.
    pub fn tail_stats(&self) -> Arc<TailStats> {
        match &self.inner {
            Inner::Partitioned(p) => p.tail_stats().clone(),
            Inner::Direct(_) => Arc::new(TailStats::default()),
        }
    }

    /// Stall the worker threads deliberately. For tests of the late-worker path.
    #[doc(hidden)]
    pub fn stall_workers(&self, stall: WorkerStall) {
        if let Inner::Partitioned(p) = &self.inner {
            p.stall_workers(stall);
        }
    }

    /// Wait for a late worker without bound instead of dropping its period after a
    /// bounded spin. For tests that compare bits on a loaded machine; never on an audio
    /// thread.
    #[doc(hidden)]
    pub fn set_unbounded_worker_wait(&mut self, unbounded: bool) {
        if let Inner::Partitioned(p) = &mut self.inner {
            p.set_unbounded_wait(unbounded);
        }
    }

    /// Fill every scratch buffer (FFT work areas, time and frequency temporaries) with
    /// garbage. The output must not change: scratch is never read before it is written.
    /// For tests.
    #[doc(hidden)]
    pub fn poison_scratch(&mut self, value: f32) {
        if let Inner::Partitioned(p) = &mut self.inner {
            p.poison_scratch(value);
        }
    }
}

fn validate_irs(irs: &[Vec<f32>]) -> Result<usize, EngineError> {
    if irs.is_empty() {
        return Err(EngineError::EmptyIr);
    }
    let mut len = 0;
    for (i, ir) in irs.iter().enumerate() {
        if ir.is_empty() {
            return Err(EngineError::EmptyIrChannel { index: i, len: 0 });
        }
        if let Some(tap) = ir.iter().position(|v| !v.is_finite()) {
            return Err(EngineError::NonFiniteIr { channel: i, tap });
        }
        len = len.max(ir.len());
    }
    Ok(len)
}

impl BlockProcessor for Engine {
    fn process_block(&mut self, input: &[f32], output: &mut [f32]) -> Result<(), ProcessError> {
        let (ic, oc) = (self.routing.input_channels, self.routing.output_channels);
        if input.len() % ic != 0 {
            return Err(ProcessError::BadInterleave {
                len: input.len(),
                channels: ic,
            });
        }
        if output.len() % oc != 0 {
            return Err(ProcessError::BadInterleave {
                len: output.len(),
                channels: oc,
            });
        }
        let frames = input.len() / ic;
        if output.len() / oc != frames {
            return Err(ProcessError::FrameMismatch {
                input_frames: frames,
                output_frames: output.len() / oc,
            });
        }
        if frames > self.max_call_frames {
            return Err(ProcessError::TooManyFrames {
                frames,
                max_frames: self.max_call_frames,
            });
        }
        match &mut self.inner {
            Inner::Direct(d) => d.process(input, output, frames),
            Inner::Partitioned(p) => p.process(input, output, frames),
        }
        Ok(())
    }

    fn reset(&mut self) {
        match &mut self.inner {
            Inner::Direct(d) => d.reset(),
            Inner::Partitioned(p) => p.reset(),
        }
    }

    fn latency_frames(&self) -> usize {
        self.plan.latency_frames
    }

    fn input_channels(&self) -> usize {
        self.routing.input_channels
    }

    fn output_channels(&self) -> usize {
        self.routing.output_channels
    }

    fn max_call_frames(&self) -> usize {
        self.max_call_frames
    }
}
