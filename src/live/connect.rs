//! Connecting faltung's ports on a JACK server (jackd, or PipeWire's JACK library through
//! `pw-jack`), off the audio thread, once the streams run.
//!
//! faltung's JACK client ([`jack_duplex`](super::jack_duplex)) starts unconnected. Once it
//! runs, faltung opens a second client of its own to make the connections it was asked for,
//! removing any others on its ports:
//!
//! - [`Connection::Default`]: the default device by JACK's port flags, the way `jack_lsp -p`
//!   shows them: the input from the first *physical output* port's client (jackd:
//!   `system:capture_*`; PipeWire lists the default source's ports first), the outputs to
//!   the first *physical input* port's client (jackd: `system:playback_*`; PipeWire: the
//!   default sink). Where no port is physical, the ports answering to `system:capture_*` /
//!   `system:playback_*` (PipeWire's names for the default source and sink). Monitor ports
//!   are never chosen by default: the default sink's monitor carries faltung's own output
//!   and would feed it back.
//! - [`Connection::Ports`]: the named ports (checked before the streams start: a port that
//!   does not exist or goes the wrong way is an error that names it and lists the ports
//!   that would do).
//! - [`Connection::Off`]: no connection at all.
//!
//! Pairing: faltung's port `i` and the chosen port `i` form a connection, for as many as
//! the longer list has, the shorter list repeating (a mono microphone feeds both inputs of
//! a true-stereo session, two outputs go to a mono speaker, two named microphones sum
//! into one input). For the default device only faltung's own ports count (a mono input
//! takes the first of a stereo sound card's capture ports, as cpal did).

use std::time::{Duration, Instant};

use super::devices::Direction;
use super::{Connection, LiveError};

/// JACK's audio port type.
const AUDIO_TYPE: &str = "32 bit float mono audio";

/// How long faltung waits for its own ports to appear to its connecting client.
const PORT_WAIT: Duration = Duration::from_secs(5);

/// Connections resolved before the streams start, made once they run.
pub(super) struct Patch {
    client: jack::Client,
    /// The ports feeding faltung's input and the ports its outputs go to.
    sources: Sides,
    /// What to tell the user (a side with nothing to connect to).
    pub notes: Vec<String>,
}

struct Sides {
    input: Vec<String>,
    output: Vec<String>,
    /// Whether the chosen lists were named by the user (paired over the longer list).
    input_named: bool,
    output_named: bool,
}

fn jack_err(what: &str) -> impl Fn(jack::Error) -> LiveError + '_ {
    move |e| LiveError::Connect {
        reason: format!("{what}: {e}"),
    }
}

/// The ports of the first port's client, in the server's order.
fn first_client(ports: Vec<String>) -> Vec<String> {
    let Some(first) = ports.first() else {
        return ports;
    };
    let client = first.split(':').next().unwrap_or_default().to_string();
    ports
        .into_iter()
        .filter(|p| p.split(':').next() == Some(client.as_str()))
        .collect()
}

/// The default device's ports for one side of faltung (see the module docs).
fn default_ports(client: &jack::Client, dir: Direction) -> Vec<String> {
    let (flag, alias) = match dir {
        Direction::Input => (jack::PortFlags::IS_OUTPUT, "^system:capture_"),
        Direction::Output => (jack::PortFlags::IS_INPUT, "^system:playback_"),
    };
    let physical = client.ports(None, Some(AUDIO_TYPE), flag | jack::PortFlags::IS_PHYSICAL);
    if !physical.is_empty() {
        return first_client(physical);
    }
    first_client(client.ports(Some(alias), Some(AUDIO_TYPE), flag))
}

/// The ports one side of faltung may be connected to: sources for the input, sinks for
/// the outputs (faltung's own excluded).
fn candidates(client: &jack::Client, dir: Direction, own_prefix: &str) -> Vec<String> {
    let flag = match dir {
        Direction::Input => jack::PortFlags::IS_OUTPUT,
        Direction::Output => jack::PortFlags::IS_INPUT,
    };
    client
        .ports(None, Some(AUDIO_TYPE), flag)
        .into_iter()
        .filter(|p| !p.starts_with(own_prefix))
        .collect()
}

