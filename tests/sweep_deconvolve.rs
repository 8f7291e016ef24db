//! `faltung sweep` -> a known system -> `faltung deconvolve`, against closed forms: a
//! band-limited room IR rendered by `faltung process` (plus noise at -60 dBFS) comes back
//! within -50 dB of error energy at 44.1, 48 and 96 kHz; a pure delay comes back as its
//! delay; `x + 0.1 x^2` puts the 2nd harmonic IR exactly `L ln 2` before the linear one, and
//! so does a biased tanh drive, whose linear IR stays within -40 dB of the clean one.

mod common;

use std::path::Path;
use std::process::Command;

use faltung::audio_file::SampleFormat;

fn faltung(args: &[&str], paths: &[&Path]) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_faltung"));
    c.args(args);
    for p in paths {
        c.arg(p);
    }
    let out = c.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn sweep(dir: &str, rate: u32, seconds: &str, level: &str) -> std::path::PathBuf {
    let p = common::scratch_path(dir, &format!("sweep{rate}.wav"));
    let rate_s = rate.to_string();
    let c = vec![
        "sweep",
        "--rate",
        &rate_s,
        "--seconds",
        seconds,
        "--silence",
        "0.5",
        "--level",
        level,
        "--force",
        "-o",
    ];
    faltung(&c, &[&p]);
    p
}

fn error_db(got: &[f64], want: &[f64]) -> f64 {
    let e: f64 = got.iter().zip(want).map(|(a, b)| (a - b).powi(2)).sum();
    let w: f64 = want.iter().map(|v| v * v).sum();
    10.0 * (e / w).log10()
}

#[test]
fn a_room_rendered_by_process_deconvolves_back_within_minus_50_db() {
    for rate in [44_100u32, 48_000, 96_000] {
        let sw = sweep("sweep_room", rate, "10", "-6dB");
        // The room: 100 frames of delay, then decaying noise band-limited to 2..12 kHz.
        let ir = common::band_limited_room(7, 2400, 100, rate);
        let ir_path = common::scratch_path("sweep_room", &format!("ir{rate}.wav"));
        common::wav::write_wav(&ir_path, std::slice::from_ref(&ir), rate, SampleFormat::F32);
        let (ir_read, _) = common::wav::read_wav(&ir_path);
        let rec_path = common::scratch_path("sweep_room", &format!("rec{rate}.wav"));
        faltung(
            &["process", "--force", "--ir"],
            &[&ir_path, &sw, Path::new("-o"), &rec_path],
        );
        // Noise at -60 dBFS rms on the recording.
        let (mut rec, _) = common::wav::read_wav(&rec_path);
        let mut rng = common::Rng::new(rate as u64);
        for v in rec[0].iter_mut() {
            *v += 1e-3 * 3f64.sqrt() * rng.next_bipolar_f64();
        }
        common::wav::write_wav(&rec_path, &rec, rate, SampleFormat::F32);
        let out = common::scratch_path("sweep_room", &format!("out{rate}.wav"));
        let len_s = format!("{}", ir.len() as f64 / f64::from(rate));
        let text = faltung(
            &["deconvolve", "--force", "--length", &len_s, "--sweep"],
            &[&sw, &rec_path, Path::new("-o"), &out],
        );
        let (got, _) = common::wav::read_wav(&out);
        assert_eq!(got[0].len(), ir.len(), "{rate}");
        let err = error_db(&got[0], &ir_read[0]);
        eprintln!("{rate} Hz: error energy {err:.1} dB\n{text}");
        assert!(err < -50.0, "{rate} Hz: {err:.1} dB");
        assert!(text.contains("SNR") && text.contains("T30"), "{text}");
    }
}

#[test]
fn a_pure_delay_deconvolves_to_its_delay() {
    let rate = 48_000;
    let sw = sweep("sweep_delay", rate, "1", "-6dB");
    let mut ir = vec![0.0; 38];
    ir[37] = 1.0;
    let ir_path = common::scratch_path("sweep_delay", "ir.wav");
    common::wav::write_wav(&ir_path, &[ir], rate, SampleFormat::F32);
    let rec = common::scratch_path("sweep_delay", "rec.wav");
    faltung(
        &["process", "--force", "--ir"],
        &[&ir_path, &sw, Path::new("-o"), &rec],
    );
    let out = common::scratch_path("sweep_delay", "out.wav");
    let text = faltung(
        &["deconvolve", "--force", "--sweep"],
        &[&sw, &rec, Path::new("-o"), &out],
    );
    assert!(text.contains("peak at frame 37 "), "{text}");
    let (got, _) = common::wav::read_wav(&out);
    let (pos, peak) = got[0]
        .iter()
        .enumerate()
        .fold(
            (0, 0.0f64),
            |(p, m), (i, v)| if v.abs() > m { (i, v.abs()) } else { (p, m) },
        );
    assert_eq!(pos, 37);
    // A delta band-limited to 20 Hz..20 kHz of 24 kHz.
    assert!((0.8..1.0).contains(&peak), "{peak}");
}

