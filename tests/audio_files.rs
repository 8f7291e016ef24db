//! Audio files end to end: every container faltung reads, made at test time by sox and
//! ffmpeg (installed by scripts/setup.sh), read back against the WAV they were made from;
//! WAV layouts written by hand; pipes through standard input and output; inputs that
//! would block.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use faltung::audio_file::{AudioReader, SampleFormat};

mod common;
use common::wav::write_wav;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_faltung"))
}

fn run(cmd: &mut Command) -> Output {
    let o = cmd
        .output()
        .expect("tool runs (scripts/setup.sh installs sox and ffmpeg)");
    assert!(
        o.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Every frame of `path` through faltung's reader, interleaved, with channels and rate.
fn read_all(path: &Path) -> (Vec<f32>, usize, u32) {
    let mut r = AudioReader::open(path).unwrap_or_else(|e| panic!("{e}"));
    let info = r.info();
    let mut out = Vec::new();
    let mut buf = vec![0f32; 1000 * info.channels];
    loop {
        let n = r.read_frames(&mut buf).unwrap_or_else(|e| panic!("{e}"));
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n * info.channels]);
    }
    if let Some(f) = info.frames {
        assert_eq!(f as usize * info.channels, out.len(), "{}", path.display());
    }
    (out, info.channels, info.sample_rate_hz)
}

/// A 16-bit stereo WAV of seeded noise and a tone, 0.3 s at 44.1 kHz.
fn source_wav(dir: &Path) -> PathBuf {
    let n = 13_230;
    let mut rng = common::Rng::new(7);
    let l: Vec<f64> = (0..n)
        .map(|i| 0.5 * (i as f64 * 0.0627).sin() + 0.1 * rng.next_bipolar_f64())
        .collect();
    let r: Vec<f64> = (0..n).map(|i| 0.4 * (i as f64 * 0.0311).cos()).collect();
    let path = dir.join("src.wav");
    write_wav(&path, &[l, r], 44_100, SampleFormat::I16);
    path
}

#[test]
fn lossless_files_made_by_sox_read_sample_for_sample_as_their_wav() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_wav(dir.path());
    let (want, ch, rate) = read_all(&src);
    for (name, extra) in [
        ("t.flac", &[][..]),
        ("t.aiff", &[][..]),
        ("t.aifc", &[][..]),
        // A 24-bit FLAC: the 16-bit values in a wider word, still exact.
        ("t24.flac", &["-b", "24"][..]),
    ] {
        let out = dir.path().join(name);
        run(Command::new("sox").arg(&src).args(extra).arg(&out));
        let (got, gch, grate) = read_all(&out);
        assert_eq!((gch, grate), (ch, rate), "{name}");
        assert_eq!(got, want, "{name}: samples differ from the WAV");
    }
}

/// Normalised cross-correlation of `a` and `b` at the best lag in `-max..=max`.
fn best_correlation(a: &[f32], b: &[f32], max: i64) -> (f64, i64) {
    let mut best = (f64::MIN, 0);
    for lag in -max..=max {
        let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
        for (i, &x) in a.iter().enumerate() {
            let j = i as i64 + lag;
            if j < 0 || j as usize >= b.len() {
                continue;
            }
            let y = b[j as usize] as f64;
            ab += x as f64 * y;
            aa += (x as f64).powi(2);
            bb += y * y;
        }
        let c = ab / (aa * bb).sqrt().max(1e-30);
        if c > best.0 {
            best = (c, lag);
        }
    }
    best
}

#[test]
fn lossy_files_made_by_ffmpeg_and_sox_decode_to_the_tone_they_hold() {
    let dir = tempfile::tempdir().unwrap();
    // A mono tone: lossy codecs keep it nearly intact.
    let n = 48_000;
    let tone: Vec<f64> = (0..n)
        .map(|i| 0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 48_000.0).sin())
        .collect();
    let src = dir.path().join("tone.wav");
    write_wav(&src, &[tone], 48_000, SampleFormat::I16);
    let (want, _, _) = read_all(&src);
    let mp3 = dir.path().join("t.mp3");
    run(Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(&src)
        .args(["-b:a", "192k"])
        .arg(&mp3));
    let ogg = dir.path().join("t.ogg");
    run(Command::new("sox").arg(&src).arg(&ogg));
    for path in [mp3, ogg] {
        let (got, ch, rate) = read_all(&path);
        assert_eq!((ch, rate), (1, 48_000), "{}", path.display());
        // Within one MP3 frame of the original length (encoder delay and padding).
        assert!(
            (got.len() as i64 - n as i64).abs() <= 1152,
            "{}: {} frames",
            path.display(),
            got.len()
        );
        let (c, lag) = best_correlation(&want[..8000], &got, 1200);
        assert!(c > 0.99, "{}: correlation {c} at lag {lag}", path.display());
    }
}

