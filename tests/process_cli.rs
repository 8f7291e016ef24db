//! `faltung process` end to end: the real binary on WAV files generated here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use faltung::audio_file::SampleFormat;
use faltung::reference::convolve_full;

mod common;
use common::wav::{read_wav, write_wav};
use common::{max_abs_diff as max_err, peak_abs as peak, seeded};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_faltung"))
}

fn process(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut c = bin();
    c.arg("process");
    for a in args {
        c.arg(a);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A bad-input error: non-zero exit, one line on stderr naming `name`, no panic.
fn assert_one_line_error(o: &Output, name: &str) {
    let e = stderr(o);
    assert!(!o.status.success(), "should fail: {e}");
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        !e.contains("panicked") && !e.contains("RUST_BACKTRACE"),
        "{e}"
    );
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {e}");
    assert!(lines[0].starts_with("faltung: error: "), "{e}");
    assert!(lines[0].contains(name), "error must name {name}: {e}");
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// Write channels as a 48 kHz float WAV named `name` in the fixture's folder.
    fn f32_wav(&self, name: &str, chans: &[Vec<f64>]) -> PathBuf {
        let path = self.p(name);
        write_wav(&path, chans, 48_000, SampleFormat::F32);
        path
    }
}

#[test]
fn single_file_equals_the_reference_and_prints_a_summary() {
    let f = Fixture::new();
    let x = vec![seeded(6000, 1, 0.5), seeded(6000, 2, 0.5)];
    let h = seeded(1500, 3, 0.02);
    f.f32_wav("in.wav", &x);
    f.f32_wav("ir.wav", std::slice::from_ref(&h));
    let o = process(&[
        &f.p("in.wav"),
        &"-o",
        &f.p("out.wav"),
        &"--ir",
        &f.p("ir.wav"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "",
        "no progress bar or noise when not a terminal"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), 1, "{out}");
    for needle in [
        "6000 frames in",
        "7499 out",
        "real time",
        "plan: ",
        "peak out",
        "dBFS",
    ] {
        assert!(out.contains(needle), "summary lacks {needle}: {out}");
    }
    let (got, fmt) = read_wav(&f.p("out.wav"));
    assert_eq!(fmt, SampleFormat::F32, "--format same keeps float");
    for c in 0..2 {
        let want = convolve_full(&x[c], &h);
        assert!(max_err(&got[c], &want) <= 1e-5 * peak(&want));
    }
    assert_eq!(names(f.dir.path()), ["in.wav", "ir.wav", "out.wav"]);
    // --quiet: nothing at all.
    let o = process(&[
        &f.p("in.wav"),
        &"-o",
        &f.p("q.wav"),
        &"--kernel",
        &"flat:3",
        &"--quiet",
    ]);
    assert!(o.status.success());
    assert!(o.stdout.is_empty() && o.stderr.is_empty());
}

#[test]
fn edge_mode_from_the_command_line_equals_scipy() {
    let g: HashMap<String, Vec<f64>> = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/process/golden.txt"),
    )
    .unwrap()
    .lines()
    .map(|l| {
        let mut it = l.split_whitespace();
        let name = it.next().unwrap().to_string();
        it.next();
        (name, it.map(|s| s.parse().unwrap()).collect())
    })
    .collect();
    let f = Fixture::new();
    f.f32_wav("x.wav", &[g["x_long"].clone()]);
    f.f32_wav("h.wav", &[g["h8"].clone()]);
    for edge in ["reflect", "wrap"] {
        let out = f.p(&format!("{edge}.wav"));
        let o = process(&[
            &f.p("x.wav"),
            &"-o",
            &out,
            &"--ir",
            &f.p("h.wav"),
            &"--mode",
            &"same",
            &"--edge",
            &edge,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let want = &g[&format!("x_long.h8.edge_{edge}")];
        let (got, _) = read_wav(&out);
        assert!(max_err(&got[0], want) <= 1e-5 * peak(want), "{edge}");
    }
    // savgol_filter(mode='interp') with the kernel module's savgol kernel.
    for (spec, tag) in [
        ("savgol:11,3,deriv=1,delta=0.5", "savgol_11_3_1_0.5"),
        ("savgol:10,3", "savgol_10_3_0_1"),
    ] {
        let out = f.p(&format!("{tag}.wav"));
        let o = process(&[
            &f.p("x.wav"),
            &"-o",
            &out,
            &"--kernel",
            &spec,
            &"--mode",
            &"same",
            &"--edge",
            &"interp",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let want = &g[&format!("x_long.{tag}.interp")];
        let (got, _) = read_wav(&out);
        assert!(max_err(&got[0], want) <= 1e-5 * peak(want), "{spec}");
    }
    // interp without a savgol kernel is refused with a clear message.
    let o = process(&[
        &f.p("x.wav"),
        &"-o",
        &f.p("bad.wav"),
        &"--kernel",
        &"hann:5",
        &"--mode",
        &"same",
        &"--edge",
        &"interp",
    ]);
    assert_one_line_error(&o, "savgol");
}

#[test]
fn integer_formats_dither_and_format_choice() {
    let f = Fixture::new();
    let x = seeded(3000, 4, 0.5);
    write_wav(
        &f.p("in16.wav"),
        std::slice::from_ref(&x),
        44_100,
        SampleFormat::I16,
    );
    let (xq, _) = read_wav(&f.p("in16.wav"));
    let want = convolve_full(&xq[0], &[0.25; 4]);
    for (fmt, want_fmt) in [
        ("same", SampleFormat::I16),
        ("i24", SampleFormat::I24),
        ("i32", SampleFormat::I32),
        ("f32", SampleFormat::F32),
    ] {
        let out = f.p(&format!("{fmt}.wav"));
        let o = process(&[
            &f.p("in16.wav"),
            &"-o",
            &out,
            &"--kernel",
            &"flat:4",
            &"--format",
            &fmt,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (got, gf) = read_wav(&out);
        assert_eq!(gf, want_fmt);
        let lsb = if want_fmt.is_float() {
            0.0
        } else {
            1.0 / (1u64 << (want_fmt.bits() - 1)) as f64
        };
        assert!(
            max_err(&got[0], &want) <= 1.5 * lsb + 1e-5 * peak(&want),
            "{fmt}"
        );
    }
    let o = process(&[
        &f.p("in16.wav"),
        &"-o",
        &f.p("nd.wav"),
        &"--kernel",
        &"flat:4",
        &"--no-dither",
    ]);
    assert!(o.status.success());
    let (got, _) = read_wav(&f.p("nd.wav"));
    assert!(max_err(&got[0], &want) <= 0.5 / 32768.0 + 1e-6);
}

#[test]
fn clipping_fails_with_count_and_peak_unless_allowed_and_normalize_fixes_it() {
    let f = Fixture::new();
    write_wav(
        &f.p("loud.wav"),
        &[seeded(2000, 5, 0.95)],
        48_000,
        SampleFormat::I16,
    );
    let o = process(&[
        &f.p("loud.wav"),
        &"-o",
        &f.p("o.wav"),
        &"--kernel",
        &"flat:1",
        &"--gain-db",
        &"6",
    ]);
    assert_one_line_error(&o, "o.wav");
    let e = stderr(&o);
    assert!(e.contains("clip") && e.contains("dBFS"), "{e}");
    assert!(!f.p("o.wav").exists());
    let o = process(&[
        &f.p("loud.wav"),
        &"-o",
        &f.p("o.wav"),
        &"--kernel",
        &"flat:1",
        &"--gain-db",
        &"6",
        &"--allow-clip",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("clipped"));
    let o = process(&[
        &f.p("loud.wav"),
        &"-o",
        &f.p("n.wav"),
        &"--kernel",
        &"flat:1",
        &"--gain-db",
        &"6",
        &"--normalize",
        &"peak=-2dB",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (got, _) = read_wav(&f.p("n.wav"));
    let target = 10f64.powf(-2.0 / 20.0);
    assert!(
        (peak(&got[0]) - target).abs() <= 2.0 / 32768.0,
        "{}",
        peak(&got[0])
    );
    let o = process(&[
        &f.p("loud.wav"),
        &"-o",
        &f.p("d.wav"),
        &"--kernel",
        &"flat:1",
        &"--normalize",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (got, _) = read_wav(&f.p("d.wav"));
    assert!((peak(&got[0]) - 10f64.powf(-1.0 / 20.0)).abs() <= 2.0 / 32768.0);
    assert_eq!(names(f.dir.path()), ["d.wav", "loud.wav", "n.wav", "o.wav"]);
}

#[test]
fn bad_inputs_give_one_line_errors_naming_the_file() {
    let f = Fixture::new();
    f.f32_wav("good.wav", &[seeded(1000, 6, 0.5)]);
    std::fs::write(f.p("text.wav"), b"this is not a wav file at all, just text").unwrap();
    // Truncated: a header announcing 1000 frames, with half of the data.
    let good = std::fs::read(f.p("good.wav")).unwrap();
    std::fs::write(f.p("trunc.wav"), &good[..good.len() / 2]).unwrap();
    // Zero frames.
    f.f32_wav("empty.wav", &[vec![]]);
    // A NaN in a float WAV.
    let mut nan = seeded(1000, 7, 0.5);
    nan[500] = f64::NAN;
    f.f32_wav("nan.wav", &[nan]);
    for bad in [
        "missing.wav",
        "text.wav",
        "trunc.wav",
        "empty.wav",
        "nan.wav",
    ] {
        let o = process(&[&f.p(bad), &"-o", &f.p("out.wav"), &"--kernel", &"flat:3"]);
        assert_one_line_error(&o, bad);
        assert!(!f.p("out.wav").exists(), "{bad}");
    }
    let e = stderr(&process(&[
        &f.p("nan.wav"),
        &"-o",
        &f.p("out.wav"),
        &"--kernel",
        &"flat:3",
    ]));
    assert!(e.contains("sample 500") && e.contains("NaN"), "{e}");
    // Unwritable destinations: a missing folder, and a "folder" that is a file.
    for dest in [f.p("no/such/dir/out.wav"), f.p("good.wav").join("out.wav")] {
        let o = process(&[&f.p("good.wav"), &"-o", &dest, &"--kernel", &"flat:3"]);
        assert_one_line_error(&o, "out.wav");
    }
    // Channel and rate mismatches name both numbers.
    write_wav(
        &f.p("three.wav"),
        &vec![seeded(100, 8, 0.5); 3],
        48_000,
        SampleFormat::F32,
    );
    write_wav(
        &f.p("ir2.wav"),
        &vec![seeded(10, 9, 0.5); 2],
        48_000,
        SampleFormat::F32,
    );
    let o = process(&[
        &f.p("three.wav"),
        &"-o",
        &f.p("out.wav"),
        &"--ir",
        &f.p("ir2.wav"),
    ]);
    assert_one_line_error(&o, "three.wav");
    assert!(
        stderr(&o).contains("3 channel") && stderr(&o).contains("2-channel"),
        "{}",
        stderr(&o)
    );
    write_wav(
        &f.p("ir441.wav"),
        &[seeded(10, 10, 0.5)],
        44_100,
        SampleFormat::F32,
    );
    // An IR at another rate is resampled to the input's, and the user is told.
    let o = process(&[
        &f.p("good.wav"),
        &"-o",
        &f.p("rs.wav"),
        &"--ir",
        &f.p("ir441.wav"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("resampled from 44100 Hz to 48000 Hz"),
        "{said}"
    );
    std::fs::remove_file(f.p("rs.wav")).unwrap();
    // With --no-resample it is an error naming both rates.
    let o = process(&[
        &f.p("good.wav"),
        &"-o",
        &f.p("out.wav"),
        &"--ir",
        &f.p("ir441.wav"),
        &"--no-resample",
    ]);
    assert_one_line_error(&o, "ir441.wav");
    assert!(
        stderr(&o).contains("48000") && stderr(&o).contains("44100"),
        "{}",
        stderr(&o)
    );
    assert!(!f.p("out.wav").exists());
    let left: Vec<String> = names(f.dir.path())
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
}

#[test]
fn never_overwrites_the_input_or_an_existing_output_without_force() {
    let f = Fixture::new();
    f.f32_wav("in.wav", &[seeded(500, 11, 0.5)]);
    let before = std::fs::read(f.p("in.wav")).unwrap();
    let o = process(&[
        &f.p("in.wav"),
        &"-o",
        &f.p("in.wav"),
        &"--kernel",
        &"flat:3",
        &"--force",
    ]);
    assert_one_line_error(&o, "in.wav");
    assert!(stderr(&o).contains("input"), "{}", stderr(&o));
    assert_eq!(std::fs::read(f.p("in.wav")).unwrap(), before);
    std::fs::write(f.p("out.wav"), b"keep me").unwrap();
    let o = process(&[
        &f.p("in.wav"),
        &"-o",
        &f.p("out.wav"),
        &"--kernel",
        &"flat:3",
    ]);
    assert_one_line_error(&o, "out.wav");
    assert!(stderr(&o).contains("--force"));
    assert_eq!(std::fs::read(f.p("out.wav")).unwrap(), b"keep me");
    let o = process(&[
        &f.p("in.wav"),
        &"-o",
        &f.p("out.wav"),
        &"--kernel",
        &"flat:3",
        &"--force",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_wav(&f.p("out.wav")).0[0].len(), 502);
}

#[cfg(unix)]
#[test]
fn disk_full_leaves_no_partial_file() {
    // RLIMIT_FSIZE makes writes past 64 KiB fail (SIGXFSZ ignored, so write() returns
    // EFBIG) — the same path as a full disk.
    let f = Fixture::new();
    f.f32_wav("in.wav", &[seeded(100_000, 12, 0.5)]);
    std::fs::write(f.p("out.wav"), b"old").unwrap();
    let o = Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 64; trap '' XFSZ; exec \"$0\" process \"$1\" -o \"$2\" --kernel flat:3 --force")
        .arg(env!("CARGO_BIN_EXE_faltung"))
        .arg(f.p("in.wav"))
        .arg(f.p("out.wav"))
        .output()
        .unwrap();
    assert_one_line_error(&o, "out.wav");
    assert_eq!(std::fs::read(f.p("out.wav")).unwrap(), b"old");
    assert_eq!(names(f.dir.path()), ["in.wav", "out.wav"]);
}

#[test]
fn batch_processes_every_file_and_reports_each_failure() {
    let f = Fixture::new();
    std::fs::create_dir(f.p("out")).unwrap();
    let xs: Vec<Vec<f64>> = (0..4)
        .map(|i| seeded(4000 + 100 * i, 20 + i as u64, 0.5))
        .collect();
    for (i, x) in xs.iter().enumerate() {
        write_wav(
            &f.p(&format!("a{i}.wav")),
            std::slice::from_ref(x),
            48_000,
            SampleFormat::F32,
        );
    }
    std::fs::write(f.p("bad.wav"), b"RIFF nonsense").unwrap();
    let o = process(&[
        &f.p("a0.wav"),
        &f.p("bad.wav"),
        &f.p("a1.wav"),
        &f.p("a2.wav"),
        &f.p("a3.wav"),
        &"--out-dir",
        &f.p("out"),
        &"--kernel",
        &"flat:5",
        &"--jobs",
        &"2",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.lines().any(|l| l.contains("bad.wav")), "{e}");
    assert!(e.contains("1 of 5 files failed"), "{e}");
    assert_eq!(names(&f.p("out")), ["a0.wav", "a1.wav", "a2.wav", "a3.wav"]);
    for (i, x) in xs.iter().enumerate() {
        let want = convolve_full(x, &[0.2; 5]);
        let (got, _) = read_wav(&f.p(&format!("out/a{i}.wav")));
        assert!(max_err(&got[0], &want) <= 1e-5 * peak(&want));
    }
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 4);
}

/// A batch worker reuses its engine (reset) for the next file with the same kernel and
/// layout, and builds a new one when the layout changes: every output must be, byte for
/// byte, what a run on that file alone writes.
#[test]
fn batch_outputs_equal_single_file_runs_byte_for_byte() {
    let f = Fixture::new();
    std::fs::create_dir(f.p("out")).unwrap();
    std::fs::create_dir(f.p("one")).unwrap();
    // mono, mono, stereo, stereo, mono: reuse, rebuild, reuse, rebuild. The kernel's plan
    // is 2 partitions of 1024; each file ends 10 frames short of a whole block after its
    // 2000-frame tail, so the last blocks fed still hold signal and an engine reused
    // without its reset would leave traces in the next file.
    let layouts = [1usize, 1, 2, 2, 1];
    let mut inputs = Vec::new();
    for (i, &ch) in layouts.iter().enumerate() {
        let n = 1024 * (31 + i) - 2010;
        let x: Vec<Vec<f64>> = (0..ch)
            .map(|c| seeded(n, 40 + 10 * i as u64 + c as u64, 0.5))
            .collect();
        let p = f.p(&format!("b{i}.wav"));
        write_wav(&p, &x, 48_000, SampleFormat::F32);
        inputs.push(p);
    }
    let kernel = ["--kernel", "hann:2001"];
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = Vec::new();
    for p in &inputs {
        args.push(p);
    }
    let out_dir = f.p("out");
    args.extend([&"--out-dir" as &dyn AsRef<std::ffi::OsStr>, &out_dir]);
    args.extend([&kernel[0] as &dyn AsRef<std::ffi::OsStr>, &kernel[1]]);
    args.extend([&"--jobs" as &dyn AsRef<std::ffi::OsStr>, &"1", &"--quiet"]);
    let o = process(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    for (i, p) in inputs.iter().enumerate() {
        let alone = f.p(&format!("one/b{i}.wav"));
        let o = process(&[p, &"-o", &alone, &kernel[0], &kernel[1], &"--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let batch = std::fs::read(f.p(&format!("out/b{i}.wav"))).unwrap();
        assert!(
            batch == std::fs::read(&alone).unwrap(),
            "file {i} ({} ch) differs between the batch and a run of its own",
            layouts[i]
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_mid_file_leaves_no_output_and_the_old_file_untouched() {
    let f = Fixture::new();
    // 150 s of stereo at 48 kHz and a 1 s stereo IR: long enough to interrupt.
    let n = 48_000 * 150;
    let x = seeded(n, 30, 0.3);
    f.f32_wav("long.wav", &[x.clone(), x]);
    write_wav(
        &f.p("ir.wav"),
        &vec![seeded(48_000, 31, 0.001); 2],
        48_000,
        SampleFormat::F32,
    );
    std::fs::write(f.p("out.wav"), b"previous result").unwrap();
    let mut child = bin()
        .args(["process"])
        .arg(f.p("long.wav"))
        .arg("-o")
        .arg(f.p("out.wav"))
        .arg("--ir")
        .arg(f.p("ir.wav"))
        .arg("--force")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the temporary output has data: the run is mid-file. The temporary file
    // may have no name (O_TMPFILE): find it among the child's open files.
    let started = std::time::Instant::now();
    let fds = PathBuf::from(format!("/proc/{}/fd", child.id()));
    let writing = || {
        std::fs::read_dir(&fds)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let target = std::fs::read_link(e.path()).unwrap_or_default();
                target.starts_with(f.dir.path())
                    && !target.ends_with("long.wav")
                    && !target.ends_with("ir.wav")
                    && std::fs::metadata(e.path()).is_ok_and(|m| m.len() > 1 << 20)
            })
    };
    loop {
        if writing() {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be interrupted"
        );
        assert!(started.elapsed().as_secs() < 120, "never started writing");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    assert_eq!(std::fs::read(f.p("out.wav")).unwrap(), b"previous result");
    assert_eq!(names(f.dir.path()), ["ir.wav", "long.wav", "out.wav"]);
}

#[test]
fn block_renders_with_the_live_plan() {
    let f = Fixture::new();
    let x = seeded(5000, 50, 0.5);
    let h = seeded(2000, 51, 0.02);
    f.f32_wav("in.wav", std::slice::from_ref(&x));
    f.f32_wav("ir.wav", std::slice::from_ref(&h));
    let o = process(&[
        &f.p("in.wav"),
        &"-o",
        &f.p("live.wav"),
        &"--ir",
        &f.p("ir.wav"),
        &"--block",
        &"100",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("latency 0 frames"), "{said}");
    let want = convolve_full(&x, &h);
    let (got, _) = read_wav(&f.p("live.wav"));
    assert!(max_err(&got[0], &want) <= 1e-5 * peak(&want));
    let o = process(&[
        &f.p("in.wav"),
        &"-o",
        &f.p("z.wav"),
        &"--kernel",
        &"flat:3",
        &"--block",
        &"0",
    ]);
    assert_one_line_error(&o, "--block");
}
