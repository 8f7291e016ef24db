//! Generates the impulse responses shipped in `impulses/`, with faltung's own kernels and
//! reference convolution, so their provenance is ours:
//!
//! ```text
//! cargo run --release --example make_impulses [-- OUT_DIR]   # default: impulses
//! ```
//!
//! The room model is synthetic: a direct sound and early reflections from a shoebox
//! image-source model (up to second order), then a diffuse tail of seeded Gaussian noise,
//! split into four bands (below 250 Hz, 250-1000 Hz, 1-4 kHz, above 4 kHz) with
//! complementary linear-phase windowed-sinc filters, each band decaying exponentially with
//! its own reverberation time (high frequencies die first, as air and walls absorb them).
//! Everything is seeded: the output is the same on every run.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use faltung::kernel::{self, IrOptions, Kernel, Normalize};
use faltung::reference::convolve_full;

const RATE: u32 = 48_000;
const FS: f64 = RATE as f64;

/// The crate's seeded generator, with a Gaussian draw for noise.
struct Rng(faltung::rng::SplitMix64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0.next_open_unit_f64()
    }
    /// Standard normal (Box-Muller).
    fn gauss(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
    }
}

/// Windowed-sinc low-pass, Blackman window, odd length, unit DC gain
/// (the design of `scipy.signal.firwin(n, cutoff, window='blackman')`).
fn lowpass(n: usize, cutoff_hz: f64) -> Vec<f64> {
    let fc = cutoff_hz / FS; // cycles per sample
    let m = (n - 1) as f64 / 2.0;
    let mut h: Vec<f64> = (0..n)
        .map(|i| {
            let x = i as f64 - m;
            let sinc = if x == 0.0 {
                2.0 * fc
            } else {
                (2.0 * PI * fc * x).sin() / (PI * x)
            };
            let w = 0.42 - 0.5 * (2.0 * PI * i as f64 / (n - 1) as f64).cos()
                + 0.08 * (4.0 * PI * i as f64 / (n - 1) as f64).cos();
            sinc * w
        })
        .collect();
    let s: f64 = h.iter().sum();
    h.iter_mut().for_each(|v| *v /= s);
    h
}

/// Band-pass with Hamming window, scaled to unit gain at the passband centre, as
/// `scipy.signal.firwin(n, [low, high], pass_zero=False, fs=48000)` designs it.
fn bandpass_firwin(n: usize, low_hz: f64, high_hz: f64) -> Vec<f64> {
    let m = (n - 1) as f64 / 2.0;
    let (f1, f2) = (low_hz / FS * 2.0, high_hz / FS * 2.0); // relative to Nyquist
    let mut h: Vec<f64> = (0..n)
        .map(|i| {
            let x = i as f64 - m;
            let sinc = |f: f64| {
                if x == 0.0 {
                    f
                } else {
                    (PI * f * x).sin() / (PI * x)
                }
            };
            let w = 0.54 - 0.46 * (2.0 * PI * i as f64 / (n - 1) as f64).cos();
            (sinc(f2) - sinc(f1)) * w
        })
        .collect();
    let fc = 0.5 * (f1 + f2) / 2.0; // cycles per sample
    let g: f64 = h
        .iter()
        .enumerate()
        .map(|(i, v)| v * (2.0 * PI * fc * (i as f64 - m)).cos())
        .sum();
    h.iter_mut().for_each(|v| *v /= g);
    h
}

struct Room {
    /// Room size in metres.
    size: [f64; 3],
    source: [f64; 3],
    /// Listener (microphone) positions, one per output channel.
    mics: Vec<[f64; 3]>,
    /// Wall reflection factor (pressure).
    beta: f64,
    /// Reverberation time (-60 dB) per band: < 250 Hz, 250-1k, 1k-4k, > 4 kHz.
    rt60_s: [f64; 4],
    /// RMS of the diffuse tail at its start, relative to the direct sound's amplitude.
    tail_level: f64,
    /// Time over which the tail fades in after the direct sound.
    tail_fade_s: f64,
    /// Whether to include direct sound and early reflections (off for the plate).
    early: bool,
    length_s: f64,
    seed: u64,
}

