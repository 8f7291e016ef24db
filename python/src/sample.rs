//! The two sample types the bindings compute in (`f64` and `f32`), and lanes of any layout
//! as `f64` slices for the library's one-shot functions.

use numpy::ndarray::ArrayView1;
use numpy::Element;
use std::borrow::Cow;

/// A numpy sample type the bindings accept: float64 or float32.
pub trait Sample: Element + Copy + Send + Sync + 'static {
    fn from_f64(v: f64) -> Self;
    /// The lane as a contiguous `f64` slice: borrowed when it already is one, else copied.
    fn lane_f64<'a>(lane: ArrayView1<'a, Self>) -> Cow<'a, [f64]>;
    /// The slice itself when the samples are float64 (results can be written in place).
    fn as_f64_mut(s: &mut [Self]) -> Option<&mut [f64]>;
}

impl Sample for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
    fn as_f64_mut(s: &mut [f64]) -> Option<&mut [f64]> {
        Some(s)
    }
    fn lane_f64<'a>(lane: ArrayView1<'a, f64>) -> Cow<'a, [f64]> {
        match lane.to_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(lane.iter().copied().collect()),
        }
    }
}

impl Sample for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn as_f64_mut(_: &mut [f32]) -> Option<&mut [f64]> {
        None
    }
    fn lane_f64<'a>(lane: ArrayView1<'a, f32>) -> Cow<'a, [f64]> {
        Cow::Owned(lane.iter().map(|&v| f64::from(v)).collect())
    }
}
