//! Audio files through the library's own readers and writers: `read`, `write`, `load_ir`
//! and `process_file` (the CLI's `faltung process`).

use faltung::audio_file::{
    AtomicOutput, AudioFileError, AudioReader, AudioWriter, Quantizer, SampleFormat,
};
use faltung::engine::PlanRequest;
use faltung::kernel::{self, IrOptions, Kernel, KernelError, Normalize};
use faltung::offline::{self, Edge, Mode, OfflineError, Options};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::{PyFileExistsError, PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// The error's message followed by those of its sources that it does not already contain.
fn message(e: &dyn Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !msg.contains(&t) {
            msg = format!("{msg}: {t}");
        }
        src = s.source();
    }
    msg
}

fn is_not_found(e: &(dyn Error + 'static)) -> bool {
    let mut cur: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::NotFound;
        }
        cur = c.source();
    }
    false
}

fn file_error(e: AudioFileError) -> PyErr {
    match &e {
        AudioFileError::Exists { .. } => PyFileExistsError::new_err(message(&e)),
        _ if is_not_found(&e) => PyFileNotFoundError::new_err(message(&e)),
        _ => PyOSError::new_err(message(&e)),
    }
}

fn kernel_error(e: KernelError) -> PyErr {
    match &e {
        KernelError::BadParameter { .. }
        | KernelError::BadSpec { .. }
        | KernelError::BadOption { .. }
        | KernelError::RateMismatch { .. }
        | KernelError::Resample { .. } => PyValueError::new_err(message(&e)),
        _ if is_not_found(&e) => PyFileNotFoundError::new_err(message(&e)),
        _ => PyOSError::new_err(message(&e)),
    }
}

fn offline_error(e: OfflineError) -> PyErr {
    match e {
        OfflineError::File(f) => file_error(f),
        OfflineError::OutputExists { .. } => PyFileExistsError::new_err(message(&e)),
        OfflineError::Engine { .. }
        | OfflineError::Channels { .. }
        | OfflineError::RateMismatch { .. }
        | OfflineError::Clipped { .. } => PyValueError::new_err(message(&e)),
        _ => PyOSError::new_err(message(&e)),
    }
}

fn parse_format(format: &str) -> PyResult<SampleFormat> {
    Ok(match format {
        "f32" => SampleFormat::F32,
        "i16" => SampleFormat::I16,
        "i24" => SampleFormat::I24,
        "i32" => SampleFormat::I32,
        other => {
            return Err(PyValueError::new_err(format!(
                "format: must be 'f32', 'i16', 'i24' or 'i32', got {other:?}"
            )))
        }
    })
}

fn format_name(f: SampleFormat) -> &'static str {
    match f {
        SampleFormat::F32 => "f32",
        SampleFormat::I8 => "i8",
        SampleFormat::I16 => "i16",
        SampleFormat::I24 => "i24",
        SampleFormat::I32 => "i32",
    }
}

/// Read a whole WAV file: float32 (channels, frames) in [-1, 1) and the rate in Hz.
#[pyfunction]
pub fn read<'py>(py: Python<'py>, path: PathBuf) -> PyResult<(Bound<'py, PyArray2<f32>>, u32)> {
    let (data, rate) = py
        .detach(|| -> Result<(Array2<f32>, u32), AudioFileError> {
            let mut r = AudioReader::open(&path)?;
            let info = r.info();
            let ch = info.channels;
            let mut inter = Vec::with_capacity(info.frames.unwrap_or(0) as usize * ch);
            let mut buf = vec![0f32; 65536 * ch];
            loop {
                let got = r.read_frames(&mut buf)?;
                if got == 0 {
                    break;
                }
                inter.extend_from_slice(&buf[..got * ch]);
            }
            let frames = inter.len() / ch;
            // Interleaved (frames, channels) to (channels, frames).
            let a = Array2::from_shape_vec((frames, ch), inter)
                .expect("whole frames")
                .reversed_axes()
                .as_standard_layout()
                .into_owned();
            Ok((a, info.sample_rate_hz))
        })
        .map_err(file_error)?;
    Ok((data.into_pyarray(py), rate))
}

