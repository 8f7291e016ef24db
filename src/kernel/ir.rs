//! Impulse responses from WAV files.

use std::path::Path;

use super::{Kernel, KernelError};

/// How to load an impulse response.
#[derive(Debug, Clone, PartialEq)]
pub struct IrOptions {
    /// Longest IR accepted, in seconds (a wrong file must not eat all memory).
    pub max_seconds: f64,
}

impl Default for IrOptions {
    fn default() -> Self {
        IrOptions { max_seconds: 60.0 }
    }
}

/// Load an impulse response from a WAV file: every channel, as `f64` in [-1, 1].
pub fn load_ir(path: &Path, opts: &IrOptions) -> Result<Kernel, KernelError> {
    let p = path.to_path_buf();
    let file = std::fs::File::open(path).map_err(|source| KernelError::Open {
        path: p.clone(),
        source,
    })?;
    let reader = hound::WavReader::new(std::io::BufReader::new(file)).map_err(|source| {
        KernelError::Wav {
            path: p.clone(),
            source,
        }
    })?;
    let spec = reader.spec();
    let ch = spec.channels as usize;
    let frames = reader.duration() as usize;
    let limit = (opts.max_seconds * spec.sample_rate as f64) as usize;
    if frames > limit {
        return Err(KernelError::TooLong {
            path: p,
            frames,
            seconds: frames as f64 / spec.sample_rate as f64,
            limit_seconds: opts.max_seconds,
        });
    }
    let samples: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .into_samples::<f32>()
            .map(|s| s.map(|v| v as f64))
            .collect::<Result<_, _>>(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f64;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f64 * scale))
                .collect::<Result<_, _>>()
        }
    }
    .map_err(|source| KernelError::Wav {
        path: p.clone(),
        source,
    })?;
    if samples.is_empty() {
        return Err(KernelError::EmptyFile { path: p });
    }
    let mut channels = vec![Vec::with_capacity(samples.len() / ch); ch];
    for (i, v) in samples.iter().enumerate() {
        if !v.is_finite() {
            return Err(KernelError::NonFinite {
                path: p,
                frame: i / ch,
                channel: i % ch,
            });
        }
        channels[i % ch].push(*v);
    }
    if samples.iter().all(|&v| v == 0.0) {
        return Err(KernelError::AllZero { path: p });
    }
    Ok(Kernel {
        channels,
        sample_rate_hz: Some(spec.sample_rate),
        name: path.display().to_string(),
    })
}
