//! Sample-format conversion: mixed `f32` samples to the writer's format, with TPDF dither
//! (two uniform variates, +-1 LSB peak, seeded so runs are reproducible) on integer formats,
//! and a count of samples that clip.

use std::io::{Seek, Write};

use super::{AudioFileError, AudioWriter, SampleFormat};
use crate::rng::SplitMix64;

/// Writes mixed f32 samples to a WAV or FLAC writer in its format, with dither and clip counting.
///
/// A sample whose undithered value rounds outside the integer range counts as clipped
/// (dither alone is saturated silently, it is under 1 LSB).
pub struct Quantizer {
    format: SampleFormat,
    dither: bool,
    rng: SplitMix64,
    ints: Vec<i32>,
    clipped: u64,
}

impl Quantizer {
    pub fn new(format: SampleFormat, dither: bool, seed: u64) -> Quantizer {
        Quantizer {
            format,
            dither,
            rng: SplitMix64::new(seed),
            ints: Vec::new(),
            clipped: 0,
        }
    }

    /// Integer samples that clipped so far (0 for float output).
    pub fn clipped(&self) -> u64 {
        self.clipped
    }

    /// Quantise `samples` (interleaved, full scale = 1.0) into `ints`, in the format's
    /// integer range.
    fn quantise(&mut self, samples: &[f32]) {
        let full = (1u64 << (self.format.bits() - 1)) as f64;
        let (lo, hi) = (-full, full - 1.0);
        self.ints.clear();
        for &v in samples {
            let x = v as f64 * full;
            if x.round() > hi || x.round() < lo {
                self.clipped += 1;
            }
            let d = if self.dither {
                (self.rng.next_unit_f32() - self.rng.next_unit_f32()) as f64
            } else {
                0.0
            };
            self.ints.push((x + d).round().clamp(lo, hi) as i32);
        }
    }

    /// Write mixed `samples` to `w` in the quantiser's format (which must be `w`'s).
    pub fn write<W: Write + Seek>(
        &mut self,
        w: &mut AudioWriter<W>,
        samples: &[f32],
    ) -> Result<(), AudioFileError> {
        if self.format.is_float() {
            return w.write_f32(samples);
        }
        self.quantise(samples);
        w.write_int(&self.ints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undithered_rounding_and_clip_count_follow_the_integer_range() {
        let mut q = Quantizer::new(SampleFormat::I16, false, 1);
        q.quantise(&[0.0, 0.5, -1.0, 1.0, -1.5, 1.0 / 32768.0, 0.49 / 32768.0]);
        assert_eq!(q.ints, vec![0, 16384, -32768, 32767, -32768, 1, 0]);
        // +1.0 rounds to 32768 > 32767 and -1.5 to -49152: two clipped.
        assert_eq!(q.clipped(), 2);
    }

    #[test]
    fn tpdf_dither_stays_within_one_lsb_and_averages_out() {
        let mut q = Quantizer::new(SampleFormat::I16, true, 42);
        let v = 0.3 / 32768.0; // 0.3 LSB
        q.quantise(&vec![v; 100_000]);
        assert!(q.ints.iter().all(|&i| (-1..=2).contains(&i)));
        let mean = q.ints.iter().map(|&i| i as f64).sum::<f64>() / q.ints.len() as f64;
        // TPDF dither makes the quantiser unbiased: the mean is the input, 0.3 LSB.
        assert!((mean - 0.3).abs() < 0.01, "{mean}");
        assert_eq!(q.clipped(), 0);
    }
}
