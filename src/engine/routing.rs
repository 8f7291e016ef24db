//! Which input feeds which output through which impulse response.

use crate::error::EngineError;

/// One convolution path: `input` channel convolved with IR number `ir`, summed into
/// `output` channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    pub input: usize,
    pub output: usize,
    pub ir: usize,
}

/// A routing matrix. Paths that name the same IR share its spectra; paths that read the same
/// input share its input spectra.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    pub input_channels: usize,
    pub output_channels: usize,
    pub paths: Vec<Path>,
}

impl Routing {
    /// The same (mono) IR on each of `channels` channels.
    pub fn mono_ir(channels: usize) -> Routing {
        Routing {
            input_channels: channels,
            output_channels: channels,
            paths: (0..channels)
                .map(|c| Path {
                    input: c,
                    output: c,
                    ir: 0,
                })
                .collect(),
        }
    }

    /// IR `c` on channel `c`.
    pub fn per_channel(channels: usize) -> Routing {
        Routing {
            input_channels: channels,
            output_channels: channels,
            paths: (0..channels)
                .map(|c| Path {
                    input: c,
                    output: c,
                    ir: c,
                })
                .collect(),
        }
    }

    /// Mono input into a stereo IR: IR 0 to the left output, IR 1 to the right.
    pub fn mono_to_stereo() -> Routing {
        Routing {
            input_channels: 1,
            output_channels: 2,
            paths: vec![
                Path {
                    input: 0,
                    output: 0,
                    ir: 0,
                },
                Path {
                    input: 0,
                    output: 1,
                    ir: 1,
                },
            ],
        }
    }

    /// True stereo from a 4-channel IR in the order LL, LR, RL, RR, where `LR` is the path
    /// from the left input to the right output.
    pub fn true_stereo() -> Routing {
        let p = |input, output, ir| Path { input, output, ir };
        Routing {
            input_channels: 2,
            output_channels: 2,
            paths: vec![p(0, 0, 0), p(0, 1, 1), p(1, 0, 2), p(1, 1, 3)],
        }
    }

    /// The layout a user expects for `input_channels` of audio and an IR file with
    /// `ir_channels` channels: a mono IR on every channel, one IR per channel, mono input
    /// with a stereo IR (stereo out), stereo input with a 4-channel IR (true stereo).
    pub fn auto(input_channels: usize, ir_channels: usize) -> Result<Routing, EngineError> {
        match (input_channels, ir_channels) {
            (0, _) | (_, 0) => Err(EngineError::UnsupportedRouting {
                input_channels,
                ir_channels,
            }),
            (n, 1) => Ok(Routing::mono_ir(n)),
            (n, m) if n == m => Ok(Routing::per_channel(n)),
            (1, 2) => Ok(Routing::mono_to_stereo()),
            (2, 4) => Ok(Routing::true_stereo()),
            _ => Err(EngineError::UnsupportedRouting {
                input_channels,
                ir_channels,
            }),
        }
    }

    /// Check the routing against the number of IRs available.
    pub fn validate(&self, ir_count: usize) -> Result<(), EngineError> {
        if self.input_channels == 0 || self.output_channels == 0 {
            return Err(EngineError::InvalidConfig {
                what: "routing needs at least one input and one output channel".into(),
            });
        }
        for p in &self.paths {
            if p.ir >= ir_count {
                return Err(EngineError::RoutingIrOutOfRange {
                    ir: p.ir,
                    available: ir_count,
                });
            }
            if p.input >= self.input_channels {
                return Err(EngineError::RoutingChannelOutOfRange {
                    channel: p.input,
                    channels: self.input_channels,
                });
            }
            if p.output >= self.output_channels {
                return Err(EngineError::RoutingChannelOutOfRange {
                    channel: p.output,
                    channels: self.output_channels,
                });
            }
        }
        Ok(())
    }
}