/// The four complementary band kernels (they sum to a delayed unit impulse).
fn band_kernels() -> Vec<Vec<f64>> {
    let n = 2047;
    let lps: Vec<Vec<f64>> = [250.0, 1000.0, 4000.0]
        .iter()
        .map(|&f| lowpass(n, f))
        .collect();
    let mut delta = vec![0.0; n];
    delta[n / 2] = 1.0;
    let sub = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x - y).collect::<Vec<_>>();
    vec![
        lps[0].clone(),
        sub(&lps[1], &lps[0]),
        sub(&lps[2], &lps[1]),
        sub(&delta, &lps[2]),
    ]
}

fn render_room(room: &Room, bands: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let len = (room.length_s * FS) as usize;
    let c = 343.0;
    let mut rng = Rng(faltung::rng::SplitMix64::new(room.seed));
    let mut channels = Vec::new();
    for mic in &room.mics {
        let mut out = vec![0.0; len];
        let d0 = (0..3)
            .map(|i| (room.source[i] - mic[i]).powi(2))
            .sum::<f64>()
            .sqrt();
        let t0 = d0 / c;
        if room.early {
            // Image sources up to second order: direct sound has amplitude 1.
            for ix in -2i32..=2 {
                for iy in -2i32..=2 {
                    for iz in -2i32..=2 {
                        let order = ix.abs() + iy.abs() + iz.abs();
                        if order > 2 {
                            continue;
                        }
                        let idx = [ix, iy, iz];
                        let mut d2 = 0.0;
                        for a in 0..3 {
                            let n = idx[a];
                            let l = room.size[a];
                            // Image position: mirrored for odd n, shifted for even n.
                            // x_n = 2 ceil(n/2) L + (-1)^n s
                            let sign = if n % 2 == 0 { 1.0 } else { -1.0 };
                            let p = 2.0 * (n as f64 / 2.0).ceil() * l + sign * room.source[a];
                            d2 += (p - mic[a]).powi(2);
                        }
                        let d = d2.sqrt();
                        let frame = (d / c * FS).round() as usize;
                        if frame < len {
                            let sign = if rng.uniform() < 0.15 { -1.0 } else { 1.0 };
                            out[frame] += sign * room.beta.powi(order) * d0 / d;
                        }
                    }
                }
            }
        }
        // Diffuse tail: band-split noise, each band with its own decay.
        let noise: Vec<f64> = (0..len).map(|_| rng.gauss()).collect();
        let start = if room.early { t0 } else { 0.0 };
        for (b, k) in bands.iter().enumerate() {
            let filtered = convolve_full(&noise, k);
            let delay = k.len() / 2;
            let decay = 6.907_755 / room.rt60_s[b]; // ln(1000): -60 dB over rt60
            for (i, o) in out.iter_mut().enumerate() {
                let t = i as f64 / FS - start;
                if t < 0.0 {
                    continue;
                }
                let fade = if t < room.tail_fade_s {
                    0.5 - 0.5 * (PI * t / room.tail_fade_s).cos()
                } else {
                    1.0
                };
                *o += room.tail_level * fade * (-decay * t).exp() * filtered[i + delay];
            }
        }
        channels.push(out);
    }
    channels
}

/// A short cabinet-like IR: damped resonances (cone and box modes), rolled off above
/// about 5 kHz with a windowed-sinc low-pass.
fn cabinet() -> Vec<f64> {
    let n = 1024;
    let modes = [
        // (frequency Hz, amplitude, decay time constant ms)
        (95.0, 0.6, 6.0),
        (180.0, 0.5, 4.0),
        (450.0, 0.45, 3.0),
        (1200.0, 0.7, 2.0),
        (2400.0, 0.55, 1.2),
        (3600.0, 0.35, 0.8),
    ];
    let raw: Vec<f64> = (0..n)
        .map(|i| {
            let t = i as f64 / FS;
            modes
                .iter()
                .map(|&(f, a, tau_ms)| a * (-t / (tau_ms * 1e-3)).exp() * (2.0 * PI * f * t).sin())
                .sum()
        })
        .collect();
    let lp = lowpass(127, 5000.0);
    let mut y = convolve_full(&raw, &lp);
    y.drain(..lp.len() / 2);
    y.truncate(n);
    y
}

enum Format {
    Int(u16),
    Float,
}

