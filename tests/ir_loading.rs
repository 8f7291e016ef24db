//! Loading impulse responses from WAV files: every supported format round-trips exactly,
//! every bad input gives its own error naming the file, the shaping options give their
//! closed-form results, and resampling keeps the filter's gain.

mod common;

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use faltung::kernel::{
    self, apply_options, load_ir, load_ir_with_notes, IrOptions, Kernel, KernelError, Normalize,
};

fn write_int(name: &str, bits: u16, channels: u16, rate: u32, samples: &[i32]) -> PathBuf {
    let path = common::scratch_path("ir-loading", name);
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for &s in samples {
        if bits == 8 {
            w.write_sample(s as i8).unwrap();
        } else {
            w.write_sample(s).unwrap();
        }
    }
    w.finalize().unwrap();
    path
}

/// The WAVE format tag of a file written by hound (bytes 20-21: 1 PCM, 3 float,
/// 0xFFFE extensible).
fn format_tag(path: &Path) -> u16 {
    let b = std::fs::read(path).unwrap();
    u16::from_le_bytes([b[20], b[21]])
}

/// A deterministic pattern over the full range of a `bits`-bit integer, extremes included.
fn int_pattern(bits: u16, n: usize) -> Vec<i32> {
    let max = ((1i64 << (bits - 1)) - 1) as i32;
    let min = (-(1i64 << (bits - 1))) as i32;
    let mut v = vec![max, min, 0, 1, -1];
    let mut x: u64 = 0x1234_5678;
    while v.len() < n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let span = (max as i64 - min as i64 + 1) as u64;
        v.push((min as i64 + ((x >> 11) % span) as i64) as i32);
    }
    v
}

#[test]
fn every_integer_format_round_trips_exactly_scaled_by_2_pow_bits_minus_1() {
    let mut tags = Vec::new();
    for bits in [8u16, 16, 24, 32] {
        for channels in [1u16, 2, 4] {
            let frames = 37;
            let samples = int_pattern(bits, frames * channels as usize);
            let path = write_int(
                &format!("int{bits}-{channels}.wav"),
                bits,
                channels,
                44100,
                &samples,
            );
            tags.push(format_tag(&path));
            let k = load_ir(&path, &IrOptions::default()).unwrap();
            assert_eq!(k.sample_rate_hz, Some(44100));
            assert_eq!(k.channel_count(), channels as usize);
            assert_eq!(k.len_frames(), frames);
            let scale = (1u64 << (bits - 1)) as f64;
            for (i, &s) in samples.iter().enumerate() {
                let c = i % channels as usize;
                let f = i / channels as usize;
                assert_eq!(
                    k.channels[c][f],
                    s as f64 / scale,
                    "{bits}-bit, {channels} ch, frame {f} channel {c}"
                );
            }
        }
    }
    // Both plain PCM and WAVE_FORMAT_EXTENSIBLE headers were exercised.
    assert!(tags.contains(&1), "plain PCM covered: {tags:?}");
    assert!(tags.contains(&0xFFFE), "extensible covered: {tags:?}");
}

#[test]
fn float_files_round_trip_exactly_and_channels_keep_their_file_order() {
    for channels in [1u16, 2, 4] {
        let frames = 50;
        let samples: Vec<f32> = (0..frames * channels as usize)
            .map(|i| ((i as f32) * 0.37).sin() * 0.9 + (i % channels as usize) as f32)
            .collect();
        let path = common::write_float_wav(
            "ir-loading",
            &format!("float-{channels}.wav"),
            channels,
            48000,
            &samples,
        );
        let k = load_ir(&path, &IrOptions::default()).unwrap();
        assert_eq!(k.channel_count(), channels as usize);
        for (i, &s) in samples.iter().enumerate() {
            assert_eq!(
                k.channels[i % channels as usize][i / channels as usize],
                s as f64
            );
        }
    }
}

#[test]
fn loading_says_what_it_read() {
    let path = write_int("notes.wav", 24, 2, 48000, &int_pattern(24, 20));
    let l = load_ir_with_notes(&path, &IrOptions::default()).unwrap();
    let n = l.notes.join("\n");
    assert!(n.contains("10 frames"), "{n}");
    assert!(n.contains("2 channel"), "{n}");
    assert!(n.contains("48000 Hz"), "{n}");
    assert!(n.contains("24-bit integer"), "{n}");
}

