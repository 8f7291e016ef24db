//! The one error type of the audio-file room. Every variant names the file.

use std::path::PathBuf;

/// Errors reading or writing audio files. Always names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioFileError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a readable audio file: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("{path}: unsupported audio format: {reason}")]
    Unsupported { path: PathBuf, reason: String },
    #[error("{path}: truncated or unreadable sample data after frame {frame}: {reason}")]
    Truncated {
        path: PathBuf,
        frame: u64,
        reason: String,
    },
    #[error("{path}: sample {frame} on channel {channel} is not finite (NaN or Inf)")]
    NonFinite {
        path: PathBuf,
        frame: u64,
        channel: usize,
    },
    #[error("{path}: cannot write: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("{path}: the file has no audio frames")]
    Empty { path: PathBuf },
    #[error("{path}: already exists (use --force to overwrite)")]
    Exists { path: PathBuf },
    #[error("{path}: cannot write here: {source}")]
    Destination {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl AudioFileError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            AudioFileError::Open { path, .. }
            | AudioFileError::Malformed { path, .. }
            | AudioFileError::Unsupported { path, .. }
            | AudioFileError::Truncated { path, .. }
            | AudioFileError::NonFinite { path, .. }
            | AudioFileError::Write { path, .. }
            | AudioFileError::Empty { path }
            | AudioFileError::Exists { path }
            | AudioFileError::Destination { path, .. } => path,
        }
    }
}