/// Write float32 (channels, frames) as a WAV file (a FLAC of format i16/i24 for a `.flac`
/// path), atomically (a temporary file renamed
/// into place). Integer formats are TPDF-dithered like the CLI's output; samples that
/// would clip are an error and nothing is written.
#[pyfunction]
#[pyo3(signature = (path, data, rate, format="f32", dither=true))]
pub fn write(
    py: Python<'_>,
    path: PathBuf,
    data: PyReadonlyArray2<'_, f32>,
    rate: u32,
    format: &str,
    dither: bool,
) -> PyResult<()> {
    let fmt = parse_format(format)?;
    let view = data.as_array();
    let (ch, frames) = view.dim();
    if ch == 0 {
        return Err(PyValueError::new_err("data: needs at least one channel"));
    }
    if rate == 0 {
        return Err(PyValueError::new_err("rate: must be positive"));
    }
    let inter: Vec<f32> = view.t().iter().copied().collect();
    debug_assert_eq!(inter.len(), ch * frames);
    let result = py.detach(|| -> Result<Option<u64>, AudioFileError> {
        let defaults = Options::default();
        let mut q = Quantizer::new(fmt, dither, defaults.dither_seed);
        // Count clipping before anything is created.
        if !fmt.is_float() {
            let mut probe = Quantizer::new(fmt, false, 0);
            let mut sink =
                AudioWriter::new(std::io::Cursor::new(Vec::new()), &path, ch, rate, fmt)?;
            probe.write(&mut sink, &inter)?;
            if probe.clipped() > 0 {
                return Ok(Some(probe.clipped()));
            }
        }
        let out = AtomicOutput::create(&path, true)?;
        let mut w = AudioWriter::new(out.writer()?, &path, ch, rate, fmt)?;
        q.write(&mut w, &inter)?;
        let inner = w.finalize()?;
        out.sync(inner)?;
        out.commit(true)?;
        Ok(None)
    });
    match result.map_err(file_error)? {
        Some(clipped) => Err(PyValueError::new_err(format!(
            "data: {clipped} sample(s) would clip in {}; scale the data into [-1, 1) or \
             write format='f32' ({}: nothing written)",
            format_name(fmt),
            Path::new(&path).display()
        ))),
        None => Ok(()),
    }
}

fn parse_normalize(name: &str) -> PyResult<Normalize> {
    name.parse::<Normalize>().map_err(|e| {
        PyValueError::new_err(format!(
            "normalize: must be 'none', 'peak', 'dc' or 'energy' ({e})"
        ))
    })
}

fn kernel_array<'py>(py: Python<'py>, k: &Kernel) -> Bound<'py, PyArray2<f64>> {
    let taps = k.len_frames();
    let mut a = Array2::<f64>::zeros((k.channel_count(), taps));
    for (mut row, ch) in a.rows_mut().into_iter().zip(&k.channels) {
        for (o, v) in row.iter_mut().zip(ch) {
            *o = *v;
        }
    }
    a.into_pyarray(py)
}

/// Load an impulse response file as the CLI does: float64 (channels, taps) and its rate
/// (resampled to `rate` when given; `normalize` none|peak|dc|energy).
#[pyfunction]
#[pyo3(signature = (path, rate=None, normalize="none"))]
pub fn load_ir<'py>(
    py: Python<'py>,
    path: PathBuf,
    rate: Option<u32>,
    normalize: &str,
) -> PyResult<(Bound<'py, PyArray2<f64>>, Option<u32>)> {
    let opts = IrOptions {
        target_rate_hz: rate,
        normalize: parse_normalize(normalize)?,
        ..IrOptions::default()
    };
    let k = py
        .detach(|| kernel::load_ir(&path, &opts))
        .map_err(kernel_error)?;
    Ok((kernel_array(py, &k), k.sample_rate_hz))
}

