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
        // The original length exactly: the encoder delay and padding are trimmed (MP3's
        // LAME header, Ogg's last granule position), as sox and ffmpeg do.
        assert_eq!(got.len(), n, "{}: frames", path.display());
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

/// `faltung process src -o <dir>/<name> --kernel hann:31 -q` plus `args`; the output path.
fn process_to(src: &Path, dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    run(bin()
        .arg("process")
        .arg(src)
        .arg("-o")
        .arg(&out)
        .args(["--kernel", "hann:31", "-q"])
        .args(args));
    out
}

/// `path` decoded to a 32-bit float WAV by the reference `flac` tool (which also checks
/// the MD5 of the samples against the STREAMINFO), read back as interleaved samples.
fn decoded_by_flac(path: &Path) -> (Vec<f32>, usize, u32) {
    run(Command::new("flac").args(["-t", "-s"]).arg(path));
    let wav = path.with_extension("flac-decoded.wav");
    run(Command::new("flac")
        .args(["-d", "-s", "-f", "-o"])
        .arg(&wav)
        .arg(path));
    read_all(&wav)
}

#[test]
fn flac_output_decodes_to_the_samples_of_the_wav_output_of_the_same_format() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_wav(dir.path());
    // 13 230 frames: three full 4096-frame blocks and a short last one.
    // (format, arguments of both runs, the WAV run's own, a float input)
    for (case, (format, args, wav_args, float_in)) in [
        (SampleFormat::I16, &[][..], &[][..], false),
        (SampleFormat::I24, &["--format", "i24"][..], &[][..], false),
        // A float input written to FLAC without --format: 24-bit, as sox does.
        (
            SampleFormat::I24,
            &["--gain-db", "-1"][..],
            &["--format", "i24"][..],
            true,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let input = if float_in {
            process_to(&src, dir.path(), "float-in.wav", &["--format", "f32"])
        } else {
            src.clone()
        };
        let tag = format!("case{case}-{format:?}");
        let wav = process_to(
            &input,
            dir.path(),
            &format!("{tag}.wav"),
            &[args, wav_args].concat(),
        );
        let flac = process_to(&input, dir.path(), &format!("{tag}.flac"), args);
        let (want, ch, rate) = read_all(&wav);
        assert_eq!(AudioReader::open(&wav).unwrap().info().format, format);
        assert!(want.iter().any(|&v| v != 0.0));
        // The reference decoder and faltung's own reader give the WAV's samples exactly
        // (same dither seed, same quantiser).
        let (by_flac, fch, frate) = decoded_by_flac(&flac);
        assert_eq!((fch, frate), (ch, rate), "{tag}");
        assert_eq!(by_flac, want, "{tag}: flac -d differs from the WAV output");
        let (ours, _, _) = read_all(&flac);
        assert_eq!(ours, want, "{tag}: faltung's reader differs");
        let r = AudioReader::open(&flac).unwrap();
        assert_eq!(r.info().format, format, "{tag}");
        // sox reads it as well, with the same bit depth.
        let o = run(Command::new("sox").args(["--i", "-b"]).arg(&flac));
        let bits = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert_eq!(bits, format.bits().to_string(), "{tag}");
    }
}

#[test]
fn flac_output_of_a_float_or_32_bit_format_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_wav(dir.path());
    for f in ["f32", "i32"] {
        let out = dir.path().join("o.flac");
        let o = bin()
            .arg("process")
            .arg(&src)
            .arg("-o")
            .arg(&out)
            .args(["--kernel", "hann:31", "--format", f])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains("o.flac") && err.contains("FLAC holds") && err.contains("--format i16"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!out.exists());
    }
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "only the source is left: {names:?}");
}

#[test]
fn kernel_written_as_flac_holds_its_taps_rounded_to_24_bits() {
    let dir = tempfile::tempdir().unwrap();
    let (wav, flac) = (dir.path().join("k.wav"), dir.path().join("k.flac"));
    for out in [&wav, &flac] {
        run(bin()
            .args(["kernel", "hann:31", "--rate", "48000", "-o"])
            .arg(out));
    }
    let (taps, _, _) = read_all(&wav);
    let (got, ch, rate) = decoded_by_flac(&flac);
    assert_eq!((ch, rate, got.len()), (1, 48_000, 31));
    for (i, (&t, &g)) in taps.iter().zip(&got).enumerate() {
        let want = (t as f64 * 8_388_608.0).round() / 8_388_608.0;
        assert_eq!(g as f64, want, "tap {i}");
    }
    // A tap beyond full scale does not fit: refused, nothing written.
    let loud = dir.path().join("loud.flac");
    let o = bin()
        .args(["kernel", "flat:1", "--gain-db", "6", "-o"])
        .arg(&loud)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("loud.flac") && err.contains(".wav"), "{err}");
    assert!(!loud.exists());
}

