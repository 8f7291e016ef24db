//! The device side of starting a session: open the host and the devices, choose the
//! stream configurations, and start the streams around the callback bodies of
//! [`pipeline`](super::pipeline): two cpal streams, or on JACK faltung's own client that
//! runs both in one cycle ([`jack_duplex`](super::jack_duplex)).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use cpal::traits::{DeviceTrait, StreamTrait};
use ringbuf::{HeapCons, HeapProd};

use super::devices::{self, Direction};
use super::pipeline::{InputPort, OutputPort, Shared};
use super::session::ErrorSlot;
use super::{LiveError, LiveOptions, SessionInfo};
use crate::rt::cpu;

/// The opened host and devices, and the input side's configuration.
pub(super) struct Devices {
    pub host_name: String,
    pub input: cpal::Device,
    pub input_name: String,
    pub output: cpal::Device,
    pub output_name: String,
    pub rate_hz: u32,
    pub input_config: cpal::StreamConfig,
    /// The input's buffer size range, if the device reports one.
    pub input_buffer: Option<(u32, u32)>,
    /// The device period if the device reports a fixed one.
    pub period_frames: Option<usize>,
}

/// Open the host and the two devices; the rate and the input configuration.
pub(super) fn open(opts: &LiveOptions, input_channels: usize) -> Result<Devices, LiveError> {
    let host = devices::open_host(opts.host.as_deref())?;
    let host_name = host.id().name().to_string();
    let (input, input_name) = devices::pick_device(&host, Direction::Input, opts.input.as_deref())?;
    let (output, output_name) =
        devices::pick_device(&host, Direction::Output, opts.output.as_deref())?;
    let rate_hz = match opts.rate_hz {
        Some(r) => r,
        None => devices::default_input_rate(&input, &input_name)?,
    };
    let (input_config, input_buffer) = stream_config(
        &input,
        &input_name,
        Direction::Input,
        input_channels,
        rate_hz,
    )?;
    let period_frames = match input_buffer {
        Some((a, b)) if a == b => Some(a as usize),
        _ => None,
    };
    Ok(Devices {
        host_name,
        input,
        input_name,
        output,
        output_name,
        rate_hz,
        input_config,
        input_buffer,
        period_frames,
    })
}

/// The output's configuration for an engine of `engine_channels` outputs (a mono engine
/// output goes to both sides of a stereo device), and, where the devices let us choose
/// and report no fixed period, `block` as the period of both streams.
pub(super) fn configure_output(
    devs: &mut Devices,
    engine_channels: usize,
    block: usize,
) -> Result<(usize, cpal::StreamConfig), LiveError> {
    let out_ch = if engine_channels == 1
        && devices::config_ranges(&devs.output, Direction::Output)
            .iter()
            .any(|r| r.channels == 2)
    {
        2
    } else {
        engine_channels
    };
    let (mut out_cfg, out_buf) = stream_config(
        &devs.output,
        &devs.output_name,
        Direction::Output,
        out_ch,
        devs.rate_hz,
    )?;
    if devs.period_frames.is_none() {
        // Ask for the block as the device period where the device lets us choose.
        for (cfg, range) in [
            (&mut devs.input_config, devs.input_buffer),
            (&mut out_cfg, out_buf),
        ] {
            if let Some((a, b)) = range {
                if (a as usize..=b as usize).contains(&block) {
                    cfg.buffer_size = cpal::BufferSize::Fixed(block as u32);
                }
            }
        }
    }
    Ok((out_ch, out_cfg))
}

/// Pick a stream config: `channels` at `rate`, f32, on `device`.
fn stream_config(
    device: &cpal::Device,
    name: &str,
    dir: Direction,
    channels: usize,
    rate: u32,
) -> Result<(cpal::StreamConfig, Option<(u32, u32)>), LiveError> {
    let ranges = devices::config_ranges(device, dir);
    let fit = ranges.iter().find(|r| {
        r.channels as usize == channels
            && r.min_rate_hz <= rate
            && rate <= r.max_rate_hz
            && r.format == cpal::SampleFormat::F32.to_string()
    });
    let Some(fit) = fit else {
        return Err(LiveError::UnsupportedConfig {
            direction: dir,
            device: name.to_string(),
            wanted: format!("{channels} ch, {rate} Hz, f32"),
            available: devices::config_list(device, dir),
        });
    };
    Ok((
        cpal::StreamConfig {
            channels: channels as u16,
            sample_rate: rate,
            buffer_size: cpal::BufferSize::Default,
        },
        fit.buffer_frames,
    ))
}

