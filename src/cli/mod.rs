//! Subcommands of the `faltung` binary.

pub mod kernel;
pub mod plan;
pub mod process;
