//! Test harness for the `certbound` binary: runs a command, and on a failed
//! expectation prints the command line, exit code, stdout and stderr.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod openssl_pki;
pub mod process;
pub mod python;

use std::path::Path;
use std::process::{Command, Output};

// The one way tests wait for the background; each test binary uses a few.
#[allow(unused_imports)]
pub use certbound_testkit::wait::{
    eventually_ok_sync, eventually_some_sync, eventually_sync, eventually_within_sync,
    poll_until_sync,
};

/// The outcome of one command.
pub struct Run {
    pub cmdline: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(cmdline: String, out: Output) -> Self {
        Self {
            cmdline,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn dump(&self) -> String {
        format!(
            "\n$ {}\nexit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
            self.cmdline, self.code, self.stdout, self.stderr
        )
    }

    /// Assert the exit code.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Self {
        assert_eq!(self.code, want, "unexpected exit code{}", self.dump());
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}{}",
            self.dump()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}{}",
            self.dump()
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stderr.contains(needle),
            "stderr has {needle:?}{}",
            self.dump()
        );
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle),
            "stdout has {needle:?}{}",
            self.dump()
        );
        self
    }

    /// Parse stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}){}", self.dump()))
    }
}

/// Run `certbound ARGS` in `dir`.
pub fn certbound(dir: &Path, args: &[&str]) -> Run {
    run(dir, env!("CARGO_BIN_EXE_certbound"), args)
}

/// Run the real `openssl ARGS` in `dir`.
pub fn openssl(dir: &Path, args: &[&str]) -> Run {
    run(dir, "openssl", args)
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Run {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e} (is it installed?)"));
    let name = Path::new(program)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    Run::from(format!("{name} {}", args.join(" ")), out)
}

/// File mode bits.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The subject of the platform guide's self-signed client certificate.
pub const SEED_SUBJECT: &str = "/CN=My Integration Client/O=My Organization";

/// The platform guide's recipe, as written, in `dir`: `openssl genrsa -out
/// NAME.key 2048`, then `openssl req -new -x509 -key NAME.key -out NAME.crt
/// -days 365 -subj SEED_SUBJECT`, with `extra` arguments after it (e.g.
/// `-addext basicConstraints=critical,CA:FALSE`). OpenSSL 3 marks it CA:TRUE.
pub fn seed_certificate(dir: &Path, name: &str, extra: &[&str]) {
    let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
    openssl(dir, &["genrsa", "-out", &key, "2048"]).code(0);
    let mut args = vec![
        "req",
        "-new",
        "-x509",
        "-key",
        &key,
        "-out",
        &crt,
        "-days",
        "365",
        "-subj",
        SEED_SUBJECT,
    ];
    args.extend_from_slice(extra);
    openssl(dir, &args).code(0);
}

/// Waits until the refusals of `client` in the audit trail of the server
/// configured by `config` include each of `reasons`.
pub fn audit_has(d: &Path, config: &str, client: &str, reasons: &[&str]) {
    for reason in reasons {
        eventually_ok_sync(
            &format!("an audit record of {client} with {reason}"),
            || {
                let args = [
                    "audit", "--client", client, "--result", "fail", "--json", "--config", config,
                ];
                let audit = certbound(d, &args).stdout;
                if audit.contains(reason) {
                    Ok(())
                } else {
                    Err(audit)
                }
            },
        );
    }
}