fn assert_names_file(e: &KernelError, path: &Path) {
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "error `{msg}` does not name {}",
        path.display()
    );
}

#[test]
fn a_file_without_frames_is_empty() {
    let path = write_int("empty.wav", 16, 1, 48000, &[]);
    let e = load_ir(&path, &IrOptions::default()).unwrap_err();
    assert!(matches!(e, KernelError::EmptyFile { .. }), "{e:?}");
    assert_names_file(&e, &path);
}

#[test]
fn an_all_zero_file_is_rejected() {
    let path = write_int("zero.wav", 16, 2, 48000, &[0; 64]);
    let e = load_ir(&path, &IrOptions::default()).unwrap_err();
    assert!(matches!(e, KernelError::AllZero { .. }), "{e:?}");
    assert_names_file(&e, &path);
}

#[test]
fn nan_and_inf_samples_are_reported_with_frame_and_channel() {
    for (bad, what) in [
        (f32::NAN, "nan"),
        (f32::INFINITY, "inf"),
        (f32::NEG_INFINITY, "-inf"),
    ] {
        let mut s = vec![0.25f32; 20];
        s[13] = bad; // frame 6, channel 1 of a stereo file
        let path = common::write_float_wav("ir-loading", &format!("{what}.wav"), 2, 48000, &s);
        let e = load_ir(&path, &IrOptions::default()).unwrap_err();
        match &e {
            KernelError::NonFinite { frame, channel, .. } => {
                assert_eq!((*frame, *channel), (6, 1), "{what}");
            }
            other => panic!("{what}: expected NonFinite, got {other:?}"),
        }
        assert_names_file(&e, &path);
    }
}

#[test]
fn a_file_that_is_not_a_wav_is_unreadable() {
    let path = common::scratch_path("ir-loading", "text.wav");
    std::fs::write(&path, b"this is not a RIFF file at all, just some text").unwrap();
    let e = load_ir(&path, &IrOptions::default()).unwrap_err();
    assert!(matches!(e, KernelError::File { .. }), "{e:?}");
    assert_names_file(&e, &path);

    let missing = common::scratch_path("ir-loading", "missing.wav");
    let e = load_ir(&missing, &IrOptions::default()).unwrap_err();
    assert!(matches!(e, KernelError::Open { .. }), "{e:?}");
    assert_names_file(&e, &missing);
}

#[test]
fn a_truncated_file_is_an_error_not_a_short_ir() {
    for (bits, float) in [(16u16, false), (24, false), (32, true)] {
        let path = if float {
            common::write_float_wav("ir-loading", "trunc-f.wav", 2, 48000, &vec![0.5f32; 2000])
        } else {
            write_int(
                &format!("trunc-{bits}.wav"),
                bits,
                2,
                48000,
                &vec![1000; 2000],
            )
        };
        let bytes = std::fs::read(&path).unwrap();
        // Keep the header and a little over half of the data.
        std::fs::write(&path, &bytes[..bytes.len() / 2 + 3]).unwrap();
        let e = load_ir(&path, &IrOptions::default()).unwrap_err();
        match &e {
            KernelError::Truncated { frame, frames, .. } => {
                assert_eq!(*frames, 1000);
                assert!(*frame < 1000, "{e}");
            }
            other => panic!("{bits}-bit: expected Truncated, got {other:?}"),
        }
        assert_names_file(&e, &path);
    }
}

