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
