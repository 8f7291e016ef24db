//! Kernel spec strings, shared by the CLI and the library.
//!
//! A spec is `NAME:ARGS`: positional arguments first, then `key=value` pairs, separated
//! by commas (spaces around them are ignored). Every spec makes a 1-channel kernel.
//!
//! | Spec | Kernel | Mirrors |
//! |------|--------|---------|
//! | `flat:15` | moving average, 15 taps of 1/15 | `scipy.signal.windows.boxcar` / sum |
//! | `hann:31` | Hann window, sum 1 | `numpy.hanning(31)` / sum |
//! | `hamming:31` | Hamming window, sum 1 | `numpy.hamming(31)` / sum |
//! | `bartlett:31` | triangle, sum 1 | `numpy.bartlett(31)` / sum |
//! | `blackman:31` | Blackman window, sum 1 | `numpy.blackman(31)` / sum |
//! | `kaiser:31,beta=8.6` | Kaiser window, sum 1 | `get_window(('kaiser', 8.6), 31, fftbins=False)` / sum |
//! | `gaussian:31,std=5` | Gaussian window, sum 1 | `get_window(('gaussian', 5), 31, fftbins=False)` / sum |
//! | `gaussian:sigma=2.5` | Gaussian smoothing, `2r+1` taps, `r = int(4 sigma + 0.5)` | `gaussian_filter1d(x, 2.5)` |
//! | `gaussian:sigma=2.5,order=1` | derivative of Gaussian (order 0..3) | `gaussian_filter1d(x, 2.5, order=1)` |
//! | `savgol:11,3` | Savitzky–Golay smoothing (window, polyorder) | `savgol_coeffs(11, 3)` |
//! | `savgol:11,3,deriv=1` | Savitzky–Golay derivative | `savgol_coeffs(11, 3, deriv=1)` |
//! | `lowpass:255,cutoff=3400` | windowed-sinc low-pass, cutoff in Hz | `firwin(255, 3400, fs=rate)` |
//! | `highpass:255,cutoff=300` | high-pass (odd length) | `firwin(255, 300, pass_zero=False, fs=rate)` |
//! | `bandpass:255,low=300,high=3400` | band-pass | `firwin(255, [300, 3400], pass_zero=False, fs=rate)` |
//! | `bandstop:255,low=300,high=3400` | band-stop (odd length) | `firwin(255, [300, 3400], fs=rate)` |
//!
//! Optional keys:
//! - `gaussian:sigma=..`: `order=` (0..3, default 0), `truncate=` (default 4.0) or
//!   `radius=` (taps = `2 radius + 1`; overrides `truncate`, as scipy's `radius=`).
//!   The taps are in convolution order: convolving in mode `'same'` gives
//!   `scipy.ndimage.gaussian_filter1d(x, sigma, order=order, mode='constant')`.
//! - `savgol`: `deriv=` (0..polyorder, default 0), `delta=` (sample spacing for
//!   derivatives, default 1.0), `pos=` (evaluation position in the window, default the
//!   middle). Even windows are allowed, as in scipy (centred half a sample off).
//! - `lowpass`, `highpass`, `bandpass`, `bandstop`: `window=` one of `hamming` (the
//!   default, as scipy's), `hann`, `blackman`, `bartlett`, `flat` (alias `boxcar`),
//!   `kaiser` (then `beta=` is required).
//!
//! The filter designs take their cutoffs in Hz and need the stream's sample rate
//! (`sample_rate_hz`); their kernel records that rate. The smoothing kernels do not
//! depend on a rate and carry none.
//!
//! Errors are [`KernelError::BadSpec`] with a one-line reason: unknown names or keys,
//! numbers that do not parse (or are not finite), a missing or repeated argument, a zero
//! length, a length above [`MAX_SPEC_TAPS`], `polyorder >= window`, `deriv > polyorder`,
//! `sigma <= 0`, cutoffs outside (0, rate/2) or not increasing, an even length for
//! `highpass`/`bandstop`, a window that sums to zero (`hann:2`, `bartlett:2`,
//! `blackman:2`), a Hz spec without a sample rate, a Kaiser `beta` above
//! [`MAX_KAISER_BETA`], a spec longer than [`MAX_SPEC_BYTES`], and parameters at the edge
//! of `f64` that would make a tap infinite or NaN (`gaussian:sigma=1e-300`,
//! `savgol:11,3,deriv=3,delta=1e-300`). User text quoted in an error is cut to an excerpt.

