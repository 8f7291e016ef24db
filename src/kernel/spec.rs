//! Kernel spec strings shared by the CLI and the library: `flat:15`, `hann:31`, ...

use super::{Kernel, KernelError};

/// Parse a kernel spec. `sample_rate_hz` is needed by specs with cutoffs in Hz.
pub fn parse(spec: &str, sample_rate_hz: Option<u32>) -> Result<Kernel, KernelError> {
    let bad = |reason: &str| KernelError::BadSpec {
        spec: spec.to_string(),
        reason: reason.to_string(),
    };
    let (name, args) = spec.split_once(':').unwrap_or((spec, ""));
    match name {
        "flat" => {
            let n: usize = args
                .trim()
                .parse()
                .map_err(|_| bad("expected a length, e.g. flat:15"))?;
            if n == 0 {
                return Err(bad("length must be at least 1"));
            }
            Ok(Kernel {
                channels: vec![vec![1.0 / n as f64; n]],
                sample_rate_hz,
                name: spec.to_string(),
            })
        }
        _ => Err(bad("unknown kernel name")),
    }
}