fn write(dir: &Path, name: &str, k: Kernel, fmt: Format) -> PathBuf {
    // Peak -1 dBFS (normalise by peak, then gain), with faltung's own options.
    let mut notes = Vec::new();
    let opts = IrOptions {
        normalize: Normalize::Peak,
        gain_db: -1.0,
        ..IrOptions::default()
    };
    let k = kernel::apply_options(k, &opts, &mut notes).expect("generated kernels are finite");
    let path = dir.join(name);
    let (bits, format) = match fmt {
        Format::Int(b) => (b, hound::SampleFormat::Int),
        Format::Float => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec {
        channels: k.channel_count() as u16,
        sample_rate: RATE,
        bits_per_sample: bits,
        sample_format: format,
    };
    let mut w = hound::WavWriter::create(&path, spec).expect("create WAV");
    let full = ((1i64 << (bits - 1)) - 1) as f64;
    for i in 0..k.len_frames() {
        for c in &k.channels {
            match fmt {
                Format::Int(_) => w.write_sample((c[i] * full).round() as i32),
                Format::Float => w.write_sample(c[i] as f32),
            }
            .expect("write sample");
        }
    }
    w.finalize().expect("finalise WAV");
    // Read it back through the loader the CLI uses.
    let back = kernel::load_ir(&path, &IrOptions::default()).expect("reads back");
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "{}: {} frames ({:.3} s), {} ch, {} Hz, {} bytes",
        path.display(),
        back.len_frames(),
        back.len_frames() as f64 / FS,
        back.channel_count(),
        RATE,
        bytes
    );
    path
}

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "impulses".into()));
    std::fs::create_dir_all(&dir).expect("create output directory");
    let bands = band_kernels();
    let named = |channels, name: &str| Kernel {
        channels,
        sample_rate_hz: Some(RATE),
        name: name.into(),
    };

    let small = Room {
        size: [5.0, 4.0, 2.8],
        source: [1.5, 2.6, 1.5],
        mics: vec![[3.6, 1.6, 1.4], [3.8, 1.6, 1.4]],
        beta: 0.8,
        rt60_s: [0.5, 0.45, 0.38, 0.25],
        tail_level: 0.08,
        tail_fade_s: 0.012,
        early: true,
        length_s: 0.6,
        seed: 1,
    };
    write(
        &dir,
        "small_room.wav",
        named(render_room(&small, &bands), "small_room"),
        Format::Int(24),
    );

    let hall = Room {
        size: [42.0, 26.0, 16.0],
        source: [8.0, 13.0, 2.0],
        mics: vec![[24.0, 12.5, 3.0], [24.0, 14.0, 3.0]],
        beta: 0.85,
        rt60_s: [2.8, 2.4, 2.0, 1.3],
        tail_level: 0.05,
        tail_fade_s: 0.06,
        early: true,
        length_s: 2.8,
        seed: 2,
    };
    write(
        &dir,
        "large_hall.wav",
        named(render_room(&hall, &bands), "large_hall"),
        Format::Int(24),
    );

    let plate = Room {
        size: [1.0; 3],
        source: [0.0; 3],
        mics: vec![[0.0; 3], [0.0; 3]],
        beta: 0.0,
        rt60_s: [1.6, 1.9, 1.8, 1.5],
        tail_level: 1.0,
        tail_fade_s: 0.002,
        early: false,
        length_s: 2.0,
        seed: 3,
    };
    write(
        &dir,
        "plate.wav",
        named(render_room(&plate, &bands), "plate"),
        Format::Int(24),
    );

    // Telephone band: 300-3400 Hz, 255 taps. The spec parser's firwin design if this build
    // has it, otherwise the same design written out here.
    let spec = "bandpass:255,low=300,high=3400";
    let tel = match kernel::parse_spec(spec, Some(RATE)) {
        Ok(k) => {
            println!("telephone: from the kernel spec `{spec}`");
            k.channels
        }
        Err(_) => {
            println!(
                "telephone: spec `{spec}` not available; firwin-equivalent design in this example"
            );
            vec![bandpass_firwin(255, 300.0, 3400.0)]
        }
    };
    write(
        &dir,
        "telephone.wav",
        named(tel, "telephone"),
        Format::Float,
    );

    write(
        &dir,
        "cabinet.wav",
        named(vec![cabinet()], "cabinet"),
        Format::Int(24),
    );
}
