//! Measure the real-FFT lengths that [`faltung::convolve`]'s one-shot transforms use, and
//! print the table kept in `src/convolve/fast_len.rs`.
//!
//! Every even 7-smooth length (`2^a 3^b 5^c 7^d`) from 64 up to `--max` (default
//! 4,300,000) is timed as one forward and one inverse `f64` transform (realfft over RustFFT,
//! best of several runs, one thread), in `--passes` passes over all lengths (default 2; a
//! length's time is its best over the passes, so that a burst of noise in one pass does not
//! decide it); a length is kept when it is faster than every longer length measured, so
//! that the smallest kept length at least `n` is the fastest transform for `n` points.
//! Takes about 8 minutes a pass; run it pinned to one core on a quiet machine:
//!
//! ```text
//! taskset -c 0 cargo run --release --example fft_lengths > target/fft_lengths.txt
//! ```
use realfft::RealFftPlanner;
use std::time::Instant;

fn main() {
    let mut max = 4_300_000usize;
    let mut passes = 2usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--max" => {
                max = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--max takes a length")
            }
            "--passes" => {
                passes = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&p| p >= 1)
                    .expect("--passes takes a count of at least 1")
            }
            _ => {
                eprintln!("usage: fft_lengths [--max LEN] [--passes N]");
                std::process::exit(2);
            }
        }
    }
    let mut lens = Vec::new();
    let mut p7 = 1;
    while p7 < max {
        let mut p5 = p7;
        while p5 < max {
            let mut p3 = p5;
            while p3 < max {
                let mut q = 2 * p3;
                while q < max {
                    if q >= 64 {
                        lens.push(q);
                    }
                    q *= 2;
                }
                p3 *= 3;
            }
            p5 *= 5;
        }
        p7 *= 7;
    }
    lens.sort_unstable();
    let mut times = vec![f64::MAX; lens.len()];
    for pass in 1..=passes {
        for (&len, best) in lens.iter().zip(times.iter_mut()) {
            *best = best.min(time_length(len));
            eprintln!(
                "pass {pass}: {len}: {:.1} ns per transform",
                *best * 1e9 / 2.0
            );
        }
    }
    // Keep a length when it beats every longer one.
    let mut kept = Vec::new();
    let mut fastest_above = f64::MAX;
    for (&len, &t) in lens.iter().zip(&times).rev() {
        if t < fastest_above {
            kept.push(len);
            fastest_above = t;
        }
    }
    kept.reverse();
    println!("const MEASURED: [usize; {}] = [", kept.len());
    for row in kept.chunks(10) {
        let items: Vec<String> = row.iter().map(|l| l.to_string()).collect();
        println!("    {},", items.join(", "));
    }
    println!("];");
}

/// Best seconds for a forward and an inverse transform of `len` points. Each length gets a
/// planner of its own: one planner for all would keep every plan and its twiddles, several
/// GB by the longest lengths (the process was killed there before).
fn time_length(len: usize) -> f64 {
    let mut planner = RealFftPlanner::<f64>::new();
    let r2c = planner.plan_fft_forward(len);
    let c2r = planner.plan_fft_inverse(len);
    let mut time = vec![0.0f64; len];
    let mut spec = r2c.make_output_vec();
    let mut scratch = r2c.make_scratch_vec();
    if c2r.get_scratch_len() > scratch.len() {
        scratch = c2r.make_scratch_vec();
    }
    let reps = (20_000_000 / len).clamp(5, 2000);
    let mut best = f64::MAX;
    for _ in 0..reps {
        time.fill(0.25);
        let t0 = Instant::now();
        r2c.process_with_scratch(&mut time, &mut spec, &mut scratch)
            .expect("lengths from the plan");
        spec[0].im = 0.0;
        let last = spec.len() - 1;
        spec[last].im = 0.0;
        c2r.process_with_scratch(&mut spec, &mut time, &mut scratch)
            .expect("lengths from the plan");
        best = best.min(t0.elapsed().as_secs_f64());
    }
    best
}
