//! The kernel spec parser: every documented form gives the same taps as calling its
//! generator directly, and every bad spec gives a one-line `BadSpec` error saying why.

use faltung::kernel::firwin::{firwin, Band};
use faltung::kernel::gaussian::{gaussian_filter1d_kernel, gaussian_kernel1d};
use faltung::kernel::savgol::{savgol_coeffs, SavgolUse};
use faltung::kernel::window::{smoothing_kernel, Window};
use faltung::kernel::{parse_spec, KernelError};

const RATE: u32 = 48_000;

fn taps(spec: &str, rate: Option<u32>) -> Vec<f64> {
    let k = parse_spec(spec, rate).unwrap_or_else(|e| panic!("{spec}: {e}"));
    assert_eq!(k.channels.len(), 1, "{spec}: one channel");
    assert_eq!(k.name, spec.trim());
    k.channels.into_iter().next().unwrap()
}

#[test]
fn window_specs_equal_the_smoothing_kernels() {
    let cases: Vec<(&str, Window, usize)> = vec![
        ("flat:15", Window::Boxcar, 15),
        ("hann:31", Window::Hann, 31),
        ("hamming:31", Window::Hamming, 31),
        ("bartlett:31", Window::Bartlett, 31),
        ("blackman:31", Window::Blackman, 31),
        ("kaiser:31,beta=8.6", Window::Kaiser { beta: 8.6 }, 31),
        ("kaiser:16,beta=0", Window::Kaiser { beta: 0.0 }, 16),
        ("gaussian:31,std=5", Window::Gaussian { std: 5.0 }, 31),
        ("hann:1", Window::Hann, 1),
        ("hann:4", Window::Hann, 4),
        (" hamming : 8 ", Window::Hamming, 8),
    ];
    for (spec, window, len) in cases {
        let got = taps(spec, None);
        assert_eq!(got, smoothing_kernel(window, len).unwrap(), "{spec}");
        let dc: f64 = got.iter().sum();
        assert!((dc - 1.0).abs() < 1e-14, "{spec}: DC gain {dc}");
        // Smoothing kernels do not depend on a rate and record none.
        assert_eq!(parse_spec(spec, Some(RATE)).unwrap().sample_rate_hz, None);
    }
    assert_eq!(taps("flat:4", None), vec![0.25; 4]);
}

#[test]
fn gaussian_specs_equal_the_ndimage_kernels() {
    assert_eq!(
        taps("gaussian:sigma=2.5", None),
        gaussian_filter1d_kernel(2.5, 0, 4.0).unwrap()
    );
    assert_eq!(taps("gaussian:sigma=2.5", None).len(), 21); // radius int(4*2.5+0.5) = 10
    for order in 0..=3 {
        assert_eq!(
            taps(&format!("gaussian:sigma=2.5,order={order}"), None),
            gaussian_filter1d_kernel(2.5, order, 4.0).unwrap()
        );
    }
    assert_eq!(
        taps("gaussian:sigma=1.5,order=2,truncate=3", None),
        gaussian_filter1d_kernel(1.5, 2, 3.0).unwrap()
    );
    assert_eq!(
        taps("gaussian:sigma=1.5,radius=2", None),
        gaussian_kernel1d(1.5, 0, 2).unwrap()
    );
    assert_eq!(taps("gaussian:order=1,sigma=0.5", None).len(), 5);
}

