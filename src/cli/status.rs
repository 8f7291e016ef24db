//! The live status line: it never exceeds the terminal's width. Fields shorten, then go,
//! in a fixed order as the width shrinks (details of the counters, load p50, meter bars,
//! wet, latency, ...); levels are short meters, the IR is named by its file name.

use std::path::Path;

use faltung::live::Stats;

/// What the line shows besides the session's meters.
pub struct Context<'a> {
    /// What faltung adds, and the whole budget (device buffers included).
    pub latency_ms: f64,
    pub budget_ms: f64,
    /// The IR's name as given (a path or a spec): shown by its file name.
    pub ir_name: &'a str,
}

/// The IR's file name (a spec stays as it is).
pub fn short_name(name: &str) -> &str {
    Path::new(name)
        .file_name()
        .and_then(|f| f.to_str())
        .filter(|f| !f.is_empty())
        .unwrap_or(name)
}

/// A level meter of `len` cells over -60..0 dBFS, `#` lit, `-` dark; `!` in the last cell
/// at or above -0.1 dBFS (clipping).
fn meter(db: f64, len: usize) -> String {
    let lit = if db.is_finite() {
        (((db + 60.0) / 60.0) * len as f64)
            .round()
            .clamp(0.0, len as f64) as usize
    } else {
        0
    };
    let mut s: String = "#".repeat(lit) + &"-".repeat(len - lit);
    if db >= -0.1 && len > 0 {
        s.pop();
        s.push('!');
    }
    s
}

fn db(v: f64) -> String {
    if v.is_finite() {
        format!("{v:5.1}")
    } else {
        " -inf".to_string()
    }
}

/// How much of each field to show; each step of [`status_line`] takes one thing away.
#[derive(Clone, Copy)]
struct Level {
    counters: u8, // 2: full, 1: short, 0: tiny
    load: u8,     // 2: p50 and p99, 1: p99, 0: none
    meter_len: usize,
    meter_db: bool,
    wet: bool,
    latency: u8, // 2: full, 1: short, 0: none
}

fn render(s: &Stats, cx: &Context, l: Level, ir_room: Option<usize>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let level = |name: &str, v: f64| {
        let mut f = name.to_string();
        if l.meter_len > 0 {
            f += &format!(" [{}]", meter(v, l.meter_len));
        }
        if l.meter_db {
            f += &format!(" {}", db(v));
        }
        f
    };
    parts.push(level("in", s.in_peak_db));
    parts.push(level("out", s.out_peak_db));
    parts.push(match l.counters {
        2 => format!(
            "underruns {} (late input {}) overruns {} xruns {} (gaps {})",
            s.underruns, s.late_input, s.overruns, s.xruns, s.input_gaps
        ),
        1 => format!("xr {} ur {} or {}", s.xruns, s.underruns, s.overruns),
        _ => format!("x{}", s.xruns + s.underruns + s.overruns),
    });
    match l.load {
        2 => parts.push(format!("load {}%/{}%", s.load_p50_pct, s.load_p99_pct)),
        1 => parts.push(format!("load {}%", s.load_p99_pct)),
        _ => {}
    }
    match l.latency {
        2 => parts.push(format!(
            "latency {:.2} ms (budget {:.2} ms)",
            cx.latency_ms, cx.budget_ms
        )),
        1 => parts.push(format!("{:.1}ms", cx.latency_ms)),
        _ => {}
    }
    if s.bypass {
        parts.push("BYPASS".into());
    } else if l.wet {
        parts.push(format!("wet {:.2}", s.wet));
    }
    let name = short_name(cx.ir_name);
    let name = match ir_room {
        Some(room) if name.chars().count() > room => {
            let keep = room.saturating_sub(1);
            let mut n: String = name.chars().take(keep).collect();
            n.push('~');
            n
        }
        _ => name.to_string(),
    };
    parts.push(format!("IR {name}"));
    parts.join("  ")
}