#[test]
fn normalize_on_standard_input_spools_the_output_and_equals_the_file_path() {
    // The normalise pass reads the input once and spools the processed output, so a pipe
    // works: the same samples as the file path, to a file and to standard output.
    let dir = tempfile::tempdir().unwrap();
    let src = source_wav(dir.path());
    let want = read_all(&process_to(&src, dir.path(), "ref.wav", &["--normalize"])).0;
    let bytes = std::fs::read(&src).unwrap();
    let to_file = dir.path().join("piped.wav");
    let o = process_piped(
        &bytes,
        &[
            "-",
            "-o",
            to_file.to_str().unwrap(),
            "--kernel",
            "hann:31",
            "--normalize",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read_all(&to_file).0, want);
    let o = process_piped(
        &bytes,
        &["-", "-o", "-", "--kernel", "hann:31", "--normalize", "-q"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let streamed = dir.path().join("streamed.wav");
    std::fs::write(&streamed, &o.stdout).unwrap();
    assert_eq!(read_all(&streamed).0, want);
    let peak = want.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
    assert!((20.0 * peak.log10() + 1.0).abs() < 0.01, "peak {peak}");
}

/// `faltung kernel PATH --text`: the taps as printed, one frame per line, channels
/// tab-separated, in full precision.
fn kernel_text(path: &Path) -> Vec<Vec<f64>> {
    let o = run(bin().arg("kernel").arg(path).arg("--text"));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// `faltung process src -o <dir>/<name> --ir ir --format f32 -q`: the output's samples.
fn process_with_ir(src: &Path, ir: &Path, dir: &Path, name: &str) -> Vec<f32> {
    let out = dir.join(name);
    run(bin()
        .arg("process")
        .arg(src)
        .arg("-o")
        .arg(&out)
        .arg("--ir")
        .arg(ir)
        .args(["--format", "f32", "-q"]));
    read_all(&out).0
}

#[test]
fn kernel_and_ir_read_flac_aiff_ogg_and_mp3_as_the_wav_they_were_made_from() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = source_wav(d);
    // A stereo 16-bit IR of 2000 frames at 44.1 kHz (not a multiple of any codec's block).
    let ir_wav = d.join("ir.wav");
    run(Command::new("sox")
        .arg(&src)
        .arg(&ir_wav)
        .args(["trim", "0s", "2000s"]));
    let want = kernel_text(&ir_wav);
    assert_eq!((want.len(), want[0].len()), (2000, 2));
    let via_wav = process_with_ir(&src, &ir_wav, d, "via-wav.wav");
    assert!(via_wav.iter().any(|&v| v != 0.0));

    // Lossless containers made by sox: the same taps, and process --ir gives the same
    // samples as with the WAV.
    for (name, extra) in [
        ("ir.flac", &[][..]),
        ("ir24.flac", &["-b", "24"][..]),
        ("ir.aiff", &[][..]),
        ("ir.aifc", &[][..]),
    ] {
        let path = d.join(name);
        run(Command::new("sox").arg(&ir_wav).args(extra).arg(&path));
        assert_eq!(kernel_text(&path), want, "kernel {name}");
        let got = process_with_ir(&src, &path, d, &format!("via-{name}.wav"));
        assert_eq!(got, via_wav, "process --ir {name}");
    }

    // Lossy files: the taps equal the reference decoders' output (libvorbisfile through
    // sox, which gives 16 bits; ffmpeg's MP3 decoder in 32-bit float), with exactly the
    // WAV's length (Ogg's last granule position, MP3's LAME header trim encoder delay and
    // padding), within 1e-4 (-80 dBFS: the 16-bit step of sox's output and the
    // difference between two float decoders). process --ir reads the file as kernel does.
    let ogg = d.join("ir.ogg");
    run(Command::new("sox").arg(&ir_wav).arg(&ogg));
    let ogg_ref = d.join("ogg-by-sox.wav");
    run(Command::new("sox").arg(&ogg).arg(&ogg_ref));
    let mp3 = d.join("ir.mp3");
    run(Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(&ir_wav)
        .args(["-b:a", "192k"])
        .arg(&mp3));
    let mp3_ref = d.join("mp3-by-ffmpeg.wav");
    // `-f mp3`: ffmpeg's probe does not recognise an MP3 this short by its content.
    run(Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "mp3", "-i"])
        .arg(&mp3)
        .args(["-c:a", "pcm_f32le"])
        .arg(&mp3_ref));
    for (path, reference) in [(&ogg, &ogg_ref), (&mp3, &mp3_ref)] {
        let name = path.file_name().unwrap().to_str().unwrap();
        let got = kernel_text(path);
        let (refs, ch, _) = read_all(reference);
        assert_eq!(ch, 2, "{name}");
        assert_eq!(got.len(), want.len(), "{name}: length");
        assert_eq!(refs.len(), 2 * want.len(), "{name}: the reference's length");
        let mut err = 0f64;
        for (frame, r) in got.iter().zip(refs.chunks(2)) {
            assert_eq!(frame.len(), 2, "{name}");
            for (g, &r) in frame.iter().zip(r) {
                err = err.max((g - r as f64).abs());
            }
        }
        assert!(
            err <= 1e-4,
            "{name}: max difference {err:e} from the reference decoder"
        );
        // Still the IR it was made from (lossy, so loosely): the same tone and noise.
        let flat: Vec<f32> = got.iter().flatten().map(|&v| v as f32).collect();
        let orig: Vec<f32> = want.iter().flatten().map(|&v| v as f32).collect();
        let (c, lag) = best_correlation(&orig, &flat, 4);
        assert!(c > 0.95 && lag == 0, "{name}: correlation {c} at lag {lag}");
        // process --ir: the same samples as with the taps kernel -o writes (32-bit float).
        let taps = d.join(format!("{name}-taps.wav"));
        run(bin().arg("kernel").arg(path).arg("-o").arg(&taps));
        assert_eq!(
            process_with_ir(&src, path, d, &format!("via-{name}.wav")),
            process_with_ir(&src, &taps, d, &format!("via-{name}-taps.wav")),
            "process --ir {name}"
        );
    }
}
