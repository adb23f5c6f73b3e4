//! A real reverse proxy (nginx, HAProxy, Caddy, Apache httpd) as a child
//! process of a test: run in the foreground in its own process group, its
//! output sent to a log file, ready once its TLS port accepts connections, and
//! stopped with its whole process group (workers included) when dropped, even
//! when the test panics.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a proxy may take to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a proxy may take to exit after SIGTERM before it gets SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at starting a proxy when the port picked was taken meanwhile.
pub const START_ATTEMPTS: usize = 3;

/// Panic unless `program` is installed, naming the Debian package to install.
pub fn require(program: &str, package: &str) {
    assert!(
        Path::new(program).is_file(),
        "{program} is not installed: run `apt-get install -y {package}` \
         (scripts/test.sh installs it), then run the tests again"
    );
}

/// A free TCP port on 127.0.0.1: bound by the OS, then released for the proxy.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// A running proxy, stopped when dropped.
pub struct Proxy {
    pub name: &'static str,
    pub port: u16,
    /// Where the proxy's stdout and stderr go (its error log may be elsewhere).
    pub log: PathBuf,
    child: Child,
}

impl Proxy {
    /// Start the proxy `name` on a free port and wait until it listens on it.
    /// `build(port)` writes the config for that port and returns the command
    /// to run. When the proxy exits before listening because the port was
    /// taken meanwhile, another port is tried.
    pub fn start(name: &'static str, dir: &Path, mut build: impl FnMut(u16) -> Command) -> Proxy {
        let mut last = String::new();
        for attempt in 1..=START_ATTEMPTS {
            let port = free_port();
            let log = dir.join(format!("{}-{attempt}.log", name.replace(' ', "-")));
            let out = std::fs::File::create(&log).unwrap();
            let mut command = build(port);
            let cmdline = format!("{command:?}");
            let child = command
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("{name}: cannot run {cmdline}: {e}"));
            let mut proxy = Proxy {
                name,
                port,
                log,
                child,
            };
            match proxy.wait_listening() {
                Ok(()) => return proxy,
                Err(why) => {
                    last = format!("{name}: {why}\n$ {cmdline}\n{}", proxy.output());
                    drop(proxy);
                    if !last.to_lowercase().contains("in use") {
                        break;
                    }
                }
            }
        }
        panic!("{last}");
    }

    /// Poll 127.0.0.1:port until it accepts, the child exits, or the deadline passes.
    fn wait_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!(
                    "exited with {status} before listening on 127.0.0.1:{}",
                    self.port
                ));
            }
            if TcpStream::connect_timeout(
                &(Ipv4Addr::LOCALHOST, self.port).into(),
                Duration::from_millis(200),
            )
            .is_ok()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "not listening on 127.0.0.1:{} within {START_TIMEOUT:?}",
                    self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the proxy printed so far (its error log goes there too), for failure messages.
    pub fn output(&self) -> String {
        format!(
            "--- {} output ({}) ---\n{}",
            self.name,
            self.log.display(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The child leads its own process group: signal the group so that
        // worker processes (nginx, Apache) go too.
        let group = format!("-{}", self.child.id());
        let signal = |sig: &str| {
            let _ = Command::new("kill")
                .args([sig, "--", &group])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        signal("-TERM");
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Whatever is left of the group (a worker that outlived its master).
        signal("-KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
