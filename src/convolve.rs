//! One-shot convolution over `f64` slices with numpy/scipy semantics.