/// Check the named ports of one side: each exists and carries audio the right way.
fn check_named(
    client: &jack::Client,
    dir: Direction,
    names: &[String],
    own_prefix: &str,
) -> Result<(), LiveError> {
    let (flag, wrong) = match dir {
        Direction::Input => (
            jack::PortFlags::IS_OUTPUT,
            "it is a JACK input port (it takes audio; faltung's input needs a port that gives it)",
        ),
        Direction::Output => (
            jack::PortFlags::IS_INPUT,
            "it is a JACK output port (it gives audio; faltung's outputs need a port that takes it)",
        ),
    };
    let fail = |port: &str, problem: &str| {
        let available = candidates(client, dir, own_prefix);
        LiveError::NoPort {
            direction: dir,
            port: port.to_string(),
            problem: problem.to_string(),
            available: if available.is_empty() {
                "none".into()
            } else {
                available.join(", ")
            },
        }
    };
    if names.is_empty() {
        return Err(fail("", "no port named"));
    }
    for name in names {
        let Some(port) = client.port_by_name(name) else {
            return Err(fail(name, "no such port on the JACK server"));
        };
        if !port.flags().contains(flag) {
            return Err(fail(name, wrong));
        }
        if port.port_type().ok().as_deref() != Some(AUDIO_TYPE) {
            return Err(fail(name, "it is not an audio port"));
        }
    }
    Ok(())
}

impl Patch {
    /// Open a client on the running JACK server and resolve both sides (both
    /// [`Connection::Off`] too: cpal's own connections are then removed).
    pub(super) fn prepare(input: &Connection, output: &Connection) -> Result<Patch, LiveError> {
        let (client, _) =
            jack::Client::new("faltung_connect", jack::ClientOptions::NO_START_SERVER).map_err(
                jack_err("cannot open a JACK client to connect faltung's ports"),
            )?;
        let own = format!("{}:", super::jack_duplex::client_name());
        let own = own.as_str();
        let mut notes = Vec::new();
        let mut resolve = |c: &Connection,
                           dir: Direction|
         -> Result<(Vec<String>, bool), LiveError> {
            Ok(match c {
                Connection::Off => (Vec::new(), false),
                Connection::Ports(names) => {
                    check_named(&client, dir, names, own)?;
                    (names.clone(), true)
                }
                Connection::Default => {
                    let ports = default_ports(&client, dir);
                    if ports.is_empty() {
                        let (what, flag) = match dir {
                            Direction::Input => ("capture", "--connect-input"),
                            Direction::Output => ("playback", "--connect-output"),
                        };
                        notes.push(format!(
                            "no physical {what} port on the JACK server: faltung's {dir} is not connected; \
                             choose ports with {flag} PORT[,PORT] (`jack_lsp` lists them) or link them yourself"
                        ));
                    }
                    (ports, false)
                }
            })
        };
        let (input_ports, input_named) = resolve(input, Direction::Input)?;
        let (output_ports, output_named) = resolve(output, Direction::Output)?;
        Ok(Patch {
            client,
            sources: Sides {
                input: input_ports,
                output: output_ports,
                input_named,
                output_named,
            },
            notes,
        })
    }

