//! `faltung devices`: audio hosts, their devices and the configurations they support.

use clap::Args;
use faltung::live::devices;

#[derive(Args)]
pub struct DevicesArgs {
    /// Only this host (e.g. alsa, jack).
    #[arg(long)]
    pub host: Option<String>,
}

pub fn run(a: DevicesArgs) -> anyhow::Result<()> {
    let hosts = devices::report(a.host.as_deref())?;
    for h in hosts {
        if !h.available {
            println!("host {}: not available", h.name);
            continue;
        }
        println!("host {}", h.name);
        if let Some(e) = &h.error {
            println!("  error: {e}");
            continue;
        }
        for (label, list) in [("input", &h.inputs), ("output", &h.outputs)] {
            if list.is_empty() {
                println!("  {label} devices: none");
                continue;
            }
            println!("  {label} devices:");
            for d in list {
                println!(
                    "    [{}] {}{}",
                    d.index,
                    d.name,
                    if d.is_default { " (default)" } else { "" }
                );
                for c in devices::summarize(&d.configs) {
                    println!("        {c}");
                }
            }
        }
    }
    Ok(())
}
