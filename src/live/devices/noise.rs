//! What the audio libraries print and return, made into messages that say what to do.
//!
//! ALSA's library and libjack write their complaints straight to the process's standard
//! error (`ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM default`, eight lines of
//! it for one missing device). [`Capture`] points file descriptor 2 at a temporary file
//! while devices are opened (never on the audio path), [`Noise`] sorts what was caught, and
//! [`advice`] turns the known failures into a hint: PipeWire not running, no JACK server,
//! no ALSA device, a busy device.

use std::io::{Read, Seek, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// The hint when no JACK server can be reached: jackd, or PipeWire's JACK library.
pub const NO_JACK_SERVER: &str =
    "no JACK server is running: start one (e.g. `jackd -d alsa -r 48000 -p 256`), \
     or on a PipeWire desktop run faltung through PipeWire's JACK library (`pw-jack faltung ...`)";

/// The hint when the PipeWire ALSA plugin cannot reach PipeWire.
pub const PIPEWIRE_DOWN: &str =
    "PipeWire is not running (ALSA's `default` and `pipewire` devices go through \
     it): start it (`systemctl --user start pipewire pipewire-pulse wireplumber`, or log into \
     the desktop session), or choose a sound card (`faltung devices --host alsa`) or `--host jack`";

static CAPTURING: AtomicBool = AtomicBool::new(false);

/// Standard error redirected to a temporary file until [`Capture::finish`] (or drop).
/// One at a time per process; a nested [`Capture::start`] returns `None`.
pub struct Capture {
    saved_fd: libc::c_int,
    file: std::fs::File,
    restored: bool,
}

impl Capture {
    /// Start catching what is written to file descriptor 2, or `None` if that cannot be
    /// done (then nothing is caught and nothing is lost).
    pub fn start() -> Option<Capture> {
        use std::os::fd::AsRawFd;
        if CAPTURING.swap(true, Ordering::AcqRel) {
            return None;
        }
        let give_up = || {
            CAPTURING.store(false, Ordering::Release);
            None
        };
        let Ok(file) = tempfile::tempfile() else {
            return give_up();
        };
        let _ = std::io::stderr().flush();
        // SAFETY: plain descriptor calls on descriptors this process owns.
        let saved_fd = unsafe { libc::dup(2) };
        if saved_fd < 0 {
            return give_up();
        }
        // SAFETY: as above; on failure the saved copy is closed again.
        if unsafe { libc::dup2(file.as_raw_fd(), 2) } < 0 {
            unsafe { libc::close(saved_fd) };
            return give_up();
        }
        Some(Capture {
            saved_fd,
            file,
            restored: false,
        })
    }

    fn restore(&mut self) {
        if self.restored {
            return;
        }
        self.restored = true;
        let _ = std::io::stderr().flush();
        // SAFETY: puts back the descriptor saved in `start` and closes the copy.
        unsafe {
            libc::dup2(self.saved_fd, 2);
            libc::close(self.saved_fd);
        }
        CAPTURING.store(false, Ordering::Release);
    }

    /// Put standard error back and return what was written meanwhile.
    pub fn finish(mut self) -> Noise {
        self.restore();
        let mut text = String::new();
        if self.file.rewind().is_ok() {
            let mut bytes = Vec::new();
            let _ = self.file.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        Noise::parse(&text)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let caught = !self.restored;
        self.restore();
        // Unwinding from a panic: its message went to the file; pass everything on.
        if caught && std::thread::panicking() && self.file.rewind().is_ok() {
            let mut bytes = Vec::new();
            let _ = self.file.read_to_end(&mut bytes);
            let _ = std::io::stderr().write_all(&bytes);
        }
    }
}

/// What the audio libraries printed, sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Noise {
    /// ALSA's complaints without the `ALSA lib file.c:123:(function)` prefix, each once,
    /// in order.
    pub alsa: Vec<String>,
    /// Number of ALSA lines (with repeats).
    pub alsa_lines: usize,
    /// libjack's lines (each once).
    pub jack: Vec<String>,
    /// Everything else, verbatim (the caller prints it: it may be faltung's own warnings).
    pub other: Vec<String>,
}

fn push_once(list: &mut Vec<String>, s: &str) {
    if !list.iter().any(|x| x == s) {
        list.push(s.to_string());
    }
}

fn is_jack_line(l: &str) -> bool {
    let lower = l.to_lowercase();
    lower.contains("jack server")
        || l.starts_with("Cannot connect to server")
        || l.starts_with("JackShm")
        || l.starts_with("Jack")
        || lower.starts_with("jack:")
}

impl Noise {
    pub fn parse(text: &str) -> Noise {
        let mut n = Noise::default();
        for line in text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty())
        {
            if let Some(rest) = line.strip_prefix("ALSA lib ") {
                n.alsa_lines += 1;
                // `pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM default`
                let msg = rest.split_once(") ").map_or(rest, |x| x.1).trim();
                push_once(&mut n.alsa, msg);
            } else if is_jack_line(line) {
                push_once(&mut n.jack, line.trim());
            } else {
                n.other.push(line.to_string());
            }
        }
        n
    }

    /// One line for an error message: `ALSA said: Unknown PCM default (8 lines)`.
    pub fn summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.alsa.is_empty() {
            let shown: Vec<&str> = self.alsa.iter().take(3).map(String::as_str).collect();
            let more = if self.alsa.len() > 3 { "; ..." } else { "" };
            parts.push(format!(
                "ALSA said: {}{more} ({} line{})",
                shown.join("; "),
                self.alsa_lines,
                if self.alsa_lines == 1 { "" } else { "s" }
            ));
        }
        if !self.jack.is_empty() {
            let shown: Vec<&str> = self.jack.iter().take(2).map(String::as_str).collect();
            parts.push(format!("JACK said: {}", shown.join("; ")));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// Print the lines that are not library noise (faltung's own warnings) to stderr.
    pub fn replay_other(&self) {
        for l in &self.other {
            eprintln!("{l}");
        }
    }
}

/// What to do about a failure on `host` whose error reads `reason` and during which the
/// libraries printed `noise`, if it is one of the known ones.
pub fn advice(host: &str, reason: &str, noise: &Noise) -> Option<&'static str> {
    advice_for(host, reason, noise).filter(|a| !reason.contains(a))
}

