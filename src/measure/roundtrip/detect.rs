//! Finding the harness's impulses in what faltung played: the response each output port
//! should carry for an impulse ([`expected_responses`]), and where it is, by matching that
//! response against the capture ([`detect`]), so that a kernel's own delay does not count
//! as latency.

use crate::convolve::{convolve, Method, Mode};
use crate::engine::Routing;
use crate::kernel::Kernel;

use super::{RoundTripError, AMPLITUDE};

/// What each of faltung's `output_channels` device ports plays for a unit impulse on every
/// one of its `input_channels` (the harness feeds all of them): the sum of the kernels
/// routed to the engine output that the port carries, at wet 1 and gain 0 dB (as
/// [`Session::start`] is called here).
pub fn expected_responses(
    kernel: &Kernel,
    input_channels: usize,
    output_channels: usize,
) -> Result<Vec<Vec<f64>>, RoundTripError> {
    let routing = Routing::auto(input_channels, kernel.channel_count()).map_err(|e| {
        RoundTripError::Invalid {
            what: format!("{}: {e}", kernel.name),
        }
    })?;
    let eng_out = routing.output_channels.max(1);
    let per_engine_output: Vec<Vec<f64>> = (0..eng_out)
        .map(|o| {
            let mut r = vec![0.0; kernel.len_frames()];
            for p in routing.paths.iter().filter(|p| p.output == o) {
                for (acc, v) in r.iter_mut().zip(&kernel.channels[p.ir]) {
                    *acc += v;
                }
            }
            r
        })
        .collect();
    // The pipeline maps device channel c to engine output c % engine outputs.
    Ok((0..output_channels)
        .map(|c| per_engine_output[c % eng_out].clone())
        .collect())
}

/// Find one impulse's response in `captured` (one slice per output port), which starts at
/// the frame the impulse was played: the lag in `0..=max_lag` at which the summed
/// cross-correlation with the expected responses peaks, and the largest difference from the
/// expected response at that lag relative to the response's peak, `amplitude` being the
/// impulse's. `None` if the captured audio does not correlate with the response at all.
pub fn detect(
    captured: &[&[f32]],
    expected: &[Vec<f64>],
    max_lag: usize,
    amplitude: f64,
) -> Option<(usize, f64)> {
    let mut total = vec![0.0f64; max_lag + 1];
    for (cap, resp) in captured.iter().zip(expected) {
        if resp.iter().all(|&v| v == 0.0) {
            continue;
        }
        let window: Vec<f64> = cap
            .iter()
            .take(max_lag + resp.len())
            .map(|&v| f64::from(v))
            .chain(std::iter::repeat(0.0))
            .take(max_lag + resp.len())
            .collect();
        let reversed: Vec<f64> = resp.iter().rev().copied().collect();
        // 'valid': corr[s] = sum_k window[s + k] * resp[k], s = 0..=max_lag.
        let corr = convolve(&window, &reversed, Mode::Valid, Method::Auto).ok()?;
        for (t, v) in total.iter_mut().zip(corr) {
            *t += v;
        }
    }
    let (lag, &best) = total.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    if best.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let peak = expected
        .iter()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        * amplitude;
    let mut err = 0.0f64;
    for (cap, resp) in captured.iter().zip(expected) {
        for (t, &got) in cap.iter().take(max_lag + resp.len()).enumerate() {
            let want = t
                .checked_sub(lag)
                .and_then(|k| resp.get(k))
                .map_or(0.0, |v| amplitude * v);
            err = err.max((f64::from(got) - want).abs());
        }
    }
    Some((lag, err / peak))
}

