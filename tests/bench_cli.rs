//! `faltung bench` end to end: the real binary, short runs, its JSON checked against the
//! planner and against where a unit impulse actually comes out of the same engine.

use std::path::PathBuf;
use std::process::{Command, Output};

use faltung::engine::plan::plan;
use faltung::engine::{BlockProcessor, Engine, PlanRequest, Routing, SchemeChoice};
use serde_json::Value;

fn faltung(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faltung"))
        .args(args)
        .output()
        .expect("run faltung")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faltung-bench-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

const FIELDS_NUM: [&str; 8] = [
    "latency_ms",
    "rtf",
    "min_us",
    "mean_us",
    "p50_us",
    "p99_us",
    "p999_us",
    "max_us",
];

fn num(o: &Value, k: &str) -> f64 {
    o[k].as_f64()
        .unwrap_or_else(|| panic!("field {k} missing or not a number in {o}"))
}

fn int(o: &Value, k: &str) -> usize {
    o[k].as_u64()
        .unwrap_or_else(|| panic!("field {k} missing or not an integer in {o}")) as usize
}

/// Frames until the first nonzero output on channel 0 when a unit impulse enters channel 0.
fn impulse_delay(engine: &mut Engine, call: usize) -> usize {
    let ch = engine.input_channels();
    let total = 4096;
    let mut input = vec![0.0f32; total * ch];
    input[0] = 1.0;
    let mut out = vec![0.0f32; total * ch];
    for (x, y) in input
        .chunks_exact(call * ch)
        .zip(out.chunks_exact_mut(call * ch))
    {
        engine.process_block(x, y).unwrap();
    }
    out.iter()
        .step_by(ch)
        .position(|v| v.abs() > 1e-6)
        .expect("impulse came out")
}

#[test]
fn json_has_the_schema_and_latency_is_the_plans_and_the_engines() {
    let taps = 2000;
    let spec = format!("flat:{taps}");
    let out = faltung(&[
        "bench",
        "--kernel",
        &spec,
        "--block",
        "64,7",
        "--seconds",
        "0.05",
        "--plan",
        "auto,uniform",
        "--latency-budget",
        "64",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With --json and no file, standard output is pure JSON; the table went to stderr.
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let rows = v.as_array().expect("a JSON array");
    assert_eq!(rows.len(), 4, "one object per (call size, plan)");
    assert!(String::from_utf8_lossy(&out.stderr).contains("frames per call"));

    let mut saw_nonzero_latency = false;
    for (i, o) in rows.iter().enumerate() {
        let block = int(o, "block_frames");
        assert_eq!(block, [64, 64, 7, 7][i]);
        let request = o["plan_request"].as_str().unwrap();
        assert_eq!(request, ["auto", "uniform"][i % 2]);
        for k in FIELDS_NUM {
            assert!(num(o, k).is_finite() || k == "rtf", "{k} in {o}");
        }
        assert_eq!(int(o, "rate_hz"), 48_000);
        assert_eq!(int(o, "channels"), 2);
        let deadline = num(o, "deadline_us");
        assert!((deadline - block as f64 / 48_000.0 * 1e6).abs() < 1e-9);
        // Whole calls in 0.05 s at 48 kHz (2400 frames).
        assert_eq!(int(o, "calls"), 2400 / block);
        let (mn, p50, p99, p999, mx) = (
            num(o, "min_us"),
            num(o, "p50_us"),
            num(o, "p99_us"),
            num(o, "p999_us"),
            num(o, "max_us"),
        );
        assert!(
            0.0 < mn && mn <= p50 && p50 <= p99 && p99 <= p999 && p999 <= mx,
            "{o}"
        );
        assert!((num(o, "headroom_pct") - 100.0 * p99 / deadline).abs() < 1e-9);
        // RTF is audio time over the summed call times: between the bounds that the
        // fastest and slowest call give.
        let rtf = num(o, "rtf");
        assert!(rtf <= deadline / mn * (1.0 + 1e-9) && rtf >= deadline / mx * (1.0 - 1e-9));
        assert!(["safe", "tight", "will drop out"].contains(&o["verdict"].as_str().unwrap()));

        // The planner, asked the same question, gives the same plan and latency ...
        let choice = if request == "auto" {
            SchemeChoice::Auto
        } else {
            SchemeChoice::Uniform(None)
        };
        let req = PlanRequest {
            choice,
            latency_budget_frames: 64,
            ..PlanRequest::realtime(taps, 2, 2, block)
        };
        let p = plan(&req).unwrap();
        assert_eq!(int(o, "latency_frames"), p.latency_frames, "{o}");
        assert_eq!(o["plan"].as_str().unwrap(), p.to_string());
        let ms = p.latency_frames as f64 / 48.0;
        assert!((num(o, "latency_ms") - ms).abs() < 1e-9);
        // ... and a unit impulse through that engine comes out exactly that late.
        let mut e =
            Engine::new(&[vec![1.0 / taps as f32; taps]], Routing::mono_ir(2), req).unwrap();
        assert_eq!(impulse_delay(&mut e, block), int(o, "latency_frames"));
        saw_nonzero_latency |= p.latency_frames > 0;
    }
    assert!(
        saw_nonzero_latency,
        "7-frame calls with a 64-frame budget should exercise a buffered plan (cheaper than a zero-latency direct head)"
    );
}

fn write_wav(path: &std::path::Path, channels: u16, rate: u32, frames: usize) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for n in 0..frames {
        for c in 0..channels {
            let v = if n == 0 {
                1.0
            } else {
                0.5f32.powi(n as i32 / 8 + c as i32)
            };
            w.write_sample(v).unwrap();
        }
    }
    w.finalize().unwrap();
}

#[test]
fn an_ir_file_sets_rate_and_routing_and_writes_json_and_plot_files() {
    let dir = temp_dir("ir");
    let ir = dir.join("stereo.wav");
    write_wav(&ir, 2, 44_100, 300);
    let json = dir.join("out.json");
    let svg = dir.join("dist.svg");
    let out = faltung(&[
        "bench",
        "--ir",
        ir.to_str().unwrap(),
        "--block",
        "32,64",
        "--seconds",
        "0.02",
        "--json",
        json.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The table is on stdout when JSON goes to a file.
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("32 frames per call") && table.contains("64 frames per call"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for o in rows {
        assert_eq!(
            int(o, "rate_hz"),
            44_100,
            "the IR file's rate is the default"
        );
        assert_eq!(int(o, "channels"), 2);
        let b = int(o, "block_frames") as f64;
        assert!((num(o, "deadline_us") - b / 44_100.0 * 1e6).abs() < 1e-9);
    }
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg") && picture.contains("64 frames per call"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn capacity_reports_each_thread_count_and_its_ratio() {
    // A nonuniform plan with a level of 1024 frames or more (15x256 + 13x2048, so a worker
    // starts) in 256-frame calls: 5.3 ms per period for engines that take microseconds.
    let out = faltung(&[
        "bench",
        "--kernel",
        "flat:30000",
        "--block",
        "256",
        "--plan",
        "nonuniform",
        "--threads",
        "0,1",
        "--capacity",
        "--seconds",
        "0.25",
        "--max-engines",
        "3",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let rows = v.as_array().expect("a JSON array");
    assert_eq!(rows.len(), 2, "one object per thread count");
    let table = String::from_utf8_lossy(&out.stderr);
    assert!(
        table.contains("capacity with 1 worker thread(s) / with none"),
        "{table}"
    );
    // 0.25 s of 256-frame periods at 48 kHz.
    let periods = (0.25f64 * 48_000.0 / 256.0).round() as usize;
    for (o, threads) in rows.iter().zip([0, 1]) {
        assert_eq!(int(o, "threads"), threads);
        assert_eq!(int(o, "worker_threads"), threads, "{o}");
        assert_eq!(int(o, "max_engines"), 3);
        assert_eq!(num(o, "seconds"), 0.25);
        let cap = int(o, "capacity");
        assert!(cap <= 3, "{o}");
        // A run no longer than the search's trials is its own confirmation.
        assert_eq!(num(o, "search_seconds"), 0.25);
        assert_eq!(int(o, "searched_capacity"), cap);
        assert!(int(o, "trials") >= 1);
        // Every trial is listed, each as long as asked or stopped at its failure.
        let runs = o["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), int(o, "trials"));
        // Each count gets up to --tries (default 2) tries: a try after the first follows
        // a failed try at the same count and length.
        assert_eq!(int(o, "tries"), 2);
        for (i, r) in runs.iter().enumerate() {
            let k = int(r, "attempt");
            assert!((1..=2).contains(&k), "{r}");
            if k > 1 {
                let prev = &runs[i - 1];
                assert_eq!(int(prev, "attempt"), k - 1, "{prev}");
                assert_eq!(int(prev, "engines"), int(r, "engines"));
                assert_eq!(num(prev, "seconds"), num(r, "seconds"));
                let failed = int(prev, "over_deadline")
                    + int(prev, "late_periods")
                    + int(prev, "dropped_periods");
                assert!(failed > 0, "{prev}");
            }
        }
        for r in runs {
            let asked = (num(r, "seconds") * 48_000.0 / 256.0).round() as usize;
            assert!(int(r, "periods") <= asked.max(1), "{r}");
            let failed =
                int(r, "over_deadline") + int(r, "late_periods") + int(r, "dropped_periods");
            assert!(int(r, "periods") == asked || failed > 0, "{r}");
        }
        if cap > 0 {
            // The confirming run at the capacity ran every period and passed.
            let at = &o["at_capacity"];
            assert_eq!(int(at, "engines"), cap);
            assert_eq!(int(at, "periods"), periods);
            assert_eq!(int(at, "over_deadline"), 0);
            assert_eq!(int(at, "late_periods") + int(at, "dropped_periods"), 0);
            assert!(num(at, "worst_load_pct") <= 100.0);
        }
        if cap < 3 {
            // The failure above it is reported, and it did fail.
            let above = &o["above_capacity"];
            assert_eq!(int(above, "engines"), cap + 1, "{o}");
            let failed = int(above, "over_deadline")
                + int(above, "late_periods")
                + int(above, "dropped_periods");
            assert!(failed > 0, "{o}");
        } else {
            assert!(o["above_capacity"].is_null());
        }
    }
    // The smoke test of the search: one such engine keeps up on the calling thread.
    let single = int(&rows[0], "capacity");
    assert!(single >= 1, "{}", rows[0]);
    let ratio = num(&rows[1], "ratio_to_single_thread");
    assert_eq!(ratio, int(&rows[1], "capacity") as f64 / single as f64);
    assert!(rows[0]["ratio_to_single_thread"].is_null());
}

fn one_line_error(args: &[&str], needle: &str) {
    let out = faltung(args);
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(needle),
        "{args:?}: stderr {err:?} lacks {needle:?}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_input_gives_a_one_line_error() {
    let dir = temp_dir("bad");
    let missing = dir.join("no-such-ir.wav");
    one_line_error(
        &[
            "bench",
            "--ir",
            missing.to_str().unwrap(),
            "--seconds",
            "0.01",
        ],
        "no-such-ir.wav",
    );
    one_line_error(
        &["bench", "--kernel", "flat:8", "--block", "0"],
        "--block 0",
    );
    one_line_error(
        &["bench", "--kernel", "flat:8", "--seconds", "0"],
        "--seconds",
    );
    one_line_error(
        &[
            "bench",
            "--kernel",
            "flat:8",
            "--capacity",
            "--seconds",
            "0",
        ],
        "--seconds 0: must be a positive number",
    );
    one_line_error(
        &[
            "bench",
            "--kernel",
            "flat:8",
            "--capacity",
            "--max-engines",
            "0",
        ],
        "--max-engines 0",
    );
    one_line_error(
        &["bench", "--kernel", "flat:8", "--max-engines", "4"],
        "applies to --capacity only",
    );
    one_line_error(
        &["bench", "--kernel", "flat:8", "--capacity", "--tries", "0"],
        "--tries 0",
    );
    one_line_error(
        &["bench", "--kernel", "flat:8", "--tries", "2"],
        "--tries 2: applies to --capacity only",
    );
    one_line_error(
        &[
            "bench",
            "--kernel",
            "flat:8",
            "--block",
            "1024",
            "--seconds",
            "0.001",
        ],
        "shorter than one call",
    );
    // A stereo IR cannot feed three channels.
    let ir = dir.join("stereo.wav");
    write_wav(&ir, 2, 48_000, 16);
    one_line_error(
        &[
            "bench",
            "--ir",
            ir.to_str().unwrap(),
            "--channels",
            "3",
            "--seconds",
            "0.01",
        ],
        "stereo.wav",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
