//! Resampling an impulse response to the stream's sample rate (rubato's synchronous FFT
//! resampler).
//!
//! An IR is a filter, not a signal: resampling its taps like a signal from rate `f_in` to
//! `f_out` multiplies the sum of the taps by `r = f_out / f_in` (there are `r` times as many
//! taps per second). To keep the filter's gain the taps are scaled by `1 / r`, so for an IR
//! whose content lies below both Nyquist frequencies:
//!
//! - the DC gain (sum of taps) is kept;
//! - the energy (sum of squared taps) becomes `energy / r`;
//! - times are kept in seconds: a peak at frame `n` moves to frame `n * r`.

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::{Kernel, KernelError};

/// Sample rates the resampler accepts (keeps its FFT sizes, and so its memory, bounded).
pub const RATE_RANGE_HZ: std::ops::RangeInclusive<u32> = 1000..=768_000;

/// Resample every channel of `k` (which must have a sample rate) to `to_hz`, scaling the
/// taps by `from / to` so the filter's DC gain is kept. The result is the resampled
/// length `ceil(len * to / from)` plus the resampler's decaying tail down to -180 dB re
/// peak, so the end of the IR is not cut.
pub fn resample_kernel(k: &Kernel, to_hz: u32) -> Result<Kernel, KernelError> {
    let from_hz = k.sample_rate_hz.ok_or_else(|| KernelError::BadOption {
        name: k.name.clone(),
        option: "resample",
        reason: "kernel has no sample rate".into(),
    })?;
    let err = |reason: String| KernelError::Resample {
        name: k.name.clone(),
        from_hz,
        to_hz,
        reason,
    };
    if from_hz == to_hz {
        return Ok(k.clone());
    }
    for rate in [from_hz, to_hz] {
        if !RATE_RANGE_HZ.contains(&rate) {
            return Err(err(format!(
                "{rate} Hz is outside the supported range {}..={} Hz",
                RATE_RANGE_HZ.start(),
                RATE_RANGE_HZ.end()
            )));
        }
    }
    // The length is known before any work: refuse one the engine could not hold.
    let len_out = (k.len_frames() as u128 * to_hz as u128).div_ceil(from_hz as u128);
    if len_out > crate::limits::MAX_IR_FRAMES as u128 {
        return Err(err(format!(
            "the result would be {len_out} frames ({:.1} s at {to_hz} Hz), more than the \
             limit of {} frames",
            len_out as f64 / to_hz as f64,
            crate::limits::MAX_IR_FRAMES
        )));
    }
    let ch = k.channel_count();
    // The FFT sizes are `n * rate / gcd(from, to)` for the `n` derived from the chunk
    // size; an even `n` keeps both FFT sizes even (with odd sizes rubato 4.0's FFT
    // resampler shifts the phase of tones, measured in this crate's tests).
    let gcd = gcd(from_hz as u64, to_hz as u64);
    let min_in = (from_hz as u64 / gcd) as usize;
    let min_out = (to_hz as u64 / gcd) as usize;
    // At least 1024 frames on both sides, so the anti-aliasing filter is sharp.
    let n = 1024usize.div_ceil(min_in).max(1024usize.div_ceil(min_out));
    let chunk = min_in * (n + n % 2);
    let mut resampler =
        Fft::<f64>::new(from_hz as usize, to_hz as usize, chunk, ch, FixedSync::Both)
            .map_err(|e| err(e.to_string()))?;
    let chunk_in = resampler.input_frames_next();
    let delay_out = resampler.output_delay();
    // Zero padding: keeps the resampler's ringing after the last tap and flushes its delay.
    // (Chunks are driven here rather than with `process_all`, whose delay trimming in
    // rubato 4.0 moves only part of the output.)
    let ratio = to_hz as f64 / from_hz as f64;
    let pad = 2 * chunk_in + (delay_out as f64 / ratio).ceil() as usize;
    let chunks = (k.len_frames() + pad).div_ceil(chunk_in);
    let len_in = chunks * chunk_in;
    let input: Vec<Vec<f64>> = k
        .channels
        .iter()
        .map(|c| {
            let mut v = c.clone();
            v.resize(len_in, 0.0);
            v
        })
        .collect();
    let out_cap = chunks * resampler.output_frames_max();
    let mut output = vec![vec![0.0f64; out_cap]; ch];
    let mut produced = 0;
    {
        let adapter =
            SequentialSliceOfVecs::new(&input, ch, len_in).map_err(|e| err(e.to_string()))?;
        let mut out_adapter = SequentialSliceOfVecs::new_mut(&mut output, ch, out_cap)
            .map_err(|e| err(e.to_string()))?;
        for c in 0..chunks {
            let indexing = Indexing {
                input_offset: c * chunk_in,
                output_offset: produced,
                partial_len: None,
                active_channels_mask: None,
            };
            let (_, n_out) = resampler
                .process_into_buffer(&adapter, &mut out_adapter, Some(&indexing))
                .map_err(|e| err(e.to_string()))?;
            produced += n_out;
        }
    }
    let scale = from_hz as f64 / to_hz as f64;
    let frames_out: Vec<Vec<f64>> = output
        .into_iter()
        .map(|c| {
            c[delay_out.min(produced)..produced]
                .iter()
                .map(|v| v * scale)
                .collect()
        })
        .collect();
    let mut channels = frames_out;
    let min_len = (k.len_frames() as u64 * to_hz as u64).div_ceil(from_hz as u64) as usize;
    let peak = channels
        .iter()
        .flatten()
        .fold(0.0f64, |m, &v| m.max(v.abs()));
    let thr = peak * 1e-9;
    let n = channels[0].len();
    let last = (0..n)
        .rev()
        .find(|&i| channels.iter().any(|c| c[i].abs() > thr))
        .unwrap_or(0);
    let keep = (last + 1).max(min_len).min(n);
    for c in &mut channels {
        c.truncate(keep);
    }
    Ok(Kernel {
        channels,
        sample_rate_hz: Some(to_hz),
        name: k.name.clone(),
    })
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
