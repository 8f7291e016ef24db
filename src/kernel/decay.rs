//! Reverberation time by Schroeder backward integration (ISO 3382-1): the energy decay
//! curve `EDC(t) = sum_{n >= t} h[n]^2`, in dB re its start, and the least-squares line
//! through it from -5 dB to -25 dB (T20) or -35 dB (T30), extrapolated to a 60 dB decay.
//! The integral runs to the end of the IR as given: cut the IR where it meets the noise
//! floor first, or the noise flattens the curve's end.

/// Decay times of one channel, in seconds. `None` where the curve does not fall far
/// enough (an IR shorter than its decay, or a kernel that is not a reverb).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decay {
    pub t20_s: Option<f64>,
    pub t30_s: Option<f64>,
}

/// The energy decay curve in dB re the total energy (0 dB at index 0). Empty for a silent
/// IR.
pub fn energy_decay_db(h: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    let mut edc: Vec<f64> = h
        .iter()
        .rev()
        .map(|v| {
            acc += v * v;
            acc
        })
        .collect();
    edc.reverse();
    let total = edc.first().copied().unwrap_or(0.0);
    if total <= 0.0 {
        return Vec::new();
    }
    edc.iter()
        .map(|&e| 10.0 * (e / total).max(1e-300).log10())
        .collect()
}

/// The 60 dB decay time from the line fitted to `edc_db` between `-5` and `-5 - range_db`.
fn fit(edc_db: &[f64], rate_hz: f64, range_db: f64) -> Option<f64> {
    let start = edc_db.iter().position(|&v| v <= -5.0)?;
    let end = edc_db.iter().position(|&v| v <= -5.0 - range_db)?;
    if end < start + 2 {
        return None;
    }
    let pts = &edc_db[start..=end];
    let n = pts.len() as f64;
    let mean_x = (start + end) as f64 / 2.0;
    let mean_y = pts.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, &y) in pts.iter().enumerate() {
        let dx = (start + i) as f64 - mean_x;
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    let slope_db_per_frame = sxy / sxx;
    (slope_db_per_frame < 0.0).then(|| -60.0 / slope_db_per_frame / rate_hz)
}

/// T20 and T30 of `h` at `rate_hz`.
pub fn decay_times(h: &[f64], rate_hz: u32) -> Decay {
    let edc = energy_decay_db(h);
    let r = f64::from(rate_hz);
    Decay {
        t20_s: fit(&edc, r, 20.0),
        t30_s: fit(&edc, r, 30.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn an_exponential_decay_gives_its_closed_form_time() {
        // h[n]^2 ~ exp(-2 k n) falls 60 dB in T = 3 ln(10) / k / rate seconds... per frame:
        // 10 log10(exp(-2 k)) dB = -60 / (T rate).
        let rate = 48_000u32;
        let t60 = 0.8;
        let k = 3.0 * 10f64.ln() / (t60 * f64::from(rate));
        // Long enough that the truncation does not bend the curve before -35 dB.
        let h: Vec<f64> = (0..(3.0 * t60 * f64::from(rate)) as usize)
            .map(|n| (-k * n as f64).exp())
            .collect();
        let d = decay_times(&h, rate);
        assert!((d.t20_s.unwrap() - t60).abs() < 0.01 * t60, "{d:?}");
        assert!((d.t30_s.unwrap() - t60).abs() < 0.01 * t60, "{d:?}");
        // Noise under the same envelope: close to it (the EDC smooths the noise).
        let mut g = SplitMix64::new(3);
        let noisy: Vec<f64> = h.iter().map(|v| v * f64::from(g.next_bipolar())).collect();
        let d = decay_times(&noisy, rate);
        assert!((d.t30_s.unwrap() - t60).abs() < 0.05 * t60, "{d:?}");
    }

    #[test]
    fn a_kernel_that_does_not_decay_gradually_has_no_decay_time() {
        // All the energy in the first tap: the curve drops at once, no line to fit.
        let d = decay_times(&[1.0, 0.0, 0.0, 0.0], 48_000);
        assert_eq!((d.t20_s, d.t30_s), (None, None));
        // A silent IR has no curve at all.
        assert!(energy_decay_db(&[0.0; 10]).is_empty());
        assert_eq!(decay_times(&[0.0; 10], 48_000).t20_s, None);
    }
}
