//! The per-call time distribution as an SVG picture: one panel per call size, one curve
//! per plan (and thread count), showing for every time `t` the fraction of calls that took
//! longer than `t`. Both axes are logarithmic, so that calls of a few microseconds and a
//! deadline of milliseconds fit in one picture and the rare slow calls that cause dropouts
//! are visible. Each curve has its own colour, with its p50, p99 and maximum marked; the
//! deadline is a black vertical line.

use std::path::Path;

use plotters::prelude::*;

use super::stats::quantile_sorted;

/// Distinct colours for the curves (the Tableau palette without its red, so that no curve
/// looks like a warning).
const COLOURS: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// p50, p99 and maximum of `per_call_ns`, in microseconds.
fn markers(per_call_ns: &[u64]) -> Option<[(&'static str, f64, f64); 3]> {
    let mut s: Vec<f64> = per_call_ns.iter().map(|&v| v as f64 * 1e-3).collect();
    s.sort_by(f64::total_cmp);
    let n = s.len() as f64;
    Some([
        ("p50", quantile_sorted(&s, 0.5)?, 0.5),
        ("p99", quantile_sorted(&s, 0.99)?, 0.01f64.max(1.0 / n)),
        ("max", *s.last()?, 1.0 / n),
    ])
}
/// One curve: a label and its per-call times in nanoseconds.
#[derive(Debug, Clone)]
pub struct Curve {
    pub label: String,
    pub per_call_ns: Vec<u64>,
}

/// One panel: a call size, its deadline and the curves of the plans run at that size.
#[derive(Debug, Clone)]
pub struct Panel {
    pub block_frames: usize,
    pub deadline_us: f64,
    pub curves: Vec<Curve>,
}

/// Errors drawing the plot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    #[error("{path}: cannot draw the plot: {reason}")]
    Draw { path: String, reason: String },
    #[error("nothing to plot")]
    Empty,
}

/// Exceedance curve: points `(t_us, fraction of calls slower than t)`, one per distinct
/// sorted sample, from the fastest call to the slowest (whose fraction is `1/n`, the
/// smallest nonzero fraction, so that a log axis can show it).
pub fn exceedance(per_call_ns: &[u64]) -> Vec<(f64, f64)> {
    let mut s: Vec<u64> = per_call_ns.to_vec();
    s.sort_unstable();
    let n = s.len() as f64;
    let mut pts = Vec::with_capacity(s.len().min(4096));
    for (i, &v) in s.iter().enumerate() {
        // Fraction strictly slower than the i-th value, floored at 1/n.
        let above = (s.len() - 1 - i) as f64;
        let frac = above.max(1.0) / n;
        // Thin out the dense middle: keep every point in the slowest 1% and a sample
        // elsewhere, so that the SVG stays small.
        let keep = i + 1 == s.len() || above < n / 100.0 || i % (s.len() / 2000).max(1) == 0;
        if keep {
            pts.push((v as f64 * 1e-3, frac));
        }
    }
    pts
}

/// Draw `panels` into an SVG file at `path`.
pub fn plot_distribution(path: &Path, panels: &[Panel]) -> Result<(), PlotError> {
    if panels.is_empty() || panels.iter().all(|p| p.curves.is_empty()) {
        return Err(PlotError::Empty);
    }
    let err = |e: &dyn std::fmt::Display| PlotError::Draw {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let height = 300 * panels.len() as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let areas = root.split_evenly((panels.len(), 1));
    for (panel, area) in panels.iter().zip(areas.iter()) {
        let curves: Vec<(String, Vec<(f64, f64)>)> = panel
            .curves
            .iter()
            .filter(|c| !c.per_call_ns.is_empty())
            .map(|c| (c.label.clone(), exceedance(&c.per_call_ns)))
            .collect();
        let max_t = curves
            .iter()
            .flat_map(|(_, p)| p.last().map(|q| q.0))
            .fold(panel.deadline_us, f64::max);
        let min_t = curves
            .iter()
            .flat_map(|(_, p)| p.first().map(|q| q.0))
            .fold(panel.deadline_us, f64::min)
            .max(1e-3);
        let min_frac = curves
            .iter()
            .flat_map(|(_, p)| p.last().map(|q| q.1))
            .fold(1.0f64, f64::min)
            .min(0.1);
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!(
                    "{} frames per call (deadline {:.0} us)",
                    panel.block_frames, panel.deadline_us
                ),
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(
                (min_t * 0.8..max_t * 1.25).log_scale(),
                (min_frac * 0.5..1.0f64).log_scale(),
            )
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("time per call (us, log scale)")
            .y_desc("fraction of calls slower")
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(LineSeries::new(
                [
                    (panel.deadline_us, min_frac * 0.5),
                    (panel.deadline_us, 1.0),
                ],
                BLACK.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label(format!("deadline {:.0} us", panel.deadline_us))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.stroke_width(2)));
        let live: Vec<&Curve> = panel
            .curves
            .iter()
            .filter(|c| !c.per_call_ns.is_empty())
            .collect();
        for (i, ((label, pts), curve)) in curves.into_iter().zip(live).enumerate() {
            let color = COLOURS[i % COLOURS.len()];
            let marks = markers(&curve.per_call_ns);
            let legend = match &marks {
                Some([(_, p50, _), (_, p99, _), (_, max, _)]) => {
                    format!("{label}: p50 {p50:.1}, p99 {p99:.1}, max {max:.1} us")
                }
                None => label,
            };
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(legend)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
            if let Some(marks) = marks {
                chart
                    .draw_series(marks.iter().map(|&(name, t, frac)| {
                        EmptyElement::at((t, frac))
                            + Circle::new((0, 0), 4, color.filled())
                            + Text::new(
                                name,
                                (5, -12),
                                ("sans-serif", 12).into_font().color(&color),
                            )
                    }))
                    .map_err(|e| err(&e))?;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceedance_of_1_to_4_us() {
        // Sorted 1, 2, 3, 4 us: slower than 1 -> 3/4, than 2 -> 2/4, than 3 -> 1/4, and
        // the slowest is shown at the floor 1/4.
        let pts = exceedance(&[4_000, 1_000, 3_000, 2_000]);
        assert_eq!(pts, vec![(1.0, 0.75), (2.0, 0.5), (3.0, 0.25), (4.0, 0.25)]);
    }

    #[test]
    fn plot_writes_an_svg_with_one_panel_per_call_size() {
        let dir = std::env::temp_dir().join(format!("faltung-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dist.svg");
        let panel = |b| Panel {
            block_frames: b,
            deadline_us: 1000.0,
            curves: vec![Curve {
                label: "auto".into(),
                per_call_ns: (1..=500).map(|v| v * 1000).collect(),
            }],
        };
        plot_distribution(&path, &[panel(64), panel(256)]).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("64 frames per call") && svg.contains("256 frames per call"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(
            plot_distribution(&path, &[]),
            Err(PlotError::Empty)
        ));
    }
}
