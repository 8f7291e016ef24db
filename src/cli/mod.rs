//! Subcommands of the `faltung` binary.

pub mod bench;
#[cfg(feature = "audio-io")]
pub mod devices;
pub mod kernel;
#[cfg(feature = "audio-io")]
pub mod live;
#[cfg(feature = "audio-io")]
pub mod measure;
pub mod plan;
pub mod process;
#[cfg(feature = "audio-io")]
pub mod status;
pub mod sweep;

/// The error and its causes on one line, leaving out causes the message already quotes.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut s = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if s.is_empty() {
            s = c;
        } else if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
    }
    s.replace('\n', " ")
}
