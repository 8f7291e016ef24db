//! Transform lengths for the one-shot convolutions: the fastest even length at least `n`.
//!
//! RustFFT's speed depends on a length's factors far more than on its size: on the
//! reference machine (AVX2+FMA, one thread, `f64`) a forward and inverse transform of
//! 200,000 points (`2^6 5^5`) took 24 % longer than of 201,600 (`2^7 3^2 5^2 7`). scipy's
//! `next_fast_len` (the smallest 5-smooth length) is the right rule for pocketfft, not for
//! RustFFT. So up to [`MEASURED_MAX`] the length is taken from a table of measured
//! lengths: every even 7-smooth length from 64 up was timed, and a length is in the table
//! when it was faster than every longer one, so the smallest entry at least `n` is the
//! fastest transform for `n` points. Made with `examples/fft_lengths.rs` (see there for the
//! command). Over random `n`, the mean time per transform was 1.11x (under 2,000 points) to
//! 1.19x (2,000 to 200,000) faster than with the smallest 5-smooth length, and never slower;
//! the chosen length is at most 1.33x `n`. Beyond the table, and below 64, the smallest
//! even 5-smooth length.

/// Even 7-smooth lengths, ascending, each measured faster than every longer length.
#[rustfmt::skip]
const MEASURED: [usize; 213] = [
    64, 72, 80, 96, 128, 144, 160, 180, 192, 256,
    288, 320, 324, 336, 360, 384, 432, 512, 576, 648,
    768, 864, 896, 1024, 1152, 1280, 1296, 1344, 1440, 1512,
    1792, 2048, 2560, 2592, 2700, 3072, 3584, 3840, 4096, 4480,
    4608, 5120, 5832, 6000, 6144, 6400, 6912, 7560, 8000, 8960,
    9216, 9720, 10368, 11664, 12544, 12800, 12960, 14336, 14400, 16384,
    16464, 17640, 18432, 18522, 21168, 21952, 25088, 25600, 25920, 26880,
    28672, 34560, 36288, 37632, 38880, 42336, 43904, 44800, 46080, 46656,
    51840, 55296, 56448, 58320, 58800, 72576, 73728, 82944, 84672, 94080,
    96000, 100352, 100800, 102060, 114688, 116640, 120960, 128000, 138240, 140000,
    143360, 145152, 148176, 153600, 153664, 157464, 157500, 169344, 175616, 186624,
    188160, 190512, 201600, 219520, 221184, 222264, 224000, 233280, 236196, 241920,
    254016, 256000, 258048, 279936, 290304, 296352, 314928, 317520, 324000, 336000,
    367416, 393216, 401408, 403368, 405000, 408240, 435456, 451584, 508032, 516096,
    524288, 529200, 537600, 537824, 540000, 544320, 548800, 589824, 629856, 640000,
    645120, 648270, 691488, 699840, 700000, 702464, 768320, 777924, 870912, 889056,
    917504, 921984, 933120, 940800, 952560, 960000, 1016064, 1075648, 1134000, 1143072,
    1146880, 1244160, 1259712, 1327104, 1376256, 1382400, 1404928, 1580544, 1605632, 1612800,
    1679616, 1693440, 1714608, 1720320, 1778112, 1806336, 1889568, 2007040, 2151296, 2177280,
    2204496, 2239488, 2332800, 2359296, 2458624, 2580480, 2667168, 2752512, 2765952, 2903040,
    3145728, 3226944, 3240000, 3512320, 3538944, 3556224, 3612672, 3779136, 3888000, 4000752,
    4014080, 4032000, 4033680,
];

/// The longest tabulated length.
const MEASURED_MAX: usize = MEASURED[MEASURED.len() - 1];

/// The transform length for `n` points: the smallest tabulated length at least `n`, or
/// outside the table the smallest even `2^a 3^b 5^c` at least `n`. At least 2.
pub fn fast_len(n: usize) -> usize {
    let n = n.max(2);
    if (MEASURED[0]..=MEASURED_MAX).contains(&n) {
        return MEASURED[MEASURED.partition_point(|&l| l < n)];
    }
    smooth5_len(n)
}

/// The smallest even `2^a 3^b 5^c` (`a >= 1`) that is at least `n` (`n >= 2`).
fn smooth5_len(target: usize) -> usize {
    let mut best = usize::MAX;
    let mut p5 = 1usize;
    while p5 < 2 * target {
        let mut p35 = p5;
        while p35 < 2 * target {
            let mut q = 2 * p35;
            while q < target {
                q *= 2;
            }
            best = best.min(q);
            p35 *= 3;
        }
        p5 *= 5;
    }
    best
}

/// Every length [`fast_len`] returns in `[lo, hi)`, ascending.
pub(super) fn fast_lens_between(lo: usize, hi: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut k = fast_len(lo);
    while k < hi {
        out.push(k);
        k = fast_len(k + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smooth(mut k: usize, primes: &[usize]) -> bool {
        for &p in primes {
            while k % p == 0 {
                k /= p;
            }
        }
        k == 1
    }

    #[test]
    fn the_table_is_ascending_even_7_smooth_and_without_gaps_wider_than_a_third() {
        assert!(MEASURED.windows(2).all(|w| w[0] < w[1]));
        for &l in &MEASURED {
            assert!(l % 2 == 0 && smooth(l, &[2, 3, 5, 7]), "{l}");
        }
        for w in MEASURED.windows(2) {
            assert!(w[1] * 3 <= w[0] * 4, "gap {} -> {}", w[0], w[1]);
        }
    }

    #[test]
    fn fast_len_is_the_smallest_tabulated_length_else_the_smallest_even_5_smooth() {
        let ns = (0..5000usize)
            .chain(60_000..70_000)
            .chain(199_990..200_010)
            .chain(MEASURED_MAX - 10..MEASURED_MAX + 10_000);
        for n in ns {
            let f = fast_len(n);
            assert!(f >= n.max(2) && f % 2 == 0, "n={n} f={f}");
            if (MEASURED[0]..=MEASURED_MAX).contains(&n) {
                assert!(MEASURED.contains(&f), "n={n} f={f}");
                assert!(!MEASURED.iter().any(|&l| l >= n && l < f), "n={n} f={f}");
            } else {
                assert!(smooth(f, &[2, 3, 5]), "n={n} f={f}");
                let shorter = (n.max(2)..f).any(|k| k % 2 == 0 && smooth(k, &[2, 3, 5]));
                assert!(!shorter, "n={n} f={f} not the smallest");
            }
        }
    }

    #[test]
    fn fast_lens_between_lists_exactly_the_fast_lengths() {
        let listed = fast_lens_between(10, 140_000);
        let want: Vec<usize> = (10..140_000).filter(|&k| fast_len(k) == k).collect();
        assert_eq!(listed, want);
    }
}
