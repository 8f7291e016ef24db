//! Audio hosts and devices through cpal: choosing them by name or index, and describing
//! what they support (for `faltung devices` and for clear errors at start).

use cpal::traits::{DeviceTrait, HostTrait};

use super::LiveError;

/// Input or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

fn device_name(d: &cpal::Device) -> String {
    d.description()
        .map(|x| x.name().to_string())
        .unwrap_or_else(|_| "<unnamed>".to_string())
}

fn devices(host: &cpal::Host, dir: Direction) -> Vec<cpal::Device> {
    let list = match dir {
        Direction::Input => host.input_devices().map(|d| d.collect::<Vec<_>>()),
        Direction::Output => host.output_devices().map(|d| d.collect::<Vec<_>>()),
    };
    // Some hosts list every device in both directions; keep those that really have a
    // default configuration in this one.
    list.unwrap_or_default()
        .into_iter()
        .filter(|d| match (d.description(), dir) {
            (Ok(desc), Direction::Input) => desc.supports_input(),
            (Ok(desc), Direction::Output) => desc.supports_output(),
            (Err(_), _) => true,
        })
        .collect()
}

fn device_list(host: &cpal::Host, dir: Direction) -> String {
    let names: Vec<String> = devices(host, dir)
        .iter()
        .enumerate()
        .map(|(i, d)| format!("[{i}] {}", device_name(d)))
        .collect();
    if names.is_empty() && host.id().name() == "JACK" {
        // cpal's JACK host lists its devices only while it can reach a server.
        "none (is a JACK server running? start one with e.g. `jackd -d alsa`, or see `jack_lsp`)"
            .to_string()
    } else if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// The device `wanted` (an exact name, a unique case-insensitive substring, or an index
/// into the host's device list), or the host's default.
pub fn pick_device(
    host: &cpal::Host,
    dir: Direction,
    wanted: Option<&str>,
) -> Result<(cpal::Device, String), LiveError> {
    let no_device = || LiveError::NoDevice {
        direction: dir,
        host: host.id().name().to_string(),
        wanted: wanted.unwrap_or("default").to_string(),
        available: device_list(host, dir),
    };
    let Some(wanted) = wanted else {
        let d = match dir {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        }
        .ok_or_else(no_device)?;
        let name = device_name(&d);
        return Ok((d, name));
    };
    let all = devices(host, dir);
    if let Ok(i) = wanted.parse::<usize>() {
        if let Some(d) = all.get(i) {
            return Ok((d.clone(), device_name(d)));
        }
        return Err(no_device());
    }
    if let Some(d) = all.iter().find(|d| device_name(d) == wanted) {
        return Ok((d.clone(), device_name(d)));
    }
    let lower = wanted.to_lowercase();
    let matches: Vec<&cpal::Device> = all
        .iter()
        .filter(|d| device_name(d).to_lowercase().contains(&lower))
        .collect();
    match matches.as_slice() {
        [d] => Ok(((*d).clone(), device_name(d))),
        _ => Err(no_device()),
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

/// One supported configuration range, for listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigRange {
    pub channels: u16,
    pub min_rate_hz: u32,
    pub max_rate_hz: u32,
    /// `(min, max)` buffer frames if the device says.
    pub buffer_frames: Option<(u32, u32)>,
    pub format: String,
}

impl std::fmt::Display for ConfigRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ch, ", self.channels)?;
        if self.min_rate_hz == self.max_rate_hz {
            write!(f, "{} Hz", self.min_rate_hz)?;
        } else {
            write!(f, "{}-{} Hz", self.min_rate_hz, self.max_rate_hz)?;
        }
        write!(f, ", {}", self.format)?;
        match self.buffer_frames {
            Some((a, b)) if a == b => write!(f, ", buffer {a} frames"),
            Some((a, b)) => write!(f, ", buffer {a}-{b} frames"),
            None => write!(f, ", buffer size unknown"),
        }
    }
}