/// The status line for a terminal of `width` columns: at most `width - 1` characters (the
/// last column is left free, so that no terminal wraps the line). `None`: no limit.
pub fn status_line(s: &Stats, cx: &Context, width: Option<usize>) -> String {
    let full = Level {
        counters: 2,
        load: 2,
        meter_len: 10,
        meter_db: true,
        wet: true,
        latency: 2,
    };
    let Some(width) = width else {
        return render(s, cx, full, None);
    };
    let max = width.saturating_sub(1);
    // Each step takes one more thing away.
    let steps: [fn(&mut Level); 11] = [
        |l| l.counters = 1,
        |l| l.load = 1,
        |l| l.meter_len = 6,
        |l| l.latency = 1,
        |l| l.wet = false,
        |l| l.meter_db = false,
        |l| l.meter_len = 4,
        |l| l.latency = 0,
        |l| l.counters = 0,
        |l| l.load = 0,
        |l| l.meter_len = 0,
    ];
    let mut l = full;
    let mut line = render(s, cx, l, None);
    for step in steps {
        if line.chars().count() <= max {
            return line;
        }
        step(&mut l);
        line = render(s, cx, l, None);
        // Before taking more away, try the IR's name shortened to what is left (at
        // least 12 characters of it).
        let over = line.chars().count().saturating_sub(max);
        let name_len = short_name(cx.ir_name).chars().count();
        if over > 0 && name_len > 12 && name_len >= over + 12 {
            let shortened = render(s, cx, l, Some(name_len - over));
            if shortened.chars().count() <= max {
                return shortened;
            }
        }
    }
    if line.chars().count() > max {
        line = line.chars().take(max).collect();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats() -> Stats {
        Stats {
            in_peak_db: -12.3,
            out_peak_db: -0.05,
            underruns: 3,
            late_input: 1,
            input_gaps: 0,
            overruns: 0,
            xruns: 2,
            record_dropped: 0,
            load_p50_pct: 12,
            load_p99_pct: 34,
            load_max_pct: 40,
            blocks: 100,
            input_frames: 0,
            output_frames: 0,
            current_ir: 0,
            ir_name: "impulses/large_hall.wav".into(),
            bypass: false,
            wet: 1.0,
            swaps: 0,
            timing: faltung::live::Timing {
                period_frames: 256,
                block_frames: 256,
                lag_frames: 0,
                engine_latency_frames: 0,
                period_changes: 0,
            },
        }
    }

    #[test]
    fn the_line_never_exceeds_the_width_and_keeps_the_most_important_fields() {
        let s = stats();
        let cx = Context {
            latency_ms: 5.33,
            budget_ms: 8.0,
            ir_name: "/very/long/path/to/impulses/large_hall_with_a_long_name.wav",
        };
        for width in 10..=260 {
            let line = status_line(&s, &cx, Some(width));
            assert!(line.chars().count() < width, "{width}: {line}");
        }
        let wide = status_line(&s, &cx, Some(200));
        assert!(wide.contains("underruns 3 (late input 1)"), "{wide}");
        assert!(
            wide.contains("latency 5.33 ms") && wide.contains("wet 1.00"),
            "{wide}"
        );
        assert!(
            wide.ends_with("IR large_hall_with_a_long_name.wav"),
            "{wide}"
        );
        assert!(!wide.contains("/very"), "{wide}");
        // Clipping shows in the meter's last cell.
        assert!(wide.contains("out [#########!]"), "{wide}");
        let narrow = status_line(&s, &cx, Some(80));
        assert!(
            narrow.contains("in [") && narrow.contains("out ["),
            "{narrow}"
        );
        assert!(narrow.contains("xr 2 ur 3"), "{narrow}");
        assert!(narrow.contains("IR large_hall"), "{narrow}");
        // No width: the whole line.
        assert_eq!(status_line(&s, &cx, None), status_line(&s, &cx, Some(1000)));
    }

    #[test]
    fn meters_and_names() {
        assert_eq!(meter(-60.0, 6), "------");
        assert_eq!(meter(-30.0, 6), "###---");
        assert_eq!(meter(f64::NEG_INFINITY, 4), "----");
        assert_eq!(meter(0.0, 4), "###!");
        assert_eq!(short_name("a/b/room.wav"), "room.wav");
        assert_eq!(short_name("flat:15"), "flat:15");
    }
}