use super::firwin::{firwin, Band};
use super::gaussian::gaussian_filter1d_kernel;
use super::gaussian::gaussian_kernel1d;
use super::savgol::{savgol_coeffs, Savgol, SavgolUse};
use super::window::{smoothing_kernel, Window};
use super::{Kernel, KernelError};
use crate::text::{excerpt, short_num};

/// The longest kernel a spec may ask for (2^22 taps, about 87 s at 48 kHz), so that a
/// typo cannot allocate all memory.
pub const MAX_SPEC_TAPS: usize = 1 << 22;

/// The longest spec string accepted, in bytes (real specs are a few dozen).
pub const MAX_SPEC_BYTES: usize = 256;

/// The highest Savitzky–Golay polynomial order a spec may ask for.
pub const MAX_SAVGOL_POLYORDER: usize = 20;

/// The largest Kaiser `beta` a spec may give: far beyond any useful window (beta 14
/// already gives about 140 dB of side-lobe attenuation), low enough that the window's
/// Bessel ratios stay finite.
pub const MAX_KAISER_BETA: f64 = 1000.0;

/// The highest derivative-of-Gaussian order a spec may ask for.
pub const MAX_GAUSSIAN_ORDER: usize = 3;

/// Parse a kernel spec (see the module docs for the forms). `sample_rate_hz` is needed by
/// the filter designs, whose cutoffs are in Hz.
pub fn parse(spec: &str, sample_rate_hz: Option<u32>) -> Result<Kernel, KernelError> {
    let bad = |reason: String| KernelError::BadSpec {
        spec: excerpt(spec.trim()),
        reason,
    };
    if spec.len() > MAX_SPEC_BYTES {
        return Err(bad(format!(
            "{} bytes is longer than the limit of {MAX_SPEC_BYTES} for a kernel spec",
            spec.len()
        )));
    }
    let (taps, rate) = build(spec.trim(), sample_rate_hz).map_err(bad)?;
    if let Some(i) = taps.iter().position(|v| !v.is_finite()) {
        // Parameters at the edge of f64 (a tiny sigma or delta) can overflow the taps.
        return Err(bad(format!(
            "tap {i} is not finite ({}): a parameter is too large or too small for \
             64-bit floating point",
            taps[i]
        )));
    }
    Ok(Kernel {
        channels: vec![taps],
        sample_rate_hz: rate,
        name: spec.trim().to_string(),
    })
}

/// The spec's name and arguments, split.
struct Args<'a> {
    name: &'a str,
    positional: Vec<&'a str>,
    keys: Vec<(&'a str, &'a str)>,
}

impl<'a> Args<'a> {
    fn split(spec: &'a str) -> Result<Self, String> {
        let (name, rest) = match spec.split_once(':') {
            Some((n, r)) => (n.trim(), Some(r)),
            None => (spec.trim(), None),
        };
        if name.is_empty() {
            return Err("empty kernel name (expected e.g. `hann:31`)".into());
        }
        let mut positional = Vec::new();
        let mut keys: Vec<(&str, &str)> = Vec::new();
        if let Some(rest) = rest {
            for item in rest.split(',') {
                let item = item.trim();
                if item.is_empty() {
                    return Err("empty argument (two commas, or a trailing comma?)".into());
                }
                match item.split_once('=') {
                    Some((k, v)) => {
                        let (k, v) = (k.trim(), v.trim());
                        if k.is_empty() || v.is_empty() {
                            return Err(format!(
                                "`{}` is not of the form key=value",
                                excerpt(item)
                            ));
                        }
                        if keys.iter().any(|(seen, _)| *seen == k) {
                            return Err(format!("`{}` is given twice", excerpt(k)));
                        }
                        keys.push((k, v));
                    }
                    None => {
                        if !keys.is_empty() {
                            return Err(format!(
                                "positional argument `{}` after key=value arguments",
                                excerpt(item)
                            ));
                        }
                        positional.push(item);
                    }
                }
            }
        }
        Ok(Args {
            name,
            positional,
            keys,
        })
    }