#[test]
fn flac_input_and_flac_ir_process_like_their_wavs() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_wav(dir.path());
    let flac = dir.path().join("in.flac");
    run(Command::new("sox").arg(&src).arg(&flac));
    // An IR: the source's first 200 frames, as WAV and as AIFF.
    let ir_wav = dir.path().join("ir.wav");
    run(Command::new("sox")
        .arg(&src)
        .arg(&ir_wav)
        .args(["trim", "0s", "200s"]));
    let ir_aiff = dir.path().join("ir.aiff");
    run(Command::new("sox").arg(&ir_wav).arg(&ir_aiff));
    let mut outs = Vec::new();
    for (input, ir, name) in [
        (&src, &ir_wav, "a.wav"),
        (&flac, &ir_wav, "b.wav"),
        (&src, &ir_aiff, "c.wav"),
    ] {
        let out = dir.path().join(name);
        run(bin()
            .arg("process")
            .arg(input)
            .arg("-o")
            .arg(&out)
            .arg("--ir")
            .arg(ir)
            .args(["--format", "f32", "-q"]));
        outs.push(read_all(&out).0);
    }
    assert!(outs[0].iter().any(|&v| v != 0.0));
    assert_eq!(outs[0], outs[1], "FLAC input");
    assert_eq!(outs[0], outs[2], "AIFF IR");
}

/// A RIFF chunk: id, size, data and the pad byte of an odd size.
fn chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = id.to_vec();
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    if data.len() % 2 == 1 {
        v.push(0);
    }
    v
}

fn fmt_pcm16(channels: u16, rate: u32, extra: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&1u16.to_le_bytes());
    f.extend_from_slice(&channels.to_le_bytes());
    f.extend_from_slice(&rate.to_le_bytes());
    f.extend_from_slice(&(rate * 2 * channels as u32).to_le_bytes());
    f.extend_from_slice(&(2 * channels).to_le_bytes());
    f.extend_from_slice(&16u16.to_le_bytes());
    f.extend_from_slice(extra);
    f
}

fn riff(form: &[u8; 4], size: u32, chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut v = form.to_vec();
    v.extend_from_slice(&size.to_le_bytes());
    v.extend_from_slice(b"WAVE");
    for c in chunks {
        v.extend_from_slice(c);
    }
    v
}

#[test]
fn valid_wav_layouts_that_other_tools_write_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let vals: [i16; 6] = [0, 16384, -16384, 32767, -32768, 1];
    let data: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let want: Vec<f32> = vals.iter().map(|&v| v as f32 / 32768.0).collect();
    let fmt16 = chunk(b"fmt ", &fmt_pcm16(2, 8000, &[]));
    let mut ds64 = Vec::new();
    ds64.extend_from_slice(&0u64.to_le_bytes()); // RIFF size (unused by readers)
    ds64.extend_from_slice(&(data.len() as u64).to_le_bytes());
    ds64.extend_from_slice(&3u64.to_le_bytes());
    ds64.extend_from_slice(&0u32.to_le_bytes());
    let mut data_unknown = b"data".to_vec();
    data_unknown.extend_from_slice(&u32::MAX.to_le_bytes());
    data_unknown.extend_from_slice(&data);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "odd LIST chunk and its pad byte",
            riff(
                b"RIFF",
                0,
                &[
                    chunk(b"LIST", b"INFOISFT\x05\x00\x00\x00sox!\x00"),
                    fmt16.clone(),
                    chunk(b"data", &data),
                ],
            ),
        ),
        (
            "8-byte fact chunk",
            riff(
                b"RIFF",
                0,
                &[
                    fmt16.clone(),
                    chunk(b"fact", &[3, 0, 0, 0, 0, 0, 0, 0]),
                    chunk(b"data", &data),
                ],
            ),
        ),
        (
            "20-byte PCM fmt chunk",
            riff(
                b"RIFF",
                0,
                &[
                    chunk(b"fmt ", &fmt_pcm16(2, 8000, &[2, 0, 0, 0])),
                    chunk(b"data", &data),
                ],
            ),
        ),
        (
            "RF64 with a ds64 chunk",
            riff(
                b"RF64",
                u32::MAX,
                &[chunk(b"ds64", &ds64), fmt16.clone(), {
                    let mut d = b"data".to_vec();
                    d.extend_from_slice(&u32::MAX.to_le_bytes());
                    d.extend_from_slice(&data);
                    d
                }],
            ),
        ),
        (
            "data size 0xFFFFFFFF (a stream saved to a file)",
            riff(b"RIFF", u32::MAX, &[fmt16.clone(), data_unknown.clone()]),
        ),
    ];
    for (what, bytes) in cases {
        let path = dir.path().join("t.wav");
        std::fs::write(&path, &bytes).unwrap();
        let (got, ch, rate) = read_all(&path);
        assert_eq!((ch, rate), (2, 8000), "{what}");
        assert_eq!(got, want, "{what}");
    }
}