/// A minimal RIFF/WAVE file with a hand-written fmt chunk and `data_len` announced.
fn raw_wav(
    format_tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    data_len: u32,
    data: &[u8],
) -> Vec<u8> {
    let block_align = channels * bits.div_ceil(8);
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data_len).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&format_tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * block_align as u32).to_le_bytes());
    v.extend_from_slice(&block_align.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_len.to_le_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn compressed_and_64_bit_files_are_refused_with_a_reason() {
    // WAVE_FORMAT_ADPCM (2).
    let path = common::scratch_path("ir-loading", "adpcm.wav");
    std::fs::write(&path, raw_wav(2, 1, 48000, 16, 8, &[0; 8])).unwrap();
    let e = load_ir(&path, &IrOptions::default()).unwrap_err();
    assert!(matches!(e, KernelError::Unsupported { .. }), "{e:?}");
    assert_names_file(&e, &path);

    // 64-bit IEEE float: not supported by the reader; the error names the file and the bits.
    let path = common::scratch_path("ir-loading", "f64.wav");
    std::fs::write(&path, raw_wav(3, 1, 48000, 64, 16, &[0; 16])).unwrap();
    let e = load_ir(&path, &IrOptions::default()).unwrap_err();
    assert_names_file(&e, &path);
    let msg = format!(
        "{e}: {}",
        std::error::Error::source(&e).map_or(String::new(), |s| s.to_string())
    );
    assert!(msg.contains("bits"), "{msg}");
}

#[test]
fn more_channels_than_allowed_is_an_error_naming_the_count() {
    let path = write_int("six.wav", 16, 6, 48000, &int_pattern(16, 60));
    let e = load_ir(&path, &IrOptions::default()).unwrap_err();
    match &e {
        KernelError::TooManyChannels {
            channels,
            max_channels,
            ..
        } => assert_eq!((*channels, *max_channels), (6, 4)),
        other => panic!("expected TooManyChannels, got {other:?}"),
    }
    assert_names_file(&e, &path);

    // The limit is configurable: a true-stereo file where only stereo is allowed.
    let path = write_int("four.wav", 16, 4, 48000, &int_pattern(16, 40));
    let opts = IrOptions {
        max_channels: 2,
        ..IrOptions::default()
    };
    assert!(matches!(
        load_ir(&path, &opts),
        Err(KernelError::TooManyChannels { channels: 4, .. })
    ));
}

#[test]
fn too_long_is_decided_from_the_header_before_reading_samples() {
    let path = write_int("long.wav", 16, 1, 48000, &vec![100; 4800]); // 0.1 s
    let opts = IrOptions {
        max_seconds: 0.05,
        ..IrOptions::default()
    };
    let e = load_ir(&path, &opts).unwrap_err();
    assert!(
        matches!(e, KernelError::TooLong { frames: 4800, .. }),
        "{e:?}"
    );
    assert_names_file(&e, &path);
    assert!(load_ir(
        &path,
        &IrOptions {
            max_seconds: 0.2,
            ..IrOptions::default()
        }
    )
    .is_ok());

    // A header announcing ~2 GB of data (about 6 hours at 48 kHz stereo 16-bit) in a tiny
    // file: rejected as too long from the header alone, not read, not truncated.
    let path = common::scratch_path("ir-loading", "huge-header.wav");
    std::fs::write(&path, raw_wav(1, 2, 48000, 16, 0x7FFF_0000, &[1; 64])).unwrap();
    let e = load_ir(&path, &IrOptions::default()).unwrap_err();
    match &e {
        KernelError::TooLong { seconds, .. } => assert!(*seconds > 3600.0, "{e}"),
        other => panic!("expected TooLong, got {other:?}"),
    }
}

// ---- options ------------------------------------------------------------------------

fn mono(taps: Vec<f64>) -> Kernel {
    Kernel {
        channels: vec![taps],
        sample_rate_hz: Some(48000),
        name: "test kernel".into(),
    }
}

fn shaped(k: Kernel, opts: &IrOptions) -> (Kernel, String) {
    let mut notes = Vec::new();
    let k = apply_options(k, opts, &mut notes).unwrap();
    (k, notes.join("\n"))
}

fn taps() -> Vec<f64> {
    vec![0.0, 0.0, 1e-5, 0.5, -2.0, 0.75, 0.25, -1e-6, 0.0, 0.0]
}

#[test]
fn peak_normalisation_makes_the_largest_absolute_tap_one() {
    let (k, n) = shaped(
        mono(taps()),
        &IrOptions {
            normalize: Normalize::Peak,
            ..IrOptions::default()
        },
    );
    let expect: Vec<f64> = taps().iter().map(|v| v / 2.0).collect();
    assert_eq!(k.channels[0], expect);
    assert!(n.contains("peak"), "{n}");
}

#[test]
fn dc_normalisation_makes_the_sum_of_taps_one() {
    let (k, n) = shaped(
        mono(taps()),
        &IrOptions {
            normalize: Normalize::Dc,
            ..IrOptions::default()
        },
    );
    let sum: f64 = k.channels[0].iter().sum();
    assert!((sum - 1.0).abs() < 1e-14, "sum {sum}");
    // The sum of the original taps is -0.499991 (the factor's sign follows it); the note
    // gives it.
    assert!(n.contains("-4.999910e-1"), "{n}");
    assert!(k.channels[0][4] > 0.0);

    // A kernel without DC (a difference) cannot be normalised to unit DC gain.
    let mut notes = Vec::new();
    let e = apply_options(
        mono(vec![1.0, -1.0]),
        &IrOptions {
            normalize: Normalize::Dc,
            ..IrOptions::default()
        },
        &mut notes,
    )
    .unwrap_err();
    assert!(matches!(e, KernelError::BadOption { .. }), "{e:?}");
    assert!(e.to_string().contains("test kernel"), "{e}");
}

#[test]
fn energy_normalisation_gives_unit_l2_norm_with_one_factor_for_all_channels() {
    let k = Kernel {
        channels: vec![vec![3.0, 4.0], vec![1.0, 0.0]],
        sample_rate_hz: None,
        name: "two".into(),
    };
    let (k, _) = shaped(
        k,
        &IrOptions {
            normalize: Normalize::Energy,
            ..IrOptions::default()
        },
    );
    // The louder channel (L2 = 5) sets the factor; the balance is kept.
    let expect = [[0.6, 0.8], [0.2, 0.0]];
    for (c, e) in k.channels.iter().zip(expect) {
        for (a, b) in c.iter().zip(e) {
            assert!((a - b).abs() < 1e-15, "{:?}", k.channels);
        }
    }
    let l2: f64 = k.channels[0].iter().map(|v| v * v).sum();
    assert!((l2 - 1.0).abs() < 1e-15);
}

#[test]
fn gain_in_db_scales_by_ten_to_the_db_over_20_after_normalisation() {
    let (k, n) = shaped(
        mono(taps()),
        &IrOptions {
            normalize: Normalize::Peak,
            gain_db: -6.0,
            ..IrOptions::default()
        },
    );
    let g = 10f64.powf(-6.0 / 20.0);
    for (a, b) in k.channels[0].iter().zip(taps()) {
        assert!((a - b / 2.0 * g).abs() < 1e-15);
    }
    let peak = k.channels[0].iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!((peak - 0.501_187_233_627_272_3).abs() < 1e-15);
    assert!(n.contains("-6.000 dB"), "{n}");
}

#[test]
fn trims_remove_frames_below_the_threshold_relative_to_peak_and_say_how_many() {
    // Peak 2.0; -60 dB re peak = 2e-3: frames 0-2 lead (1e-5 < 2e-3), frames 7-9 trail.
    let (k, n) = shaped(
        mono(taps()),
        &IrOptions {
            trim_leading_below_db: Some(-60.0),
            trim_tail_below_db: Some(-60.0),
            ..IrOptions::default()
        },
    );
    assert_eq!(k.channels[0], vec![0.5, -2.0, 0.75, 0.25]);
    assert!(n.contains("trimmed 3 frames"), "{n}");
    assert!(n.contains("0.062 ms"), "3 frames at 48 kHz: {n}");
    assert!(
        n.contains("10 -> 7 frames") || n.contains("7 -> 4 frames"),
        "{n}"
    );

    // -120 dB keeps the 1e-5 tap (5e-6 relative) and the -1e-6 tap (-126 dB) is trimmed.
    let (k, _) = shaped(
        mono(taps()),
        &IrOptions {
            trim_leading_below_db: Some(-120.0),
            trim_tail_below_db: Some(-120.0),
            ..IrOptions::default()
        },
    );
    assert_eq!(k.channels[0], vec![1e-5, 0.5, -2.0, 0.75, 0.25]);

    // Channels are trimmed together: the earliest channel decides the leading trim.
    let k = Kernel {
        channels: vec![vec![0.0, 0.0, 0.0, 1.0], vec![0.0, 0.5, 0.0, 0.0]],
        sample_rate_hz: None,
        name: "st".into(),
    };
    let (k, _) = shaped(
        k,
        &IrOptions {
            trim_leading_below_db: Some(-40.0),
            ..IrOptions::default()
        },
    );
    assert_eq!(k.channels, vec![vec![0.0, 0.0, 1.0], vec![0.5, 0.0, 0.0]]);

    // Off by default: nothing is removed.
    let (k, _) = shaped(mono(taps()), &IrOptions::default());
    assert_eq!(k.channels[0], taps());
}

#[test]
fn a_threshold_at_or_above_0_db_is_refused() {
    let mut notes = Vec::new();
    let e = apply_options(
        mono(taps()),
        &IrOptions {
            trim_tail_below_db: Some(3.0),
            ..IrOptions::default()
        },
        &mut notes,
    )
    .unwrap_err();
    assert!(matches!(e, KernelError::BadOption { .. }), "{e:?}");
}

#[test]
fn reverse_reverses_every_channel() {
    let k = Kernel {
        channels: vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]],
        sample_rate_hz: None,
        name: "r".into(),
    };
    let (k, n) = shaped(
        k,
        &IrOptions {
            reverse: true,
            ..IrOptions::default()
        },
    );
    assert_eq!(k.channels, vec![vec![3.0, 2.0, 1.0], vec![6.0, 5.0, 4.0]]);
    assert!(n.contains("reversed 3 frames"), "{n}");
}

