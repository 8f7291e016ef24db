//! What hosts and devices support, for `faltung devices` (one line per device, or every
//! configuration) and for errors that list what is available.

use cpal::traits::{DeviceTrait, HostTrait};

use super::{list, open_host, unusable_reason, Direction, LiveError};

/// One supported configuration range, for listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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

/// The configuration ranges `device` supports in direction `dir`, or why they cannot be
/// read (the device cannot be opened).
pub fn try_config_ranges(
    device: &cpal::Device,
    dir: Direction,
) -> Result<Vec<ConfigRange>, String> {
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
            .map_err(|e| e.to_string()),
        Direction::Output => device
            .supported_output_configs()
            .map(|i| i.map(conv).collect())
            .map_err(|e| e.to_string()),
    }
}

/// The configuration ranges `device` supports in direction `dir` (none if it cannot be
/// opened).
pub fn config_ranges(device: &cpal::Device, dir: Direction) -> Vec<ConfigRange> {
    try_config_ranges(device, dir).unwrap_or_default()
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

/// A device in one direction and what it supports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceReport {
    pub index: usize,
    pub direction: Direction,
    /// What to give `--input`/`--output` (the ALSA PCM name, or the name on other hosts).
    pub id: String,
    /// The description the host gives.
    pub name: String,
    pub is_default: bool,
    pub configs: Vec<ConfigRange>,
    /// Why the configurations could not be read (the device did not open).
    pub error: Option<String>,
    /// Why the device cannot run a live session although it opens.
    pub unusable: Option<String>,
}

/// `a` or `a-b`.
fn span(a: u32, b: u32) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}-{b}")
    }
}

impl DeviceReport {
    /// The configurations a live session can use (32-bit float), or all if none is.
    fn usable_configs(&self) -> Vec<&ConfigRange> {
        let f32s: Vec<&ConfigRange> = self.configs.iter().filter(|c| c.format == "f32").collect();
        if f32s.is_empty() {
            self.configs.iter().collect()
        } else {
            f32s
        }
    }

    /// Channel range, e.g. `1-64`.
    pub fn channels(&self) -> String {
        let c = self.usable_configs();
        match (
            c.iter().map(|c| c.channels).min(),
            c.iter().map(|c| c.channels).max(),
        ) {
            (Some(a), Some(b)) => span(a.into(), b.into()),
            _ => "-".into(),
        }
    }

    /// Rates: one range (`1000-384000`) or the distinct fixed rates (`44100,48000`).
    pub fn rates(&self) -> String {
        let c = self.usable_configs();
        if c.is_empty() {
            return "-".into();
        }
        if c.iter().all(|r| r.min_rate_hz == r.max_rate_hz) {
            let mut rates: Vec<u32> = c.iter().map(|r| r.min_rate_hz).collect();
            rates.sort_unstable();
            rates.dedup();
            return rates
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
        }
        let lo = c.iter().map(|r| r.min_rate_hz).min().unwrap_or(0);
        let hi = c.iter().map(|r| r.max_rate_hz).max().unwrap_or(0);
        span(lo, hi)
    }

    /// Buffer range in frames, e.g. `3-58254`, or `?`.
    pub fn buffer(&self) -> String {
        let c = self.usable_configs();
        let known: Vec<(u32, u32)> = c.iter().filter_map(|r| r.buffer_frames).collect();
        match (
            known.iter().map(|b| b.0).min(),
            known.iter().map(|b| b.1).max(),
        ) {
            (Some(a), Some(b)) => span(a, b),
            _ if c.is_empty() => "-".into(),
            _ => "?".into(),
        }
    }

    /// Whether the listed figures are for 32-bit float (what faltung runs in).
    pub fn has_f32(&self) -> bool {
        self.configs.iter().any(|c| c.format == "f32")
    }
}