/// cpal's error callback for one direction: xruns are counted, a lost device or server
/// is recorded (its message kept, off the data path: `try_lock` only).
fn on_error(
    errors: Arc<ErrorSlot>,
    direction: Direction,
) -> impl FnMut(cpal::Error) + Send + 'static {
    move |e: cpal::Error| match e.kind() {
        cpal::ErrorKind::Xrun => {
            errors.xruns[direction as usize].fetch_add(1, Ordering::Relaxed);
        }
        cpal::ErrorKind::DeviceNotAvailable
        | cpal::ErrorKind::StreamInvalidated
        | cpal::ErrorKind::HostUnavailable
        | cpal::ErrorKind::BackendError => errors.fail(e.to_string()),
        _ => {}
    }
}

/// The running streams.
pub(super) enum Running {
    /// Two cpal streams.
    Cpal {
        input: cpal::Stream,
        output: cpal::Stream,
    },
    /// One JACK client for both directions.
    #[cfg(feature = "jack")]
    Jack(super::jack_duplex::JackDuplex),
}

impl Running {
    /// Stop the streams: their callbacks have ended when this returns.
    pub(super) fn stop(self) {
        match self {
            Running::Cpal { input, output } => {
                // Output first: an output running on after its input would count false
                // underruns.
                let _ = output.pause();
                drop(output);
                let _ = input.pause();
                drop(input);
            }
            #[cfg(feature = "jack")]
            Running::Jack(client) => client.stop(),
        }
    }
}

/// Both streams playing around the rings' device ends: the input port, which wakes
/// `wake` (the processing thread), and the output port, `info.lag_frames` behind it. The
/// callback threads are created while the streams are built, so this thread is pinned to
/// the audio CPU meanwhile and they inherit it (see `rt::cpu`). The error slot the
/// callbacks report to comes back either way. On JACK the streams are faltung's own client
/// (the callback thread is the client's process thread, made when it is activated).
pub(super) fn start(
    devs: &Devices,
    out_cfg: cpal::StreamConfig,
    (in_ring, out_ring): (HeapProd<f32>, HeapCons<f32>),
    shared: &Arc<Shared>,
    info: &SessionInfo,
    wake: std::thread::Thread,
) -> (Arc<ErrorSlot>, Result<Running, LiveError>) {
    let errors = Arc::new(ErrorSlot::new());
    let input_port = InputPort::new(in_ring, info.input_channels, shared.clone(), Some(wake));
    let output_port = OutputPort::new(
        out_ring,
        info.output_channels,
        shared.clone(),
        info.rate_hz,
        info.lag_frames,
    );
    let pin = info.audio_cpu.and_then(|c| cpu::PinGuard::new(c).ok());
    #[cfg(feature = "jack")]
    let streams = if devs.host_name == "JACK" {
        super::jack_duplex::start(
            input_port,
            output_port,
            (info.input_channels, info.output_channels),
            info.rate_hz,
            &errors,
        )
        .map(Running::Jack)
    } else {
        build_and_play(devs, out_cfg, input_port, output_port, &errors)
    };
    #[cfg(not(feature = "jack"))]
    let streams = build_and_play(devs, out_cfg, input_port, output_port, &errors);
    drop(pin);
    (errors, streams)
}

/// Build both streams around the callback bodies and start them (output first).
fn build_and_play(
    devs: &Devices,
    out_cfg: cpal::StreamConfig,
    mut input_port: InputPort,
    mut output_port: OutputPort,
    errors: &Arc<ErrorSlot>,
) -> Result<Running, LiveError> {
    let stream_err = |direction, device: &str| {
        let device = device.to_string();
        move |e: cpal::Error| LiveError::Stream {
            direction,
            device: device.clone(),
            reason: e.to_string(),
        }
    };
    let timeout = Some(Duration::from_secs(10));
    let input_stream = devs
        .input
        .build_input_stream::<f32, _, _>(
            devs.input_config,
            move |data: &[f32], info: &cpal::InputCallbackInfo| {
                input_port.push(data, info.timestamp().callback.as_nanos() as u64)
            },
            on_error(errors.clone(), Direction::Input),
            timeout,
        )
        .map_err(stream_err(Direction::Input, &devs.input_name))?;
    let output_stream = devs
        .output
        .build_output_stream::<f32, _, _>(
            out_cfg,
            move |data: &mut [f32], info: &cpal::OutputCallbackInfo| {
                output_port.fill(data, info.timestamp().callback.as_nanos() as u64)
            },
            on_error(errors.clone(), Direction::Output),
            timeout,
        )
        .map_err(stream_err(Direction::Output, &devs.output_name))?;
    output_stream
        .play()
        .map_err(stream_err(Direction::Output, &devs.output_name))?;
    input_stream
        .play()
        .map_err(stream_err(Direction::Input, &devs.input_name))?;
    Ok(Running::Cpal {
        input: input_stream,
        output: output_stream,
    })
}
