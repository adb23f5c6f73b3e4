//! Certificates made by openssl for the tests, and the Python check the
//! test servers written in Python need.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use super::{Run, openssl};

#[track_caller]
fn ok(run: &Run) {
    run.code(0);
}

/// Panic unless Python's `cryptography` is importable, naming the package.
pub fn require_python_cryptography() {
    let ok = Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "python3 with `cryptography` is needed: run `apt-get install -y python3-cryptography` \
         (scripts/test.sh installs it), then run the tests again"
    );
}

/// A self-signed CA NAME.crt / NAME.key made by openssl.
pub fn openssl_ca(d: &Path, name: &str) {
    ok(&openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-subj",
            &format!("/CN={name}/O=certbound tests"),
            "-days",
            "365",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    ));
}

/// NAME.crt / NAME.key issued by `ca` with serial `serial` (hex) and the
/// extension lines `ext`.
pub fn openssl_issue(d: &Path, name: &str, ca: &str, serial: &str, ext: &[String]) {
    ok(&openssl(
        d,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}/O=certbound tests"),
        ],
    ));
    std::fs::write(d.join(format!("{name}.ext")), ext.join("\n") + "\n").unwrap();
    ok(&openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-set_serial",
            &format!("0x{serial}"),
            "-days",
            "90",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.crt"),
        ],
    ));
}