/// A host and its devices.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HostReport {
    pub name: String,
    pub available: bool,
    /// The host `faltung live` uses without `--host`.
    pub is_default: bool,
    pub error: Option<String>,
    /// What to do when the host lists no device (no JACK server, no ALSA device).
    pub hint: Option<String>,
    pub inputs: Vec<DeviceReport>,
    pub outputs: Vec<DeviceReport>,
}

fn device_reports(host: &cpal::Host, dir: Direction) -> Vec<DeviceReport> {
    let default_id = match dir {
        Direction::Input => host.default_input_device(),
        Direction::Output => host.default_output_device(),
    }
    .and_then(|d| d.id().ok());
    list(host, dir)
        .into_iter()
        .map(|d| {
            let (configs, error) = match try_config_ranges(&d.device, dir) {
                Ok(c) => (c, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            let is_default = default_id.is_some() && d.device.id().ok() == default_id;
            DeviceReport {
                index: d.index,
                direction: dir,
                unusable: unusable_reason(host.id().name(), &d.id),
                id: d.id,
                name: d.name,
                is_default,
                configs,
                error,
            }
        })
        .collect()
}

/// Describe the host `name`, or every host compiled in.
pub fn report(name: Option<&str>) -> Result<Vec<HostReport>, LiveError> {
    let default_host = cpal::default_host().id().name().to_string();
    let names: Vec<(String, bool)> = match name {
        Some(n) => {
            let host = open_host(Some(n))?;
            vec![(host.id().name().to_string(), true)]
        }
        None => super::host_names(),
    };
    let mut out = Vec::new();
    for (name, available) in names {
        let mut rep = HostReport {
            is_default: name == default_host,
            name: name.clone(),
            available,
            error: None,
            hint: None,
            inputs: vec![],
            outputs: vec![],
        };
        if available {
            match open_host(Some(&name)) {
                Ok(host) => {
                    rep.inputs = device_reports(&host, Direction::Input);
                    rep.outputs = device_reports(&host, Direction::Output);
                    if rep.inputs.is_empty() && rep.outputs.is_empty() {
                        rep.hint = super::empty_host_hint(&name).map(str::to_string);
                    }
                }
                Err(e) => rep.error = Some(e.to_string()),
            }
        }
        out.push(rep);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(channels: u16, rates: (u32, u32), buffer: Option<(u32, u32)>, f: &str) -> ConfigRange {
        ConfigRange {
            channels,
            min_rate_hz: rates.0,
            max_rate_hz: rates.1,
            buffer_frames: buffer,
            format: f.into(),
        }
    }

    fn device(configs: Vec<ConfigRange>) -> DeviceReport {
        DeviceReport {
            index: 0,
            direction: Direction::Input,
            id: "x".into(),
            name: "x".into(),
            is_default: false,
            configs,
            error: None,
            unusable: None,
        }
    }

    #[test]
    fn one_line_figures_are_the_f32_span_over_all_configs() {
        let mut configs = Vec::new();
        for ch in 1..=64 {
            configs.push(range(ch, (1000, 384000), Some((16, 8192)), "f32"));
            configs.push(range(ch, (8000, 48000), Some((3, 99999)), "i16"));
        }
        let d = device(configs);
        assert_eq!(d.channels(), "1-64");
        assert_eq!(d.rates(), "1000-384000");
        assert_eq!(d.buffer(), "16-8192");
        assert!(d.has_f32());
    }

    #[test]
    fn fixed_rates_are_listed_and_a_device_without_f32_shows_what_it_has() {
        let d = device(vec![
            range(2, (48000, 48000), Some((256, 256)), "i16"),
            range(2, (44100, 44100), None, "i16"),
        ]);
        assert_eq!(d.channels(), "2");
        assert_eq!(d.rates(), "44100,48000");
        assert_eq!(d.buffer(), "256");
        assert!(!d.has_f32());
        let none = device(vec![]);
        assert_eq!(
            (none.channels(), none.rates(), none.buffer()),
            ("-".into(), "-".into(), "-".into())
        );
    }
}
