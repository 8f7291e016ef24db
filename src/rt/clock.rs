//! The calling thread's CPU clock.

use std::time::Duration;

/// CPU time consumed so far by the calling thread (`CLOCK_THREAD_CPUTIME_ID`), where the
/// platform tells it. Unlike wall-clock time it does not grow while the thread is
/// preempted, so it measures the engine's cost even on a loaded machine.
pub fn thread_cpu_time() -> Option<Duration> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "macos"))]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the call only writes into it.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        if rc == 0 && ts.tv_sec >= 0 && ts.tv_nsec >= 0 {
            return Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
        }
        None
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos")))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;
    use std::time::Instant;

    #[test]
    fn thread_cpu_time_grows_with_work_and_not_with_sleep() {
        let Some(t0) = thread_cpu_time() else {
            return; // platform without a thread CPU clock
        };
        std::thread::sleep(Duration::from_millis(50));
        let t1 = thread_cpu_time().unwrap();
        let mut x = 0u64;
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(30) {
            x = black_box(x.wrapping_add(1));
        }
        let t2 = thread_cpu_time().unwrap();
        // Sleeping 50 ms costs far less than 50 ms of CPU; spinning 30 ms of wall time
        // costs at most 30 ms of CPU (less if preempted) and more than nothing.
        assert!(t1 - t0 < Duration::from_millis(25), "{:?}", t1 - t0);
        assert!(
            t2 - t1 <= Duration::from_millis(31) && t2 > t1,
            "{:?}",
            t2 - t1
        );
    }
}