// ---- resampling ---------------------------------------------------------------------

/// A band-limited test IR defined in continuous time (seconds): a Gaussian pulse (carries
/// the DC gain) plus a Gaussian-windowed 2 kHz tone burst. Its spectrum is negligible
/// (< -200 dB) above 5 kHz, well below the Nyquist frequency of every rate used here.
fn ir_continuous(t: f64) -> f64 {
    let pulse = (-0.5 * ((t - 0.010) / 0.0004).powi(2)).exp();
    let burst = 0.6 * (-0.5 * ((t - 0.020) / 0.0015).powi(2)).exp() * (2.0 * PI * 2000.0 * t).cos();
    pulse + burst
}

/// Sampled at `rate`, 40 ms long.
fn ir_at(rate: u32) -> Kernel {
    let n = (0.040 * rate as f64) as usize;
    Kernel {
        channels: vec![(0..n)
            .map(|i| ir_continuous(i as f64 / rate as f64))
            .collect()],
        sample_rate_hz: Some(rate),
        name: "band-limited".into(),
    }
}

#[test]
fn resampling_keeps_dc_gain_scales_energy_by_the_rate_ratio_and_matches_the_continuous_ir() {
    // Invariants for an IR band-limited below both Nyquist frequencies, resampled from
    // f_in to f_out (r = f_out / f_in), with the taps scaled by 1 / r (a filter, not a
    // signal): sum(g) = sum(h); sum(g^2) = sum(h^2) / r; and g[m] = h_c(m / f_out) / r
    // sample by sample, where h_c is the continuous IR with h[n] = h_c(n / f_in).
    // Pairs with small and large gcd, up and down, and odd sub-chunk sizes.
    for (from, to) in [
        (48000u32, 44100u32),
        (44100, 48000),
        (48000, 96000),
        (96000, 48000),
        (48000, 22050),
        (44100, 16000),
        (22050, 48000),
        (48000, 22051),
        (192000, 8000),
        (8000, 192000),
    ] {
        let h = ir_at(from);
        let mut notes = Vec::new();
        let g = apply_options(
            h.clone(),
            &IrOptions {
                target_rate_hz: Some(to),
                ..IrOptions::default()
            },
            &mut notes,
        )
        .unwrap();
        let r = to as f64 / from as f64;
        assert_eq!(g.sample_rate_hz, Some(to));
        let (h, g) = (&h.channels[0], &g.channels[0]);
        let sum_h: f64 = h.iter().sum();
        let sum_g: f64 = g.iter().sum();
        let e_h: f64 = h.iter().map(|v| v * v).sum();
        let e_g: f64 = g.iter().map(|v| v * v).sum();
        assert!(
            (sum_g - sum_h).abs() <= 1e-9 * sum_h.abs(),
            "{from}->{to}: DC gain {sum_g} vs {sum_h}"
        );
        assert!(
            (e_g * r - e_h).abs() <= 1e-9 * e_h,
            "{from}->{to}: energy*r {} vs {e_h}",
            e_g * r
        );
        // The length is at least ceil(len * r).
        assert!(g.len() >= (h.len() as f64 * r).ceil() as usize - 1);
        // Sample by sample against the continuous IR at the new rate.
        let max_err = g
            .iter()
            .enumerate()
            .map(|(m, &v)| (v - ir_continuous(m as f64 / to as f64) / r).abs())
            .fold(0.0f64, f64::max);
        // Measured: below 5e-12 relative to the peak for every pair; bound 1e-9.
        let peak = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(max_err < 1e-9 * peak, "{from}->{to}: max error {max_err:e}");
        let n = notes.join("\n");
        assert!(n.contains(&format!("from {from} Hz to {to} Hz")), "{n}");
    }
}