    /// Check the positional count (`names` says what they are) and that every key is
    /// one of `allowed`.
    fn expect(&self, names: &[&str], allowed: &[&str]) -> Result<(), String> {
        if self.positional.len() != names.len() {
            let usage = std::iter::once(self.name.to_string() + ":")
                .chain(std::iter::once(names.join(",")))
                .collect::<String>();
            return Err(format!(
                "`{}` takes {} positional argument{} ({usage}), got {}",
                self.name,
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                self.positional.len()
            ));
        }
        for (k, _) in &self.keys {
            if !allowed.contains(k) {
                return Err(if allowed.is_empty() {
                    format!(
                        "unknown key `{}`: `{}` takes no keys",
                        excerpt(k),
                        self.name
                    )
                } else {
                    format!(
                        "unknown key `{}` for `{}` (known: {})",
                        excerpt(k),
                        self.name,
                        allowed.join(", ")
                    )
                });
            }
        }
        Ok(())
    }

    fn key(&self, k: &str) -> Option<&'a str> {
        self.keys.iter().find(|(key, _)| *key == k).map(|(_, v)| *v)
    }

    fn required(&self, k: &str) -> Result<&'a str, String> {
        self.key(k)
            .ok_or_else(|| format!("`{}` needs `{k}=`", self.name))
    }
}

fn parse_uint(what: &str, s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .map_err(|_| format!("{what} must be a whole number >= 0, got `{}`", excerpt(s)))
}

fn parse_len(what: &str, s: &str) -> Result<usize, String> {
    let n = parse_uint(what, s)?;
    if n == 0 {
        return Err(format!("{what} must be at least 1, got 0"));
    }
    if n > MAX_SPEC_TAPS {
        return Err(format!(
            "{what} {n} is longer than the limit of {MAX_SPEC_TAPS} taps"
        ));
    }
    Ok(n)
}

fn parse_f64(what: &str, s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!(
            "{what} must be a finite number, got `{}`",
            excerpt(s)
        )),
    }
}

fn parse_positive(what: &str, s: &str) -> Result<f64, String> {
    let v = parse_f64(what, s)?;
    if v <= 0.0 {
        return Err(format!(
            "{what} must be greater than 0, got `{}`",
            excerpt(s)
        ));
    }
    Ok(v)
}

fn parse_beta(s: &str) -> Result<f64, String> {
    let v = parse_f64("beta", s)?;
    if v < 0.0 {
        return Err(format!("beta must be >= 0, got `{}`", excerpt(s)));
    }
    if v > MAX_KAISER_BETA {
        return Err(format!(
            "beta {} is above the supported maximum of {MAX_KAISER_BETA} (the window is \
             then a single tap; typical values are 0..14)",
            short_num(v)
        ));
    }
    Ok(v)
}

/// The reason inside a generator's error, for a spec error.
fn reason(e: KernelError) -> String {
    match e {
        KernelError::BadParameter { reason, .. } => reason,
        other => other.to_string(),
    }
}

const NAMES: &str =
    "flat, hann, hamming, bartlett, blackman, kaiser, gaussian, savgol, lowpass, highpass, bandpass, bandstop";

/// Taps and the rate the kernel is tied to (only the Hz designs have one).
fn build(spec: &str, sample_rate_hz: Option<u32>) -> Result<(Vec<f64>, Option<u32>), String> {
    let args = Args::split(spec)?;
    let window_kernel = |w: Window, args: &Args, keys: &[&str]| -> Result<_, String> {
        args.expect(&["length"], keys)?;
        let n = parse_len("length", args.positional[0])?;
        Ok((smoothing_kernel(w, n).map_err(reason)?, None))
    };
    match args.name {
        "flat" => window_kernel(Window::Boxcar, &args, &[]),
        "hann" => window_kernel(Window::Hann, &args, &[]),
        "hamming" => window_kernel(Window::Hamming, &args, &[]),
        "bartlett" => window_kernel(Window::Bartlett, &args, &[]),
        "blackman" => window_kernel(Window::Blackman, &args, &[]),
        "kaiser" => {
            args.expect(&["length"], &["beta"])?;
            let beta = parse_beta(args.required("beta")?)?;
            window_kernel(Window::Kaiser { beta }, &args, &["beta"])
        }
        "gaussian" => gaussian(&args),
        "savgol" => savgol(&args),
        "lowpass" | "highpass" | "bandpass" | "bandstop" => fir(&args, sample_rate_hz),
        other => Err(format!(
            "unknown kernel `{}` (known: {NAMES})",
            excerpt(other)
        )),
    }
}