pub(super) fn detect_all(
    capture: &[Vec<f32>],
    expected: &[Vec<f64>],
    starts: &[usize],
    max_lag: usize,
) -> Result<Vec<(usize, f64)>, RoundTripError> {
    starts
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let windows: Vec<&[f32]> = capture.iter().map(|c| &c[t.min(c.len())..]).collect();
            detect(&windows, expected, max_lag, f64::from(AMPLITUDE)).ok_or(
                RoundTripError::NoResponse {
                    index: i + 1,
                    count: starts.len(),
                    window_frames: max_lag,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kernel with 40 leading zeros and a smooth body, as f32 audio placed at `lag`.
    fn delayed_kernel() -> Vec<f64> {
        let mut k = vec![0.0; 40];
        k.extend((0..200).map(|i| (-(i as f64) / 50.0).exp() * ((i as f64) * 0.3).sin()));
        k
    }

    fn place(resp: &[f64], lag: usize, len: usize, amplitude: f64) -> Vec<f32> {
        let mut v = vec![0.0f32; len];
        for (i, r) in resp.iter().enumerate() {
            if lag + i < len {
                v[lag + i] = (amplitude * r) as f32;
            }
        }
        v
    }

    fn kernel(channels: &[&[f64]]) -> Kernel {
        Kernel {
            channels: channels.iter().map(|c| c.to_vec()).collect(),
            sample_rate_hz: None,
            name: "k".into(),
        }
    }

    #[test]
    fn expected_responses_follow_the_routing_for_an_impulse_on_every_input() {
        // True stereo (LL, LR, RL, RR), the same impulse on both inputs: left output hears
        // LL + RL, right output LR + RR.
        let k = kernel(&[&[1.0, 0.0], &[0.0, 2.0], &[4.0, 0.0], &[0.0, 8.0]]);
        let e = expected_responses(&k, 2, 2).unwrap();
        assert_eq!(e, vec![vec![5.0, 0.0], vec![0.0, 10.0]]);
        // Mono in, stereo IR: one IR per output.
        let k = kernel(&[&[1.0, 2.0], &[3.0, 4.0]]);
        let e = expected_responses(&k, 1, 2).unwrap();
        assert_eq!(e, vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
        // A mono engine output played on both sides of a stereo device.
        let k = kernel(&[&[0.5, 0.25]]);
        let e = expected_responses(&k, 1, 2).unwrap();
        assert_eq!(e, vec![vec![0.5, 0.25], vec![0.5, 0.25]]);
        // A layout the engine cannot route is an error, not a guess.
        assert!(expected_responses(&kernel(&[&[1.0], &[1.0], &[1.0]]), 2, 2).is_err());
    }

    #[test]
    fn detection_finds_the_placement_not_the_kernels_own_delay() {
        let k = delayed_kernel();
        for lag in [0, 1, 255, 256, 300, 511] {
            let cap = place(&k, lag, 512 + k.len(), 0.5);
            let (got, err) = detect(&[&cap], std::slice::from_ref(&k), 512, 0.5).unwrap();
            assert_eq!(got, lag);
            assert!(err < 1e-6, "{err}");
        }
    }

    #[test]
    fn detection_sums_the_output_ports_and_reports_a_wrong_response() {
        let k = delayed_kernel();
        let other: Vec<f64> = k.iter().map(|v| -0.5 * v).collect();
        let a = place(&k, 77, 400 + k.len(), 0.5);
        let b = place(&other, 77, 400 + k.len(), 0.5);
        let (lag, err) = detect(&[&a, &b], &[k.clone(), other.clone()], 400, 0.5).unwrap();
        assert_eq!((lag, err < 1e-6), (77, true));
        // Twice the expected amplitude: found, but the mismatch is the response's size.
        let loud = place(&k, 77, 400 + k.len(), 1.0);
        let (lag, err) = detect(&[&loud], std::slice::from_ref(&k), 400, 0.5).unwrap();
        assert_eq!(lag, 77);
        assert!((err - 1.0).abs() < 1e-6, "{err}");
        // Silence: nothing to find.
        assert!(detect(&[&vec![0.0f32; 800]], &[k], 400, 0.5).is_none());
    }
}