#[test]
fn a_rate_mismatch_without_resampling_is_an_error_naming_both_rates() {
    let k = ir_at(44100);
    let samples: Vec<f32> = k.channels[0].iter().map(|&v| v as f32).collect();
    let path = common::write_float_wav("ir-loading", "rate.wav", 1, 44100, &samples);
    let opts = IrOptions {
        target_rate_hz: Some(48000),
        resample: false,
        ..IrOptions::default()
    };
    let e = load_ir(&path, &opts).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, KernelError::RateMismatch { .. }), "{e:?}");
    assert!(msg.contains("44100") && msg.contains("48000"), "{msg}");
    assert_names_file(&e, &path);

    // With resampling on (the default) the same file loads at 48 kHz and says so.
    let l = load_ir_with_notes(
        &path,
        &IrOptions {
            target_rate_hz: Some(48000),
            ..IrOptions::default()
        },
    )
    .unwrap();
    assert_eq!(l.kernel.sample_rate_hz, Some(48000));
    assert!(l
        .notes
        .iter()
        .any(|n| n.contains("resampled from 44100 Hz to 48000 Hz")));
    // An absurd stream rate is refused, not attempted.
    let e = load_ir(
        &path,
        &IrOptions {
            target_rate_hz: Some(4_000_000_000),
            ..IrOptions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, KernelError::Resample { .. }), "{e:?}");
    assert!(e.to_string().contains("outside the supported range"), "{e}");
    // Same rate: nothing to do, taps untouched.
    let same = load_ir(
        &path,
        &IrOptions {
            target_rate_hz: Some(44100),
            resample: false,
            ..IrOptions::default()
        },
    )
    .unwrap();
    assert_eq!(same.channels[0].len(), samples.len());
}