/// `faltung process` with `args`, standard input from `input`, output captured.
fn process_piped(input: &[u8], args: &[&str]) -> Output {
    let mut child = bin()
        .arg("process")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let bytes = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    let o = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    o
}

#[test]
fn sox_pipe_through_faltung_to_flac_equals_the_file_path() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_wav(dir.path());
    let want_path = dir.path().join("ref.wav");
    run(bin()
        .arg("process")
        .arg(&src)
        .arg("-o")
        .arg(&want_path)
        .args(["--kernel", "hann:31", "-q"]));
    // sox ... -t wav - | faltung process - -o - --kernel hann:31 | sox -t wav - out.flac
    let out_flac = dir.path().join("out.flac");
    let script = format!(
        "set -o pipefail; sox '{}' -t wav - | '{}' process - -o - --kernel hann:31 | sox -t wav - '{}'",
        src.display(),
        env!("CARGO_BIN_EXE_faltung"),
        out_flac.display()
    );
    let o = run(Command::new("bash").arg("-c").arg(&script));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("->"),
        "the summary goes to standard error: {err}"
    );
    let (want, ch, rate) = read_all(&want_path);
    let (got, gch, grate) = read_all(&out_flac);
    assert_eq!((gch, grate), (ch, rate));
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want, "the pipe gives other samples than the file path");

    // ffmpeg's pipe header (sizes 0xFFFFFFFF) read to its end, a FLAC stream too.
    for (fmt, codec) in [("wav", "pcm_s16le"), ("flac", "flac")] {
        let o = run(Command::new("ffmpeg")
            .args(["-loglevel", "error", "-i"])
            .arg(&src)
            .args(["-c:a", codec, "-f", fmt, "-"]));
        let p = process_piped(&o.stdout, &["-", "-o", "-", "--kernel", "hann:31", "-q"]);
        assert!(
            p.status.success(),
            "{fmt}: {}",
            String::from_utf8_lossy(&p.stderr)
        );
        let piped = dir.path().join(format!("piped-{fmt}.wav"));
        std::fs::write(&piped, &p.stdout).unwrap();
        assert_eq!(read_all(&piped).0, want, "{fmt} stream");
    }
}

#[test]
fn modes_that_need_the_length_are_refused_on_standard_input_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read(source_wav(dir.path())).unwrap();
    let out = dir.path().join("o.wav");
    let o = process_piped(
        &src,
        &[
            "-",
            "-o",
            out.to_str().unwrap(),
            "--kernel",
            "hann:31",
            "--mode",
            "same",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("standard input") && err.contains("file"),
        "{err}"
    );
    assert!(!out.exists());
}

#[cfg(unix)]
#[test]
fn a_fifo_input_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("in.wav");
    run(Command::new("mkfifo").arg(&fifo));
    let mut child = bin()
        .arg("process")
        .arg(&fifo)
        .arg("-o")
        .arg(dir.path().join("o.wav"))
        .args(["--kernel", "flat:3"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Opening a FIFO blocks until a writer comes; faltung must answer without one. If it
    // blocked, the writer opened here lets it go on, and the test fails on the exit code.
    let mut polls = 0;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        polls += 1;
        if polls > 1200 {
            // A minute without an answer: it blocked. Unblock it and fail.
            let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
            child.kill().unwrap();
            panic!("faltung blocked on the FIFO");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("FIFO") && err.contains("in.wav"), "{err}");
}