/// `faltung process INPUT -o OUTPUT (--ir FILE | --kernel SPEC) [--mode] [--edge]
/// [--normalize[=DB]] [--format]`: the same options, defaults and output bytes.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (input, output, ir, kernel, mode, edge, normalize_db, format, force))]
pub fn process_file<'py>(
    py: Python<'py>,
    input: PathBuf,
    output: PathBuf,
    ir: Option<PathBuf>,
    kernel: Option<String>,
    mode: &str,
    edge: Option<&str>,
    normalize_db: Option<f64>,
    format: Option<&str>,
    force: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let mode = match mode {
        "full" => Mode::Full,
        "same" => Mode::Same,
        "valid" => Mode::Valid,
        other => {
            return Err(PyValueError::new_err(format!(
                "mode: must be 'full', 'same' or 'valid', got {other:?}"
            )))
        }
    };
    let edge =
        match edge {
            None => None,
            Some("constant") => Some(Edge::Constant),
            Some("reflect") => Some(Edge::Reflect),
            Some("mirror") => Some(Edge::Mirror),
            Some("nearest") => Some(Edge::Nearest),
            Some("wrap") => Some(Edge::Wrap),
            Some("interp") => {
                let spec = kernel.as_deref().unwrap_or("");
                match kernel::spec::parse_savgol(spec)
                    .map_err(|e| PyValueError::new_err(format!("kernel: {}", message(&e))))?
                {
                    Some(sg) if sg.pos.is_some() => {
                        return Err(PyValueError::new_err(format!(
                            "kernel: `{spec}`: savgol_filter(mode='interp') evaluates at the \
                         window centre; drop pos="
                        )))
                    }
                    Some(sg) => Some(Edge::Interp(sg)),
                    None => return Err(PyValueError::new_err(
                        "edge: 'interp' needs kernel='savgol:WINDOW,POLYORDER[,deriv=D][,delta=X]'",
                    )),
                }
            }
            Some(other) => {
                return Err(PyValueError::new_err(format!(
                    "edge: must be None, 'constant', 'reflect', 'mirror', 'nearest', 'wrap' or \
                 'interp', got {other:?}"
                )))
            }
        };
    if edge.is_some() && mode != Mode::Same {
        return Err(PyValueError::new_err("edge: applies to mode='same' only"));
    }
    let opts = Options {
        mode,
        edge,
        format: format.map(parse_format).transpose()?,
        normalize_peak_db: normalize_db,
        force,
        plan_request: None::<PlanRequest>,
        ..Options::default()
    };
    let summary = py.detach(|| -> PyResult<offline::Summary> {
        let rate = AudioReader::open(&input)
            .map_err(file_error)?
            .info()
            .sample_rate_hz;
        let ir_opts = IrOptions {
            target_rate_hz: Some(rate),
            ..IrOptions::default()
        };
        let k = match (&ir, &kernel) {
            (Some(p), None) => kernel::load_ir(p, &ir_opts).map_err(kernel_error)?,
            (None, Some(spec)) => {
                let mut k = kernel::parse_spec(spec, Some(rate))
                    .map_err(|e| PyValueError::new_err(format!("kernel: {}", message(&e))))?;
                if k.sample_rate_hz.is_none() {
                    k.sample_rate_hz = Some(rate);
                }
                kernel::apply_options(k, &ir_opts, &mut Vec::new()).map_err(kernel_error)?
            }
            _ => {
                return Err(PyValueError::new_err(
                    "ir, kernel: give exactly one of ir=PATH or kernel=SPEC",
                ))
            }
        };
        let cancel = AtomicBool::new(false);
        offline::process_file(&input, &output, &k, &opts, &mut |_, _| {}, &cancel)
            .map_err(offline_error)
    })?;
    let d = PyDict::new(py);
    d.set_item("frames", summary.input_frames)?;
    d.set_item("output_frames", summary.output_frames)?;
    d.set_item("rate", summary.sample_rate_hz)?;
    d.set_item("channels", summary.input_channels)?;
    d.set_item("output_channels", summary.output_channels)?;
    d.set_item("format", format_name(summary.output_format))?;
    d.set_item("plan", summary.plan.clone())?;
    d.set_item("peak_dbfs", summary.peak_dbfs())?;
    d.set_item("clipped", summary.clipped)?;
    d.set_item(
        "normalize_gain_db",
        summary.normalize_gain.map(|g| 20.0 * g.log10()),
    )?;
    d.set_item("seconds", summary.elapsed.as_secs_f64())?;
    d.set_item("realtime_factor", summary.realtime_factor())?;
    Ok(d)
}
