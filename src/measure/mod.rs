//! Measuring through real audio: play known signals into a system and record what comes
//! back on the same clock.
//!
//! - [`sweep`]: the synchronized exponential sine sweep and its deconvolution into
//!   impulse responses (`faltung sweep`, `faltung deconvolve`).
//! - [`room`] (cargo feature `audio-io`): `faltung measure`, the sweep played and recorded
//!   through the live path's devices ([`crate::live::Session::start_play_record`]),
//!   averaged and deconvolved.
//! - [`roundtrip`] (cargo feature `jack`): the live pipeline's real latency on a JACK
//!   server, measured with impulses, next to the sum of its parts (`faltung bench
//!   --roundtrip`).

#[cfg(feature = "audio-io")]
pub mod room;
#[cfg(feature = "jack")]
pub mod roundtrip;
pub mod sweep;
