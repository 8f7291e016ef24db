//! `faltung kernel` run as a real process: summary, `--text`, `-o`, `--plot`, options
//! under `--verbose`, and bad files giving one-line errors that name the file.

mod common;

use std::f64::consts::PI;
use std::path::PathBuf;
use std::process::{Command, Output};

fn faltung(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faltung"))
        .args(args)
        .output()
        .expect("run faltung")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The number after `label` on the summary line starting with it.
fn field(out: &str, label: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` in\n{out}"));
    line.trim_start()[label.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("bad number in `{line}`"))
}

#[test]
fn summary_of_a_moving_average_gives_its_closed_form_numbers() {
    let o = faltung(&["kernel", "flat:15", "--rate", "48000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(field(&out, "length:"), 15.0);
    assert_eq!(field(&out, "sample rate:"), 48000.0);
    assert_eq!(field(&out, "channels:"), 1.0);
    assert!((field(&out, "DC gain:") - 1.0).abs() < 1e-9);
    assert!((field(&out, "peak:") - 1.0 / 15.0).abs() < 1e-9);
    // Energy of 15 taps of 1/15 = 1/15.
    assert!((field(&out, "energy:") - 1.0 / 15.0).abs() < 1e-9);
    assert_eq!(field(&out, "group delay:"), 7.0);
    assert!(out.contains("0.146 ms"), "7 frames at 48 kHz:\n{out}");
    assert!(out.contains("symmetric"), "{out}");
    // -3 dB point of |sin(pi f 15) / (15 sin(pi f))| by bisection, in Hz.
    let mag = |f: f64| ((PI * f * 15.0).sin() / (15.0 * (PI * f).sin())).abs();
    let (mut lo, mut hi) = (1e-6, 1.0 / 15.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if mag(mid) > 10f64.powf(-3.0 / 20.0) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let line = out
        .lines()
        .find(|l| l.contains("-3 dB at"))
        .expect("cutoffs");
    let hz: f64 = line
        .split("-3 dB at ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((hz - lo * 48000.0).abs() < 0.5, "{hz} vs {}", lo * 48000.0);
}

#[test]
fn text_prints_every_tap_round_trippable_one_frame_per_line() {
    let samples: Vec<f32> = (0..40).map(|i| ((i as f32) * 0.731).sin() / 3.0).collect();
    let path = common::write_float_wav("kernel-cli", "text.wav", 2, 44100, &samples);
    let o = faltung(&["kernel", path.to_str().unwrap(), "--text"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 20);
    for (f, line) in lines.iter().enumerate() {
        let vals: Vec<f64> = line.split('\t').map(|v| v.parse().unwrap()).collect();
        assert_eq!(
            vals,
            vec![samples[2 * f] as f64, samples[2 * f + 1] as f64],
            "frame {f}"
        );
    }
}

#[test]
fn output_writes_a_32_bit_float_wav_with_the_taps() {
    let path = common::scratch_path("kernel-cli", "k.wav");
    let o = faltung(&[
        "kernel",
        "flat:7",
        "--rate",
        "44100",
        "--gain-db",
        "-6",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut r = hound::WavReader::open(&path).unwrap();
    let spec = r.spec();
    assert_eq!(spec.sample_format, hound::SampleFormat::Float);
    assert_eq!(spec.bits_per_sample, 32);
    assert_eq!(spec.sample_rate, 44100);
    assert_eq!(spec.channels, 1);
    let taps: Vec<f32> = r.samples::<f32>().map(|s| s.unwrap()).collect();
    let expect = (10f64.powf(-6.0 / 20.0) / 7.0) as f32;
    assert_eq!(taps, vec![expect; 7]);
    // No temporary file left beside it.
    let part = PathBuf::from(format!("{}.part", path.display()));
    assert!(!part.exists());
}

#[test]
fn plot_writes_an_svg_with_both_panels_and_png_is_refused_clearly() {
    let path = common::scratch_path("kernel-cli", "k.svg");
    let o = faltung(&[
        "kernel",
        "flat:31",
        "--rate",
        "48000",
        "--plot",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(100)]);
    assert!(svg.contains("time (ms)") && svg.contains("frequency (Hz)"));
    assert!(svg.contains("magnitude (dB)") && svg.contains("amplitude"));
    assert!(svg.matches("<polyline").count() >= 2, "two curves");

    let png = common::scratch_path("kernel-cli", "k.png");
    let o = faltung(&["kernel", "flat:31", "--plot", png.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("k.png") && err.contains("SVG"), "{err}");
    assert!(!png.exists());
}

#[test]
fn verbose_reports_the_numbers_each_option_applied() {
    // 44.1 kHz file, stream at 48 kHz: resampled, trimmed, normalised, gain.
    let mut s = vec![0.0f32; 300];
    for (i, v) in s.iter_mut().enumerate().skip(100) {
        *v = (-((i - 100) as f32) / 20.0).exp() * 0.5;
    }
    let path = common::write_float_wav("kernel-cli", "opts.wav", 1, 44100, &s);
    let o = faltung(&[
        "kernel",
        path.to_str().unwrap(),
        "--rate",
        "48000",
        "--trim-leading-db",
        "-60",
        "--normalize",
        "peak",
        "--gain-db",
        "-3",
        "-v",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("resampled from 44100 Hz to 48000 Hz"), "{err}");
    assert!(
        err.contains("trimmed") && err.contains("leading silence"),
        "{err}"
    );
    assert!(err.contains("normalised by peak"), "{err}");
    assert!(err.contains("-3.000 dB"), "{err}");
    let out = stdout(&o);
    assert_eq!(field(&out, "sample rate:"), 48000.0);
    // Peak 1 then -3 dB.
    assert!(
        (field(&out, "peak:") - 10f64.powf(-3.0 / 20.0)).abs() < 1e-6,
        "{out}"
    );

    // Without resampling the mismatch is an error naming both rates and the file.
    let o = faltung(&[
        "kernel",
        path.to_str().unwrap(),
        "--rate",
        "48000",
        "--no-resample",
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("44100") && err.contains("48000"), "{err}");
    assert!(err.contains(path.to_str().unwrap()), "{err}");
}

fn assert_clean_failure(o: &Output, name: &str) -> String {
    assert!(!o.status.success(), "should fail");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(o);
    assert!(err.contains(name), "`{err}` does not name {name}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn bad_files_fail_with_one_line_naming_the_file() {
    let garbage = common::scratch_path("kernel-cli", "garbage.wav");
    std::fs::write(&garbage, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk").unwrap();
    assert_clean_failure(
        &faltung(&["kernel", garbage.to_str().unwrap()]),
        "garbage.wav",
    );

    let truncated =
        common::write_float_wav("kernel-cli", "truncated.wav", 1, 48000, &vec![0.5f32; 1000]);
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() - 1001]).unwrap();
    let err = assert_clean_failure(
        &faltung(&["kernel", truncated.to_str().unwrap()]),
        "truncated.wav",
    );
    assert!(err.contains("truncated"), "{err}");

    let zeros = common::write_float_wav("kernel-cli", "zeros.wav", 1, 48000, &[0.0; 10]);
    let err = assert_clean_failure(&faltung(&["kernel", zeros.to_str().unwrap()]), "zeros.wav");
    assert!(err.contains("all zeros"), "{err}");

    let missing = common::scratch_path("kernel-cli", "missing.wav");
    assert_clean_failure(
        &faltung(&["kernel", missing.to_str().unwrap()]),
        "missing.wav",
    );

    let o = faltung(&["kernel", "nosuchkernel:3"]);
    assert_clean_failure(&o, "nosuchkernel:3");

    // A bare name of a missing audio file is a missing file, not an unknown kernel spec.
    let dir = common::scratch_path("kernel-cli", "empty-dir");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["missing.flac", "Room.AIFF", "hall.ogg", "plate.mp3"] {
        let o = Command::new(env!("CARGO_BIN_EXE_faltung"))
            .args(["kernel", name])
            .current_dir(&dir)
            .output()
            .unwrap();
        let err = assert_clean_failure(&o, name);
        assert!(
            err.contains("No such file") && !err.contains("unknown kernel"),
            "{err}"
        );
    }
}

#[test]
fn the_shipped_impulses_load_and_match_their_readme() {
    // (file, frames, channels) as impulses/README.md states them.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("impulses");
    for (name, frames, channels) in [
        ("small_room.wav", 28800.0, 2.0),
        ("large_hall.wav", 134400.0, 2.0),
        ("plate.wav", 96000.0, 2.0),
        ("telephone.wav", 255.0, 1.0),
        ("cabinet.wav", 1024.0, 1.0),
    ] {
        let path = dir.join(name);
        assert!(
            std::fs::metadata(&path).unwrap().len() < 1_000_000,
            "{name} under 1 MB"
        );
        let o = faltung(&["kernel", path.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let out = stdout(&o);
        assert_eq!(field(&out, "length:"), frames, "{name}");
        assert_eq!(field(&out, "channels:"), channels, "{name}");
        assert_eq!(field(&out, "sample rate:"), 48000.0, "{name}");
    }
}

#[test]
fn a_true_stereo_file_is_summarised_per_path_in_ll_lr_rl_rr_order() {
    // Each path has its own gain so the order is visible: LL 0.1, LR 0.2, RL 0.3, RR 0.4.
    let mut s = Vec::new();
    for f in 0..8 {
        for c in 0..4 {
            s.push(if f == 0 { 0.1 * (c + 1) as f32 } else { 0.0 });
        }
    }
    let path = common::write_float_wav("kernel-cli", "ts.wav", 4, 48000, &s);
    let o = faltung(&["kernel", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("LR = left input to right output"), "{out}");
    for (c, name) in ["LL", "LR", "RL", "RR"].iter().enumerate() {
        let section = out.split(&format!("[{name}]")).nth(1).expect(name);
        let dc = field(section, "DC gain:");
        assert!((dc - 0.1 * (c + 1) as f64).abs() < 1e-7, "{name}: {dc}");
    }
}

#[test]
fn text_into_a_reader_that_stops_early_ends_quietly_with_the_sigpipe_status() {
    // `faltung kernel flat:200000 --text | head -1`: 1.4 MB of taps, far past a pipe's
    // buffer, into a reader that closes after the first line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_faltung"))
        .args(["kernel", "flat:200000", "--text"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut out, &mut first).unwrap();
    assert_eq!(first.trim(), "5e-6");
    drop(out);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(141), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
}