fn gaussian(args: &Args) -> Result<(Vec<f64>, Option<u32>), String> {
    if args.positional.len() == 1 {
        // The window form: gaussian:N,std=S.
        if args.key("sigma").is_some() {
            return Err(
                "give either `gaussian:N,std=S` (a Gaussian window of N taps) or \
                 `gaussian:sigma=S` (scipy.ndimage's kernel), not a length with sigma"
                    .into(),
            );
        }
        args.expect(&["length"], &["std"])?;
        let n = parse_len("length", args.positional[0])?;
        let std = parse_positive("std", args.required("std")?)?;
        return Ok((
            smoothing_kernel(Window::Gaussian { std }, n).map_err(reason)?,
            None,
        ));
    }
    if args.key("std").is_some() {
        return Err("`std=` is for the window form `gaussian:N,std=S`; \
                    scipy.ndimage's kernel takes `sigma=`"
            .into());
    }
    args.expect(&[], &["sigma", "order", "truncate", "radius"])?;
    let sigma = parse_positive("sigma", args.required("sigma")?)?;
    let order = match args.key("order") {
        Some(s) => parse_uint("order", s)?,
        None => 0,
    };
    if order > MAX_GAUSSIAN_ORDER {
        return Err(format!(
            "order must be 0..{MAX_GAUSSIAN_ORDER}, got {order}"
        ));
    }
    let max_radius = (MAX_SPEC_TAPS - 1) / 2;
    let taps = match (args.key("radius"), args.key("truncate")) {
        (Some(_), Some(_)) => {
            return Err("give `radius=` or `truncate=`, not both".into());
        }
        (Some(r), None) => {
            let radius = parse_uint("radius", r)?;
            if radius > max_radius {
                return Err(format!(
                    "radius {radius} gives more than the limit of {MAX_SPEC_TAPS} taps"
                ));
            }
            gaussian_kernel1d(sigma, order, radius)
        }
        (None, t) => {
            let truncate = match t {
                Some(t) => parse_positive("truncate", t)?,
                None => 4.0,
            };
            let radius = truncate * sigma + 0.5;
            if radius >= max_radius as f64 {
                return Err(format!(
                    "sigma {} with truncate {} gives more than the limit of \
                     {MAX_SPEC_TAPS} taps",
                    short_num(sigma),
                    short_num(truncate)
                ));
            }
            gaussian_filter1d_kernel(sigma, order, truncate)
        }
    };
    Ok((taps.map_err(reason)?, None))
}

fn savgol_params(args: &Args) -> Result<Savgol, String> {
    args.expect(&["window", "polyorder"], &["deriv", "delta", "pos"])?;
    let window = parse_len("window", args.positional[0])?;
    let polyorder = parse_uint("polyorder", args.positional[1])?;
    if polyorder >= window {
        return Err(format!(
            "polyorder ({polyorder}) must be less than the window length ({window})"
        ));
    }
    if polyorder > MAX_SAVGOL_POLYORDER {
        return Err(format!(
            "polyorder {polyorder} is above the supported maximum of {MAX_SAVGOL_POLYORDER}"
        ));
    }
    let deriv = match args.key("deriv") {
        Some(s) => parse_uint("deriv", s)?,
        None => 0,
    };
    if deriv > polyorder {
        return Err(format!(
            "deriv ({deriv}) must not exceed polyorder ({polyorder}); the kernel would be all zeros"
        ));
    }
    let delta = match args.key("delta") {
        Some(s) => parse_positive("delta", s)?,
        None => 1.0,
    };
    let pos = match args.key("pos") {
        Some(s) => Some(parse_uint("pos", s)?),
        None => None,
    };
    Ok(Savgol {
        window,
        polyorder,
        deriv,
        delta,
        pos,
    })
}

fn savgol(args: &Args) -> Result<(Vec<f64>, Option<u32>), String> {
    let sg = savgol_params(args)?;
    let taps = savgol_coeffs(
        sg.window,
        sg.polyorder,
        sg.deriv,
        sg.delta,
        sg.pos,
        SavgolUse::Conv,
    )
    .map_err(reason)?;
    Ok((taps, None))
}