fn advice_for(host: &str, reason: &str, noise: &Noise) -> Option<&'static str> {
    let all: Vec<&str> = std::iter::once(reason)
        .chain(noise.alsa.iter().map(String::as_str))
        .chain(noise.jack.iter().map(String::as_str))
        .collect();
    let any = |needle: &str| all.iter().any(|s| s.contains(needle));
    if any("Host is down") {
        return Some(PIPEWIRE_DOWN);
    }
    if host == "JACK"
        && (any("server is not running")
            || any("Cannot connect to server")
            || any("Could not connect to the JACK server")
            || any("is a JACK server running"))
    {
        return Some(NO_JACK_SERVER);
    }
    if any("Unknown PCM") {
        return Some(
            "ALSA has no such device: there is no sound card and no sound server set as ALSA's \
             default (install pipewire-alsa and run PipeWire), or the name is wrong; see \
             `faltung devices --host alsa`",
        );
    }
    if any("Device or resource busy") || any("is busy") {
        return Some(
            "the device is in use by another program (a sound server holds the card): use \
             ALSA's `default` or `pipewire` device, or `pw-jack`, instead of `hw:`",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MISSING_DEFAULT: &str = "\
ALSA lib confmisc.c:855:(parse_card) cannot find card '0'
ALSA lib conf.c:5178:(_snd_config_evaluate) function snd_func_card_inum returned error: No such file or directory
ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM default
ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM default
faltung: warning: hall.wav was recorded at 44100 Hz
";

    #[test]
    fn alsa_lines_are_counted_deduplicated_and_stripped_and_other_lines_kept() {
        let n = Noise::parse(MISSING_DEFAULT);
        assert_eq!(n.alsa_lines, 4);
        assert_eq!(
            n.alsa,
            [
                "cannot find card '0'",
                "function snd_func_card_inum returned error: No such file or directory",
                "Unknown PCM default"
            ]
        );
        assert_eq!(
            n.other,
            ["faltung: warning: hall.wav was recorded at 44100 Hz"]
        );
        let s = n.summary().unwrap();
        assert!(s.starts_with("ALSA said: cannot find card '0';"), "{s}");
        assert!(s.ends_with("(4 lines)"), "{s}");
        let a = advice("ALSA", "The requested audio device is not available", &n).unwrap();
        assert!(
            a.contains("no sound card") && a.contains("pipewire-alsa"),
            "{a}"
        );
    }

    #[test]
    fn host_is_down_means_pipewire_is_not_running() {
        let reason = "snd_pcm_open failed with error 'Host is down (112)'";
        let a = advice("ALSA", reason, &Noise::default()).unwrap();
        assert!(a.contains("PipeWire is not running"), "{a}");
    }

    #[test]
    fn no_jack_server_names_both_jackd_and_pw_jack() {
        let n = Noise::parse(
            "Cannot connect to server socket err = No such file or directory\n\
             jack server is not running or cannot be started\n",
        );
        assert_eq!(n.jack.len(), 2);
        let a = advice("JACK", "", &n).unwrap();
        assert!(a.contains("jackd -d alsa") && a.contains("pw-jack"), "{a}");
        assert!(advice("JACK", "all fine", &Noise::default()).is_none());
    }

    #[test]
    fn what_is_written_to_fd_2_while_capturing_is_caught_and_then_stderr_is_back() {
        // Another capture (from a parallel test) makes this one a no-op: then only check
        // that nothing breaks.
        let Some(c) = Capture::start() else {
            return;
        };
        assert!(Capture::start().is_none(), "one capture at a time");
        // Written by C code straight to the descriptor, as ALSA does.
        let msg = b"ALSA lib pcm.c:1:(f) Unknown PCM nothere\n";
        // SAFETY: writing a byte buffer to descriptor 2.
        unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
        let n = c.finish();
        assert_eq!(n.alsa, ["Unknown PCM nothere"]);
        let again = Capture::start().expect("capturing is possible again after finish");
        drop(again);
    }
}
