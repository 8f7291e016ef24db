//! CPU placement of threads: which CPUs a thread may run on, pinning the calling thread
//! (for a while, with [`PinGuard`]: threads it starts meanwhile inherit the pin), and the
//! user's choice of CPU ([`CpuChoice`], `--cpu`).
//!
//! The live path uses this to put the device callbacks and its processing thread on one
//! CPU (the live module docs say why): the processing thread pins itself, and the thread that
//! opens the streams is pinned while it does so, because the audio library's callback
//! threads (libjack's process threads, cpal's ALSA worker) are created then and inherit its
//! CPU set. None of this touches the audio path itself.

use std::str::FromStr;

/// Which CPU the audio threads run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CpuChoice {
    /// The last CPU this process may use, when it may use more than one.
    #[default]
    Auto,
    /// Leave thread placement to the scheduler.
    Off,
    /// This CPU.
    Cpu(usize),
}

impl FromStr for CpuChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(CpuChoice::Auto),
            "none" | "off" => Ok(CpuChoice::Off),
            n => n
                .parse()
                .map(CpuChoice::Cpu)
                .map_err(|_| format!("expected a CPU number, `auto` or `none`, got `{n}`")),
        }
    }
}

/// The CPU to pin to, from the choice and the CPUs this thread may use (`None`: do not
/// pin). A CPU outside the allowed set is an error naming the set.
pub fn pick(choice: CpuChoice, allowed: &[usize]) -> Result<Option<usize>, String> {
    match choice {
        CpuChoice::Off => Ok(None),
        CpuChoice::Auto => Ok(if allowed.len() > 1 {
            allowed.last().copied()
        } else {
            None
        }),
        CpuChoice::Cpu(c) if allowed.contains(&c) => Ok(Some(c)),
        CpuChoice::Cpu(c) => Err(format!(
            "CPU {c} is not available to this process; it may use CPUs {}",
            list(allowed)
        )),
    }
}

fn list(cpus: &[usize]) -> String {
    cpus.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;

    fn cpu_set_of(cpus: &[usize]) -> libc::cpu_set_t {
        // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET only write inside it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_ZERO(&mut set);
            for &c in cpus {
                libc::CPU_SET(c, &mut set);
            }
            set
        }
    }

    /// CPUs thread `tid` may run on (0: the calling thread).
    pub fn thread_cpus(tid: i32) -> io::Result<Vec<usize>> {
        // SAFETY: sched_getaffinity writes at most size_of::<cpu_set_t>() bytes into set.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok((0..libc::CPU_SETSIZE as usize)
                .filter(|&c| libc::CPU_ISSET(c, &set))
                .collect())
        }
    }

    /// Restrict the calling thread to `cpus`.
    pub fn set_current(cpus: &[usize]) -> io::Result<()> {
        let set = cpu_set_of(cpus);
        // SAFETY: a valid cpu_set_t of the size given.
        let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    pub fn current_tid() -> i32 {
        // SAFETY: gettid has no preconditions.
        unsafe { libc::gettid() }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;
    pub fn thread_cpus(_tid: i32) -> io::Result<Vec<usize>> {
        Ok(Vec::new())
    }
    pub fn set_current(_cpus: &[usize]) -> io::Result<()> {
        Ok(())
    }
    pub fn current_tid() -> i32 {
        0
    }
}

pub use imp::*;

/// Pins the calling thread to one CPU while it lives, then gives it back its CPU set.
pub struct PinGuard {
    saved: Vec<usize>,
}

impl PinGuard {
    pub fn new(cpu: usize) -> std::io::Result<PinGuard> {
        let saved = thread_cpus(0)?;
        set_current(&[cpu])?;
        Ok(PinGuard { saved })
    }
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        if !self.saved.is_empty() {
            let _ = set_current(&self.saved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_and_pick_within_the_allowed_set() {
        assert_eq!("auto".parse::<CpuChoice>(), Ok(CpuChoice::Auto));
        assert_eq!("none".parse::<CpuChoice>(), Ok(CpuChoice::Off));
        assert_eq!("3".parse::<CpuChoice>(), Ok(CpuChoice::Cpu(3)));
        assert!("x".parse::<CpuChoice>().unwrap_err().contains("`x`"));
        assert_eq!(pick(CpuChoice::Auto, &[0, 1, 5]), Ok(Some(5)));
        // One CPU: nothing to gain, nothing to pin.
        assert_eq!(pick(CpuChoice::Auto, &[2]), Ok(None));
        assert_eq!(pick(CpuChoice::Off, &[0, 1]), Ok(None));
        assert_eq!(pick(CpuChoice::Cpu(0), &[0, 1]), Ok(Some(0)));
        let e = pick(CpuChoice::Cpu(7), &[0, 1]).unwrap_err();
        assert!(e.contains("CPU 7") && e.contains("0,1"), "{e}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn pin_guard_pins_the_thread_and_gives_its_cpus_back() {
        std::thread::spawn(|| {
            let before = thread_cpus(0).unwrap();
            let cpu = *before.last().unwrap();
            {
                let _g = PinGuard::new(cpu).unwrap();
                assert_eq!(thread_cpus(0).unwrap(), vec![cpu]);
                // A thread started now inherits the pin.
                let child = std::thread::spawn(|| thread_cpus(0).unwrap())
                    .join()
                    .unwrap();
                assert_eq!(child, vec![cpu]);
            }
            assert_eq!(thread_cpus(0).unwrap(), before);
        })
        .join()
        .unwrap();
    }
}