#[test]
fn a_square_law_puts_the_second_harmonic_l_ln2_before_the_linear_ir() {
    let rate = 48_000u32;
    let sw = sweep("sweep_h2", rate, "2", "-6dB");
    let (x, _) = common::wav::read_wav(&sw);
    // y[n] = z[n - 50], z = x + 0.1 x^2.
    let mut y = vec![0.0; 50];
    y.extend(x[0].iter().map(|v| v + 0.1 * v * v));
    let rec = common::scratch_path("sweep_h2", "rec.wav");
    common::wav::write_wav(&rec, &[y], rate, SampleFormat::F32);
    let out = common::scratch_path("sweep_h2", "lin.wav");
    let dir = common::scratch_path("sweep_h2", "harm");
    let _ = std::fs::create_dir_all(&dir);
    let text = faltung(
        &["deconvolve", "--force", "--harmonics", "2", "--sweep"],
        &[
            &sw,
            &rec,
            Path::new("-o"),
            &out,
            Path::new("--harmonics-dir"),
            &dir,
        ],
    );
    // Closed form: L = round(f0 T / ln(f1 / f0)) / f0 = round(20 * 2 / ln 1000) / 20 = 0.3 s.
    let l = (20.0 * 2.0 / 1000f64.ln()).round() / 20.0;
    let advance_ms = l * 2f64.ln() * 1e3;
    let line = text.lines().find(|l| l.contains("harmonic 2")).unwrap();
    let printed: f64 = line
        .split("harmonic 2, ")
        .nth(1)
        .unwrap()
        .split(" ms")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Within one frame.
    assert!(
        (printed - advance_ms).abs() < 1e3 / f64::from(rate),
        "{printed} vs {advance_ms}"
    );
    let argmax = |h: &[f64]| {
        h.iter().enumerate().fold(
            (0, 0.0f64),
            |(p, m), (i, v)| if v.abs() > m { (i, v.abs()) } else { (p, m) },
        )
    };
    let (lin, _) = common::wav::read_wav(&out);
    let (pos, peak) = argmax(&lin[0]);
    assert_eq!(pos, 50);
    assert!((0.8..1.0).contains(&peak), "{peak}");
    // 0.1 x^2 = 0.05 - 0.05 cos(2 phi): the 2nd harmonic IR is a quarter-period-shifted
    // impulse of 0.05 (its largest taps, 2/pi of that, one frame either side of centre),
    // at the linear IR's delay once advanced by L ln 2. Only fundamentals up to a quarter
    // of the rate have their 2nd harmonic below Nyquist: half the band, so ~0.016.
    let h2_path = line.split(": harmonic 2").next().unwrap();
    let (h2, _) = common::wav::read_wav(Path::new(h2_path));
    let (pos2, peak2) = argmax(&h2[0]);
    assert!((48..=52).contains(&pos2), "{pos2}");
    assert!((0.01..0.025).contains(&peak2), "{peak2}");
}

/// A tanh drive with a bias (`f(z) = (tanh(g (z + b)) - tanh(g b)) / (g sech^2(g b))`,
/// unit gain for small signals; `tanh(g b) = 1/sqrt(3)` so that its cubic term vanishes)
/// after a 50-frame delay: the linear IR stays within -40 dB of the undistorted system's,
/// and the 2nd harmonic IR (from `-tanh(g b) g z^2`) appears `L ln 2` before it, at the
/// linear IR's delay once advanced.
#[test]
fn a_tanh_drive_keeps_the_linear_ir_within_minus_40_db_and_puts_h2_l_ln2_early() {
    let rate = 48_000u32;
    let sw = sweep("sweep_tanh", rate, "2", "-6dB");
    let (x, _) = common::wav::read_wav(&sw);
    let g = 0.15;
    let t = 1.0 / 3f64.sqrt();
    let b = t.atanh() / g;
    let drive = |z: f64| ((g * (z + b)).tanh() - t) / (g * (1.0 - t * t));
    let run = |name: &str, f: &dyn Fn(f64) -> f64| {
        let mut y = vec![0.0; 50];
        y.extend(x[0].iter().map(|&v| f(v)));
        let rec = common::scratch_path("sweep_tanh", &format!("rec-{name}.wav"));
        common::wav::write_wav(&rec, &[y], rate, SampleFormat::F32);
        let out = common::scratch_path("sweep_tanh", &format!("{name}.wav"));
        let dir = common::scratch_path("sweep_tanh", &format!("harm-{name}"));
        let _ = std::fs::create_dir_all(&dir);
        faltung(
            &["deconvolve", "--force", "--harmonics", "2", "--sweep"],
            &[
                &sw,
                &rec,
                Path::new("-o"),
                &out,
                Path::new("--harmonics-dir"),
                &dir,
            ],
        );
        let (lin, _) = common::wav::read_wav(&out);
        let stem = out.file_stem().unwrap().to_string_lossy().to_string();
        let (h2, _) = common::wav::read_wav(&dir.join(format!("{stem}-h2.wav")));
        (lin[0].clone(), h2[0].clone())
    };
    let (clean, clean_h2) = run("clean", &|z| z);
    let (lin, h2) = run("tanh", &drive);
    let err = error_db(&lin, &clean);
    eprintln!("tanh drive: linear IR error {err:.1} dB");
    assert!(err < -40.0, "{err:.1} dB");
    let argmax = |h: &[f64]| {
        h.iter().enumerate().fold(
            (0, 0.0f64),
            |(p, m), (i, v)| if v.abs() > m { (i, v.abs()) } else { (p, m) },
        )
    };
    let (pos2, peak2) = argmax(&h2);
    // A linear system's h2 window holds only the band-limited IR's ringing: at the
    // predicted frame it is an order of magnitude below the drive's 2nd harmonic.
    let clean_at = clean_h2[pos2].abs();
    // -t g z^2 = -t g A^2 / 2 (1 - cos 2 phi): a 2nd harmonic IR of t g / 2 = 0.043 per
    // unit z^2, seen over the half of the band whose 2nd harmonic is below Nyquist.
    eprintln!("tanh drive: h2 peak {peak2:.4} at frame {pos2}; linear system there {clean_at:.5}");
    assert!((48..=52).contains(&pos2), "{pos2}");
    assert!(peak2 > 0.01, "{peak2}");
    assert!(peak2 > 10.0 * clean_at, "{peak2} vs {clean_at}");
}
