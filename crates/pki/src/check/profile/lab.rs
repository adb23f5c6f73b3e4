//! A laboratory for the profile tests: the real `openssl` makes a root and
//! whatever certificates a test needs under it, and verifies them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::CertDer;

/// Extensions of a conforming TLS server leaf.
pub(crate) const LEAF: &str = "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:leaf.example.com
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
";

/// Extensions of a conforming intermediate CA.
pub(crate) const INTER: &str = "basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
";

/// Extensions of a conforming root CA.
pub(crate) const ROOT: &str = "basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
";

/// A directory where openssl makes a root (root.pem, key.pem) and more.
pub(crate) struct Lab {
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed")
}

pub(crate) fn ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "openssl {what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Lab {
    pub(crate) fn new() -> Self {
        let lab = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        lab.key(
            "key.pem",
            &["ecparam", "-name", "prime256v1", "-genkey", "-noout"],
        );
        lab.self_signed("root", "/CN=Test Root", ROOT);
        lab
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn key(&self, out: &str, args: &[&str]) {
        let mut all = vec![args[0], "-out", out];
        all.extend(&args[1..]);
        ok(&openssl(self.dir.path(), &all), "key");
    }

    /// A self-signed certificate `NAME.pem` with key.pem and these extensions.
    pub(crate) fn self_signed(&self, name: &str, subject: &str, ext: &str) -> CertDer {
        let config = format!("[req]\ndistinguished_name=dn\nx509_extensions=v3\n[dn]\n[v3]\n{ext}");
        std::fs::write(self.path(&format!("{name}.cnf")), config).unwrap();
        let (cnf, pem) = (format!("{name}.cnf"), format!("{name}.pem"));
        ok(
            &openssl(
                self.dir.path(),
                &[
                    "req", "-x509", "-new", "-key", "key.pem", "-subj", subject, "-days", "3650",
                    "-config", &cnf, "-out", &pem,
                ],
            ),
            "req -x509",
        );
        self.der(name)
    }

    /// A certificate `NAME.pem` for `key` (key.pem when None) issued by
    /// `issuer` (a name made before), with these extensions.
    pub(crate) fn issue(
        &self,
        name: &str,
        issuer: &str,
        subject: &str,
        ext: &str,
        key: Option<&str>,
        serial: Option<&str>,
    ) -> CertDer {
        self.issue_by(name, (issuer, "key.pem"), subject, ext, key, serial)
    }

    /// As [`Lab::issue`], with the issuer's key file named.
    pub(crate) fn issue_by(
        &self,
        name: &str,
        (issuer, issuer_key): (&str, &str),
        subject: &str,
        ext: &str,
        key: Option<&str>,
        serial: Option<&str>,
    ) -> CertDer {
        let key = key.unwrap_or("key.pem");
        std::fs::write(self.path(&format!("{name}.ext")), ext).unwrap();
        ok(
            &openssl(
                self.dir.path(),
                &[
                    "req",
                    "-new",
                    "-key",
                    key,
                    "-subj",
                    subject,
                    "-out",
                    &format!("{name}.csr"),
                ],
            ),
            "req",
        );
        let issuer_pem = format!("{issuer}.pem");
        let ext_file = format!("{name}.ext");
        let csr = format!("{name}.csr");
        let out_pem = format!("{name}.pem");
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &issuer_pem,
            "-CAkey",
            issuer_key,
            "-days",
            "365",
            "-extfile",
            &ext_file,
            "-out",
            &out_pem,
        ];
        if let Some(s) = serial {
            args.extend(["-set_serial", s]);
        }
        ok(&openssl(self.dir.path(), &args), "x509 -req");
        self.der(name)
    }

    pub(crate) fn der(&self, name: &str) -> CertDer {
        let pem = std::fs::read(self.path(&format!("{name}.pem"))).unwrap();
        crate::bundle::parse_certificates(&pem).unwrap().remove(0)
    }

    /// `openssl verify -x509_strict` of NAME.pem with these untrusted
    /// intermediates, against root.pem: whether it verified.
    pub(crate) fn openssl_verifies(&self, name: &str, untrusted: &[&str]) -> bool {
        let mut args = vec![
            "verify".to_string(),
            "-x509_strict".into(),
            "-CAfile".into(),
            "root.pem".into(),
        ];
        for u in untrusted {
            args.extend(["-untrusted".to_string(), format!("{u}.pem")]);
        }
        args.push(format!("{name}.pem"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        openssl(self.dir.path(), &args).status.success()
    }
}

pub(crate) fn without(ext: &str, key: &str) -> String {
    ext.lines()
        .filter(|l| !l.starts_with(key))
        .map(|l| format!("{l}\n"))
        .collect()
}

pub(crate) fn replace(ext: &str, key: &str, line: &str) -> String {
    format!("{}{line}\n", without(ext, key))
}
