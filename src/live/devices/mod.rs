//! Audio hosts and devices through cpal: choosing them by name, ALSA PCM name, index or a
//! unique part of the description ([`pick_device`]), describing what they support for
//! `faltung devices` ([`report`]), and turning what the audio libraries print and return
//! into errors that say what to do ([`noise`]).

pub mod noise;
pub mod report;

pub use report::{
    config_list, config_ranges, report, summarize, ConfigRange, DeviceReport, HostReport,
};

use cpal::traits::{DeviceTrait, HostTrait};

use super::LiveError;

/// Input or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Input,
    Output,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Input => "input",
            Direction::Output => "output",
        })
    }
}

/// Devices that exist but cannot run a live session, and choices that match several.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    #[error(
        "{direction} device `{wanted}` on host {host} is ambiguous: it matches {candidates}; \
         give the device name or index that `faltung devices` prints"
    )]
    Ambiguous {
        direction: Direction,
        host: String,
        wanted: String,
        candidates: String,
    },
    #[error("{direction} device `{device}` on host {host} cannot run live: {reason}")]
    Unusable {
        direction: Direction,
        host: String,
        device: String,
        reason: String,
    },
    #[error("`{device}` on host {host} is an {only}-only device; as {direction}, choose from: {available}")]
    WrongDirection {
        direction: Direction,
        only: Direction,
        host: String,
        device: String,
        available: String,
    },
}

/// Names of the hosts compiled in, the available ones marked.
pub fn host_names() -> Vec<(String, bool)> {
    let available = cpal::available_hosts();
    cpal::ALL_HOSTS
        .iter()
        .map(|id| (id.name().to_string(), available.contains(id)))
        .collect()
}

