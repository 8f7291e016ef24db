//! The engine cache: engines built once per kernel, channel count and plan request, and
//! reused (reset) by the next file of a batch.

use std::path::Path;

use super::OfflineError;
use crate::engine::{BlockProcessor, Engine, PlanRequest, Routing};
use crate::kernel::Kernel;

/// Build the engine for `kernel` on `in_ch` channels.
///
/// `request` chooses the plan: `None` is [`PlanRequest::offline`] (the cheapest plan,
/// latency free); a real-time request renders exactly what a live run with that call size
/// would produce.
pub fn engine_for(
    input: &Path,
    kernel: &Kernel,
    in_ch: usize,
    request: Option<&PlanRequest>,
) -> Result<(Engine, Routing), OfflineError> {
    engine_for_taps(input, kernel, &kernel.to_f32(), in_ch, request)
}

/// Engines kept between the files of a batch (one cache per worker thread): a file with
/// the same kernel taps, input channel count and plan request as the cache's last one reuses
/// that engine, reset, instead of planning FFTs and allocating and prefaulting its buffers
/// again (milliseconds per file for long IRs). A reset engine renders exactly what a new one
/// does.
#[derive(Default)]
pub struct EngineCache {
    pub(super) last: Option<CachedEngine>,
}

pub(super) struct CachedEngine {
    pub(super) taps: Vec<Vec<f32>>,
    pub(super) in_ch: usize,
    pub(super) request: Option<PlanRequest>,
    pub(super) engine: Engine,
    pub(super) routing: Routing,
}

impl EngineCache {
    pub fn new() -> EngineCache {
        EngineCache::default()
    }

    /// The cached engine if it was built for exactly this kernel (as f32 taps), channel
    /// count and request; otherwise a new one.
    pub(super) fn take(
        &mut self,
        input: &Path,
        kernel: &Kernel,
        in_ch: usize,
        request: Option<&PlanRequest>,
    ) -> Result<CachedEngine, OfflineError> {
        if let Some(mut c) = self.last.take() {
            let same_taps = c.taps.len() == kernel.channels.len()
                && c.taps.iter().zip(&kernel.channels).all(|(a, b)| {
                    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| x == y as f32)
                });
            if same_taps && c.in_ch == in_ch && c.request.as_ref() == request {
                c.engine.reset();
                return Ok(c);
            }
        }
        let taps = kernel.to_f32();
        let (engine, routing) = engine_for_taps(input, kernel, &taps, in_ch, request)?;
        Ok(CachedEngine {
            taps,
            in_ch,
            request: request.cloned(),
            engine,
            routing,
        })
    }
}

fn engine_for_taps(
    input: &Path,
    kernel: &Kernel,
    taps: &[Vec<f32>],
    in_ch: usize,
    request: Option<&PlanRequest>,
) -> Result<(Engine, Routing), OfflineError> {
    let routing =
        Routing::auto(in_ch, kernel.channel_count()).map_err(|_| OfflineError::Channels {
            input: input.to_path_buf(),
            input_channels: in_ch,
            kernel: kernel.name.clone(),
            ir_channels: kernel.channel_count(),
        })?;
    let req = request
        .cloned()
        .unwrap_or_else(|| PlanRequest::offline(0, 1, 1));
    let engine =
        Engine::new(taps, routing.clone(), req).map_err(|source| OfflineError::Engine {
            input: input.to_path_buf(),
            source,
        })?;
    Ok((engine, routing))
}
