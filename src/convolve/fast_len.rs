//! Transform lengths for the one-shot convolutions: the fastest even length at least `n`.
//!
//! RustFFT's speed depends on a length's factors far more than on its size: on the
//! reference machine (AMD EPYC, Zen 4; one thread, `f64`) a forward and inverse transform of
//! 200,000 points (`2^6 5^5`) took 10 % longer than of 207,360 (`2^9 3^4 5`). scipy's
//! `next_fast_len` (the smallest 5-smooth length) is the right rule for pocketfft, not for
//! RustFFT. So up to [`MEASURED_MAX`] the length is taken from a table of measured
//! lengths: every even 7-smooth length from 64 up was timed, and a length is in the table
//! when it was faster than every longer one, so the smallest entry at least `n` is the
//! fastest transform for `n` points. Made with `examples/fft_lengths.rs` (see there for the
//! command; the best of two passes). A table made from one pass and judged by the other
//! took on average 1.00x to 1.09x the time of the fastest length at least `n` (over random
//! `n`, by range of `n` from 64 to 2.8 M), the smallest 5-smooth length 1.07x to 1.11x.
//! The chosen length is at most 1.33x `n`. Beyond the table, and below 64, the smallest
//! even 5-smooth length.
//!
//! The fastest lengths are a property of the CPU: the table made on the previous reference
//! machine (an earlier EPYC without AVX-512) was 1.04x to 1.11x the fastest here above
//! 2,000 points, little better than the 5-smooth rule. Regenerate it on a new machine kind.

/// Even 7-smooth lengths, ascending, each measured faster than every longer length.
#[rustfmt::skip]
const MEASURED: [usize; 292] = [
    64, 72, 80, 96, 128, 144, 160, 168, 180, 192,
    216, 256, 288, 320, 324, 336, 360, 384, 432, 512,
    576, 640, 648, 768, 864, 896, 1024, 1080, 1280, 1296,
    1344, 1440, 1536, 1600, 1792, 1800, 2048, 2160, 2240, 2304,
    2560, 2592, 2688, 2880, 3072, 3136, 3240, 3584, 3840, 4096,
    4320, 4608, 5184, 5376, 5760, 6144, 6400, 6912, 7168, 7776,
    8192, 8960, 9216, 10368, 10584, 10800, 10976, 11200, 11664, 12544,
    12800, 12960, 14336, 14400, 15552, 16384, 16464, 17280, 17920, 18144,
    18432, 18816, 19440, 20736, 21168, 21600, 21952, 23328, 25088, 25920,
    26880, 27648, 28672, 28800, 31104, 32000, 34560, 36288, 37632, 38880,
    41472, 42336, 43008, 43904, 44800, 46656, 48384, 49152, 50176, 51840,
    55296, 57344, 62208, 62720, 64512, 64800, 65536, 69984, 72576, 73728,
    74088, 82944, 87808, 93312, 94080, 100352, 100800, 102400, 103680, 108000,
    108864, 110592, 124416, 125440, 128000, 129600, 131072, 131220, 131712, 134400,
    138240, 139968, 143360, 145152, 145800, 148176, 155520, 157464, 160000, 163296,
    165888, 172800, 175616, 181440, 186624, 188160, 190512, 207360, 217728, 219520,
    221184, 224000, 233280, 259200, 262440, 290304, 291600, 294912, 296352, 307328,
    326592, 327680, 331776, 338688, 349920, 351232, 373248, 381024, 393216, 393660,
    395136, 414720, 423360, 435456, 442368, 448000, 451584, 459270, 466560, 472392,
    489888, 501760, 508032, 524288, 537600, 559872, 560000, 580608, 622080, 629856,
    653184, 663552, 672000, 702464, 746496, 774144, 777600, 802816, 806400, 806736,
    819200, 870912, 878080, 907200, 933120, 995328, 1036800, 1037232, 1049760, 1119744,
    1120000, 1128960, 1161216, 1166400, 1180980, 1209600, 1244160, 1296000, 1306368, 1317120,
    1360800, 1492992, 1555200, 1568000, 1574640, 1658880, 1679616, 1693440, 1714608, 1741824,
    1756160, 1814400, 1843968, 1866240, 1889568, 1905120, 1928934, 1935360, 1944000, 1959552,
    1990656, 2000376, 2032128, 2073600, 2125764, 2151296, 2177280, 2204496, 2240000, 2257920,
    2286144, 2322432, 2332800, 2408448, 2488320, 2612736, 2654208, 2667168, 2709504, 2752512,
    2834352, 2903040, 2985984, 3048192, 3096576, 3110400, 3136000, 3145728, 3188646, 3317760,
    3483648, 3556224, 3600000, 3732480, 3840000, 3841600, 3919104, 3936600, 4000000, 4000752,
    4014080, 4032000,
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
