//! Numbers that describe a kernel: DC gain, peak, energy, group delay, magnitude response
//! and its -3 dB / -6 dB points.

use realfft::RealFftPlanner;

use super::Kernel;

/// How the group delay of a channel was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayKind {
    /// Symmetric taps (linear phase): exactly `(L - 1) / 2`.
    Symmetric,
    /// Antisymmetric taps (linear phase, e.g. a derivative): exactly `(L - 1) / 2`.
    Antisymmetric,
    /// Not linear phase: the position of the largest absolute tap (for a room IR, the
    /// direct sound).
    Peak,
}

impl std::fmt::Display for DelayKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DelayKind::Symmetric => "linear phase, symmetric: (L-1)/2",
            DelayKind::Antisymmetric => "linear phase, antisymmetric: (L-1)/2",
            DelayKind::Peak => "not linear phase: position of the peak",
        })
    }
}

/// Numbers for one channel of a kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSummary {
    /// Sum of the taps (gain at 0 Hz).
    pub dc_gain: f64,
    /// Largest absolute tap value (signed value kept) and its frame.
    pub peak: f64,
    pub peak_frame: usize,
    /// Sum of squared taps.
    pub energy: f64,
    /// Group delay in frames and how it was found.
    pub group_delay_frames: f64,
    pub delay_kind: DelayKind,
    /// Energy centroid `sum(n h[n]^2) / sum(h[n]^2)` in frames.
    pub energy_centroid_frames: f64,
    /// -3 dB and -6 dB points (re the DC gain) as fractions of the sample rate (cycles per
    /// sample), from the magnitude response, for low-pass-like kernels: gain at DC within
    /// 1 dB of the maximum, the response falls below -6 dB before Nyquist and never comes
    /// back above -3 dB after that. `None` otherwise.
    pub cutoff_3db: Option<f64>,
    pub cutoff_6db: Option<f64>,
}

/// Numbers for a whole kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelSummary {
    pub len_frames: usize,
    pub sample_rate_hz: Option<u32>,
    pub channels: Vec<ChannelSummary>,
}

/// FFT size used for magnitude responses of a kernel of `len` taps: at least 16384 and at
/// least twice the next power of two of `len`.
pub fn response_fft_len(len: usize) -> usize {
    (2 * len.next_power_of_two()).max(16384)
}

/// Magnitude |H(f)| of `taps` at `n_fft / 2 + 1` equally spaced frequencies from 0 to the
/// Nyquist frequency (bin `k` is at `k / n_fft` cycles per sample). `n_fft >= taps.len()`.
pub fn magnitude_response(taps: &[f64], n_fft: usize) -> Vec<f64> {
    let n_fft = n_fft.max(taps.len()).max(2);
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n_fft);
    let mut buf = fft.make_input_vec();
    buf[..taps.len()].copy_from_slice(taps);
    let mut spec = fft.make_output_vec();
    // Lengths come from the plan itself, so this cannot fail.
    fft.process(&mut buf, &mut spec)
        .expect("buffers made by the plan");
    spec.iter().map(|c| c.norm()).collect()
}

fn delay_of(taps: &[f64]) -> (f64, DelayKind, usize) {
    let n = taps.len();
    let (peak_frame, peak) =
        taps.iter().enumerate().fold(
            (0, 0.0f64),
            |(i, m), (j, &v)| if v.abs() > m { (j, v.abs()) } else { (i, m) },
        );
    let tol = 1e-12 * peak.max(f64::MIN_POSITIVE);
    let sym = (0..n / 2).all(|i| (taps[i] - taps[n - 1 - i]).abs() <= tol);
    let anti = !sym && (0..n.div_ceil(2)).all(|i| (taps[i] + taps[n - 1 - i]).abs() <= tol);
    let lin = (n as f64 - 1.0) / 2.0;
    if sym {
        (lin, DelayKind::Symmetric, peak_frame)
    } else if anti {
        (lin, DelayKind::Antisymmetric, peak_frame)
    } else {
        (peak_frame as f64, DelayKind::Peak, peak_frame)
    }
}

/// Frequency (cycles per sample) where `mag` first falls below `level` after DC, linearly
/// interpolated between bins.
fn first_crossing(mag: &[f64], n_fft: usize, level: f64) -> Option<f64> {
    let k = mag.iter().position(|&m| m < level)?;
    if k == 0 {
        return None;
    }
    let (a, b) = (mag[k - 1], mag[k]);
    let t = if a != b { (a - level) / (a - b) } else { 0.0 };
    Some((k as f64 - 1.0 + t) / n_fft as f64)
}

fn channel_summary(taps: &[f64]) -> ChannelSummary {
    let dc_gain: f64 = taps.iter().sum();
    let energy: f64 = taps.iter().map(|v| v * v).sum();
    let (group_delay_frames, delay_kind, peak_frame) = delay_of(taps);
    let energy_centroid_frames = if energy > 0.0 {
        taps.iter()
            .enumerate()
            .map(|(i, v)| i as f64 * v * v)
            .sum::<f64>()
            / energy
    } else {
        0.0
    };
    let n_fft = response_fft_len(taps.len());
    let mag = magnitude_response(taps, n_fft);
    let max = mag.iter().cloned().fold(0.0f64, f64::max);
    let dc = mag[0];
    let lowpass_like = dc > 0.0 && dc >= max * 10f64.powf(-1.0 / 20.0);
    let l3 = dc * 10f64.powf(-3.0 / 20.0);
    let l6 = dc * 10f64.powf(-6.0 / 20.0);
    let (cutoff_3db, cutoff_6db) = match (
        lowpass_like,
        first_crossing(&mag, n_fft, l3),
        first_crossing(&mag, n_fft, l6),
    ) {
        // Low-pass-like: once below -6 dB, the response never comes back above -3 dB.
        (true, Some(f3), Some(f6))
            if mag[(f6 * n_fft as f64).ceil() as usize..]
                .iter()
                .all(|&m| m < l3) =>
        {
            (Some(f3), Some(f6))
        }
        _ => (None, None),
    };
    ChannelSummary {
        dc_gain,
        peak: taps[peak_frame],
        peak_frame,
        energy,
        group_delay_frames,
        delay_kind,
        energy_centroid_frames,
        cutoff_3db,
        cutoff_6db,
    }
}

/// Summarise every channel of a kernel.
pub fn summarize(k: &Kernel) -> KernelSummary {
    KernelSummary {
        len_frames: k.len_frames(),
        sample_rate_hz: k.sample_rate_hz,
        channels: k
            .channels
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| channel_summary(c))
            .collect(),
    }
}

/// Channel names for messages: `L`/`R` for 2 channels, `LL`/`LR`/`RL`/`RR` for 4
/// (`LR` = left input to right output), numbers otherwise.
pub fn channel_names(count: usize) -> Vec<String> {
    match count {
        1 => vec!["mono".into()],
        2 => vec!["L".into(), "R".into()],
        4 => ["LL", "LR", "RL", "RR"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        n => (0..n).map(|i| format!("ch{i}")).collect(),
    }
}
