//! A `certbound serve` child process for tests: started, read until ready,
//! stopped with SIGTERM or SIGKILL, and always killed when dropped.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use certbound_testkit::wait::eventually_within_sync;

/// A `serve` child process, killed when dropped.
pub struct Server {
    pub lines: Vec<String>,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Start `certbound serve ARGS` in `dir` and read stdout until `until` appears (30 s at most).
    pub fn start(dir: &Path, args: &[&str], until: &str) -> Server {
        Self::start_with(dir, args, until, Stdio::null())
    }

    /// [`Server::start`], the log (stderr) written to `log`.
    pub fn start_logging(dir: &Path, args: &[&str], until: &str, log: &Path) -> Server {
        let file = std::fs::File::create(log).unwrap();
        Self::start_with(dir, args, until, Stdio::from(file))
    }

    fn start_with(dir: &Path, args: &[&str], until: &str, stderr: Stdio) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_certbound"))
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // From here on the guard kills and reaps the child, on panic too.
        let mut server = Server {
            lines: Vec::new(),
            child,
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    let done = line.contains(until);
                    server.lines.push(line);
                    if done {
                        return server;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = server.child.try_wait() {
                        panic!("serve exited early with {status}: {:?}", server.lines);
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "serve did not print {until:?} within 30 s: {:?}",
            server.lines
        );
    }

    pub fn line(&self, prefix: &str) -> String {
        self.lines
            .iter()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?} in {:?}", self.lines))
            .trim()
            .to_string()
    }

    /// SIGTERM, then the exit code: within 15 s (the 10 s drain timeout and
    /// a margin).
    pub fn terminate(mut self) -> i32 {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        eventually_within_sync(
            "serve stopping after SIGTERM",
            Duration::from_secs(15),
            || match self.child.try_wait().unwrap() {
                Some(status) => Ok(status.code().unwrap_or(-1)),
                None => Err("still running"),
            },
        )
    }
}

impl Server {
    /// The address of the listener named `name`, from its `listening:` line.
    pub fn addr(&self, name: &str) -> String {
        let line = self.line(&format!("listening: {name} "));
        let url = line.split_whitespace().nth(2).unwrap();
        url.split("://").nth(1).unwrap().to_string()
    }

    /// Kill with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
