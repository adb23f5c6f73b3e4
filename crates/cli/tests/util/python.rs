//! Test servers written in Python (`tests/*.py`): started in a directory,
//! their port read from the first line they print, killed when dropped.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `python3 tests/SCRIPT ARGS`, killed when dropped.
pub struct PythonServer {
    pub port: u16,
    child: Child,
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PythonServer {
    /// Start `tests/SCRIPT ARGS` in `dir` and wait (30 s at most) for the
    /// port it prints on its first line.
    pub fn start(dir: &Path, script: &str, args: &[&str]) -> PythonServer {
        super::openssl_pki::require_python_cryptography();
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(script);
        let mut child = Command::new("python3")
            .arg(path)
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 starts");
        let stdout = child.stdout.take().unwrap();
        // From here on the guard kills and reaps the child, on panic too.
        let mut server = PythonServer { port: 0, child };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{script} prints its port within 30 s"));
        server.port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{script} printed {line:?}, not a port"));
        server
    }
}
