//! The whole pipeline wired up without devices: rings, shared state, the two ports and the
//! processor. Tests and the allocation check drive it by hand, cycle by cycle, exactly as
//! the device callbacks and the processing thread drive the same parts in a session.

use std::sync::Arc;
use std::thread::Thread;

use ringbuf::traits::Split;
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::{Command, InputPort, OutputPort, Processor, ProcessorConfig, ProcessorRings, Shared};
use crate::engine::Engine;
use crate::error::EngineError;

/// One pipeline: feed [`Wired::input`], step [`Wired::processor`], drain [`Wired::output`];
/// send engines and controls through [`Wired::commands`] and take retired engines from
/// [`Wired::retired`].
pub struct Wired {
    pub input: InputPort,
    pub processor: Processor,
    pub output: OutputPort,
    pub commands: HeapProd<Command>,
    pub retired: HeapCons<Box<Engine>>,
    pub shared: Arc<Shared>,
}

impl Wired {
    /// `input_channels` frames in, `cfg.device_output_channels` out; each audio ring holds
    /// `ring_frames` frames; the output plays `cfg.block_frames` behind the input until
    /// the first callback says otherwise. The processed output also goes to `record` when
    /// given, and the input port wakes `wake` (the processing thread) when given.
    pub fn new(
        engine: Box<Engine>,
        input_channels: usize,
        ring_frames: usize,
        cfg: ProcessorConfig,
        record: Option<HeapProd<f32>>,
        wake: Option<Thread>,
    ) -> Result<Wired, EngineError> {
        let (in_prod, in_cons) = HeapRb::<f32>::new(ring_frames * input_channels).split();
        let out_ch = cfg.device_output_channels;
        let (out_prod, out_cons) = HeapRb::<f32>::new(ring_frames * out_ch).split();
        let (cmd_prod, cmd_cons) = HeapRb::<Command>::new(8).split();
        let (ret_prod, ret_cons) = HeapRb::<Box<Engine>>::new(4).split();
        let shared = Arc::new(Shared::default());
        let (rate, block) = (cfg.rate_hz, cfg.block_frames);
        let processor = Processor::new(
            engine,
            ProcessorRings {
                input: in_cons,
                output: out_prod,
                record,
                commands: cmd_cons,
                retired: ret_prod,
            },
            shared.clone(),
            cfg,
        )?;
        Ok(Wired {
            input: InputPort::new(in_prod, input_channels, shared.clone(), wake),
            processor,
            output: OutputPort::new(out_cons, out_ch, shared.clone(), rate, block),
            commands: cmd_prod,
            retired: ret_cons,
            shared,
        })
    }
}
