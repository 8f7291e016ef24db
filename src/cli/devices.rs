//! `faltung devices`: audio hosts and their devices, one line per device and direction
//! (`--verbose`: every supported configuration; `--json`: all of it for programs).

use std::fmt::Write as _;
use std::io::Write as _;

use clap::Args;
use faltung::live::devices::{self, noise, DeviceReport, HostReport};

#[derive(Args)]
pub struct DevicesArgs {
    /// Only this host (e.g. alsa, jack).
    #[arg(long)]
    pub host: Option<String>,
    /// Every supported configuration of every device (channels, rates, formats, buffers).
    #[arg(long, short)]
    pub verbose: bool,
    /// Everything as JSON on standard output.
    #[arg(long, conflicts_with = "verbose")]
    pub json: bool,
}

/// Longest description shown on a line (the rest is cut with `...`).
const DESCRIPTION_CHARS: usize = 48;

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(n - 3).collect::<String>())
    }
}

fn dir_label(d: &DeviceReport) -> &'static str {
    match d.direction {
        devices::Direction::Input => "in",
        devices::Direction::Output => "out",
    }
}

/// One device as one line of the table; the advice for a device that did not open goes
/// to `advice` (printed once under the table).
fn row(host: &str, d: &DeviceReport, advice: &mut Vec<String>) -> [String; 9] {
    let note = if let Some(e) = &d.error {
        let short = match noise::advice(host, e, &noise::Noise::default()) {
            Some(a) => {
                if !advice.iter().any(|x| x == a) {
                    advice.push(a.to_string());
                }
                if a == noise::PIPEWIRE_DOWN {
                    "PipeWire is not running".to_string()
                } else {
                    cut(e, 40)
                }
            }
            None => cut(e, 40),
        };
        format!("  [cannot open: {short}]")
    } else if d.unusable.is_some() {
        "  [no clock: not for live use]".to_string()
    } else if !d.has_f32() && !d.configs.is_empty() {
        "  [no 32-bit float: not for live use]".to_string()
    } else {
        String::new()
    };
    let description = if d.name == d.id {
        String::new()
    } else {
        cut(d.name.lines().next().unwrap_or(""), DESCRIPTION_CHARS)
    };
    [
        host.to_string(),
        dir_label(d).to_string(),
        d.index.to_string(),
        format!("{}{}", d.id, if d.is_default { " *" } else { "" }),
        d.channels(),
        d.rates(),
        d.buffer(),
        description,
        note,
    ]
}

fn print_table(out: &mut String, rows: &[[String; 9]]) {
    let header = [
        "HOST",
        "DIR",
        "#",
        "DEVICE",
        "CHANNELS",
        "RATES (Hz)",
        "BUFFER",
        "DESCRIPTION",
        "",
    ];
    let mut widths = header.map(str::len);
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i == 7 {
                // The description and the note: no padding after the last columns.
                s.push_str(c);
                continue;
            }
            if i == 8 {
                s.push_str(c);
                continue;
            }
            s.push_str(&format!("{c:<w$}  ", w = widths[i]));
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(&header.map(str::to_string))).unwrap();
    for r in rows {
        writeln!(out, "{}", line(r)).unwrap();
    }
}

fn print_verbose(out: &mut String, h: &HostReport) {
    for d in h.inputs.iter().chain(&h.outputs) {
        writeln!(
            out,
            "{} {} [{}] {}{}{}",
            h.name,
            d.direction,
            d.index,
            d.id,
            if d.name != d.id {
                format!(" ({})", d.name.replace('\n', "; "))
            } else {
                String::new()
            },
            if d.is_default { " (default)" } else { "" }
        )
        .unwrap();
        if let Some(e) = &d.error {
            writeln!(out, "    cannot open: {e}").unwrap();
        }
        if let Some(u) = &d.unusable {
            writeln!(out, "    not for live use: {u}").unwrap();
        }
        for c in devices::summarize(&d.configs) {
            writeln!(out, "    {c}").unwrap();
        }
    }
}

/// Write `text` to stdout; a closed pipe (`faltung devices | head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

pub fn run(a: DevicesArgs) -> anyhow::Result<()> {
    // What ALSA and libjack print while devices are probed is caught and summarised.
    let capture = noise::Capture::start();
    let hosts = devices::report(a.host.as_deref());
    let noise = capture.map(|c| c.finish()).unwrap_or_default();
    noise.replay_other();
    let hosts = hosts?;
    if a.json {
        return emit(&format!("{}\n", serde_json::to_string_pretty(&hosts)?));
    }
    let mut out = String::new();
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut advice = Vec::new();
    for h in &hosts {
        let tag = if h.is_default { " (default host)" } else { "" };
        if !h.available {
            notes.push(format!("host {}{tag}: not available", h.name));
            continue;
        }
        if let Some(e) = &h.error {
            notes.push(format!("host {}{tag}: {e}", h.name));
            continue;
        }
        if h.inputs.is_empty() && h.outputs.is_empty() {
            let hint = h.hint.as_deref().unwrap_or("no devices");
            notes.push(format!("host {}{tag}: no devices; {hint}", h.name));
            continue;
        }
        if a.verbose {
            print_verbose(&mut out, h);
            continue;
        }
        for d in h.inputs.iter().chain(&h.outputs) {
            rows.push(row(&h.name, d, &mut advice));
        }
    }
    if !rows.is_empty() {
        print_table(&mut out, &rows);
        writeln!(
            out,
            "* = default device. Choose with --host HOST --input/--output DEVICE (or #, or a unique part of the description); --verbose for every configuration."
        )?;
    }
    for n in notes.iter().chain(&advice) {
        writeln!(out, "{n}")?;
    }
    if let Some(s) = noise.summary() {
        writeln!(out, "({s})")?;
    }
    emit(&out)
}
