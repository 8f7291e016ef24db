//! Bad input from the command line, each case once found hanging, panicking, eating memory
//! or answering with a wrong message: now a one-line error (exit 1) that names the
//! argument or file, given before any work is done, and no file left behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Longer than any of these cases takes when it works; a hang fails instead of blocking.
const HANG: Duration = Duration::from_secs(120);

/// A fresh, empty folder for one case.
fn folder(name: &str) -> PathBuf {
    let dir = common::scratch_path("bad-input", name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run faltung in `dir`; kill it (and fail) if it runs longer than [`HANG`].
fn run_in(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_faltung"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run faltung");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > HANG {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("faltung {args:?} hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Exit 1, one line `faltung: error: ...` naming every one of `words`, no panic; returns
/// the line.
fn one_line_error(o: &Output, words: &[&str]) -> String {
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "exit status; stderr: {e}");
    assert!(!e.contains("panicked"), "{e}");
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {e}");
    assert!(lines[0].starts_with("faltung: error: "), "{e}");
    for w in words {
        assert!(lines[0].contains(w), "error must name `{w}`: {e}");
    }
    lines[0].to_string()
}

/// A file a case starts with: its name and what writes it.
type Given<'a> = (&'a str, &'a dyn Fn(&Path));

/// `args` run in a fresh folder holding `files` fail with one line naming `words`, and
/// leave exactly `files` there.
fn refused(case: &str, files: &[Given], args: &[&str], words: &[&str]) -> String {
    let dir = folder(case);
    for (name, make) in files {
        make(&dir.join(name));
    }
    let o = run_in(&dir, args);
    let line = one_line_error(&o, words);
    let mut expect: Vec<String> = files.iter().map(|(n, _)| n.to_string()).collect();
    expect.sort();
    assert_eq!(names(&dir), expect, "stray files after {args:?}");
    std::fs::remove_dir_all(&dir).unwrap();
    line
}

/// A 16-bit WAV written with hound (not faltung's writer).
fn wav_i16(path: &Path, channels: u16, rate: u32, frames: usize) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut r = common::Rng::new(7);
    for i in 0..frames * channels as usize {
        // A decaying noise tail, so the file is a plausible IR.
        let decay = (-6.9 * (i / channels as usize) as f64 / frames as f64).exp();
        w.write_sample((r.next_bipolar_f64() * decay * 20000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

fn input_48k(p: &Path) {
    wav_i16(p, 1, 48_000, 4800);
}

// --- Hangs -----------------------------------------------------------------------------

#[test]
fn plot_at_a_rate_of_0_hz_is_refused_instead_of_spinning() {
    let e = refused(
        "plot-rate-0",
        &[],
        &["kernel", "flat:1", "--rate", "0", "--plot", "p.svg"],
        &["--rate 0", "1..=768000 Hz"],
    );
    assert!(!e.contains("NaN"), "{e}");
}

#[test]
fn plot_of_taps_that_overflow_is_refused_instead_of_spinning() {
    // deriv=3 scales the taps by 1/delta^3 = 1e900.
    refused(
        "plot-savgol-overflow",
        &[],
        &[
            "kernel",
            "savgol:11,3,deriv=3,delta=1e-300",
            "--plot",
            "p.svg",
        ],
        &[
            "savgol:11,3,deriv=3,delta=1e-300",
            "delta 1e-300",
            "overflows",
        ],
    );
}

#[test]
fn plot_of_huge_but_finite_taps_is_drawn() {
    // 1/delta^3 = 1e300: finite, and squares of such taps would overflow; the picture
    // is still drawn (the magnitude is computed on scaled taps).
    let dir = folder("plot-huge-finite");
    let o = run_in(
        &dir,
        &[
            "kernel",
            "savgol:11,3,deriv=3,delta=1e-100",
            "--plot",
            "p.svg",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(dir.join("p.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(
        !svg.contains("NaN") && !svg.contains("inf"),
        "non-finite coordinates"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// --- Panics and aborts -----------------------------------------------------------------

#[test]
fn kernel_wav_at_0_hz_is_refused_before_any_file_is_made() {
    refused(
        "kernel-o-rate-0",
        &[],
        &["kernel", "hann:1", "--rate", "0", "-o", "k.wav"],
        &["--rate 0"],
    );
    refused(
        "kernel-o-rate-huge",
        &[],
        &["kernel", "hann:3", "--rate", "1073741824", "-o", "k.wav"],
        &["--rate 1073741824", "768000"],
    );
}

#[test]
fn plan_refuses_sizes_beyond_the_limits() {
    refused(
        "plan-ir-max",
        &[],
        &["plan", "--ir-frames", "18446744073709551615"],
        &["--ir-frames 18446744073709551615", "16777216"],
    );
    refused(
        "plan-ir-0",
        &[],
        &["plan", "--ir-frames", "0"],
        &["--ir-frames 0"],
    );
    refused(
        "plan-block-0",
        &[],
        &["plan", "--ir-frames", "1000", "--block", "0"],
        &["--block 0"],
    );
    refused(
        "plan-block-max",
        &[],
        &[
            "plan",
            "--ir-frames",
            "1000",
            "--block",
            "18446744073709551615",
        ],
        &["--block 18446744073709551615"],
    );
    refused(
        "plan-paths-0",
        &[],
        &["plan", "--ir-frames", "1000", "--paths", "0"],
        &["--paths 0"],
    );
}

#[test]
fn planner_entry_refuses_sizes_beyond_the_limits() {
    use faltung::engine::{plan::plan, PlanRequest};
    let ok = PlanRequest::realtime(1000, 2, 2, 64);
    assert!(plan(&ok).is_ok());
    for bad in [
        PlanRequest {
            ir_len: usize::MAX,
            ..ok.clone()
        },
        PlanRequest {
            ir_len: faltung::limits::MAX_IR_FRAMES + 1,
            ..ok.clone()
        },
        PlanRequest::realtime(1000, 2, 2, usize::MAX),
        PlanRequest {
            call_frames: Some(0),
            ..ok.clone()
        },
    ] {
        let e = plan(&bad).expect_err("must be refused");
        assert!(e.to_string().contains("outside the supported"), "{e}");
    }
    // The offline request (latency free, calls up to the largest partition) still plans.
    assert!(plan(&PlanRequest::offline(1 << 20, 2, 2)).is_ok());
}

#[test]
fn process_refuses_block_sizes_beyond_the_limit_and_leaves_no_part_file() {
    for block in ["18446744073709551615", "1000000000"] {
        refused(
            "process-block",
            &[("in.wav", &input_48k)],
            &[
                "process", "in.wav", "-o", "m.wav", "--kernel", "flat:3", "--block", block,
            ],
            &[&format!("--block {block}"), "1048576"],
        );
    }
}

#[test]
fn bench_refuses_a_run_too_long_to_keep_its_timings() {
    refused(
        "bench-seconds",
        &[],
        &[
            "bench",
            "--kernel",
            "flat:63",
            "--block",
            "64",
            "--seconds",
            "1e9",
        ],
        &["--seconds 1000000000", "calls of 64 frames", "16777216"],
    );
    for (arg, value) in [
        ("--rate", "0"),
        ("--rate", "1000000"),
        ("--channels", "0"),
        ("--channels", "100000"),
        ("--block", "18446744073709551615"),
    ] {
        refused(
            "bench-sizes",
            &[],
            &[
                "bench",
                "--kernel",
                "flat:63",
                arg,
                value,
                "--seconds",
                "0.1",
            ],
            &[&format!("{arg} {value}")],
        );
    }
}

// --- Memory --------------------------------------------------------------------------

#[test]
fn ir_whose_resampled_length_is_beyond_the_limit_is_refused_before_resampling() {
    // 60 s at 1 kHz (120 KB) is 46 080 000 frames at 768 kHz.
    let ir = |p: &Path| wav_i16(p, 1, 1000, 60_000);
    let input = |p: &Path| wav_i16(p, 1, 768_000, 768);
    refused(
        "resample-limit",
        &[("ir.wav", &ir), ("in.wav", &input)],
        &["process", "in.wav", "-o", "out.wav", "--ir", "ir.wav"],
        &[
            "ir.wav",
            "1000 Hz",
            "768000 Hz",
            "46080000 frames",
            "16777216",
        ],
    );
    refused(
        "resample-limit-kernel",
        &[("ir.wav", &ir)],
        &["kernel", "ir.wav", "--rate", "768000"],
        &["ir.wav", "46080000 frames"],
    );
}

#[test]
fn ir_layout_is_checked_against_the_input_before_resampling() {
    // 4 channels (true stereo) with a mono input is no supported layout. The IR is also
    // too long once resampled to 768 kHz: the layout error, not the length error, shows
    // that the layout is checked first.
    let ir = |p: &Path| wav_i16(p, 4, 1000, 60_000);
    let input = |p: &Path| wav_i16(p, 1, 768_000, 768);
    let e = refused(
        "layout-first",
        &[("ir.wav", &ir), ("in.wav", &input)],
        &["process", "in.wav", "-o", "out.wav", "--ir", "ir.wav"],
        &["in.wav", "ir.wav", "4-channel", "not a supported layout"],
    );
    assert!(!e.contains("more than the limit"), "{e}");
}

#[test]
fn max_ir_seconds_nan_does_not_switch_the_limit_off() {
    let ir = |p: &Path| wav_i16(p, 1, 48_000, 480);
    refused(
        "max-ir-nan-process",
        &[("ir.wav", &ir), ("in.wav", &input_48k)],
        &[
            "process",
            "in.wav",
            "-o",
            "out.wav",
            "--ir",
            "ir.wav",
            "--max-ir-seconds",
            "NaN",
        ],
        &["--max-ir-seconds NaN"],
    );
    refused(
        "max-ir-nan-kernel",
        &[("ir.wav", &ir)],
        &["kernel", "ir.wav", "--max-ir-seconds", "NaN"],
        &["--max-ir-seconds NaN"],
    );
    // The library refuses it too.
    let dir = folder("max-ir-nan-lib");
    let p = dir.join("ir.wav");
    ir(&p);
    let opts = faltung::kernel::IrOptions {
        max_seconds: f64::NAN,
        ..Default::default()
    };
    let e = faltung::kernel::load_ir(&p, &opts).expect_err("NaN limit");
    assert!(e.to_string().contains("ir.wav"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn output_that_cannot_be_a_file_is_refused_before_processing() {
    refused(
        "out-folder",
        &[("in.wav", &input_48k)],
        &["process", "in.wav", "-o", "/", "--kernel", "flat:3"],
        &["-o /", "folder"],
    );
    refused(
        "out-missing-folder",
        &[("in.wav", &input_48k)],
        &[
            "process",
            "in.wav",
            "-o",
            "no-such-folder/out.wav",
            "--kernel",
            "flat:3",
        ],
        &["no-such-folder", "does not exist"],
    );
    refused(
        "kernel-out-folder",
        &[],
        &["kernel", "hann:3", "-o", "."],
        &["-o .", "folder"],
    );
}

// --- Messages ------------------------------------------------------------------------

#[test]
fn kaiser_with_an_enormous_beta_says_beta_is_the_problem() {
    let e = refused(
        "kaiser-beta",
        &[],
        &["kernel", "kaiser:31,beta=1e308"],
        &["beta 1e308", "maximum"],
    );
    assert!(!e.contains("length 1 or at least 3"), "{e}");
    // A large beta below the limit still makes a finite window of unit DC gain.
    let k = faltung::kernel::parse_spec("kaiser:30,beta=900", None).unwrap();
    let sum: f64 = k.channels[0].iter().sum();
    assert!((sum - 1.0).abs() < 1e-12 && k.channels[0].iter().all(|v| v.is_finite()));
}

#[test]
fn gaussian_with_a_tiny_sigma_is_an_error_not_nan() {
    let dir = folder("sigma-tiny");
    let o = run_in(&dir, &["kernel", "gaussian:sigma=1e-300", "--text"]);
    one_line_error(&o, &["sigma 1e-300"]);
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_spec_with_a_slash_in_a_value_is_read_as_a_spec() {
    let e = refused(
        "spec-slash",
        &[],
        &["kernel", "lowpass:255,cutoff=3400/2", "--rate", "48000"],
        &["lowpass:255,cutoff=3400/2", "cutoff", "3400/2"],
    );
    assert!(!e.contains("cannot open"), "{e}");
}

#[test]
fn a_huge_spec_is_quoted_as_an_excerpt() {
    let spec = format!("flat:{}15", "0".repeat(100_000));
    let e = refused("spec-huge", &[], &["kernel", &spec], &["100007 bytes"]);
    assert!(e.len() < 300, "{} bytes of message", e.len());
    let spec = format!("hann:31,{}", "x".repeat(200));
    let e = refused("spec-long-item", &[], &["kernel", &spec], &["hann"]);
    assert!(e.len() < 300, "{} bytes of message", e.len());
}

#[test]
fn numbers_in_messages_are_short() {
    let e = refused(
        "sigma-huge",
        &[],
        &["kernel", "gaussian:sigma=1e300"],
        &["sigma 1e300"],
    );
    assert!(!e.contains("0000000000"), "{e}");
    let e = refused(
        "cutoff-huge",
        &[],
        &["kernel", "lowpass:31,cutoff=1e300", "--rate", "48000"],
        &["cutoff 1e300"],
    );
    assert!(!e.contains("0000000000"), "{e}");
}

#[test]
fn gain_that_overflows_the_taps_is_refused() {
    refused(
        "gain-overflow",
        &[],
        &["kernel", "hann:3", "--gain-db", "10000", "--text"],
        &["hann:3", "gain", "overflow"],
    );
}

#[test]
fn bench_plot_to_a_png_name_is_refused_before_measuring() {
    refused(
        "bench-png",
        &[],
        &[
            "bench",
            "--kernel",
            "flat:63",
            "--block",
            "64",
            "--seconds",
            "0.1",
            "--plot",
            "x.png",
        ],
        &["--plot x.png", "SVG"],
    );
}

#[test]
fn round_trip_options_without_roundtrip_are_refused() {
    // With an option that conflicts with --roundtrip, clap does not apply `requires`.
    refused(
        "bench-host",
        &[],
        &[
            "bench",
            "--kernel",
            "flat:63",
            "--block",
            "64",
            "--seconds",
            "0.1",
            "--host",
            "jack",
        ],
        &["--host jack", "--roundtrip"],
    );
    refused(
        "bench-repeats",
        &[],
        &[
            "bench",
            "--kernel",
            "flat:63",
            "--block",
            "64",
            "--seconds",
            "0.1",
            "--repeats",
            "3",
        ],
        &["--repeats 3", "--roundtrip"],
    );
}

// --- Wrong audio -----------------------------------------------------------------------

/// A 32-bit float WAV written with hound.
fn wav_f32(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn output_beyond_the_float_range_is_refused_not_written_as_inf() {
    let noise = |p: &Path| wav_f32(p, &common::noise(3, 4800));
    // 800 dB = x 1e40, beyond f32::MAX (3.4e38).
    for format in ["f32", "i16"] {
        refused(
            "gain-800",
            &[("in.wav", &noise)],
            &[
                "process",
                "in.wav",
                "-o",
                "out.wav",
                "--kernel",
                "flat:3",
                "--gain-db",
                "800",
                "--format",
                format,
            ],
            &["in.wav", "beyond the 32-bit float range", "nothing written"],
        );
    }
}

#[test]
fn finite_input_that_overflows_in_the_convolution_is_refused_not_nan_or_zeros() {
    // +-3e38 is finite in f32; a 4001-tap Hann sum of such values overflows.
    let loud = |p: &Path| {
        let s: Vec<f32> = common::noise(5, 9600)
            .iter()
            .map(|&v| if v >= 0.0 { 3e38 } else { -3e38 })
            .collect();
        wav_f32(p, &s)
    };
    for format in ["f32", "i16"] {
        refused(
            "loud-input",
            &[("in.wav", &loud)],
            &[
                "process",
                "in.wav",
                "-o",
                "out.wav",
                "--kernel",
                "hann:4001",
                "--format",
                format,
            ],
            &["in.wav", "beyond the 32-bit float range"],
        );
    }
}

#[test]
fn normalize_after_an_overflowing_gain_is_refused_not_silence() {
    let noise = |p: &Path| wav_f32(p, &common::noise(4, 4800));
    let e = refused(
        "gain-1000-normalize",
        &[("in.wav", &noise)],
        &[
            "process",
            "in.wav",
            "-o",
            "out.wav",
            "--kernel",
            "flat:3",
            "--gain-db",
            "1000",
            "--normalize",
        ],
        &["in.wav", "beyond the 32-bit float range"],
    );
    assert!(!e.contains(".pass1"), "{e}");
}

#[test]
fn normalizing_silence_says_so_and_writes_silence() {
    let dir = folder("normalize-silence");
    wav_f32(&dir.join("in.wav"), &[0.0; 4800]);
    let o = run_in(
        &dir,
        &[
            "process",
            "in.wav",
            "-o",
            "out.wav",
            "--kernel",
            "hann:31",
            "--normalize",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("out.wav: note: the output is silent"), "{out}");
    assert!(!out.contains("normalized by"), "{out}");
    let mut r = hound::WavReader::open(dir.join("out.wav")).unwrap();
    let s: Vec<f32> = r.samples::<f32>().map(|v| v.unwrap()).collect();
    assert_eq!(s.len(), 4800 + 30);
    assert!(s.iter().all(|&v| v == 0.0));
    assert_eq!(names(&dir), ["in.wav", "out.wav"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn output_past_4_gib_is_not_refused_it_is_written_as_rf64() {
    // A 64-channel 16-bit input of 17 M frames, as a sparse file (2.2 GB announced, no
    // blocks written): its float output would be 4.35 GB, beyond the 4 GiB of a RIFF file.
    // It used to be refused up front; now the writer switches to RF64 past 4 GiB (its
    // header arithmetic is tested in the writer's unit tests without writing 4 GiB). Here:
    // the run starts instead of being refused, and Ctrl-C then stops it truthfully (exit
    // 130, nothing left); should it finish first, the output is an RF64 file.
    let big = |p: &Path| {
        let frames: u64 = 17_000_000;
        let data = frames * 64 * 2;
        let mut h = Vec::new();
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&((36 + data) as u32).to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&64u16.to_le_bytes());
        h.extend_from_slice(&48_000u32.to_le_bytes());
        h.extend_from_slice(&(48_000u32 * 128).to_le_bytes());
        h.extend_from_slice(&128u16.to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&(data as u32).to_le_bytes());
        std::fs::write(p, &h).unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        f.set_len(h.len() as u64 + data).unwrap();
    };
    let dir = folder("output-4gib");
    big(&dir.join("in.wav"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_faltung"))
        .args([
            "process", "in.wav", "-o", "out.wav", "--kernel", "flat:1", "--format", "f32",
        ])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run faltung");
    // A refusal comes at once; give it three seconds to show, then interrupt.
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let signalled = child.try_wait().unwrap().is_none();
    if signalled {
        // SAFETY: signals our own child process, which has not been reaped yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    }
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("4 GiB") && !err.contains("panicked"), "{err}");
    if signalled {
        assert_eq!(o.status.code(), Some(130), "{err}");
        assert!(err.contains("interrupted"), "{err}");
        assert_eq!(names(&dir), ["in.wav"]);
    } else {
        assert!(o.status.success(), "{err}");
        let mut head = [0u8; 4];
        std::io::Read::read_exact(
            &mut std::fs::File::open(dir.join("out.wav")).unwrap(),
            &mut head,
        )
        .unwrap();
        assert_eq!(&head, b"RF64");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// --- Headers beyond the limits, temporary files ------------------------------------------

/// A 16-bit PCM WAV of `frames` silent frames whose header says `channels` and `rate`
/// (written byte by byte: no writer would make these).
fn wav_header_says(path: &Path, channels: u16, rate: u32, frames: usize) {
    let block = 2 * channels as usize;
    let data = vec![0u8; block * frames];
    let mut b = b"WAVEfmt ".to_vec();
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&rate.wrapping_mul(block as u32).to_le_bytes());
    b.extend_from_slice(&(block as u16).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&data);
    let mut f = b"RIFF".to_vec();
    f.extend_from_slice(&(b.len() as u32).to_le_bytes());
    f.extend_from_slice(&b);
    std::fs::write(path, f).unwrap();
}

#[test]
fn input_headers_beyond_the_rate_and_channel_limits_are_refused_before_any_work() {
    for (name, channels, rate, word) in [
        ("rate0.wav", 1u16, 0u32, "0 Hz"),
        ("rate4g.wav", 1, 4_000_000_000, "4000000000 Hz"),
        ("ch65535.wav", 65_535, 48_000, "65535 channels"),
        ("ch20000.wav", 20_000, 48_000, "20000 channels"),
    ] {
        let make = move |p: &Path| wav_header_says(p, channels, rate, 2);
        let files: [Given; 1] = [(name, &make)];
        refused(
            &format!("in-{name}"),
            &files,
            &["process", name, "-o", "o.wav", "--kernel", "flat:3"],
            &[name, word],
        );
        refused(
            &format!("ir-{name}"),
            &[(name, &make), ("in.wav", &input_48k)],
            &["process", "in.wav", "-o", "o.wav", "--ir", name],
            &[name, word],
        );
        refused(
            &format!("k-{name}"),
            &files,
            &["kernel", name],
            &[name, word],
        );
    }
}

/// The WAV's taps, read back by hound.
fn wav_taps(p: &Path) -> Vec<f32> {
    hound::WavReader::open(p)
        .unwrap()
        .into_samples::<f32>()
        .map(|s| s.unwrap())
        .collect()
}

#[test]
fn kernel_output_never_overwrites_without_force_and_leaves_other_part_files_alone() {
    let dir = folder("kernel-o");
    std::fs::write(dir.join("k.wav"), b"mine").unwrap();
    std::fs::write(dir.join("k.wav.part"), b"another run's").unwrap();
    let o = run_in(
        &dir,
        &["kernel", "flat:4", "--rate", "48000", "-o", "k.wav"],
    );
    one_line_error(&o, &["k.wav", "--force"]);
    assert_eq!(std::fs::read(dir.join("k.wav")).unwrap(), b"mine");
    let o = run_in(
        &dir,
        &[
            "kernel", "flat:4", "--rate", "48000", "-o", "k.wav", "--force",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(wav_taps(&dir.join("k.wav")), vec![0.25f32; 4]);
    assert_eq!(
        std::fs::read(dir.join("k.wav.part")).unwrap(),
        b"another run's"
    );
    assert_eq!(names(&dir), ["k.wav", "k.wav.part"]);
    // Concurrent runs into one name: each writes its own temporary file, the last rename
    // wins, and the result is one of the kernels whole.
    let kids: Vec<_> = (1..=4)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_faltung"))
                .args(["kernel", &format!("flat:{}", 2000 * i), "--rate", "48000"])
                .args(["-o", "same.wav", "--force"])
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for k in kids {
        let o = k.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let taps = wav_taps(&dir.join("same.wav"));
    let i = taps.len() / 2000;
    assert!(
        (1..=4).contains(&i) && taps.len() == 2000 * i,
        "{}",
        taps.len()
    );
    assert!(taps.iter().all(|&t| t == (1.0 / taps.len() as f64) as f32));
    assert_eq!(names(&dir), ["k.wav", "k.wav.part", "same.wav"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A 32-bit float WAV header for `frames` mono frames at 48 kHz, the data a hole (sparse).
#[cfg(target_os = "linux")]
fn long_sparse_wav(p: &Path, frames: u64) {
    let data = frames * 4;
    let mut h = b"RIFF".to_vec();
    h.extend_from_slice(&((36 + data) as u32).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&3u16.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&48_000u32.to_le_bytes());
    h.extend_from_slice(&(48_000u32 * 4).to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&32u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&(data as u32).to_le_bytes());
    std::fs::write(p, &h).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
    f.set_len(h.len() as u64 + data).unwrap();
}

/// SIGKILL mid-run (with and without the --normalize spool) leaves nothing in the output's
/// folder: the output and the spool are unnamed (`O_TMPFILE`) files while they are
/// written, and the kill comes while faltung has one open there. A named temporary file
/// of a run that died (`.NAME.faltung-PID-N.part`, where `O_TMPFILE` is not available) is
/// removed by the next run into that folder; a live process's and other files are not.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_run_leaves_no_temporary_file_and_the_next_run_removes_a_dead_runs() {
    for extra in [&[][..], &["--normalize"][..]] {
        let dir = folder("killed");
        // 40 million frames (14 minutes at 48 kHz): seconds of work, far from done at the kill.
        long_sparse_wav(&dir.join("in.wav"), 40_000_000);
        let mut child = Command::new(env!("CARGO_BIN_EXE_faltung"))
            .args([
                "process", "in.wav", "-o", "out.wav", "--kernel", "flat:1", "-q",
            ])
            .args(extra)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until faltung holds a file in the folder other than its input.
        let dir_abs = dir.canonicalize().unwrap();
        let fds = format!("/proc/{}/fd", child.id());
        let start = Instant::now();
        let open_temp = loop {
            let temp = std::fs::read_dir(&fds).ok().and_then(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read_link(e.path()).ok())
                    .find(|t| t.starts_with(&dir_abs) && !t.ends_with("in.wav"))
            });
            if let Some(t) = temp {
                break t;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "{extra:?}: faltung ended before the kill"
            );
            assert!(start.elapsed() < HANG, "{extra:?}: no output file opened");
            std::thread::sleep(Duration::from_millis(10));
        };
        eprintln!("{extra:?}: open at the kill: {}", open_temp.display());
        std::thread::sleep(Duration::from_millis(300));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), None, "{extra:?}: killed, not finished");
        assert_eq!(
            names(&dir),
            ["in.wav"],
            "{extra:?}: left behind (open at the kill: {})",
            open_temp.display()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    let dir = folder("stale");
    input_48k(&dir.join("in.wav"));
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let stale = format!(".out.wav.faltung-{dead}-0.part");
    let alive = format!(".other.wav.faltung-{}-0.part", std::process::id());
    for n in [&stale, &alive, "notes.part", ".hidden.part"] {
        std::fs::write(dir.join(n), b"x").unwrap();
    }
    let o = run_in(
        &dir,
        &["process", "in.wav", "-o", "out.wav", "--kernel", "flat:3"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut want = vec![
        alive.clone(),
        ".hidden.part".into(),
        "in.wav".into(),
        "notes.part".into(),
        "out.wav".into(),
    ];
    want.sort();
    assert_eq!(names(&dir), want);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Ctrl-C in a batch: exit 130, the message says how many files were done, and the
/// output folder holds no partial file.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_in_a_batch_says_how_many_files_were_done_and_leaves_no_partial_file() {
    let dir = folder("batch-int");
    std::fs::create_dir(dir.join("out")).unwrap();
    input_48k(&dir.join("a.wav"));
    long_sparse_wav(&dir.join("b.wav"), 40_000_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_faltung"))
        .args(["process", "a.wav", "b.wav", "--out-dir", "out"])
        .args(["--kernel", "flat:1", "--jobs", "1", "-q"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // a.wav takes milliseconds; b.wav seconds. Interrupt once a.wav is in place.
    let start = Instant::now();
    while !dir.join("out/a.wav").exists() {
        assert!(child.try_wait().unwrap().is_none(), "ended early");
        assert!(start.elapsed() < HANG, "a.wav never written");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: signals our own child process, which has not been reaped yet.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted after 1 of 2 files; no partial output written"),
        "{err}"
    );
    assert_eq!(names(&dir.join("out")), ["a.wav"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A missing IR is the error, not the devices: named first even when the input device
/// does not exist either (the IR used to be read only after the device gave its rate).
#[cfg(feature = "audio-io")]
#[test]
fn live_names_a_missing_ir_before_asking_any_device() {
    let line = refused(
        "live-missing-ir",
        &[],
        &[
            "live",
            "--host",
            "alsa",
            "--input",
            "faltung_no_such_device",
            "--ir",
            "missing.wav",
        ],
        &["missing.wav", "cannot open impulse response"],
    );
    assert!(!line.contains("faltung_no_such_device"), "{line}");
}