fn host_list() -> String {
    host_names()
        .iter()
        .map(|(n, a)| {
            if *a {
                n.clone()
            } else {
                format!("{n} (unavailable)")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The name of the host `name` stands for (the platform default for `None`), for messages.
pub fn host_display_name(name: Option<&str>) -> String {
    match name {
        None => cpal::default_host().id().name().to_string(),
        Some(n) => cpal::ALL_HOSTS
            .iter()
            .find(|id| id.name().eq_ignore_ascii_case(n))
            .map_or_else(|| n.to_string(), |id| id.name().to_string()),
    }
}

/// The host named `name` (case-insensitive), or the platform default.
pub fn open_host(name: Option<&str>) -> Result<cpal::Host, LiveError> {
    let Some(name) = name else {
        return Ok(cpal::default_host());
    };
    let id = cpal::ALL_HOSTS
        .iter()
        .find(|id| id.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| LiveError::UnknownHost {
            name: name.to_string(),
            available: host_list(),
        })?;
    cpal::host_from_id(*id).map_err(|e| LiveError::HostUnavailable {
        name: id.name().to_string(),
        reason: e.to_string(),
    })
}

/// One device as listed in one direction: what to type to choose it (`id`: the ALSA PCM
/// name, or the description on hosts whose device ids mean nothing to a user) and its
/// description.
#[derive(Clone)]
pub struct Listed {
    pub index: usize,
    pub id: String,
    pub name: String,
    pub device: cpal::Device,
}

impl Listed {
    /// `pipewire (PipeWire Sound Server)`, or the name alone where id and name agree.
    pub fn label(&self) -> String {
        if self.id == self.name {
            self.name.clone()
        } else {
            format!("{} ({})", self.id, self.name)
        }
    }
}

fn is_alsa(host: &cpal::Host) -> bool {
    host.id().name() == "ALSA"
}

fn device_name(d: &cpal::Device) -> String {
    d.description()
        .map(|x| x.name().to_string())
        .unwrap_or_else(|_| "<unnamed>".to_string())
}

fn device_id(host: &cpal::Host, d: &cpal::Device) -> String {
    if is_alsa(host) {
        if let Ok(id) = d.id() {
            return id.id().to_string();
        }
    }
    device_name(d)
}

fn listed(host: &cpal::Host, index: usize, d: &cpal::Device) -> Listed {
    Listed {
        index,
        id: device_id(host, d),
        name: device_name(d),
        device: d.clone(),
    }
}

fn direction_of(d: &cpal::Device) -> Option<(bool, bool)> {
    d.description()
        .ok()
        .map(|desc| (desc.supports_input(), desc.supports_output()))
}

/// The devices of `host` in direction `dir`, in the order `faltung devices` numbers them.
/// A device the host marks as the other direction only is left out; one of unknown
/// direction (an ALSA PCM without an IOID hint can do both) is kept.
pub fn list(host: &cpal::Host, dir: Direction) -> Vec<Listed> {
    let all = match dir {
        Direction::Input => host.input_devices().map(|d| d.collect::<Vec<_>>()),
        Direction::Output => host.output_devices().map(|d| d.collect::<Vec<_>>()),
    };
    all.unwrap_or_default()
        .into_iter()
        .filter(|d| match (direction_of(d), dir) {
            (Some((i, _)), Direction::Input) => i,
            (Some((_, o)), Direction::Output) => o,
            (None, _) => true,
        })
        .enumerate()
        .map(|(i, d)| listed(host, i, &d))
        .collect()
}

/// What to do when a host lists no device, or `None` if nothing useful can be said.
pub fn empty_host_hint(host: &str) -> Option<&'static str> {
    match host {
        "JACK" => Some(noise::NO_JACK_SERVER),
        "ALSA" => Some(
            "ALSA lists no device: no sound card and no sound server plugin (pipewire-alsa) is \
             installed",
        ),
        _ => None,
    }
}

fn device_list(host: &cpal::Host, dir: Direction) -> String {
    let names: Vec<String> = list(host, dir)
        .iter()
        .map(|d| format!("[{}] {}", d.index, d.label()))
        .collect();
    if names.is_empty() {
        match empty_host_hint(host.id().name()) {
            Some(h) => format!("none ({h})"),
            None => "none".to_string(),
        }
    } else {
        names.join(", ")
    }
}

/// `hw:1,0`, `hw:1` and `hw:CARD=1,DEV=0` name the same ALSA PCM (the spelling cpal lists).
pub fn canonical_pcm_name(name: &str) -> String {
    if let Some((prefix, rest)) = name.split_once(':') {
        let (card, device) = match rest.split_once(',') {
            Some((c, d)) => (c.trim(), d.trim()),
            None => (rest.trim(), "0"),
        };
        if card.contains('=') {
            if !rest.contains(',') {
                return format!("{prefix}:{rest},DEV=0");
            }
        } else if let Ok(device) = device.parse::<u32>() {
            return format!("{prefix}:CARD={card},DEV={device}");
        }
    }
    name.to_string()
}

/// Why a device cannot run a live session, if it cannot.
pub fn unusable_reason(host: &str, id: &str) -> Option<String> {
    if host == "ALSA" && (id == "null" || id.starts_with("null:")) {
        return Some(
            "ALSA's `null` device has no clock (it takes and makes samples as fast as they are \
             asked for), so a live session on it would only spin a CPU; choose a sound card or \
             a sound server (`default`, `pipewire`), or filter files with `faltung process`"
                .to_string(),
        );
    }
    None
}

fn check_usable(host: &cpal::Host, dir: Direction, d: &Listed) -> Result<(), LiveError> {
    match unusable_reason(host.id().name(), &d.id) {
        Some(reason) => Err(DeviceError::Unusable {
            direction: dir,
            host: host.id().name().to_string(),
            device: d.id.clone(),
            reason,
        }
        .into()),
        None => Ok(()),
    }
}

/// The device `wanted`, or the host's default in direction `dir`. `wanted` is, in this
/// order: an index into the list `faltung devices` prints, the device name (an ALSA PCM
/// name such as `hw:1,0`, `plughw:1`, `pipewire`, `default`, or a name from `.asoundrc`),
/// the exact description, or a unique case-insensitive part of the name or description.
/// Returns the device and its label for messages.
pub fn pick_device(
    host: &cpal::Host,
    dir: Direction,
    wanted: Option<&str>,
) -> Result<(cpal::Device, String), LiveError> {
    let host_name = host.id().name().to_string();
    let no_device = |extra: &str| LiveError::NoDevice {
        direction: dir,
        host: host_name.clone(),
        wanted: wanted.unwrap_or("default").to_string(),
        available: format!("{}{extra}", device_list(host, dir)),
    };
    let Some(wanted) = wanted else {
        let d = match dir {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        }
        .ok_or_else(|| no_device(""))?;
        let d = listed(host, 0, &d);
        check_usable(host, dir, &d)?;
        return Ok((d.device.clone(), d.label()));
    };
    let all = list(host, dir);
    let found = |d: &Listed| -> Result<(cpal::Device, String), LiveError> {
        check_usable(host, dir, d)?;
        Ok((d.device.clone(), d.label()))
    };
    if !wanted.is_empty() && wanted.bytes().all(|b| b.is_ascii_digit()) {
        return match wanted.parse::<usize>().ok().and_then(|i| all.get(i)) {
            Some(d) => found(d),
            None => Err(no_device("")),
        };
    }
    let canonical = canonical_pcm_name(wanted);
    let exact = |pred: &dyn Fn(&Listed) -> bool| all.iter().find(|d| pred(d)).cloned();
    if let Some(d) = exact(&|d| d.id == wanted || d.id == canonical)
        .or_else(|| exact(&|d| d.name == wanted))
        .or_else(|| {
            exact(&|d| d.id.eq_ignore_ascii_case(wanted) || d.name.eq_ignore_ascii_case(wanted))
        })
    {
        return found(&d);
    }
    let lower = wanted.to_lowercase();
    let matches: Vec<&Listed> = all
        .iter()
        .filter(|d| d.id.to_lowercase().contains(&lower) || d.name.to_lowercase().contains(&lower))
        .collect();
    match matches.as_slice() {
        [d] => found(d),
        [] => {
            // A device of the other direction only, named exactly: say so.
            let other = match dir {
                Direction::Input => Direction::Output,
                Direction::Output => Direction::Input,
            };
            if let Some(d) = list(host, other)
                .into_iter()
                .find(|d| d.id == wanted || d.id == canonical || d.name == wanted)
            {
                return Err(DeviceError::WrongDirection {
                    direction: dir,
                    only: other,
                    host: host_name.clone(),
                    device: d.label(),
                    available: device_list(host, dir),
                }
                .into());
            }
            let extra = if is_alsa(host) {
                "; ALSA lists only the PCMs it has hints for: a PCM of your own in .asoundrc \
                 needs `hint { show on description \"...\" }` to be chosen by name"
            } else {
                ""
            };
            Err(no_device(extra))
        }
        many => Err(DeviceError::Ambiguous {
            direction: dir,
            host: host_name.clone(),
            wanted: wanted.to_string(),
            candidates: many
                .iter()
                .map(|d| format!("[{}] {}", d.index, d.label()))
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into()),
    }
}

/// The sample rate an input device runs at by default (its default input config).
pub fn default_input_rate(device: &cpal::Device, name: &str) -> Result<u32, LiveError> {
    device
        .default_input_config()
        .map(|c| c.sample_rate())
        .map_err(|e| LiveError::Stream {
            direction: Direction::Input,
            device: name.to_string(),
            reason: e.to_string(),
        })
}

/// The rate a live session on `host`'s input device `input` (default: the host's default
/// device) runs at unless told otherwise, so that kernels can be designed and IRs
/// resampled for it before the session starts.
pub fn session_rate(host: Option<&str>, input: Option<&str>) -> Result<u32, LiveError> {
    let host = open_host(host)?;
    let (dev, name) = pick_device(&host, Direction::Input, input)?;
    default_input_rate(&dev, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alsa_card_numbers_are_spelled_the_way_alsa_lists_them() {
        assert_eq!(canonical_pcm_name("hw:1,0"), "hw:CARD=1,DEV=0");
        assert_eq!(canonical_pcm_name("plughw:1"), "plughw:CARD=1,DEV=0");
        assert_eq!(canonical_pcm_name("hw:PCH,3"), "hw:CARD=PCH,DEV=3");
        assert_eq!(canonical_pcm_name("hw:CARD=PCH"), "hw:CARD=PCH,DEV=0");
        assert_eq!(canonical_pcm_name("hw:CARD=PCH,DEV=1"), "hw:CARD=PCH,DEV=1");
        assert_eq!(canonical_pcm_name("pipewire"), "pipewire");
        assert_eq!(canonical_pcm_name("default"), "default");
    }

    #[test]
    fn the_clockless_alsa_null_device_is_refused_and_nothing_else_by_name() {
        assert!(unusable_reason("ALSA", "null")
            .unwrap()
            .contains("no clock"));
        assert!(unusable_reason("ALSA", "default").is_none());
        assert!(unusable_reason("ALSA", "nullish").is_none());
        assert!(unusable_reason("JACK", "null").is_none());
    }
}
