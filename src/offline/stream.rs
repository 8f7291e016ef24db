//! The streaming run: the input file through the engine block by block, edges added,
//! dry/wet mix and gain applied, the mixed output handed to a sink in order.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use super::engine_cache::EngineCache;
use super::geometry::{geometry, Edge, Ends};
use super::{OfflineError, Options};
use crate::audio_file::{AudioFileError, AudioReader};
use crate::engine::BlockProcessor;
use crate::kernel::savgol_fit::polyfit_eval;
use crate::kernel::Kernel;

/// A delay line over interleaved frames.
struct Delay {
    buf: Vec<f32>,
    pos: usize,
}

impl Delay {
    fn new(frames: usize, ch: usize) -> Delay {
        Delay {
            buf: vec![0.0; frames * ch],
            pos: 0,
        }
    }

    fn run(&mut self, input: &[f32], out: &mut [f32]) {
        if self.buf.is_empty() {
            out.copy_from_slice(input);
            return;
        }
        for (o, &i) in out.iter_mut().zip(input) {
            *o = self.buf[self.pos];
            self.buf[self.pos] = i;
            self.pos += 1;
            if self.pos == self.buf.len() {
                self.pos = 0;
            }
        }
    }
}

/// Largest absolute value in `v` (0 for an empty slice; NaNs are ignored), in 16
/// independent lanes with a plain comparison so that it vectorises to `maxps`.
fn peak_abs(v: &[f32]) -> f32 {
    #[inline(always)]
    fn max_abs(m: f32, x: f32) -> f32 {
        let a = x.abs();
        if a > m {
            a
        } else {
            m
        }
    }
    let mut lanes = [0f32; 16];
    let mut chunks = v.chunks_exact(16);
    for c in &mut chunks {
        for (m, &x) in lanes.iter_mut().zip(c) {
            *m = max_abs(*m, x);
        }
    }
    let tail = chunks.remainder().iter().fold(0f32, |m, &x| max_abs(m, x));
    lanes.iter().fold(tail, |m, &x| max_abs(m, x))
}

/// Whether every value in `v` is finite: `x * 0` is 0 for finite `x` and NaN for Inf and
/// NaN, summed in 16 independent lanes so that it vectorises.
fn all_finite(v: &[f32]) -> bool {
    let mut lanes = [0f32; 16];
    let mut chunks = v.chunks_exact(16);
    for c in &mut chunks {
        for (m, &x) in lanes.iter_mut().zip(c) {
            *m += x * 0.0;
        }
    }
    let tail = chunks.remainder().iter().fold(0f32, |m, &x| m + x * 0.0);
    tail == 0.0 && lanes.iter().all(|&m| m == 0.0)
}

/// Settings of one streaming run, resolved from the file and the options.
pub(super) struct Run<'a> {
    pub(super) input: &'a Path,
    /// Input frames; `None`: unknown until the input ends (`full` mode without edges).
    pub(super) frames: Option<u64>,
    pub(super) kernel: &'a Kernel,
    pub(super) opts: &'a Options,
    pub(super) cancel: &'a AtomicBool,
}

/// Peak and frame count of the mixed output.
pub(super) struct Streamed {
    pub(super) input_frames: u64,
    pub(super) peak: f64,
    pub(super) frames: u64,
    pub(super) plan: String,
    pub(super) out_ch: usize,
}