/// Configurations as lines, runs of channel counts that differ in nothing else merged
/// (`1-64 ch, 48000 Hz, f32, buffer 256 frames`).
pub fn summarize(configs: &[ConfigRange]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < configs.len() {
        let c = &configs[i];
        let mut j = i;
        while j + 1 < configs.len() {
            let n = &configs[j + 1];
            let same = n.channels == configs[j].channels + 1
                && n.min_rate_hz == c.min_rate_hz
                && n.max_rate_hz == c.max_rate_hz
                && n.buffer_frames == c.buffer_frames
                && n.format == c.format;
            if !same {
                break;
            }
            j += 1;
        }
        let line = c.to_string();
        if j > i {
            let rest = line.split_once(" ch").map_or("", |x| x.1);
            out.push(format!("{}-{} ch{rest}", c.channels, configs[j].channels));
        } else {
            out.push(line);
        }
        i = j + 1;
    }
    out
}

/// The configuration ranges `device` supports in direction `dir`.
pub fn config_ranges(device: &cpal::Device, dir: Direction) -> Vec<ConfigRange> {
    let conv = |r: cpal::SupportedStreamConfigRange| ConfigRange {
        channels: r.channels(),
        min_rate_hz: r.min_sample_rate(),
        max_rate_hz: r.max_sample_rate(),
        buffer_frames: match r.buffer_size() {
            cpal::SupportedBufferSize::Range { min, max } => Some((*min, *max)),
            _ => None,
        },
        format: r.sample_format().to_string(),
    };
    match dir {
        Direction::Input => device
            .supported_input_configs()
            .map(|i| i.map(conv).collect())
            .unwrap_or_default(),
        Direction::Output => device
            .supported_output_configs()
            .map(|i| i.map(conv).collect())
            .unwrap_or_default(),
    }
}

/// A device and what it supports.
#[derive(Debug, Clone)]
pub struct DeviceReport {
    pub index: usize,
    pub name: String,
    pub is_default: bool,
    pub configs: Vec<ConfigRange>,
}

/// A host and its devices.
#[derive(Debug, Clone)]
pub struct HostReport {
    pub name: String,
    pub available: bool,
    pub error: Option<String>,
    pub inputs: Vec<DeviceReport>,
    pub outputs: Vec<DeviceReport>,
}

/// Describe the host `name`, or every host compiled in.
pub fn report(name: Option<&str>) -> Result<Vec<HostReport>, LiveError> {
    let names: Vec<(String, bool)> = match name {
        Some(n) => {
            let host = open_host(Some(n))?;
            vec![(host.id().name().to_string(), true)]
        }
        None => host_names(),
    };
    let mut out = Vec::new();
    for (name, available) in names {
        let mut rep = HostReport {
            name: name.clone(),
            available,
            error: None,
            inputs: vec![],
            outputs: vec![],
        };
        if available {
            match open_host(Some(&name)) {
                Ok(host) => {
                    for dir in [Direction::Input, Direction::Output] {
                        let default = match dir {
                            Direction::Input => host.default_input_device(),
                            Direction::Output => host.default_output_device(),
                        };
                        let list: Vec<DeviceReport> = devices(&host, dir)
                            .iter()
                            .enumerate()
                            .map(|(i, d)| DeviceReport {
                                index: i,
                                name: device_name(d),
                                is_default: default.as_ref() == Some(d),
                                configs: config_ranges(d, dir),
                            })
                            .collect();
                        match dir {
                            Direction::Input => rep.inputs = list,
                            Direction::Output => rep.outputs = list,
                        }
                    }
                }
                Err(e) => rep.error = Some(e.to_string()),
            }
        }
        out.push(rep);
    }
    Ok(out)
}

/// Available configurations of `device` as one line, for errors.
pub fn config_list(device: &cpal::Device, dir: Direction) -> String {
    let list = summarize(&config_ranges(device, dir));
    if list.is_empty() {
        "none".to_string()
    } else {
        list.join("; ")
    }
}
