//! WAV input and output (hound).
