//! Timing statistics: percentiles, summaries of per-call times, and the verdict.

/// The `q`-th quantile (`0.0 ..= 1.0`) of an ascending slice, by linear interpolation
/// between closest ranks — the same as `numpy.percentile(a, 100 * q)` with its default
/// `method="linear"`: the value at fractional index `q * (n - 1)`.
///
/// `None` for an empty slice or a `q` outside `[0, 1]` (or NaN).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// Summary of a set of per-call times (any unit; the fields carry the input's unit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// Sum of all samples.
    pub total: f64,
}

impl Summary {
    /// Summarise `samples` (any order). `None` if empty or if any sample is NaN.
    pub fn from_samples(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|v| v.is_nan()) {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let total: f64 = s.iter().sum();
        Some(Summary {
            count: s.len(),
            min: s[0],
            mean: total / s.len() as f64,
            p50: quantile_sorted(&s, 0.50)?,
            p99: quantile_sorted(&s, 0.99)?,
            p999: quantile_sorted(&s, 0.999)?,
            max: s[s.len() - 1],
            total,
        })
    }

    /// Summarise nanosecond timings in microseconds.
    pub fn from_nanos_as_micros(nanos: &[u64]) -> Option<Summary> {
        let us: Vec<f64> = nanos.iter().map(|&n| n as f64 * 1e-3).collect();
        Summary::from_samples(&us)
    }
}

/// Fraction of the deadline below which p99.9 counts as [`Verdict::Safe`].
pub const SAFE_P999_FRACTION: f64 = 0.5;

/// What a timing distribution means for a real-time callback of a given deadline.
///
/// - **safe**: p99.9 at most half the deadline and no call over the deadline. The other
///   half is left to the rest of the audio callback, the driver and the scheduler.
/// - **will drop out**: p99.9 at or over the deadline (more than one call in a thousand
///   misses: several dropouts a minute even at 1024-frame calls), or a real-time factor
///   below 1 (the engine cannot keep up at all).
/// - **tight**: everything between — it keeps up, but little is left for the rest of the
///   callback, or an isolated call missed the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Safe,
    Tight,
    WillDropOut,
}

impl Verdict {
    /// Judge per-call times (`p999`, `max`, in the same unit as `deadline`) and the
    /// real-time factor.
    pub fn judge(p999: f64, max: f64, deadline: f64, rtf: f64) -> Verdict {
        if rtf < 1.0 || p999 >= deadline {
            Verdict::WillDropOut
        } else if p999 <= SAFE_P999_FRACTION * deadline && max < deadline {
            Verdict::Safe
        } else {
            Verdict::Tight
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Safe => "safe",
            Verdict::Tight => "tight",
            Verdict::WillDropOut => "will drop out",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn quantiles_of_0_to_100_are_the_percent_values() {
        // For 0, 1, ..., 100 the fractional index q * 100 is the value itself.
        let a: Vec<f64> = (0..=100).map(f64::from).collect();
        for q in [0.0, 0.25, 0.5, 0.99, 0.999, 1.0] {
            assert!(close(quantile_sorted(&a, q).unwrap(), 100.0 * q), "q = {q}");
        }
    }

    #[test]
    fn quantiles_interpolate_like_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4], [25, 50, 99]) = [1.75, 2.5, 3.97]:
        // index q * 3, linear between neighbours.
        let a = [1.0, 2.0, 3.0, 4.0];
        assert!(close(quantile_sorted(&a, 0.25).unwrap(), 1.75));
        assert!(close(quantile_sorted(&a, 0.50).unwrap(), 2.5));
        assert!(close(quantile_sorted(&a, 0.99).unwrap(), 3.97));
    }

    #[test]
    fn quantile_rejects_empty_and_out_of_range() {
        assert_eq!(quantile_sorted(&[], 0.5), None);
        assert_eq!(quantile_sorted(&[1.0], -0.1), None);
        assert_eq!(quantile_sorted(&[1.0], 1.1), None);
        assert_eq!(quantile_sorted(&[1.0], f64::NAN), None);
        assert_eq!(quantile_sorted(&[7.0], 0.3), Some(7.0));
    }

    #[test]
    fn summary_of_a_permutation_of_1_to_1000() {
        // A shuffled 1..=1000: order must not matter. Closed forms: mean 500.5,
        // p50 at index 499.5 -> 500.5, p99 at 989.01 -> 990.01, p99.9 at 998.001 -> 999.001.
        let mut a: Vec<f64> = (1..=1000).map(f64::from).collect();
        let mut state = 12345u64;
        for i in (1..a.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            let j = (state >> 33) as usize % (i + 1);
            a.swap(i, j);
        }
        let s = Summary::from_samples(&a).unwrap();
        assert_eq!(s.count, 1000);
        assert!(close(s.min, 1.0));
        assert!(close(s.max, 1000.0));
        assert!(close(s.mean, 500.5));
        assert!(close(s.total, 500_500.0));
        assert!(close(s.p50, 500.5), "{s:?}");
        assert!(close(s.p99, 990.01), "{s:?}");
        assert!(close(s.p999, 999.001), "{s:?}");
    }

    #[test]
    fn summary_in_micros_from_nanos() {
        let s = Summary::from_nanos_as_micros(&[1_000, 3_000, 2_000]).unwrap();
        assert!(close(s.min, 1.0) && close(s.p50, 2.0) && close(s.max, 3.0));
        assert!(close(s.mean, 2.0));
        assert_eq!(Summary::from_samples(&[]), None);
        assert_eq!(Summary::from_samples(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn verdict_thresholds() {
        // Deadline 100: safe up to p99.9 = 50 with max under 100.
        assert_eq!(Verdict::judge(50.0, 99.0, 100.0, 2.0), Verdict::Safe);
        assert_eq!(Verdict::judge(50.1, 60.0, 100.0, 2.0), Verdict::Tight);
        // One call over the deadline makes it tight, not safe.
        assert_eq!(Verdict::judge(10.0, 100.0, 100.0, 20.0), Verdict::Tight);
        // p99.9 at the deadline, or falling behind, drops out.
        assert_eq!(
            Verdict::judge(100.0, 150.0, 100.0, 2.0),
            Verdict::WillDropOut
        );
        assert_eq!(Verdict::judge(10.0, 20.0, 100.0, 0.9), Verdict::WillDropOut);
        assert_eq!(Verdict::WillDropOut.to_string(), "will drop out");
    }
}
