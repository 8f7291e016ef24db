//! Windowed-sinc FIR filters, as `scipy.signal.firwin(numtaps, cutoff, window=...,
//! pass_zero=..., scale=True, fs=...)`.
//!
//! The ideal (brick-wall) response of each pass band is a difference of sincs centred on
//! the middle tap, multiplied by a symmetric window ([`Window`], as scipy's
//! `get_window(window, numtaps, fftbins=False)`), then scaled to unit gain at DC (when the
//! first band passes DC), at Nyquist (a single high-pass band) or else at the centre of
//! the first pass band. Cutoffs are in Hz and mark the -6 dB (half-amplitude) points. The
//! filters are linear-phase with a group delay of `(numtaps - 1) / 2` frames.

use super::window::Window;
use super::KernelError;

/// The pass type of a [`firwin`] design, cutoffs in Hz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Band {
    /// `pass_zero='lowpass'` (or `True`) with one cutoff.
    Lowpass { cutoff_hz: f64 },
    /// `pass_zero='highpass'` (or `False`) with one cutoff; needs an odd `numtaps`.
    Highpass { cutoff_hz: f64 },
    /// `pass_zero='bandpass'` with cutoffs `[low, high]`.
    Bandpass { low_hz: f64, high_hz: f64 },
    /// `pass_zero='bandstop'` with cutoffs `[low, high]`; needs an odd `numtaps`.
    Bandstop { low_hz: f64, high_hz: f64 },
}

/// `scipy.signal.firwin(numtaps, cutoff, window=window, pass_zero=..., scale=True,
/// fs=sample_rate_hz)` for one of the four usual pass types.
pub fn firwin(
    numtaps: usize,
    band: Band,
    window: Window,
    sample_rate_hz: f64,
) -> Result<Vec<f64>, KernelError> {
    match band {
        Band::Lowpass { cutoff_hz } => {
            firwin_bands(numtaps, &[cutoff_hz], true, window, sample_rate_hz)
        }
        Band::Highpass { cutoff_hz } => {
            firwin_bands(numtaps, &[cutoff_hz], false, window, sample_rate_hz)
        }
        Band::Bandpass { low_hz, high_hz } => {
            firwin_bands(numtaps, &[low_hz, high_hz], false, window, sample_rate_hz)
        }
        Band::Bandstop { low_hz, high_hz } => {
            firwin_bands(numtaps, &[low_hz, high_hz], true, window, sample_rate_hz)
        }
    }
}

/// `numpy.sinc`: `sin(pi x) / (pi x)`, 1 at 0.
fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let y = std::f64::consts::PI * x;
        y.sin() / y
    }
}

/// The general form, `scipy.signal.firwin(numtaps, cutoffs_hz, window=window,
/// pass_zero=pass_zero, scale=True, fs=sample_rate_hz)`: band edges in increasing order;
/// `pass_zero` says whether DC is in a pass band.
///
/// Errors, as scipy's: no cutoffs, a cutoff not strictly between 0 and the Nyquist
/// frequency, cutoffs not strictly increasing, an even `numtaps` when a pass band reaches
/// Nyquist (a type II filter is zero there); and `numtaps == 0` or a sample rate that is
/// not finite and positive.
pub fn firwin_bands(
    numtaps: usize,
    cutoffs_hz: &[f64],
    pass_zero: bool,
    window: Window,
    sample_rate_hz: f64,
) -> Result<Vec<f64>, KernelError> {
    let bad = |reason: String| KernelError::BadParameter {
        kernel: "firwin",
        reason,
    };
    if numtaps == 0 {
        return Err(bad("the number of taps must be at least 1".into()));
    }
    if !(sample_rate_hz.is_finite() && sample_rate_hz > 0.0) {
        return Err(bad(format!(
            "sample rate must be positive, got {sample_rate_hz} Hz"
        )));
    }
    if cutoffs_hz.is_empty() {
        return Err(bad("at least one cutoff frequency must be given".into()));
    }
    let nyq = 0.5 * sample_rate_hz;
    for &c in cutoffs_hz {
        if !(c > 0.0 && c < nyq) {
            return Err(bad(format!(
                "cutoff {} Hz must be greater than 0 and less than the Nyquist frequency \
                 {nyq} Hz (sample rate {sample_rate_hz} Hz)",
                crate::text::short_num(c)
            )));
        }
    }
    if cutoffs_hz.windows(2).any(|w| w[1] <= w[0]) {
        return Err(bad(format!(
            "cutoff frequencies must be strictly increasing, got {cutoffs_hz:?} Hz"
        )));
    }
    let pass_nyquist = (cutoffs_hz.len() % 2 == 0) == pass_zero;
    if pass_nyquist && numtaps % 2 == 0 {
        return Err(bad(format!(
            "a filter that passes the Nyquist frequency needs an odd number of taps, got {numtaps}"
        )));
    }

    // Band edges as fractions of Nyquist, padded with 0 and/or 1 so that they pair up
    // into pass bands.
    let mut edges = Vec::with_capacity(cutoffs_hz.len() + 2);
    if pass_zero {
        edges.push(0.0);
    }
    edges.extend(cutoffs_hz.iter().map(|&c| c / nyq));
    if pass_nyquist {
        edges.push(1.0);
    }

    let alpha = 0.5 * (numtaps as f64 - 1.0);
    let m: Vec<f64> = (0..numtaps).map(|k| k as f64 - alpha).collect();
    let mut h = vec![0.0f64; numtaps];
    for pair in edges.chunks_exact(2) {
        let (left, right) = (pair[0], pair[1]);
        for (hk, &mk) in h.iter_mut().zip(&m) {
            *hk += right * sinc(right * mk);
            *hk -= left * sinc(left * mk);
        }
    }
    let win = window.samples(numtaps);
    for (hk, wk) in h.iter_mut().zip(&win) {
        *hk *= wk;
    }

    // Unit gain at DC, at Nyquist, or at the centre of the first pass band.
    let (left, right) = (edges[0], edges[1]);
    let scale_frequency = if left == 0.0 {
        0.0
    } else if right == 1.0 {
        1.0
    } else {
        0.5 * (left + right)
    };
    let s: f64 = h
        .iter()
        .zip(&m)
        .map(|(hk, mk)| hk * (std::f64::consts::PI * mk * scale_frequency).cos())
        .sum();
    if !(s.is_finite() && s != 0.0) {
        return Err(bad(format!(
            "the design has zero gain at its reference frequency; use more taps \
             (numtaps = {numtaps})"
        )));
    }
    for hk in &mut h {
        *hk /= s;
    }
    Ok(h)
}
