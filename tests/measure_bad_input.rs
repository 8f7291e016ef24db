//! Bad input to `faltung sweep`, `faltung deconvolve` and `faltung measure`: each case is
//! one line on stderr, exit 1, naming the file, setting or device at fault (once, not
//! repeated by the error chain), and no output file left behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn folder(name: &str) -> PathBuf {
    let dir = common::scratch_path("measure-bad-input", name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run faltung in `dir`; the one-line error it printed.
fn fails(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_faltung"))
        .args(args)
        .current_dir(dir)
        .env_remove("JACK_DEFAULT_SERVER")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("faltung: ")).collect();
    assert_eq!(lines.len(), 1, "{args:?}: one error line: {err}");
    let line = lines[0].to_string();
    assert!(line.starts_with("faltung: error: "), "{line}");
    assert!(!line.contains("panicked"), "{line}");
    line
}

/// No part of `message` (after the `: `-separated head) appears twice.
fn said_once(line: &str, part: &str) {
    assert_eq!(line.matches(part).count(), 1, "`{part}` once in: {line}");
}

fn ok(dir: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_faltung"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sweep(dir: &Path, name: &str, rate: &str) {
    ok(
        dir,
        &[
            "sweep",
            "-o",
            name,
            "--rate",
            rate,
            "--seconds",
            "0.5",
            "--silence",
            "0.2",
        ],
    );
}

#[test]
fn sweep_settings_out_of_range_are_named() {
    let d = folder("sweep");
    for (args, names) in [
        (vec!["--rate", "0"], "--rate 0"),
        (vec!["--f1", "30000"], "--f1 30000"),
        (vec!["--f0", "0"], "--f0 0"),
        (vec!["--seconds=-1"], "--seconds -1"),
        (vec!["--level", "3dB"], "--level 3"),
        (vec!["--channels", "0"], "--channels 0"),
    ] {
        let mut a = vec!["sweep", "-o", "s.wav"];
        a.extend(args);
        let line = fails(&d, &a);
        assert!(line.contains(names), "{line}");
        assert!(!d.join("s.wav").exists(), "{line}: no file written");
    }
    let line = fails(&d, &["sweep", "-o", "no/such/folder/s.wav"]);
    assert!(line.contains("no/such/folder/s.wav"), "{line}");
    said_once(&line, "No such file or directory");
}

#[test]
fn deconvolve_names_missing_and_mismatched_files_and_a_silent_recording() {
    let d = folder("deconvolve");
    sweep(&d, "s48.wav", "48000");
    sweep(&d, "s44.wav", "44100");
    // Missing recording, missing sweep: the file named, the OS reason once.
    let line = fails(
        &d,
        &[
            "deconvolve",
            "missing.wav",
            "--sweep",
            "s48.wav",
            "-o",
            "ir.wav",
        ],
    );
    assert!(line.contains("missing.wav: cannot open"), "{line}");
    said_once(&line, "No such file or directory");
    let line = fails(
        &d,
        &[
            "deconvolve",
            "s48.wav",
            "--sweep",
            "nope.wav",
            "-o",
            "ir.wav",
        ],
    );
    assert!(line.contains("nope.wav"), "{line}");
    said_once(&line, "No such file or directory");
    // Rates that differ: both files and both rates named.
    let line = fails(
        &d,
        &[
            "deconvolve",
            "s44.wav",
            "--sweep",
            "s48.wav",
            "-o",
            "ir.wav",
        ],
    );
    for part in ["s44.wav", "44100 Hz", "s48.wav", "48000 Hz"] {
        assert!(line.contains(part), "{part} in {line}");
    }
    // A silent recording, a silent sweep.
    common::wav::write_wav(
        &d.join("silent.wav"),
        &[vec![0.0; 40_000]],
        48_000,
        faltung::audio_file::SampleFormat::F32,
    );
    let line = fails(
        &d,
        &[
            "deconvolve",
            "silent.wav",
            "--sweep",
            "s48.wav",
            "-o",
            "ir.wav",
        ],
    );
    assert!(
        line.contains("silent.wav: the recording is silent"),
        "{line}"
    );
    let line = fails(
        &d,
        &[
            "deconvolve",
            "s48.wav",
            "--sweep",
            "silent.wav",
            "-o",
            "ir.wav",
        ],
    );
    assert!(
        line.contains("silent.wav") && line.contains("silent"),
        "{line}"
    );
    // Not an audio file.
    std::fs::write(d.join("junk.wav"), b"this is not a wav file at all").unwrap();
    let line = fails(
        &d,
        &[
            "deconvolve",
            "junk.wav",
            "--sweep",
            "s48.wav",
            "-o",
            "ir.wav",
        ],
    );
    assert!(line.contains("junk.wav"), "{line}");
    assert!(!d.join("ir.wav").exists(), "no IR written");
}

#[cfg(feature = "audio-io")]
#[test]
fn measure_names_an_absent_device_host_and_bad_settings() {
    let d = folder("measure");
    // An unknown host lists the hosts.
    let line = fails(&d, &["measure", "-o", "ir.wav", "--host", "nohost"]);
    assert!(
        line.contains("`nohost`") && line.contains("hosts:"),
        "{line}"
    );
    // An absent device is named (with or without a server running).
    #[cfg(feature = "jack")]
    {
        let line = fails(
            &d,
            &[
                "measure",
                "-o",
                "ir.wav",
                "--host",
                "jack",
                "--input",
                "nosuchdev",
            ],
        );
        assert!(line.contains("`nosuchdev`"), "{line}");
    }
    for (args, names) in [
        (vec!["--repeats", "0"], "--repeats 0"),
        (vec!["--tail", "0"], "--tail 0"),
        (vec!["--channels", "0"], "--channels 0"),
    ] {
        let mut a = vec!["measure", "-o", "ir.wav", "--host", "nohost"];
        a.extend(args);
        let line = fails(&d, &a);
        // Settings are checked before any device is opened.
        assert!(line.contains(names), "{line}");
    }
    // An existing output without --force, a missing folder: said before measuring.
    std::fs::write(d.join("old.wav"), b"x").unwrap();
    let line = fails(&d, &["measure", "-o", "old.wav", "--host", "nohost"]);
    assert!(line.contains("old.wav: already exists"), "{line}");
    let line = fails(&d, &["measure", "-o", "gone/ir.wav", "--host", "nohost"]);
    assert!(
        line.contains("gone/ir.wav") && line.contains("does not exist"),
        "{line}"
    );
    assert!(!d.join("ir.wav").exists(), "no IR written");
}