#[test]
fn summary_reports_linear_phase_delay_and_the_boxcar_cutoffs() {
    // Moving average of 15 taps: symmetric, delay (15-1)/2 = 7; |H| = |sin(pi f N) /
    // (N sin(pi f))|, whose -3 dB point is found here by bisection.
    let k = mono(vec![1.0 / 15.0; 15]);
    let s = kernel::summarize(&k);
    let c = &s.channels[0];
    assert_eq!(c.group_delay_frames, 7.0);
    assert_eq!(c.delay_kind, kernel::analysis::DelayKind::Symmetric);
    assert!((c.dc_gain - 1.0).abs() < 1e-15);
    let mag = |f: f64| ((PI * f * 15.0).sin() / (15.0 * (PI * f).sin())).abs();
    let solve = |level: f64| {
        let (mut lo, mut hi) = (1e-6, 1.0 / 15.0);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if mag(mid) > level {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    };
    let f3 = solve(10f64.powf(-3.0 / 20.0));
    let f6 = solve(10f64.powf(-6.0 / 20.0));
    // Linear interpolation between FFT bins of a 16384-point FFT: within 1e-5 cycles/sample
    // (0.5 Hz at 48 kHz).
    assert!(
        (c.cutoff_3db.unwrap() - f3).abs() < 1e-5,
        "{:?} vs {f3}",
        c.cutoff_3db
    );
    assert!(
        (c.cutoff_6db.unwrap() - f6).abs() < 1e-5,
        "{:?} vs {f6}",
        c.cutoff_6db
    );

    // An antisymmetric kernel is linear phase too; an asymmetric one reports its peak.
    let s = kernel::summarize(&mono(vec![-1.0, 0.0, 1.0]));
    assert_eq!(
        s.channels[0].delay_kind,
        kernel::analysis::DelayKind::Antisymmetric
    );
    let s = kernel::summarize(&mono(vec![0.1, 0.2, 1.0, 0.5, 0.3, 0.1]));
    assert_eq!(s.channels[0].delay_kind, kernel::analysis::DelayKind::Peak);
    assert_eq!(s.channels[0].group_delay_frames, 2.0);
    // A high-pass (difference) is not low-pass-like: no cutoffs reported.
    assert_eq!(
        s.channels[0].cutoff_3db.is_some(),
        s.channels[0].cutoff_6db.is_some()
    );
    assert!(kernel::summarize(&mono(vec![1.0, -1.0])).channels[0]
        .cutoff_3db
        .is_none());
}
