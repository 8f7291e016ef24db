//! Subcommands of the `faltung` binary.

pub mod plan;
pub mod process;
