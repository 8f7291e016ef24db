//! Real-time scheduling: SCHED_FIFO for the calling thread or another of this process,
//! and the real-time priorities this process's threads run at (from `/proc`).

use crate::engine::WorkerPriority;

/// Give the calling thread real-time (`SCHED_FIFO`) priority `priority` (1..=99), as an
/// audio callback thread has, so that ordinary processes on the machine no longer preempt
/// the timed calls. Needs the right to do so (root, `CAP_SYS_NICE` or an rtprio limit);
/// Linux only. The kernel's real-time throttling still leaves 5% of each second to others.
pub fn set_realtime_priority(priority: i32) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param {
            sched_priority: priority,
        };
        // SAFETY: `param` is a valid sched_param; pid 0 is the calling thread.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = priority;
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "real-time priority is only supported on Linux",
        ))
    }
}

/// Move the calling thread to SCHED_FIFO `priority` (capped at the system's maximum), or
/// back to normal scheduling for 0; false where not permitted or not Linux.
pub fn set_own_priority(priority: i32) -> bool {
    #[cfg(target_os = "linux")]
    {
        let (policy, prio) = if priority > 0 {
            // SAFETY: plain query.
            let max = unsafe { libc::sched_get_priority_max(libc::SCHED_FIFO) };
            (libc::SCHED_FIFO, priority.min(max))
        } else {
            (libc::SCHED_OTHER, 0)
        };
        let param = libc::sched_param {
            sched_priority: prio,
        };
        // SAFETY: `param` is a valid sched_param; pid 0 is the calling thread.
        unsafe { libc::sched_setscheduler(0, policy, &param) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = priority;
        false
    }
}

/// A scheduling request for engines' worker threads that they apply on themselves with
/// [`set_worker_scheduling`]: normal scheduling until [`WorkerPriority::request`] asks for
/// a real-time priority (below the thread that calls the engine, so that a worker never
/// keeps the audio thread from its CPU).
pub fn worker_priority() -> std::sync::Arc<WorkerPriority> {
    std::sync::Arc::new(WorkerPriority::new(set_worker_scheduling))
}

/// How much nicer each rank of worker runs than the one before it, under normal
/// scheduling: a weight a third of the previous rank's, so that when the workers of the
/// short and the long levels of many engines are all runnable (their periods start
/// together), the short levels, due first, get three quarters of the CPU.
pub const NICE_PER_RANK: i32 = 5;

/// The highest nice value a worker is given: a long level still gets a share of the CPU
/// against ordinary programs at nice 0.
pub const MAX_WORKER_NICE: i32 = 10;

/// Schedule the calling worker thread of rank `rank` (see [`WorkerPriority`]) at the
/// requested priority: SCHED_FIFO `priority - rank` (at least 1) for a real-time request,
/// else normal scheduling at nice `NICE_PER_RANK * rank` (at most [`MAX_WORKER_NICE`]),
/// so that each rank runs below the one whose level is due sooner. False where not
/// permitted or not Linux.
pub fn set_worker_scheduling(priority: i32, rank: usize) -> bool {
    let rank = i32::try_from(rank).unwrap_or(i32::MAX);
    if priority > 0 {
        return set_own_priority(priority.saturating_sub(rank).max(1));
    }
    set_own_priority(0) && set_own_nice(rank.saturating_mul(NICE_PER_RANK).min(MAX_WORKER_NICE))
}

/// Give the calling thread (not the whole process) nice value `nice`; false where not
/// permitted (lowering it needs the right to) or not Linux.
pub fn set_own_nice(nice: i32) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions; on Linux the nice value of PRIO_PROCESS
        // with a thread id is that thread's own.
        unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = nice;
        false
    }
}

/// The calling thread's nice value (Linux; 0 elsewhere).
pub fn own_nice() -> i32 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: as in set_own_nice; getpriority cannot fail for the calling thread
        // (whose nice value may be -1, the error return, so no error is looked for).
        unsafe {
            let tid = libc::gettid();
            libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t)
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// Set SCHED_FIFO at `priority` (capped at the system's maximum) on the thread
/// `thread`; false where not permitted. Linux only.
#[cfg(target_os = "linux")]
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

    #[cfg(target_os = "linux")]
    #[test]
    fn a_worker_of_a_longer_level_runs_nicer_or_lower() {
        // Each on a thread of its own, which then ends.
        let nice_at = |rank: usize| {
            std::thread::spawn(move || (set_worker_scheduling(0, rank), own_nice()))
                .join()
                .unwrap()
        };
        let base = std::thread::spawn(own_nice).join().unwrap();
        assert_eq!(nice_at(0), (true, base));
        if base == 0 {
            assert_eq!(nice_at(1), (true, NICE_PER_RANK));
            assert_eq!(nice_at(2), (true, MAX_WORKER_NICE));
            assert_eq!(nice_at(usize::MAX), (true, MAX_WORKER_NICE));
        }
        // Real time: one priority below per rank, never below 1 (where permitted).
        let fifo_at = |prio: i32, rank: usize| {
            std::thread::spawn(move || {
                let ok = set_worker_scheduling(prio, rank);
                // SAFETY: plain queries of the calling thread.
                let mut param = libc::sched_param { sched_priority: 0 };
                let policy = unsafe { libc::sched_getscheduler(0) };
                unsafe { libc::sched_getparam(0, &mut param) };
                (ok, policy, param.sched_priority)
            })
            .join()
            .unwrap()
        };
        if fifo_at(10, 0).0 {
            assert_eq!(fifo_at(10, 0), (true, libc::SCHED_FIFO, 10));
            assert_eq!(fifo_at(10, 3), (true, libc::SCHED_FIFO, 7));
            assert_eq!(fifo_at(2, 5), (true, libc::SCHED_FIFO, 1));
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn workers_move_themselves_to_the_requested_priority_where_permitted() {
        use crate::engine::{Engine, PlanRequest, Routing};
        let ir: Vec<f32> = (0..40_000)
            .map(|i| (((i * 7919) % 101) as f32 / 101.0 - 0.5) * (-(i as f32) / 8000.0).exp())
            .collect();
        let prio = worker_priority();
        let e = Engine::new(
            &[ir],
            Routing::mono_ir(1),
            PlanRequest::realtime(0, 1, 1, 64),
        )
        .map(|e| e.with_worker_priority(&prio))
        .and_then(|e| e.with_tail_workers(1, 0))
        .unwrap();
        assert_eq!(e.worker_threads(), 1, "{}", e.plan());
        prio.request(3);
        let start = std::time::Instant::now();
        while prio.outcome() == (0, 0) && start.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let (granted, refused) = prio.outcome();
        assert_eq!(granted + refused, 1);
        // Whether this process may: asked on a thread of its own, which then ends.
        let permitted = std::thread::spawn(|| set_own_priority(3)).join().unwrap();
        assert_eq!(
            granted == 1,
            permitted,
            "the worker's outcome differs from this thread's"
        );
        if granted == 1 {
            // The kernel reports a worker thread at SCHED_FIFO 3.
            let found = std::fs::read_dir("/proc/self/task")
                .unwrap()
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("stat")).ok())
                .filter(|s| s.contains("(faltung-tail-"))
                .filter_map(|s| parse_stat_priority(&s))
                .any(|p| p == (3, libc::SCHED_FIFO));
            assert!(found, "no worker thread runs at SCHED_FIFO 3");
        }
    }
}
