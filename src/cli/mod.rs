//! Subcommands of the `faltung` binary.

pub mod plan;