impl Run<'_> {
    /// Stream the input through the engine; `sink` gets the mixed output in order.
    pub(super) fn stream(
        &self,
        mut reader: AudioReader,
        cache: &mut EngineCache,
        progress: &mut dyn FnMut(u64),
        sink: &mut dyn FnMut(&[f32]) -> Result<(), OfflineError>,
    ) -> Result<Streamed, OfflineError> {
        let info = reader.info();
        let m = self.kernel.len_frames() as u64;
        // An unknown length is found at the end of the input; until then the stream runs on.
        let mut n_known = self.frames;
        let n = n_known.unwrap_or(u64::MAX / 4);
        let in_ch = info.channels;
        let mut cached = cache.take(
            self.input,
            self.kernel,
            in_ch,
            self.opts.plan_request.as_ref(),
        )?;
        let (engine, routing) = (&mut cached.engine, cached.routing.clone());
        let out_ch = routing.output_channels;
        let mut n = n;
        let mut geo = geometry(n, m, self.opts.mode, self.opts.edge);
        let edge = self.opts.edge.unwrap_or(Edge::Constant);

        // Edge context and savgol edge values.
        let savgol = match self.opts.edge {
            Some(Edge::Interp(sg)) => Some(sg),
            _ => None,
        };
        let mut left_ext = Vec::new();
        let mut right_ext = Vec::new();
        let mut fit_left: Vec<Vec<f64>> = Vec::new();
        let mut fit_right: Vec<Vec<f64>> = Vec::new();
        let halflen = savgol.map_or(0, |s| (s.window / 2) as u64);
        if geo.left > 0 || geo.right > 0 || savgol.is_some() {
            let need =
                (geo.left.max(geo.right) as u64 + 1).max(savgol.map_or(0, |s| s.window as u64));
            let ends = Ends::read(self.input, n, need)?;
            left_ext = ends.extension(-(geo.left as i64), geo.left, edge);
            right_ext = ends.extension(n as i64, geo.right, edge);
            if let Some(sg) = savgol {
                let w = sg.window as u64;
                if n < w {
                    return Err(OfflineError::Invalid {
                        input: self.input.to_path_buf(),
                        reason: format!(
                            "{n} frames is shorter than the savgol window of {w} (needed by --edge interp)"
                        ),
                    });
                }
                let at_left: Vec<f64> = (0..halflen).map(|t| t as f64).collect();
                let at_right: Vec<f64> = (w - halflen..w).map(|t| t as f64).collect();
                for c in 0..in_ch {
                    let yl = ends.channel(c, 0, sg.window);
                    let yr = ends.channel(c, n - w, sg.window);
                    fit_left.push(polyfit_eval(
                        &yl,
                        sg.polyorder,
                        sg.deriv,
                        sg.delta,
                        &at_left,
                    ));
                    fit_right.push(polyfit_eval(
                        &yr,
                        sg.polyorder,
                        sg.deriv,
                        sg.delta,
                        &at_right,
                    ));
                }
            }
        }

        // Calls of the request's size (a live run's), else the plan's cheapest size.
        let block = self
            .opts
            .plan_request
            .as_ref()
            .and_then(|r| r.call_frames)
            .unwrap_or_else(|| engine.plan().preferred_call_frames())
            .clamp(1, engine.max_call_frames());
        let lat = engine.latency_frames() as u64;
        let wet = self.opts.wet as f32;
        let gain = 10f64.powf(self.opts.gain_db / 20.0) as f32;
        let use_dry = wet < 1.0;
        let mut dry = Delay::new(
            if use_dry {
                (lat + geo.dry_lag) as usize
            } else {
                0
            },
            in_ch,
        );
        let mut inbuf = vec![0f32; block * in_ch];
        let mut outbuf = vec![0f32; block * out_ch];
        let mut drybuf = vec![0f32; if use_dry { block * in_ch } else { 0 }];

        // Engine input stream position (frames) and raw engine output count.
        let mut stream_len = geo.left as u64 + n + geo.right as u64;
        let mut fed: u64 = 0;
        let keep_from = lat + geo.discard;
        let mut keep_to = keep_from + geo.take;
        let mut peak = 0f64;
        let mut emitted = 0u64;
        while fed < keep_to {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(OfflineError::Cancelled {
                    input: self.input.to_path_buf(),
                });
            }
            // Fill the input block from extension, file, extension, zeros.
            let mut k = 0usize; // frames filled
            while k < block {
                let pos = fed + k as u64;
                let dst = &mut inbuf[k * in_ch..];
                if pos < geo.left as u64 {
                    let take = (geo.left as u64 - pos).min((block - k) as u64) as usize;
                    let s = pos as usize * in_ch;
                    dst[..take * in_ch].copy_from_slice(&left_ext[s..s + take * in_ch]);
                    k += take;
                } else if pos < geo.left as u64 + n {
                    let want = (geo.left as u64 + n - pos).min((block - k) as u64) as usize;
                    let got = reader.read_frames(&mut dst[..want * in_ch])?;
                    if got == 0 && n_known.is_none() {
                        // The end of an input of unknown length: now the geometry is known.
                        n = pos - geo.left as u64;
                        if n == 0 {
                            return Err(AudioFileError::Empty {
                                path: self.input.to_path_buf(),
                            }
                            .into());
                        }
                        n_known = Some(n);
                        geo = geometry(n, m, self.opts.mode, self.opts.edge);
                        stream_len = geo.left as u64 + n + geo.right as u64;
                        keep_to = keep_from + geo.take;
                        continue;
                    }
                    if got == 0 {
                        return Err(AudioFileError::Truncated {
                            path: self.input.to_path_buf(),
                            frame: pos - geo.left as u64,
                            reason: "unexpected end of data".into(),
                        }
                        .into());
                    }
                    k += got;
                } else if pos < stream_len {
                    let take = (stream_len - pos).min((block - k) as u64) as usize;
                    let s = (pos - geo.left as u64 - n) as usize * in_ch;
                    dst[..take * in_ch].copy_from_slice(&right_ext[s..s + take * in_ch]);
                    k += take;
                } else {
                    dst[..(block - k) * in_ch].fill(0.0);
                    k = block;
                }
            }
            engine
                .process_block(&inbuf, &mut outbuf)
                .map_err(|e| OfflineError::Invalid {
                    input: self.input.to_path_buf(),
                    reason: format!("engine: {e}"),
                })?;
            if use_dry {
                dry.run(&inbuf, &mut drybuf);
            }
            // Keep raw outputs fed..fed+block that fall in keep_from..keep_to.
            let lo = keep_from.max(fed);
            let hi = keep_to.min(fed + block as u64);
            if lo < hi {
                let (j0, j1) = ((lo - fed) as usize, (hi - fed) as usize);
                // Mixed in place: the engine overwrites the whole buffer on the next call.
                let mixed = &mut outbuf[j0 * out_ch..j1 * out_ch];
                if savgol.is_some() {
                    for r in lo..hi {
                        let i = r - keep_from; // output frame index
                        let fit = if i < halflen {
                            Some((&fit_left, i as usize))
                        } else if i >= n - halflen {
                            Some((&fit_right, (i - (n - halflen)) as usize))
                        } else {
                            None
                        };
                        if let Some((fit, k)) = fit {
                            let at = (r - lo) as usize * out_ch;
                            for c in 0..out_ch {
                                mixed[at + c] = fit[c][k] as f32;
                            }
                        }
                    }
                }
                if use_dry {
                    let dry = &drybuf[j0 * in_ch..j1 * in_ch];
                    for (f, v) in mixed.chunks_exact_mut(out_ch).enumerate() {
                        for (c, v) in v.iter_mut().enumerate() {
                            let d = dry[f * in_ch + if in_ch == out_ch { c } else { 0 }];
                            *v = wet * *v + (1.0 - wet) * d;
                        }
                    }
                }
                if gain != 1.0 {
                    mixed.iter_mut().for_each(|v| *v *= gain);
                }
                if !all_finite(mixed) {
                    // Past the f32 range (a loud input, kernel or gain): refused like
                    // clipping, before anything reaches the output.
                    let at = mixed.iter().position(|v| !v.is_finite()).unwrap_or(0);
                    return Err(OfflineError::NonFinite {
                        input: self.input.to_path_buf(),
                        frame: emitted + (at / out_ch) as u64,
                        value: mixed[at],
                    });
                }
                peak = peak.max(peak_abs(mixed) as f64);
                sink(mixed)?;
                emitted += hi - lo;
                progress(emitted);
            }
            fed += block as u64;
        }
        let plan = engine.plan().to_string();
        cache.last = Some(cached);
        Ok(Streamed {
            input_frames: n,
            peak,
            frames: emitted,
            plan,
            out_ch,
        })
    }
}
