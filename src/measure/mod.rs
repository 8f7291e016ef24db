//! Measuring through real audio: play known signals into a system and record what comes
//! back on the same clock.
//!
//! - [`roundtrip`] (cargo feature `jack`): the live pipeline's real latency on a JACK
//!   server, measured with impulses, next to the sum of its parts (`faltung bench
//!   --roundtrip`).

#[cfg(feature = "jack")]
pub mod roundtrip;
