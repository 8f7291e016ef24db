//! A spawned faltung (or any command) whose stdout is collected line by line and stderr
//! whole, by reader threads, so that a test can wait for a line while the process runs.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Running {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    /// Spawn `cmd` with no stdin and both outputs piped to the reader threads.
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn faltung");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                l.lock().unwrap().push(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let e = stderr.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            e.lock().unwrap().push_str(&s);
        });
        Running {
            child,
            lines,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait for a stdout line starting with `prefix`; fails if the process exits first or
    /// after `timeout`.
    pub fn wait_line(&mut self, prefix: &str, timeout: Duration) -> String {
        let t0 = Instant::now();
        loop {
            if let Some(l) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.starts_with(prefix))
            {
                return l.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "faltung exited ({status}) before printing `{prefix}`\nstdout: {:?}\nstderr: {}",
                    self.lines.lock().unwrap(),
                    self.stderr.lock().unwrap()
                );
            }
            assert!(
                t0.elapsed() < timeout,
                "no `{prefix}` line within {timeout:?}; stdout so far: {:?}",
                self.lines.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for exit (kill and fail after `timeout`: the process must never hang): the
    /// status, the stdout lines and the stderr.
    pub fn wait(&mut self, timeout: Duration) -> (ExitStatus, Vec<String>, String) {
        let t0 = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader threads see the end of the pipes.
                std::thread::sleep(Duration::from_millis(200));
                return (
                    status,
                    self.lines.lock().unwrap().clone(),
                    self.stderr.lock().unwrap().clone(),
                );
            }
            if t0.elapsed() > timeout {
                let _ = self.child.kill();
                panic!(
                    "faltung did not exit within {timeout:?}\nstdout: {:?}",
                    self.lines.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until every port in `names` exists on the JACK server (fails after `timeout`).
#[cfg(feature = "jack")]
pub fn wait_jack_ports(client: &jack::Client, names: &[String], timeout: Duration) {
    let t0 = Instant::now();
    while !names.iter().all(|n| client.port_by_name(n).is_some()) {
        assert!(
            t0.elapsed() < timeout,
            "JACK ports {names:?} did not appear; ports: {:?}",
            client.ports(None, None, jack::PortFlags::empty())
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A client on the running JACK server, or `None` (after a loud message) if there is none.
/// Panics instead when FALTUNG_REQUIRE_JACK=1 (set in CI).
#[cfg(feature = "jack")]
pub fn jack_client(name: &str) -> Option<jack::Client> {
    use std::io::Write;
    match jack::Client::new(name, jack::ClientOptions::NO_START_SERVER) {
        Ok((c, _)) => Some(c),
        Err(e) => {
            if std::env::var("FALTUNG_REQUIRE_JACK").as_deref() == Ok("1") {
                panic!("FALTUNG_REQUIRE_JACK=1 but no JACK server is running: {e}");
            }
            // Written to the real stderr, past the test harness's capture: a skip must show.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED {name}: no JACK server running ({e}). Start one with \
                 `jackd --no-realtime -d dummy -r 48000 -p 256` or run the test under \
                 scripts/with-jack.sh (scripts/test.sh does). ***\n"
            );
            None
        }
    }
}
