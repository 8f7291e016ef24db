//! Subcommands of the `faltung` binary.

#[cfg(feature = "audio-io")]
pub mod devices;
#[cfg(feature = "audio-io")]
pub mod live;
pub mod kernel;
pub mod plan;
