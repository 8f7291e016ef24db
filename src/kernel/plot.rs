//! A picture of a kernel: impulse response on top, magnitude response (dB over a log
//! frequency axis) below. SVG output (plotters' SVG backend, no system libraries).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::analysis::{channel_names, magnitude_response, response_fft_len};
use super::{Kernel, KernelError};

/// Width and height of the picture in pixels.
pub const PLOT_SIZE: (u32, u32) = (1000, 720);

const COLORS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// Write the picture of `k` as SVG to `path`.
///
/// Errors (before the file is created) for a kernel the axes cannot span: a sample rate
/// of 0 Hz, taps that are not finite or too large to draw.
pub fn plot_svg(k: &Kernel, path: &Path) -> Result<(), KernelError> {
    let err = |e: String| KernelError::Plot {
        path: path.to_path_buf(),
        reason: e,
    };
    check_drawable(k).map_err(err)?;
    {
        let root = SVGBackend::new(path, PLOT_SIZE).into_drawing_area();
        draw_kernel(&root, k).map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    // plotters reports some write failures only on drop; check the file is there.
    match std::fs::metadata(path) {
        Ok(m) if m.len() > 0 => Ok(()),
        Ok(_) => Err(err("nothing was written".into())),
        Err(e) => Err(err(e.to_string())),
    }
}

/// Why `k` cannot be drawn, if it cannot: the axes need a positive rate and a finite,
/// non-empty range of values.
pub fn check_drawable(k: &Kernel) -> Result<(), String> {
    if k.sample_rate_hz == Some(0) {
        return Err("the kernel's sample rate is 0 Hz".into());
    }
    if k.len_frames() == 0 {
        return Err("the kernel has no taps".into());
    }
    for (c, taps) in k.channels.iter().enumerate() {
        if let Some(i) = taps.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "tap {i} of channel {c} is not finite ({}), so it cannot be drawn",
                taps[i]
            ));
        }
    }
    let peak = peak_abs(k);
    if !(4.0 * peak).is_finite() {
        return Err(format!(
            "the taps reach {peak:e}, too large for the plot's axes"
        ));
    }
    Ok(())
}

fn peak_abs(k: &Kernel) -> f64 {
    k.channels
        .iter()
        .flatten()
        .fold(0.0f64, |m, &v| m.max(v.abs()))
}

/// Min/max envelope of `taps` over `columns` columns: a long IR becomes at most
/// `2 * columns` points that draw the same picture.
fn envelope(taps: &[f64], columns: usize) -> Vec<(usize, f64)> {
    if taps.len() <= 2 * columns {
        return taps.iter().cloned().enumerate().collect();
    }
    let per = taps.len().div_ceil(columns);
    let mut pts = Vec::with_capacity(2 * columns);
    for (c, chunk) in taps.chunks(per).enumerate() {
        let start = c * per;
        let (imin, vmin) =
            chunk.iter().enumerate().fold(
                (0, f64::INFINITY),
                |a, (i, &v)| if v < a.1 { (i, v) } else { a },
            );
        let (imax, vmax) =
            chunk.iter().enumerate().fold(
                (0, f64::NEG_INFINITY),
                |a, (i, &v)| if v > a.1 { (i, v) } else { a },
            );
        if imin <= imax {
            pts.push((start + imin, vmin));
            pts.push((start + imax, vmax));
        } else {
            pts.push((start + imax, vmax));
            pts.push((start + imin, vmin));
        }
    }
    pts
}

/// Magnitude in dB at `points` log-spaced frequencies from `f_lo` to 0.5 (cycles/sample),
/// each the power mean of the FFT bins in its interval (interpolated if there is none).
fn log_magnitude_db(mag: &[f64], n_fft: usize, f_lo: f64, points: usize) -> Vec<(f64, f64)> {
    let ratio = (0.5 / f_lo).powf(1.0 / points as f64);
    let mut out = Vec::with_capacity(points);
    let mut f0 = f_lo;
    for _ in 0..points {
        let f1 = f0 * ratio;
        let k0 = (f0 * n_fft as f64).ceil() as usize;
        let k1 = ((f1 * n_fft as f64).floor() as usize).min(mag.len() - 1);
        let p = if k1 >= k0 {
            mag[k0..=k1].iter().map(|m| m * m).sum::<f64>() / (k1 - k0 + 1) as f64
        } else {
            // Fewer than one bin in the interval: interpolate between neighbours.
            let x = (f0 * f1).sqrt() * n_fft as f64;
            let k = (x.floor() as usize).min(mag.len() - 2);
            let t = (x - k as f64).clamp(0.0, 1.0);
            (mag[k] * (1.0 - t) + mag[k + 1] * t).powi(2)
        };
        out.push(((f0 * f1).sqrt(), 10.0 * p.max(1e-30).log10()));
        f0 = f1;
    }
    out
}

