//! Locking the process's memory into RAM (`mlockall`), as JACK and PipeWire clients do.
//!
//! A page that the kernel evicts is read back, from disk for the program's code, when it is
//! next touched: I/O on the audio thread. Machines with proactive reclaim (DAMON's
//! `pageout` scheme on virtual machines, for one) evict pages touched less than about once
//! a second, such as the code and data of an engine's longest level. Locking is done once
//! the engine, its buffers and its threads exist: `MCL_CURRENT` only, so that later
//! allocations (off the audio path) never fail for the lock limit.

/// Lock every page the process maps now. Needs `CAP_IPC_LOCK` (root) or an
/// `RLIMIT_MEMLOCK` above the process's size (`@audio - memlock unlimited` in
/// `/etc/security/limits.d/`); the error says which limit stood in the way. Linux only.
pub fn lock_current() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: mlockall takes flags only.
        if unsafe { libc::mlockall(libc::MCL_CURRENT) } == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `lim` is a valid rlimit to fill.
        let limit = if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } == 0 {
            if lim.rlim_cur == libc::RLIM_INFINITY {
                "unlimited".to_string()
            } else {
                format!("{} KiB", lim.rlim_cur / 1024)
            }
        } else {
            "unknown".to_string()
        };
        Err(format!(
            "cannot lock memory ({err}; RLIMIT_MEMLOCK is {limit}): pages may be evicted \
             and read back on the audio thread"
        ))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err("memory locking is only supported on Linux".to_string())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn locked_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmLck:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn locking_locks_the_pages_mapped_now_or_names_the_limit() {
        // A buffer the size of a long level's spectra, touched so that it is mapped.
        let buf = vec![1u8; 8 << 20];
        match lock_current() {
            Ok(()) => {
                let kib = locked_kib();
                // SAFETY: munlockall takes no arguments; the test process stays unlocked.
                unsafe { libc::munlockall() };
                assert!(
                    kib >= 8 << 10,
                    "VmLck {kib} KiB after locking 8 MiB and more"
                );
            }
            Err(e) => assert!(e.contains("RLIMIT_MEMLOCK"), "{e}"),
        }
        assert_eq!(buf[buf.len() - 1], 1);
    }
}
