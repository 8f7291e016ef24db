//! The errors of the live path.

use std::path::PathBuf;

use super::devices::Direction;
use crate::error::EngineError;

/// Errors of the live path. Device problems list what is available.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    #[error("unknown audio host `{name}`; hosts: {available}")]
    UnknownHost { name: String, available: String },
    #[error("audio host {name} is not available: {reason}")]
    HostUnavailable { name: String, reason: String },
    #[error("no {direction} device `{wanted}` on host {host}; {direction} devices: {available}")]
    NoDevice {
        direction: Direction,
        host: String,
        wanted: String,
        available: String,
    },
    #[error("{direction} device `{device}` does not support {wanted}; it supports: {available}")]
    UnsupportedConfig {
        direction: Direction,
        device: String,
        wanted: String,
        available: String,
    },
    #[error("cannot open {direction} stream on `{device}`: {reason}")]
    Stream {
        direction: Direction,
        device: String,
        reason: String,
    },
    #[error("kernel `{name}`: {source}")]
    Engine {
        name: String,
        #[source]
        source: EngineError,
    },
    #[error("{path}: cannot record: {reason}")]
    Record { path: PathBuf, reason: String },
    #[error("invalid setting: {what}")]
    Invalid { what: String },
    #[error("cannot start thread: {reason}")]
    Thread { reason: String },
    #[error("--connect-{direction} `{port}`: {problem}; ports faltung's {direction} can be connected to: {available}")]
    NoPort {
        direction: Direction,
        port: String,
        problem: String,
        available: String,
    },
    #[error("cannot connect faltung's JACK ports: {reason}")]
    Connect { reason: String },
    #[error(transparent)]
    Device(#[from] super::devices::DeviceError),
}
