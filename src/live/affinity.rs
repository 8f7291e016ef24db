//! Where the audio threads run: the device callbacks and the processing thread share one
//! CPU, and the processing thread runs above the callbacks' real-time priority.
//!
//! Why: with the ring prefill at one device period, the processing thread has one period
//! from an input callback to the output callback that plays the result. An audio server
//! that misses a cycle (a JACK xrun) runs the next cycle at once, and its output callback
//! can then start a few microseconds after the input callback, on the other CPU, before a
//! processing thread woken there has done anything: an underrun. When the input callback,
//! the processing thread and the output callback share one CPU and the processing thread
//! has the higher priority, waking it from the input callback preempts that callback on
//! the spot (a local wake-up: no inter-processor interrupt, which is slow on a virtual
//! machine), the block is processed, and only then can the output callback run there.
//! Measured on this project's 2-vCPU VM at 64-frame JACK periods: see BENCHMARKS.md, live
//! soak.
//!
//! How: the processing thread pins itself; the thread that opens the streams is pinned
//! while it does so, because the audio library's callback threads (libjack's process
//! threads, cpal's ALSA worker) are created then and inherit its CPU set; it is restored
//! afterwards. The callbacks' priority is read from `/proc/self/task/*/stat` once the
//! streams run. None of this touches the audio path itself.

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

/// `(rt_priority, policy)` from the text of a `/proc/<pid>/task/<tid>/stat` file.
pub fn parse_stat_priority(stat: &str) -> Option<(i32, i32)> {
    // The command name (field 2) may hold spaces and parentheses: count after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0]; rt_priority is field 40, policy field 41.
    let prio = fields.get(37)?.parse().ok()?;
    let policy = fields.get(38)?.parse().ok()?;
    Some((prio, policy))
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

    /// Set SCHED_FIFO at `priority` on the thread `thread`.
    pub fn set_fifo(thread: libc::pthread_t, priority: i32) -> bool {
        // SAFETY: thread is a live pthread handle (the caller holds its JoinHandle).
        unsafe {
            let max = libc::sched_get_priority_max(libc::SCHED_FIFO);
            let param = libc::sched_param {
                sched_priority: priority.min(max),
            };
            libc::pthread_setschedparam(thread, libc::SCHED_FIFO, &param) == 0
        }
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

/// The highest SCHED_FIFO/SCHED_RR priority among this process's threads other than
/// `except` (a thread id), if any runs real-time.
pub fn max_realtime_priority(except: i32) -> Option<i32> {
    let dir = std::fs::read_dir("/proc/self/task").ok()?;
    dir.filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) != Some(except))
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|s| parse_stat_priority(&s))
        // policy 1 = SCHED_FIFO, 2 = SCHED_RR
        .filter(|&(prio, policy)| (policy == 1 || policy == 2) && prio > 0)
        .map(|(prio, _)| prio)
        .max()
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

    #[test]
    fn stat_priority_is_read_past_a_command_name_with_spaces_and_parentheses() {
        // A SCHED_FIFO 5 thread as the kernel prints it (fields 3..52).
        let mut fields: Vec<String> = (3..=52).map(|i| i.to_string()).collect();
        fields[0] = "S".into();
        fields[40 - 3] = "5".into();
        fields[41 - 3] = "1".into();
        let line = format!("4218 (my (odd) name) {}\n", fields.join(" "));
        assert_eq!(parse_stat_priority(&line), Some((5, 1)));
        assert_eq!(parse_stat_priority("12 (short) S 1 2"), None);
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

    #[cfg(target_os = "linux")]
    #[test]
    fn own_threads_priorities_are_read_from_proc() {
        // This test's threads run SCHED_OTHER unless the harness itself is real-time:
        // compare with what the kernel reports for the calling thread.
        let own = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let (prio, policy) = parse_stat_priority(&own).unwrap();
        assert!(policy >= 0 && prio >= 0);
        // SAFETY: plain query of the calling thread's policy.
        let kernel_policy = unsafe { libc::sched_getscheduler(0) };
        assert_eq!(policy, kernel_policy);
    }
}
