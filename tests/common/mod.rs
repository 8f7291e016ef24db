//! Shared helpers for integration tests: a seeded PRNG and signal makers.
#![allow(dead_code)]

pub mod proc;
pub mod wav;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh path for a scratch file under cargo's temp dir for integration tests
/// (`target/tmp`), so that test runs leave nothing in the system temp dir.
pub fn scratch_path(group: &str, name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("faltung-{group}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}-{name}", N.fetch_add(1, Ordering::Relaxed)))
}

/// Write interleaved samples as a 32-bit float WAV with hound (not faltung's own writer),
/// at a fresh scratch path.
pub fn write_float_wav(
    group: &str,
    name: &str,
    channels: u16,
    rate: u32,
    samples: &[f32],
) -> PathBuf {
    let path = scratch_path(group, name);
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
    path
}

/// The crate's seeded generator (SplitMix64), under the name the tests use.
pub use faltung::rng::SplitMix64 as Rng;

/// White noise in [-1, 1), `f32`-representable values.
pub fn noise(seed: u64, len: usize) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..len).map(|_| r.next_bipolar_f64() as f32).collect()
}

/// An exponentially decaying noise IR, like a room: `exp(-6.9 t / len)` (-60 dB at the end).
pub fn decaying_ir(seed: u64, len: usize) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..len)
        .map(|i| (r.next_bipolar_f64() * (-6.9 * i as f64 / len as f64).exp()) as f32)
        .collect()
}

pub fn to_f64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// Max |a - b| over the common length, and the peak of |b|.
pub fn max_err(a: &[f32], b: &[f64]) -> (f64, f64) {
    let mut e = 0.0f64;
    let mut peak = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        e = e.max((*x as f64 - y).abs());
        peak = peak.max(y.abs());
    }
    (e, peak)
}

/// Deinterleave channel `ch` of `channels`.
pub fn channel(x: &[f32], channels: usize, ch: usize) -> Vec<f32> {
    x.iter().skip(ch).step_by(channels).copied().collect()
}

/// `n` seeded uniform values in [-amp, amp), each exactly representable as `f32` so a
/// float WAV holds them exactly.
pub fn seeded(n: usize, seed: u64, amp: f64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            ((u * 2.0 - 1.0) * amp) as f32 as f64
        })
        .collect()
}

/// Largest |got - want| over two f64 signals of equal length.
pub fn max_abs_diff(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "length");
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// Largest |sample|.
pub fn peak_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// The named f64 arrays of one golden file `tests/data/DIR/NAME`, in header order: an ASCII
/// header line `faltung-golden-f64le 1 name:len ...`, then the arrays as little-endian f64.
/// `script` is the generator to name when the file is missing (scripts/golden/...).
pub fn read_golden(dir: &str, name: &str, script: &str) -> Vec<(String, Vec<f64>)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(dir)
        .join(name);
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run {script})", path.display()));
    let nl = bytes.iter().position(|&b| b == b'\n').expect("header line");
    let header = std::str::from_utf8(&bytes[..nl]).expect("ASCII header");
    let mut fields = header.split(' ');
    assert_eq!(fields.next(), Some("faltung-golden-f64le"));
    assert_eq!(fields.next(), Some("1"));
    let mut data = bytes[nl + 1..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")));
    let mut arrays = Vec::new();
    for f in fields {
        let (name, len) = f.split_once(':').expect("name:len");
        let len: usize = len.parse().expect("length");
        let x: Vec<f64> = data.by_ref().take(len).collect();
        assert_eq!(x.len(), len, "{}: {name} truncated", path.display());
        arrays.push((name.to_string(), x));
    }
    assert_eq!(data.next(), None, "{}: trailing data", path.display());
    arrays
}

/// A room-like IR at `rate`: `delay` frames of silence, then `len` frames of seeded decaying
/// noise (scaled by 0.3) band-limited to 2..12 kHz, inside a sweep's 20 Hz..20 kHz (the
/// band-pass's stopband is below -70 dB).
pub fn band_limited_room(seed: u64, len: usize, delay: usize, rate: u32) -> Vec<f64> {
    use faltung::convolve::{convolve, Method, Mode};
    let bp = faltung::kernel::parse_spec(
        "bandpass:255,low=2000,high=12000,window=blackman",
        Some(rate),
    )
    .unwrap()
    .channels[0]
        .clone();
    let noise: Vec<f64> = decaying_ir(seed, len)
        .iter()
        .map(|&v| f64::from(v) * 0.3)
        .collect();
    let mut ir = vec![0.0; delay];
    ir.extend(convolve(&noise, &bp, Mode::Full, Method::Direct).unwrap());
    ir
}