/// A tick label without trailing zeros: `500`, `0.25`, `-0.8`.
fn trim_number(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Draw the picture of `k` on any plotters drawing area. Check the kernel with
/// [`check_drawable`] first: axes over non-finite values do not end.
pub fn draw_kernel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    k: &Kernel,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (upper, lower) = root.split_vertically(root.dim_in_pixel().1 / 2);
    let names = channel_names(k.channel_count());
    let len = k.len_frames().max(1);
    let rate = k.sample_rate_hz;
    // Time axis in ms when the rate is known, in frames otherwise.
    let t_scale = rate.map_or(1.0, |r| 1000.0 / r as f64);
    let t_max = (len.max(2) - 1) as f64 * t_scale;
    let peak = peak_abs(k);
    let y_max = peak.max(1e-12) * 1.08;
    let title = format!(
        "{}  ({} taps{}, {} ch)",
        k.name,
        len,
        rate.map_or(String::new(), |r| format!(", {r} Hz")),
        k.channel_count()
    );
    let mut ir = ChartBuilder::on(&upper)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..t_max.max(1e-9), -y_max..y_max)?;
    ir.configure_mesh()
        .x_desc(if rate.is_some() {
            "time (ms)"
        } else {
            "tap (frames)"
        })
        .y_desc("amplitude")
        .x_label_formatter(&|t| trim_number(*t))
        .y_label_formatter(&|v| trim_number(*v))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (c, taps) in k.channels.iter().enumerate() {
        let color = COLORS[c % COLORS.len()];
        let pts: Vec<(f64, f64)> = envelope(taps, 1500)
            .into_iter()
            .map(|(i, v)| (i as f64 * t_scale, v))
            .collect();
        if taps.len() <= 128 {
            // Short kernels: a dot on every tap.
            ir.draw_series(
                taps.iter()
                    .enumerate()
                    .map(|(i, &v)| Circle::new((i as f64 * t_scale, v), 3, color.filled())),
            )?;
        }
        ir.draw_series(LineSeries::new(pts, color.stroke_width(1)))?
            .label(names[c].clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
    }
    if k.channel_count() > 1 {
        ir.configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }

    // Magnitude response, dB re the largest value, over log frequency. Computed on the
    // taps scaled to a peak of 1 (so that squares of large taps cannot overflow) and
    // shifted back by the peak's level.
    let n_fft = response_fft_len(len);
    let f_lo = (4.0 / n_fft as f64).max(1e-4);
    let scale = if peak > 0.0 { peak } else { 1.0 };
    let shift_db = 20.0 * scale.log10();
    let curves: Vec<Vec<(f64, f64)>> = k
        .channels
        .iter()
        .map(|taps| {
            let scaled: Vec<f64> = taps.iter().map(|v| v / scale).collect();
            log_magnitude_db(&magnitude_response(&scaled, n_fft), n_fft, f_lo, 600)
                .into_iter()
                .map(|(f, db)| (f, db + shift_db))
                .collect()
        })
        .collect();
    let db_max = curves
        .iter()
        .flatten()
        .map(|p| p.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let top = (db_max / 10.0).ceil() * 10.0 + 5.0;
    let bottom = top - 105.0;
    let f_scale = rate.map_or(1.0, |r| r as f64);
    let mut mag = ChartBuilder::on(&lower)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((f_lo * f_scale..0.5 * f_scale).log_scale(), bottom..top)?;
    mag.configure_mesh()
        .x_desc(if rate.is_some() {
            "frequency (Hz)"
        } else {
            "frequency (cycles/sample)"
        })
        .y_desc("magnitude (dB)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .x_label_formatter(&|f| {
            if *f >= 1000.0 {
                format!("{}k", f / 1000.0)
            } else if *f >= 1.0 {
                format!("{f}")
            } else {
                format!("{f:.0e}")
            }
        })
        .draw()?;
    for (c, pts) in curves.into_iter().enumerate() {
        let color = COLORS[c % COLORS.len()];
        let pts: Vec<(f64, f64)> = pts
            .into_iter()
            .map(|(f, db)| (f * f_scale, db.max(bottom)))
            .collect();
        mag.draw_series(LineSeries::new(pts, color.stroke_width(2)))?;
    }
    Ok(())
}