    /// Make the connections of both sides on faltung's ports (`input_channels` inputs,
    /// `output_channels` outputs) and remove any others there; the connections made, as
    /// `source -> destination`. The client is closed afterwards.
    pub(super) fn apply(
        self,
        input: &Connection,
        output: &Connection,
        input_channels: usize,
        output_channels: usize,
    ) -> Result<Vec<String>, LiveError> {
        let c = &self.client;
        let mut made = Vec::new();
        let sides = [
            (
                Direction::Input,
                input,
                input_channels,
                &self.sources.input,
                self.sources.input_named,
            ),
            (
                Direction::Output,
                output,
                output_channels,
                &self.sources.output,
                self.sources.output_named,
            ),
        ];
        for (dir, choice, n, theirs, named) in sides {
            let ours = super::jack_duplex::port_names(dir, n);
            wait_for_ports(c, &ours)?;
            let wanted: Vec<(&str, &str)> = pairs(ours.len(), theirs.len(), named)
                .into_iter()
                .map(|(i, j)| (ours[i].as_str(), theirs[j].as_str()))
                .collect();
            let link = |ours: &str, theirs: &str| match dir {
                Direction::Input => (theirs.to_string(), ours.to_string()),
                Direction::Output => (ours.to_string(), theirs.to_string()),
            };
            // A side left at its default with nothing to connect to keeps what it has.
            let keep_others = *choice == Connection::Default && theirs.is_empty();
            for o in &ours {
                let Some(port) = c.port_by_name(o) else {
                    continue;
                };
                for other in port.get_connections() {
                    if keep_others || wanted.iter().any(|(w, t)| w == o && *t == other) {
                        continue;
                    }
                    let (src, dst) = link(o, &other);
                    c.disconnect_ports_by_name(&src, &dst)
                        .map_err(jack_err(&format!("cannot disconnect {src} from {dst}")))?;
                }
            }
            for (o, t) in wanted {
                let (src, dst) = link(o, t);
                match c.connect_ports_by_name(&src, &dst) {
                    Ok(()) | Err(jack::Error::PortAlreadyConnected(..)) => {}
                    Err(e) => return Err(jack_err(&format!("cannot connect {src} to {dst}"))(e)),
                }
                made.push(format!("{src} -> {dst}"));
            }
        }
        Ok(made)
    }
}

/// The (faltung's port, chosen port) index pairs for `ours` and `theirs` ports (see the
/// module docs): over the longer list for named ports, over faltung's for the default.
fn pairs(ours: usize, theirs: usize, named: bool) -> Vec<(usize, usize)> {
    if ours == 0 || theirs == 0 {
        return Vec::new();
    }
    let n = if named { ours.max(theirs) } else { ours };
    (0..n).map(|k| (k % ours, k % theirs)).collect()
}

/// Wait until the connecting client sees faltung's own ports (PipeWire announces new
/// ports to other clients asynchronously).
fn wait_for_ports(c: &jack::Client, names: &[String]) -> Result<(), LiveError> {
    let t0 = Instant::now();
    while !names.iter().all(|n| c.port_by_name(n).is_some()) {
        if t0.elapsed() > PORT_WAIT {
            return Err(LiveError::Connect {
                reason: format!(
                    "faltung's own ports {} did not appear on the JACK server within {} s",
                    names.join(", "),
                    PORT_WAIT.as_secs()
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_device_is_the_first_ports_client() {
        let ports = [
            "mic:capture_1",
            "mic:capture_2",
            "usb:capture_1",
            "mic:capture_3",
        ];
        let got = first_client(ports.iter().map(|s| s.to_string()).collect());
        assert_eq!(got, ["mic:capture_1", "mic:capture_2", "mic:capture_3"]);
        assert!(first_client(Vec::new()).is_empty());
    }

    #[test]
    fn ports_pair_in_order_the_shorter_list_repeating() {
        // A mono input takes the first of a stereo card's capture ports.
        assert_eq!(pairs(1, 2, false), [(0, 0)]);
        // Stereo outputs to stereo speakers; to a mono speaker, both into it.
        assert_eq!(pairs(2, 2, false), [(0, 0), (1, 1)]);
        assert_eq!(pairs(2, 1, false), [(0, 0), (1, 0)]);
        // Named: every named port is used, two microphones into one input.
        assert_eq!(pairs(1, 2, true), [(0, 0), (0, 1)]);
        assert_eq!(pairs(2, 3, true), [(0, 0), (1, 1), (0, 2)]);
        // Nothing to connect to.
        assert!(pairs(2, 0, false).is_empty());
    }
}
