//! faltung's own JACK client (jackd, or PipeWire through `pw-jack`): one client that holds
//! the input and the output ports, so that a process cycle hands faltung its input and
//! takes its output in one callback ([`Duplex`]).
//!
//! cpal's JACK host opens two clients, one per stream. The server schedules them
//! separately, and PipeWire may skip one of them for a cycle while its graph changes (a
//! client joining or leaving): the output then runs without the input it was due, and
//! underruns follow. With one client there is no such cycle: input and output come and go
//! together. cpal still lists the JACK devices and checks the rate and channel counts; only
//! the streams are faltung's.
//!
//! The client is named `faltung_<pid>` ([`client_name`]); its ports are `in_<i>` and
//! `out_<i>`. It connects nothing itself: `connect` does, once the client runs.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::devices::{noise, Direction};
use super::pipeline::{Duplex, InputPort, OutputPort};
use super::session::ErrorSlot;
use super::start::MAX_PERIOD_FRAMES;
use super::LiveError;

/// The name of this process's JACK client.
pub fn client_name() -> String {
    format!("faltung_{}", std::process::id())
}

/// The full names of faltung's own ports of one direction: `faltung_<pid>:in_0`, ...
pub fn port_names(direction: Direction, channels: usize) -> Vec<String> {
    let side = match direction {
        Direction::Input => "in",
        Direction::Output => "out",
    };
    let client = client_name();
    (0..channels)
        .map(|i| format!("{client}:{side}_{i}"))
        .collect()
}

/// The running client (deactivated and closed when dropped).
pub(super) struct JackDuplex {
    client: jack::AsyncClient<Notifications, Process>,
}

struct Process {
    inputs: Vec<jack::Port<jack::AudioIn>>,
    outputs: Vec<jack::Port<jack::AudioOut>>,
    duplex: Duplex,
}

impl jack::ProcessHandler for Process {
    fn process(&mut self, client: &jack::Client, ps: &jack::ProcessScope) -> jack::Control {
        let frames = ps.n_frames() as usize;
        let usecs = ps
            .cycle_times()
            .map(|t| t.current_usecs)
            .unwrap_or_else(|_| client.time());
        if self.duplex.begin(frames) {
            for (ch, port) in self.inputs.iter().enumerate() {
                self.duplex.put_input(ch, port.as_slice(ps));
            }
        }
        self.duplex.exchange(usecs.saturating_mul(1000));
        for (ch, port) in self.outputs.iter_mut().enumerate() {
            self.duplex.take_output(ch, port.as_mut_slice(ps));
        }
        jack::Control::Continue
    }
}

/// The server's messages: xruns counted; a server that goes away or changes its rate ends
/// the session with a message (off the audio thread: JACK's notification thread).
struct Notifications {
    errors: Arc<ErrorSlot>,
    rate_hz: u32,
}

impl jack::NotificationHandler for Notifications {
    unsafe fn shutdown(&mut self, _status: jack::ClientStatus, reason: &str) {
        self.errors.fail(format!("JACK server shut down: {reason}"));
    }

    fn sample_rate(&mut self, _: &jack::Client, rate: jack::Frames) -> jack::Control {
        if rate == self.rate_hz {
            return jack::Control::Continue;
        }
        self.errors.fail(format!(
            "JACK server changed its sample rate to {rate} Hz; faltung was started at {} Hz",
            self.rate_hz
        ));
        jack::Control::Quit
    }

    fn xrun(&mut self, _: &jack::Client) -> jack::Control {
        self.errors.xruns[Direction::Output as usize].fetch_add(1, Ordering::Relaxed);
        jack::Control::Continue
    }
}

/// Open the client with `input_channels` inputs and `output_channels` outputs around the
/// two callback bodies, and activate it.
pub(super) fn start(
    input: InputPort,
    output: OutputPort,
    (input_channels, output_channels): (usize, usize),
    rate_hz: u32,
    errors: &Arc<ErrorSlot>,
) -> Result<JackDuplex, LiveError> {
    let name = client_name();
    let fail = |direction, reason: String| LiveError::Stream {
        direction,
        device: format!("JACK client {name}"),
        reason,
    };
    let (client, _) = jack::Client::new(
        &name,
        jack::ClientOptions::NO_START_SERVER | jack::ClientOptions::USE_EXACT_NAME,
    )
    .map_err(|e| fail(Direction::Input, format!("{e} ({})", noise::NO_JACK_SERVER)))?;
    let server_rate = client.sample_rate();
    if server_rate != rate_hz {
        return Err(fail(
            Direction::Input,
            format!("the JACK server runs at {server_rate} Hz, not {rate_hz} Hz"),
        ));
    }
    let inputs = (0..input_channels)
        .map(|i| client.register_port(&format!("in_{i}"), jack::AudioIn::default()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(Direction::Input, format!("cannot register a port: {e}")))?;
    let outputs = (0..output_channels)
        .map(|i| client.register_port(&format!("out_{i}"), jack::AudioOut::default()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(Direction::Output, format!("cannot register a port: {e}")))?;
    let process = Process {
        inputs,
        outputs,
        duplex: Duplex::new(
            input,
            output,
            input_channels,
            output_channels,
            MAX_PERIOD_FRAMES,
        ),
    };
    let notifications = Notifications {
        errors: errors.clone(),
        rate_hz,
    };
    let client = client
        .activate_async(notifications, process)
        .map_err(|e| fail(Direction::Output, format!("cannot activate: {e}")))?;
    Ok(JackDuplex { client })
}

impl JackDuplex {
    /// Deactivate and close the client (its callbacks stop before this returns).
    pub(super) fn stop(self) {
        let _ = self.client.deactivate();
    }
}
