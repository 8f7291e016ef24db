//! The synchronized exponential sine sweep and its deconvolution (Farina 2000; Novak,
//! Lotton and Simon, "Synchronized swept-sine: theory, application and implementation",
//! JAES 2015).
//!
//! The sweep is `x(t) = sin(2 pi f0 L (exp(t / L) - 1))` with `L = round(f0 T / ln(f1 /
//! f0)) / f0`: `f0 L` is a whole number, so the k-th harmonic of the sweep is the sweep
//! itself advanced by exactly `L ln(k)` seconds, and a memoryless nonlinearity's harmonic
//! impulse responses appear that far before the linear one. Its start is faded in over a
//! twelfth of an octave and its end faded out over a twenty-fourth (raised cosines).
//!
//! [`deconvolve_sweep`] divides the recording's spectrum by the sweep's (the exact sweep,
//! fades included) inside the sweep's band, and regularises outside it (Kirkeby: the
//! divisor `|X|^2 + eps(f)`, with `eps` the sweep's peak power beyond each band edge), so nothing blows up where the sweep has no energy. The
//! band and `L` are read from the sweep itself: its group delay `tau(f) = L ln(f / f0)`
//! is fitted over the frequencies where it has energy, so any exponential sweep file
//! works, not only faltung's.

use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

/// Errors of sweep generation and deconvolution.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    #[error("invalid sweep setting: {what}")]
    Invalid { what: String },
    #[error("the sweep is silent")]
    SilentSweep,
    #[error(
        "the sweep does not look like an exponential sine sweep (its group delay departs \
         from L ln(f) by {residual_ms:.1} ms rms)"
    )]
    NotExponential { residual_ms: f64 },
    #[error("the recording ({recording} frames) is shorter than the sweep ({sweep} frames)")]
    RecordingTooShort { recording: usize, sweep: usize },
    #[error("the recording has no channels")]
    NoChannels,
}

/// The parameters of an exponential sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepInfo {
    pub rate_hz: u32,
    pub f0_hz: f64,
    pub f1_hz: f64,
    /// The rate of the exponential: the instantaneous frequency is `f0 exp(t / L)`.
    pub l_s: f64,
    /// Frames from the start to the last non-zero sample.
    pub active_frames: usize,
}