#[test]
fn savgol_specs_equal_savgol_coeffs() {
    // (spec, window, polyorder, deriv, delta, pos)
    type Case = (&'static str, usize, usize, usize, f64, Option<usize>);
    let cases: Vec<Case> = vec![
        ("savgol:11,3", 11, 3, 0, 1.0, None),
        ("savgol:11,3,deriv=1", 11, 3, 1, 1.0, None),
        ("savgol:21,4,deriv=2", 21, 4, 2, 1.0, None),
        ("savgol:31,5,deriv=3,delta=0.5", 31, 5, 3, 0.5, None),
        ("savgol:7,6", 7, 6, 0, 1.0, None),
        ("savgol:10,2", 10, 2, 0, 1.0, None),
        ("savgol:5,2,pos=3", 5, 2, 0, 1.0, Some(3)),
        ("savgol:1,0", 1, 0, 0, 1.0, None),
    ];
    for (spec, w, p, d, delta, pos) in cases {
        let want = savgol_coeffs(w, p, d, delta, pos, SavgolUse::Conv).unwrap();
        assert_eq!(taps(spec, None), want, "{spec}");
    }
}

#[test]
fn filter_specs_equal_firwin_and_carry_the_rate() {
    let cases: Vec<(&str, usize, Band, Window)> = vec![
        (
            "lowpass:255,cutoff=3400",
            255,
            Band::Lowpass { cutoff_hz: 3400.0 },
            Window::Hamming,
        ),
        (
            "highpass:255,cutoff=300",
            255,
            Band::Highpass { cutoff_hz: 300.0 },
            Window::Hamming,
        ),
        (
            "bandpass:255,low=300,high=3400",
            255,
            Band::Bandpass {
                low_hz: 300.0,
                high_hz: 3400.0,
            },
            Window::Hamming,
        ),
        (
            "bandstop:255,low=300,high=3400",
            255,
            Band::Bandstop {
                low_hz: 300.0,
                high_hz: 3400.0,
            },
            Window::Hamming,
        ),
        (
            "lowpass:64,cutoff=1000,window=blackman",
            64,
            Band::Lowpass { cutoff_hz: 1000.0 },
            Window::Blackman,
        ),
        (
            "bandpass:101,low=500,high=900,window=kaiser,beta=8.6",
            101,
            Band::Bandpass {
                low_hz: 500.0,
                high_hz: 900.0,
            },
            Window::Kaiser { beta: 8.6 },
        ),
        (
            "highpass:31,cutoff=300,window=hann",
            31,
            Band::Highpass { cutoff_hz: 300.0 },
            Window::Hann,
        ),
        (
            "lowpass:31,cutoff=300,window=flat",
            31,
            Band::Lowpass { cutoff_hz: 300.0 },
            Window::Boxcar,
        ),
        (
            "lowpass:31,cutoff=300,window=bartlett",
            31,
            Band::Lowpass { cutoff_hz: 300.0 },
            Window::Bartlett,
        ),
    ];
    for (spec, n, band, window) in cases {
        let k = parse_spec(spec, Some(RATE)).unwrap();
        assert_eq!(k.sample_rate_hz, Some(RATE), "{spec}");
        assert_eq!(
            k.channels[0],
            firwin(n, band, window, RATE as f64).unwrap(),
            "{spec}"
        );
    }
    // The rate matters: the same spec at 44.1 kHz is a different filter.
    assert_ne!(
        taps("lowpass:31,cutoff=3400", Some(44_100)),
        taps("lowpass:31,cutoff=3400", Some(RATE))
    );
}

/// Each bad spec, the rate it is parsed with, and a piece of the reason it must give.
const BAD: &[(&str, Option<u32>, &str)] = &[
    ("", None, "empty kernel name"),
    (":31", None, "empty kernel name"),
    ("foo:3", None, "unknown kernel `foo`"),
    ("Hann:31", None, "unknown kernel `Hann`"),
    ("hann", None, "takes 1 positional argument"),
    ("hann:31,31", None, "takes 1 positional argument"),
    ("hann:abc", None, "must be a whole number"),
    ("hann:-3", None, "must be a whole number"),
    ("hann:31.5", None, "must be a whole number"),
    ("hann:0", None, "must be at least 1"),
    ("flat:0", None, "must be at least 1"),
    ("flat:99999999999", None, "longer than the limit"),
    (
        "flat:99999999999999999999999",
        None,
        "must be a whole number",
    ),
    ("hann:2", None, "sums to zero"),
    ("bartlett:2", None, "sums to zero"),
    ("blackman:2", None, "sums to zero"),
    ("hann:31,beta=3", None, "unknown key `beta`"),
    ("hann:31,", None, "empty argument"),
    ("hann:,31", None, "empty argument"),
    ("hann:31,=3", None, "key=value"),
    ("kaiser:31", None, "needs `beta=`"),
    ("kaiser:31,beta=x", None, "beta must be a finite number"),
    ("kaiser:31,beta=nan", None, "beta must be a finite number"),
    ("kaiser:31,beta=inf", None, "beta must be a finite number"),
    ("kaiser:31,beta=-1", None, "beta must be >= 0"),
    ("kaiser:31,beta=1,beta=2", None, "given twice"),
    ("kaiser:31,std=2", None, "unknown key `std`"),
    ("gaussian:sigma=0", None, "sigma must be greater than 0"),
    ("gaussian:sigma=-1", None, "sigma must be greater than 0"),
    ("gaussian:sigma=abc", None, "sigma must be a finite number"),
    ("gaussian", None, "needs `sigma=`"),
    ("gaussian:order=1", None, "needs `sigma=`"),
    ("gaussian:sigma=2,order=4", None, "order must be 0..3"),
    (
        "gaussian:sigma=2,order=-1",
        None,
        "order must be a whole number",
    ),
    (
        "gaussian:sigma=2,truncate=0",
        None,
        "truncate must be greater than 0",
    ),
    ("gaussian:sigma=2,radius=3,truncate=2", None, "not both"),
    ("gaussian:sigma=2,size=3", None, "unknown key `size`"),
    ("gaussian:sigma=1e9", None, "limit"),
    ("gaussian:31,sigma=2", None, "give either"),
    ("gaussian:std=2", None, "window form"),
    ("gaussian:31", None, "needs `std=`"),
    ("gaussian:31,std=0", None, "std must be greater than 0"),
    ("savgol:11", None, "takes 2 positional arguments"),
    ("savgol:11,3,2", None, "takes 2 positional arguments"),
    (
        "savgol:11,11",
        None,
        "polyorder (11) must be less than the window length (11)",
    ),
    (
        "savgol:5,7",
        None,
        "polyorder (7) must be less than the window length (5)",
    ),
    ("savgol:0,0", None, "window must be at least 1"),
    (
        "savgol:11,3,deriv=4",
        None,
        "deriv (4) must not exceed polyorder (3)",
    ),
    ("savgol:11,3,delta=0", None, "delta must be greater than 0"),
    (
        "savgol:11,3,delta=-0.5",
        None,
        "delta must be greater than 0",
    ),
    (
        "savgol:11,3,pos=11",
        None,
        "pos (11) must be less than the window length (11)",
    ),
    ("savgol:101,30", None, "supported maximum"),
    ("savgol:11,3,foo=1", None, "unknown key `foo`"),
    ("savgol:11,deriv=1,3", None, "after key=value"),
    ("savgol:11,x", None, "polyorder must be a whole number"),
    ("lowpass:255,cutoff=3400", None, "needs a sample rate"),
    (
        "bandpass:255,low=300,high=3400",
        None,
        "needs a sample rate",
    ),
    ("lowpass:255,cutoff=3400", Some(0), "greater than 0 Hz"),
    (
        "lowpass:255,cutoff=30000",
        Some(RATE),
        "less than the Nyquist frequency 24000 Hz",
    ),
    (
        "lowpass:255,cutoff=24000",
        Some(RATE),
        "less than the Nyquist frequency",
    ),
    ("lowpass:255,cutoff=0", Some(RATE), "greater than 0"),
    ("lowpass:255,cutoff=-10", Some(RATE), "greater than 0"),
    ("highpass:255,cutoff=22050", Some(44_100), "Nyquist"),
    ("lowpass:255", Some(RATE), "needs `cutoff=`"),
    (
        "lowpass:cutoff=3400",
        Some(RATE),
        "takes 1 positional argument",
    ),
    (
        "lowpass:0,cutoff=3400",
        Some(RATE),
        "length must be at least 1",
    ),
    ("highpass:256,cutoff=300", Some(RATE), "odd number of taps"),
    (
        "bandstop:256,low=300,high=3400",
        Some(RATE),
        "odd number of taps",
    ),
    (
        "bandpass:255,low=3400,high=300",
        Some(RATE),
        "must be below high",
    ),
    (
        "bandpass:255,low=300,high=300",
        Some(RATE),
        "must be below high",
    ),
    ("bandpass:255,low=300", Some(RATE), "needs `high=`"),
    ("bandstop:255,high=300", Some(RATE), "needs `low=`"),
    ("bandpass:255,low=300,high=30000", Some(RATE), "Nyquist"),
    (
        "bandpass:255,cutoff=300",
        Some(RATE),
        "unknown key `cutoff`",
    ),
    ("lowpass:255,low=300", Some(RATE), "unknown key `low`"),
    (
        "lowpass:255,cutoff=3400,window=foo",
        Some(RATE),
        "unknown window `foo`",
    ),
    (
        "lowpass:255,cutoff=3400,window=kaiser",
        Some(RATE),
        "needs `beta=`",
    ),
    (
        "lowpass:255,cutoff=3400,beta=3",
        Some(RATE),
        "only applies to `window=kaiser`",
    ),
    ("lowpass:2,cutoff=3400,window=hann", Some(RATE), "zero gain"),
];

#[test]
fn bad_specs_give_one_line_bad_spec_errors_with_the_reason() {
    for &(spec, rate, want) in BAD {
        match parse_spec(spec, rate) {
            Ok(k) => panic!("`{spec}` was accepted ({} taps)", k.len_frames()),
            Err(KernelError::BadSpec { spec: s, reason }) => {
                assert_eq!(s, spec);
                assert!(
                    reason.contains(want),
                    "`{spec}`: reason `{reason}` does not say `{want}`"
                );
            }
            Err(other) => panic!("`{spec}`: not a BadSpec error: {other:?}"),
        }
        let message = parse_spec(spec, rate).unwrap_err().to_string();
        assert!(
            !message.contains('\n'),
            "`{spec}`: `{message}` is not one line"
        );
        assert!(
            message.contains(&format!("`{spec}`")),
            "`{message}` names the spec"
        );
    }
}

#[test]
fn no_prefix_or_mangling_of_a_valid_spec_panics() {
    // Every prefix of every documented form, and each with one character replaced by a
    // troublesome one, parses to a kernel or an error, never a panic, and any kernel it
    // gives is finite and non-empty.
    let specs = [
        "flat:15",
        "kaiser:31,beta=8.6",
        "gaussian:sigma=2.5,order=1,truncate=3",
        "gaussian:31,std=5",
        "savgol:31,5,deriv=3,delta=0.5",
        "bandpass:255,low=300,high=3400,window=kaiser,beta=8.6",
        "bandstop:255,low=300,high=3400",
    ];
    let mut tried = 0;
    for spec in specs {
        let chars: Vec<char> = spec.chars().collect();
        let mut variants: Vec<String> = (0..=chars.len())
            .map(|n| chars[..n].iter().collect())
            .collect();
        for i in 0..chars.len() {
            for c in [',', '=', ':', '0', '-', 'e', ' ', '9'] {
                let mut v = chars.clone();
                v[i] = c;
                variants.push(v.into_iter().collect());
            }
        }
        for v in variants {
            for rate in [None, Some(RATE)] {
                tried += 1;
                if let Ok(k) = parse_spec(&v, rate) {
                    assert_eq!(k.channels.len(), 1);
                    assert!(k.len_frames() >= 1, "`{v}`");
                    assert!(k.channels[0].iter().all(|x| x.is_finite()), "`{v}`");
                }
            }
        }
    }
    assert!(tried > 1000);
}
