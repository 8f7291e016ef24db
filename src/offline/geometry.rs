//! Mode and edge geometry: which part of the engine's output stream is kept, and how
//! `same` mode extends the input beyond its ends.

use std::path::Path;

use crate::audio_file::{AudioFileError, AudioReader};
use crate::kernel::savgol::Savgol;

/// Which part of the full convolution to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Full,
    Same,
    Valid,
}

/// How `same` mode extends the input beyond its ends (scipy.ndimage's names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Edge {
    /// Zeros: `(0 0 0 0 | a b c d | 0 0 0 0)`.
    Constant,
    /// Half-sample symmetric: `(d c b a | a b c d | d c b a)`.
    Reflect,
    /// Whole-sample symmetric: `(d c b | a b c d | c b a)`.
    Mirror,
    /// Edge value repeated: `(a a a a | a b c d | d d d d)`.
    Nearest,
    /// Periodic: `(a b c d | a b c d | a b c d)`.
    Wrap,
    /// Savitzky–Golay polynomial fit on the edge windows (`savgol_filter(mode='interp')`).
    Interp(Savgol),
}

/// How the engine's input stream is built from the file and which outputs are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Geometry {
    /// Extension frames before and after the file's frames.
    pub(super) left: usize,
    pub(super) right: usize,
    /// Convolution outputs skipped, then kept.
    pub(super) discard: u64,
    pub(super) take: u64,
    /// Dry signal delay relative to the engine input stream (the kernel centre).
    pub(super) dry_lag: u64,
}

pub(super) fn geometry(n: u64, m: u64, mode: Mode, edge: Option<Edge>) -> Geometry {
    let (lo, hi) = (n.min(m), n.max(m));
    match (mode, edge) {
        (Mode::Full, _) => Geometry {
            left: 0,
            right: 0,
            discard: 0,
            take: n + m - 1,
            dry_lag: 0,
        },
        (Mode::Same, None) => {
            let off = (lo - 1) / 2;
            Geometry {
                left: 0,
                right: 0,
                discard: off,
                take: hi,
                dry_lag: off,
            }
        }
        (Mode::Same, Some(_)) => {
            let off = m / 2;
            Geometry {
                left: (m - 1 - off) as usize,
                right: off as usize,
                discard: m - 1,
                take: n,
                dry_lag: off,
            }
        }
        (Mode::Valid, _) => Geometry {
            left: 0,
            right: 0,
            discard: lo - 1,
            take: hi - lo + 1,
            dry_lag: (m - 1) / 2,
        },
    }
}

/// Where index `j` (possibly outside `0..n`) reads from under `edge`; `None`: zero.
pub(super) fn map_index(j: i64, n: i64, edge: Edge) -> Option<i64> {
    if (0..n).contains(&j) {
        return Some(j);
    }
    match edge {
        Edge::Constant | Edge::Interp(_) => None,
        Edge::Nearest => Some(j.clamp(0, n - 1)),
        Edge::Wrap => Some(j.rem_euclid(n)),
        Edge::Reflect => {
            let k = j.rem_euclid(2 * n);
            Some(if k < n { k } else { 2 * n - 1 - k })
        }
        Edge::Mirror => {
            if n == 1 {
                return Some(0);
            }
            let p = 2 * n - 2;
            let k = j.rem_euclid(p);
            Some(if k < n { k } else { p - k })
        }
    }
}

/// The first and last frames of the input, read before streaming (edge modes need them).
pub(super) struct Ends {
    ch: usize,
    n: u64,
    head: Vec<f32>,
    /// Frames `n - tail_frames .. n` (empty when `head` holds the whole file).
    tail: Vec<f32>,
}

impl Ends {
    /// The ends of `path`, which holds `n` frames.
    pub(super) fn read(path: &Path, n: u64, frames_each: u64) -> Result<Ends, AudioFileError> {
        let mut r = AudioReader::open(path)?;
        let ch = r.info().channels;
        let whole = n <= 2 * frames_each;
        let head_frames = if whole { n } else { frames_each };
        let mut head = vec![0f32; head_frames as usize * ch];
        read_exact_frames(&mut r, &mut head)?;
        let mut tail = Vec::new();
        if !whole {
            tail = vec![0f32; frames_each as usize * ch];
            r.seek_frame(n - frames_each)?;
            read_exact_frames(&mut r, &mut tail)?;
        }
        Ok(Ends { ch, n, head, tail })
    }

    pub(super) fn frame(&self, idx: u64) -> &[f32] {
        let ch = self.ch;
        let head_frames = (self.head.len() / ch) as u64;
        if idx < head_frames {
            let i = idx as usize * ch;
            &self.head[i..i + ch]
        } else {
            let tail_frames = (self.tail.len() / ch) as u64;
            let t = (idx - (self.n - tail_frames)) as usize * ch;
            &self.tail[t..t + ch]
        }
    }

    /// Frames `start .. start + len` of the extended input (interleaved).
    pub(super) fn extension(&self, start: i64, len: usize, edge: Edge) -> Vec<f32> {
        let mut out = vec![0f32; len * self.ch];
        for k in 0..len {
            if let Some(src) = map_index(start + k as i64, self.n as i64, edge) {
                out[k * self.ch..(k + 1) * self.ch].copy_from_slice(self.frame(src as u64));
            }
        }
        out
    }

    /// Channel `c` of frames `start .. start + len` as f64.
    pub(super) fn channel(&self, c: usize, start: u64, len: usize) -> Vec<f64> {
        (0..len as u64)
            .map(|k| self.frame(start + k)[c] as f64)
            .collect()
    }
}

pub(super) fn read_exact_frames(
    r: &mut AudioReader,
    buf: &mut [f32],
) -> Result<(), AudioFileError> {
    let ch = r.info().channels;
    let mut done = 0;
    while done < buf.len() {
        let got = r.read_frames(&mut buf[done..])?;
        if got == 0 {
            break;
        }
        done += got * ch;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_maps_match_scipy_ndimage_pictures() {
        // n = 4: a b c d at 0..4; three frames each side.
        let pic = |e| (-3..7).map(|j| map_index(j, 4, e)).collect::<Vec<_>>();
        let s = |v: &[i64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
        assert_eq!(pic(Edge::Reflect), s(&[2, 1, 0, 0, 1, 2, 3, 3, 2, 1]));
        assert_eq!(pic(Edge::Mirror), s(&[3, 2, 1, 0, 1, 2, 3, 2, 1, 0]));
        assert_eq!(pic(Edge::Nearest), s(&[0, 0, 0, 0, 1, 2, 3, 3, 3, 3]));
        assert_eq!(pic(Edge::Wrap), s(&[1, 2, 3, 0, 1, 2, 3, 0, 1, 2]));
        assert_eq!(pic(Edge::Constant)[0], None);
    }
}