impl SweepInfo {
    /// Where the k-th harmonic's impulse response sits before the linear one, in seconds.
    pub fn harmonic_advance_s(&self, k: usize) -> f64 {
        self.l_s * (k as f64).ln()
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct SweepSpec {
    pub rate_hz: u32,
    pub seconds: f64,
    pub f0_hz: f64,
    pub f1_hz: f64,
    /// Peak level in dBFS.
    pub level_db: f64,
    pub silence_s: f64,
}

fn invalid(what: String) -> SweepError {
    SweepError::Invalid { what }
}

/// The synchronized sweep followed by silence, and its parameters.
pub fn synchronized_sweep(spec: &SweepSpec) -> Result<(Vec<f64>, SweepInfo), SweepError> {
    let fs = f64::from(spec.rate_hz);
    if spec.rate_hz == 0 {
        return Err(invalid("--rate 0: must be above 0 Hz".into()));
    }
    if !(spec.f0_hz.is_finite() && spec.f0_hz > 0.0) {
        return Err(invalid(format!("--f0 {} Hz: must be above 0", spec.f0_hz)));
    }
    if !(spec.f1_hz.is_finite() && spec.f1_hz > spec.f0_hz && spec.f1_hz <= fs / 2.0) {
        return Err(invalid(format!(
            "--f1 {} Hz: must be above --f0 ({} Hz) and at most half the rate ({} Hz)",
            spec.f1_hz,
            spec.f0_hz,
            fs / 2.0
        )));
    }
    if !(spec.seconds.is_finite() && spec.seconds > 0.0 && spec.seconds <= 600.0) {
        return Err(invalid(format!(
            "--seconds {}: must be above 0 and at most 600",
            spec.seconds
        )));
    }
    if !(spec.silence_s.is_finite() && (0.0..=600.0).contains(&spec.silence_s)) {
        return Err(invalid(format!(
            "--silence {}: must be 0 to 600 seconds",
            spec.silence_s
        )));
    }
    if !(spec.level_db.is_finite() && spec.level_db <= 0.0) {
        return Err(invalid(format!(
            "--level {} dB: must be at most 0 dBFS",
            spec.level_db
        )));
    }
    let ratio = (spec.f1_hz / spec.f0_hz).ln();
    let cycles = (spec.f0_hz * spec.seconds / ratio).round();
    if cycles < 1.0 {
        return Err(invalid(format!(
            "a {} s sweep from {} Hz is too short to be synchronized (f0 L rounds to 0)",
            spec.seconds, spec.f0_hz
        )));
    }
    let l = cycles / spec.f0_hz;
    let t = l * ratio;
    let active = (t * fs).ceil() as usize;
    let amp = 10f64.powf(spec.level_db / 20.0);
    let fade_in = ((l * 2f64.ln() / 12.0 * fs).round() as usize).clamp(1, active / 2);
    let fade_out = ((l * 2f64.ln() / 24.0 * fs).round() as usize).clamp(1, active / 2);
    let silence = (spec.silence_s * fs).round() as usize;
    let mut x = vec![0.0; active + silence];
    for (n, v) in x[..active].iter_mut().enumerate() {
        let tn = n as f64 / fs;
        let phase = 2.0 * std::f64::consts::PI * spec.f0_hz * l * ((tn / l).exp() - 1.0);
        let mut g = amp;
        if n < fade_in {
            g *= 0.5 - 0.5 * (std::f64::consts::PI * n as f64 / fade_in as f64).cos();
        }
        let from_end = active - 1 - n;
        if from_end < fade_out {
            g *= 0.5 - 0.5 * (std::f64::consts::PI * from_end as f64 / fade_out as f64).cos();
        }
        *v = g * phase.sin();
    }
    let info = SweepInfo {
        rate_hz: spec.rate_hz,
        f0_hz: spec.f0_hz,
        f1_hz: spec.f0_hz * (t / l).exp(),
        l_s: l,
        active_frames: active,
    };
    Ok((x, info))
}

fn spectrum(x: &[f64], n: usize, planner: &mut RealFftPlanner<f64>) -> Vec<Complex<f64>> {
    let fwd = planner.plan_fft_forward(n);
    let mut buf = vec![0.0; n];
    buf[..x.len()].copy_from_slice(x);
    let mut out = fwd.make_output_vec();
    fwd.process(&mut buf, &mut out).expect("FFT lengths");
    out
}

/// Reads an exponential sweep's band and `L` from the signal (see the module doc).
pub fn analyse_sweep(x: &[f64], rate_hz: u32) -> Result<SweepInfo, SweepError> {
    let active = x
        .iter()
        .rposition(|v| *v != 0.0)
        .map(|i| i + 1)
        .ok_or(SweepError::SilentSweep)?;
    let x = &x[..active];
    let fs = f64::from(rate_hz);
    let n = (2 * active).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let spec_x = spectrum(x, n, &mut planner);
    let nx: Vec<f64> = x.iter().enumerate().map(|(i, v)| i as f64 * v).collect();
    let spec_nx = spectrum(&nx, n, &mut planner);
    // An exponential sweep's power falls as 1/f: P(f) f is flat over its band.
    let pf: Vec<f64> = spec_x
        .iter()
        .enumerate()
        .map(|(k, c)| c.norm_sqr() * k as f64)
        .collect();
    let max = pf.iter().cloned().fold(0.0, f64::max);
    let band: Vec<usize> = (1..spec_x.len()).filter(|&k| pf[k] >= 0.1 * max).collect();
    if band.len() < 8 {
        return Err(SweepError::NotExponential {
            residual_ms: f64::INFINITY,
        });
    }
    // Group delay tau = Re(FFT(n x) / FFT(x)) frames, fitted as a + L ln(f).
    let pts: Vec<(f64, f64)> = band
        .iter()
        .map(|&k| {
            let f = k as f64 * fs / n as f64;
            let tau = (spec_nx[k] / spec_x[k]).re / fs;
            (f.ln(), tau)
        })
        .collect();
    let m = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / m;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / m;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let l = sxy / sxx;
    let a = my - l * mx;
    let residual = (pts.iter().map(|p| (p.1 - a - l * p.0).powi(2)).sum::<f64>() / m).sqrt();
    let duration = active as f64 / fs;
    if l.is_nan() || l <= 0.0 || residual > 0.02 * duration {
        return Err(SweepError::NotExponential {
            residual_ms: residual * 1e3,
        });
    }
    let f0 = (-a / l).exp();
    let f1 = (f0 * (duration / l).exp()).min(fs / 2.0);
    Ok(SweepInfo {
        rate_hz,
        f0_hz: f0,
        f1_hz: f1,
        l_s: l,
        active_frames: active,
    })
}

/// The result of [`deconvolve_sweep`].
#[derive(Debug, Clone)]
pub struct Deconvolved {
    pub sweep: SweepInfo,
    /// One linear IR per recorded channel, time zero at the sweep's start.
    pub irs: Vec<Vec<f64>>,
    /// `harmonics[k - 2][channel]`: the k-th harmonic's IR, aligned to its own time zero
    /// (`L ln k` before the linear one).
    pub harmonics: Vec<Vec<Vec<f64>>>,
}

/// 0 inside `[lo, hi]`, 1 outside: the sweep's own power falls smoothly at its edges, so
/// the regularised inverse `X* / (|X|^2 + eps)` does too, without amplifying the noise
/// where the sweep has ended but a tapered `eps` would still be small.
fn outside_band(f: f64, lo: f64, hi: f64) -> f64 {
    if f < lo || f > hi {
        1.0
    } else {
        0.0
    }
}

/// Deconvolves `recording` (one slice per channel, time zero at the sweep's start) by the
/// sweep `sweep`: IRs of `length_frames` (default: the recording's length minus the
/// sweep's), and the 2nd..`harmonics`th harmonic IRs (none below 2).
pub fn deconvolve_sweep(
    recording: &[Vec<f64>],
    sweep: &[f64],
    rate_hz: u32,
    length_frames: Option<usize>,
    harmonics: usize,
) -> Result<Deconvolved, SweepError> {
    let info = analyse_sweep(sweep, rate_hz)?;
    let rec_len = recording.first().ok_or(SweepError::NoChannels)?.len();
    if rec_len < info.active_frames {
        return Err(SweepError::RecordingTooShort {
            recording: rec_len,
            sweep: info.active_frames,
        });
    }
    let length = length_frames.unwrap_or(rec_len - info.active_frames).max(1);
    if length > rec_len {
        return Err(invalid(format!(
            "--length: {length} frames is longer than the recording ({rec_len} frames)"
        )));
    }
    let fs = f64::from(rate_hz);
    let n = (rec_len + info.active_frames).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let x = spectrum(&sweep[..info.active_frames], n, &mut planner);
    let peak_power = x.iter().map(|c| c.norm_sqr()).fold(0.0, f64::max);
    let inverse: Vec<Complex<f64>> = x
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let f = k as f64 * fs / n as f64;
            let eps = peak_power * (1e-12 + outside_band(f, info.f0_hz, info.f1_hz));
            c.conj() / (c.norm_sqr() + eps) / n as f64
        })
        .collect();
    let inv_fft = planner.plan_fft_inverse(n);
    let mut irs = Vec::with_capacity(recording.len());
    let mut harm: Vec<Vec<Vec<f64>>> = vec![Vec::new(); harmonics.saturating_sub(1)];
    for ch in recording {
        let y = spectrum(ch, n, &mut planner);
        let h: Vec<Complex<f64>> = y.iter().zip(&inverse).map(|(a, b)| a * b).collect();
        let mut time = vec![0.0; n];
        let mut tmp = h.clone();
        tmp[0].im = 0.0;
        if let Some(last) = tmp.last_mut() {
            last.im = 0.0;
        }
        inv_fft.process(&mut tmp, &mut time).expect("FFT lengths");
        irs.push(time[..length].to_vec());
        for (i, out) in harm.iter_mut().enumerate() {
            let k = i + 2;
            // The harmonic sits at -L ln k (wrapped to the end of the buffer): delay it by
            // that much (a fractional shift, exact in the frequency domain), and
            // keep up to where the (k-1)th harmonic starts.
            let shift = info.harmonic_advance_s(k) * fs;
            let room = (info.l_s * (k as f64 / (k - 1) as f64).ln() * fs) as usize;
            let mut tmp: Vec<Complex<f64>> = h
                .iter()
                .enumerate()
                .map(|(b, c)| {
                    let w = 2.0 * std::f64::consts::PI * b as f64 / n as f64;
                    c * Complex::from_polar(1.0, -w * shift)
                })
                .collect();
            tmp[0].im = 0.0;
            if let Some(last) = tmp.last_mut() {
                last.im = 0.0;
            }
            inv_fft.process(&mut tmp, &mut time).expect("FFT lengths");
            out.push(time[..length.min(room.max(1))].to_vec());
        }
    }
    Ok(Deconvolved {
        sweep: info,
        irs,
        harmonics: harm,
    })
}

/// Where an IR's peak is, and its peak against the noise floor: the rms of its last tenth
/// (which should be past the decay) in dB; `None` where that is silent.
pub fn peak_and_snr(h: &[f64]) -> (usize, Option<f64>) {
    let (pos, peak) =
        h.iter().enumerate().fold(
            (0, 0.0f64),
            |(p, m), (i, v)| if v.abs() > m { (i, v.abs()) } else { (p, m) },
        );
    let tail = &h[h.len() - (h.len() / 10).max(1)..];
    let rms = (tail.iter().map(|v| v * v).sum::<f64>() / tail.len() as f64).sqrt();
    let snr = (rms > 0.0 && peak > 0.0).then(|| 20.0 * (peak / rms).log10());
    (pos, snr)
}
