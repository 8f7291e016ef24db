//! Savitzky–Golay edge fitting: the least-squares polynomial that
//! `scipy.signal.savgol_filter(mode='interp')` fits to the first and last window of the
//! signal (numpy.polyfit + polyval on the edge windows), evaluated where the filter's
//! window does not fit.

/// Least-squares polynomial of degree `order` through `y` at `t = 0..y.len()`, its
/// `deriv`-th derivative evaluated at each of `at`, divided by `delta^deriv`. Solved by
/// Householder QR on a centred, scaled abscissa.
pub fn polyfit_eval(y: &[f64], order: usize, deriv: usize, delta: f64, at: &[f64]) -> Vec<f64> {
    let m = y.len();
    let n = order + 1;
    let c = (m as f64 - 1.0) / 2.0;
    let s = c.max(1.0);
    // a: m x n, row-major.
    let mut a = vec![0f64; m * n];
    for i in 0..m {
        let u = (i as f64 - c) / s;
        let mut p = 1.0;
        for k in 0..n {
            a[i * n + k] = p;
            p *= u;
        }
    }
    let mut b = y.to_vec();
    for k in 0..n.min(m) {
        let norm = (k..m).map(|i| a[i * n + k].powi(2)).sum::<f64>().sqrt();
        if norm == 0.0 {
            continue;
        }
        let alpha = if a[k * n + k] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (k..m).map(|i| a[i * n + k]).collect();
        v[0] -= alpha;
        let vv: f64 = v.iter().map(|x| x * x).sum();
        if vv == 0.0 {
            continue;
        }
        for j in k..n {
            let d: f64 = (k..m).map(|i| v[i - k] * a[i * n + j]).sum();
            let f = 2.0 * d / vv;
            for i in k..m {
                a[i * n + j] -= f * v[i - k];
            }
        }
        let d: f64 = (k..m).map(|i| v[i - k] * b[i]).sum();
        let f = 2.0 * d / vv;
        for i in k..m {
            b[i] -= f * v[i - k];
        }
    }
    let mut coef = vec![0f64; n];
    for k in (0..n.min(m)).rev() {
        let mut acc = b[k];
        for j in k + 1..n {
            acc -= a[k * n + j] * coef[j];
        }
        coef[k] = if a[k * n + k] != 0.0 {
            acc / a[k * n + k]
        } else {
            0.0
        };
    }
    // Differentiate `deriv` times in u, then convert to t: d/dt = (1/s) d/du.
    for _ in 0..deriv {
        for k in 0..n {
            coef[k] = if k + 1 < n {
                coef[k + 1] * (k + 1) as f64
            } else {
                0.0
            };
        }
    }
    let scale = 1.0 / (s.powi(deriv as i32) * delta.powi(deriv as i32));
    at.iter()
        .map(|&t| {
            let u = (t - c) / s;
            coef.iter().rev().fold(0.0, |acc, &ck| acc * u + ck) * scale
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polyfit_reproduces_a_polynomial_and_its_derivatives() {
        // y = 2 - 3t + 0.5t^2 - 0.01t^3 on 0..11, fitted with order 3: exact.
        let f = |t: f64| 2.0 - 3.0 * t + 0.5 * t * t - 0.01 * t * t * t;
        let df = |t: f64| -3.0 + t - 0.03 * t * t;
        let y: Vec<f64> = (0..11).map(|t| f(t as f64)).collect();
        let at = [0.0, 1.5, 10.0];
        let v = polyfit_eval(&y, 3, 0, 1.0, &at);
        let d = polyfit_eval(&y, 3, 1, 0.5, &at);
        for (k, &t) in at.iter().enumerate() {
            assert!((v[k] - f(t)).abs() < 1e-12, "{} vs {}", v[k], f(t));
            assert!((d[k] - df(t) / 0.5).abs() < 1e-11);
        }
    }
}
