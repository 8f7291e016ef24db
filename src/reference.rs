//! The direct-convolution reference in `f64`: the ground truth every other path is tested
//! against. Deliberately plain: O(N x M), no FFT, no tricks.

/// Full linear convolution `y[n] = sum_k a[k] v[n-k]`, length `a.len() + v.len() - 1`
/// (what `numpy.convolve(a, v, 'full')` computes). Empty input gives an empty output.
pub fn convolve_full(a: &[f64], v: &[f64]) -> Vec<f64> {
    if a.is_empty() || v.is_empty() {
        return Vec::new();
    }
    let mut y = vec![0.0f64; a.len() + v.len() - 1];
    for (i, &ai) in a.iter().enumerate() {
        if ai == 0.0 {
            continue;
        }
        for (yj, &vj) in y[i..i + v.len()].iter_mut().zip(v) {
            *yj += ai * vj;
        }
    }
    y
}

/// The first `n_out` samples of the full convolution of `x` with `h`, computed directly.
/// Used to check streaming engines on a prefix without paying for the whole product.
pub fn convolve_prefix(x: &[f64], h: &[f64], n_out: usize) -> Vec<f64> {
    let mut y = vec![0.0f64; n_out];
    for (n, yn) in y.iter_mut().enumerate() {
        let k_lo = n.saturating_sub(x.len().saturating_sub(1));
        let k_hi = n.min(h.len().saturating_sub(1));
        if h.is_empty() || k_lo > k_hi {
            continue;
        }
        let mut acc = 0.0f64;
        for k in k_lo..=k_hi {
            acc += h[k] * x[n - k];
        }
        *yn = acc;
    }
    y
}

/// Circular convolution with period `n` (MATLAB's `cconv(a, b, n)`): the full linear
/// convolution wrapped modulo `n`. `n` must be at least 1.
pub fn circular(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    assert!(n >= 1, "period must be >= 1");
    let full = convolve_full(a, b);
    let mut y = vec![0.0f64; n];
    for (i, v) in full.iter().enumerate() {
        y[i % n] += v;
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_matches_hand_computed() {
        // (1 + 2z + 3z^2)(1 - z) = 1 + z + z^2 - 3z^3
        assert_eq!(
            convolve_full(&[1.0, 2.0, 3.0], &[1.0, -1.0]),
            vec![1.0, 1.0, 1.0, -3.0]
        );
    }

    #[test]
    fn prefix_equals_full_prefix() {
        let x: Vec<f64> = (0..50).map(|i| ((i * 37 % 11) as f64) - 5.0).collect();
        let h: Vec<f64> = (0..13).map(|i| ((i * 7 % 5) as f64) - 2.0).collect();
        let full = convolve_full(&x, &h);
        for n in [0, 1, 10, full.len(), full.len() + 5] {
            let p = convolve_prefix(&x, &h, n);
            for (i, v) in p.iter().enumerate() {
                let want = full.get(i).copied().unwrap_or(0.0);
                assert_eq!(*v, want, "n={n} i={i}");
            }
        }
    }

    #[test]
    fn circular_wraps_the_linear_result() {
        // cconv([1 2 3],[1 1],2): full = [1 3 5 3] -> [1+5, 3+3]
        assert_eq!(circular(&[1.0, 2.0, 3.0], &[1.0, 1.0], 2), vec![6.0, 6.0]);
    }
}