/// The Savitzky–Golay parameters of a `savgol:` spec (checked as [`parse`] checks them);
/// `None` if the spec names another kernel. Offline processing needs them for
/// `savgol_filter(mode='interp')` edges.
pub fn parse_savgol(spec: &str) -> Result<Option<Savgol>, KernelError> {
    let bad = |reason: String| KernelError::BadSpec {
        spec: spec.to_string(),
        reason,
    };
    let args = Args::split(spec.trim()).map_err(bad)?;
    if args.name != "savgol" {
        return Ok(None);
    }
    savgol_params(&args).map(Some).map_err(bad)
}

fn fir(args: &Args, sample_rate_hz: Option<u32>) -> Result<(Vec<f64>, Option<u32>), String> {
    let two_edges = matches!(args.name, "bandpass" | "bandstop");
    let keys: &[&str] = if two_edges {
        &["low", "high", "window", "beta"]
    } else {
        &["cutoff", "window", "beta"]
    };
    args.expect(&["length"], keys)?;
    let numtaps = parse_len("length", args.positional[0])?;
    let window = match args.key("window").unwrap_or("hamming") {
        "hamming" => Window::Hamming,
        "hann" => Window::Hann,
        "blackman" => Window::Blackman,
        "bartlett" => Window::Bartlett,
        "flat" | "boxcar" => Window::Boxcar,
        "kaiser" => Window::Kaiser {
            beta: parse_beta(
                args.key("beta")
                    .ok_or("`window=kaiser` needs `beta=` (e.g. beta=8.6)")?,
            )?,
        },
        other => {
            return Err(format!(
                "unknown window `{}` (known: hamming, hann, blackman, bartlett, flat, kaiser)",
                excerpt(other)
            ))
        }
    };
    if args.key("beta").is_some() && !matches!(window, Window::Kaiser { .. }) {
        return Err("`beta=` only applies to `window=kaiser`".into());
    }
    let band = if two_edges {
        let low_hz = parse_positive("low", args.required("low")?)?;
        let high_hz = parse_positive("high", args.required("high")?)?;
        if high_hz <= low_hz {
            return Err(format!(
                "low ({} Hz) must be below high ({} Hz)",
                short_num(low_hz),
                short_num(high_hz)
            ));
        }
        if args.name == "bandpass" {
            Band::Bandpass { low_hz, high_hz }
        } else {
            Band::Bandstop { low_hz, high_hz }
        }
    } else {
        let cutoff_hz = parse_f64("cutoff", args.required("cutoff")?)?;
        if args.name == "lowpass" {
            Band::Lowpass { cutoff_hz }
        } else {
            Band::Highpass { cutoff_hz }
        }
    };
    let rate = match sample_rate_hz {
        Some(r) if r > 0 => r,
        Some(_) => return Err("the sample rate must be greater than 0 Hz".into()),
        None => {
            return Err(format!(
                "`{}` has cutoffs in Hz and needs a sample rate (from the stream or --rate)",
                args.name
            ))
        }
    };
    let taps = firwin(numtaps, band, window, rate as f64).map_err(reason)?;
    Ok((taps, Some(rate)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn savgol_parameters_come_from_the_one_spec_parser() {
        assert_eq!(
            parse_savgol("savgol:11,3,deriv=1,delta=0.5").unwrap(),
            Some(Savgol {
                window: 11,
                polyorder: 3,
                deriv: 1,
                delta: 0.5,
                pos: None,
            })
        );
        assert_eq!(
            parse_savgol(" savgol: 7 , 2 , pos=1").unwrap().unwrap().pos,
            Some(1)
        );
        assert!(parse_savgol("flat:3").unwrap().is_none());
        for bad in [
            "savgol:5,5",
            "savgol:11,3,deriv=4",
            "savgol:11",
            "savgol:11,3,x=1",
        ] {
            let e = parse_savgol(bad).unwrap_err();
            assert!(matches!(e, KernelError::BadSpec { .. }), "{bad}: {e}");
            // The same spec is refused by `parse` with the same reason.
            assert_eq!(parse(bad, None).unwrap_err().to_string(), e.to_string());
        }
    }
}
