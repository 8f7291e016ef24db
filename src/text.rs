//! User input echoed in messages: long text cut to an excerpt, numbers kept short.

/// Characters of user text quoted in a message before it is cut.
pub const EXCERPT_CHARS: usize = 60;

/// `s` itself if short, else its first [`EXCERPT_CHARS`] characters and how long it was
/// (a 100 kB argument must not fill the terminal).
pub fn excerpt(s: &str) -> String {
    match s.char_indices().nth(EXCERPT_CHARS) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}... ({} bytes)", &s[..cut], s.len()),
    }
}

/// A number as a person reads it: plain for ordinary magnitudes, scientific otherwise
/// (`1e300`, not a 301-digit integer).
pub fn short_num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || !a.is_finite() || (1e-4..1e9).contains(&a) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_at_a_character_boundary_and_says_its_length() {
        assert_eq!(excerpt("hann:31"), "hann:31");
        let long = "é".repeat(100);
        let e = excerpt(&long);
        assert_eq!(e, format!("{}... (200 bytes)", "é".repeat(60)));
    }

    #[test]
    fn numbers_stay_short() {
        assert_eq!(short_num(2.5), "2.5");
        assert_eq!(short_num(1e300), "1e300");
        assert_eq!(short_num(-1e-300), "-1e-300");
        assert_eq!(short_num(48000.0), "48000");
        assert_eq!(short_num(0.0), "0");
    }
}
