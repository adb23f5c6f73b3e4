//! The Debian package: built by `packaging/build-deb.sh` (cargo deb) from the
//! debug binary these tests run, its control data and contents checked with
//! `dpkg-deb`, its default config validated once the files it names exist,
//! and its systemd unit verified with `systemd-analyze` (where present; the
//! unit's sandboxing keys are also checked as text).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use util::certbound;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The package (built once for every test of this file) and the directory
/// it was extracted to.
fn package() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static PACKAGE: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    PACKAGE.get_or_init(|| {
        let cargo_deb = Command::new("cargo").args(["deb", "--version"]).output();
        assert!(
            cargo_deb.is_ok_and(|o| o.status.success()),
            "cargo-deb is missing: install it with `cargo install cargo-deb --locked` (scripts/test.sh does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let deb = dir.path().join("certbound.deb");
        let out = run(
            "packaging/build-deb.sh",
            &[
                "--binary",
                env!("CARGO_BIN_EXE_certbound"),
                "--output",
                deb.to_str().unwrap(),
            ],
            &workspace(),
        );
        assert!(out.status.success(), "build-deb.sh failed: {}", text(&out));
        let root = dir.path().join("root");
        let out = run(
            "dpkg-deb",
            &["-x", deb.to_str().unwrap(), root.to_str().unwrap()],
            dir.path(),
        );
        assert!(out.status.success(), "{}", text(&out));
        (dir, deb, root)
    })
}

#[test]
fn the_package_holds_the_binary_unit_config_man_pages_and_completions() {
    let (dir, deb, _) = package();
    let deb = deb.to_str().unwrap();
    let info = run("dpkg-deb", &["-I", deb], dir.path());
    let info = text(&info);
    for needle in [
        "Package: certbound",
        "Architecture: ",
        "Depends: ",
        "adduser",
        "Section: net",
        "conffiles",
        "postinst",
        "postrm",
    ] {
        assert!(info.contains(needle), "dpkg-deb -I lacks {needle}:\n{info}");
    }
    let conffiles = run("dpkg-deb", &["-f", deb, "Package"], dir.path());
    assert_eq!(
        String::from_utf8_lossy(&conffiles.stdout).trim(),
        "certbound"
    );

    let listing = text(&run("dpkg-deb", &["-c", deb], dir.path()));
    let entry = |path: &str| -> String {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(" .{path}")))
            .unwrap_or_else(|| panic!("the package lacks {path}:\n{listing}"))
            .to_string()
    };
    assert!(entry("/usr/bin/certbound").starts_with("-rwxr-xr-x"));
    for path in [
        "/usr/lib/systemd/system/certbound.service",
        "/etc/certbound/certbound.toml",
        "/usr/share/man/man1/certbound.1.gz",
        "/usr/share/man/man1/certbound-serve.1.gz",
        "/usr/share/man/man1/certbound-init.1.gz",
        "/usr/share/man/man1/certbound-pki-issue-server.1.gz",
        "/usr/share/bash-completion/completions/certbound",
        "/usr/share/zsh/vendor-completions/_certbound",
        "/usr/share/fish/vendor_completions.d/certbound.fish",
        "/usr/share/doc/certbound/copyright",
    ] {
        assert!(
            entry(path).starts_with("-rw-r--r--"),
            "{path}: {}",
            entry(path)
        );
    }
    // The generated files do not stay in the source tree.
    assert!(!workspace().join("packaging/generated").exists());
}

#[test]
fn the_maintainer_scripts_make_the_user_and_keep_the_service_off() {
    let (dir, deb, _) = package();
    let control = dir.path().join("control");
    let out = run(
        "dpkg-deb",
        &["-e", deb.to_str().unwrap(), control.to_str().unwrap()],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let conffiles = std::fs::read_to_string(control.join("conffiles")).unwrap();
    assert!(
        conffiles.contains("/etc/certbound/certbound.toml"),
        "{conffiles}"
    );
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(postinst.contains("adduser --system --group"), "{postinst}");
    assert!(postinst.contains("chmod 0700 /etc/certbound"), "{postinst}");
    assert!(
        postinst.contains("deb-systemd-helper"),
        "the unit is registered"
    );
    assert!(!postinst.contains("#DEBHELPER#"), "the token is replaced");
    // enable = false, start = false: installed, not started before it is configured.
    assert!(!postinst.contains("deb-systemd-invoke start"), "{postinst}");
    for script in ["postinst", "postrm"] {
        let out = run(
            "sh",
            &["-n", control.join(script).to_str().unwrap()],
            dir.path(),
        );
        assert!(out.status.success(), "{script}: {}", text(&out));
    }
}

#[test]
fn the_packaged_binary_runs_and_its_default_config_is_valid_once_its_files_exist() {
    let (_, _, root) = package();
    let bin = root.join("usr/bin/certbound");
    let version = run(bin.to_str().unwrap(), &["--version"], root);
    assert!(
        text(&version).starts_with("certbound "),
        "{}",
        text(&version)
    );

    // The default config as packaged: only the files it names are missing.
    let etc = tempfile::tempdir().unwrap();
    let e = etc.path();
    let config = std::fs::read_to_string(root.join("etc/certbound/certbound.toml")).unwrap();
    let config = config.replace("/var/lib/certbound", e.join("state").to_str().unwrap());
    std::fs::write(e.join("certbound.toml"), &config).unwrap();
    certbound(e, &["config", "check", "certbound.toml"])
        .code(2)
        .stderr_has("tls.server.cert")
        .stderr_has("admin.token_file");
    // With the files the comments describe, it is valid.
    certbound(e, &["pki", "init", "--out", "pki"]).code(0);
    certbound(
        e,
        &[
            "pki",
            "issue",
            "server",
            "--ca",
            "pki",
            "--name",
            "server",
            "--dns",
            "auth.example.com",
        ],
    )
    .code(0);
    std::fs::write(e.join("admin-token"), "0123456789abcdef0123456789abcdef\n").unwrap();
    certbound(e, &["config", "check", "certbound.toml"])
        .code(0)
        .stdout_has("issuer: https://auth.example.com:8443");
}

/// The unit's sandboxing, as text.
#[test]
fn the_unit_is_sandboxed() {
    let (_, _, root) = package();
    let unit =
        std::fs::read_to_string(root.join("usr/lib/systemd/system/certbound.service")).unwrap();
    let lines: Vec<&str> = unit.lines().map(str::trim).collect();
    for key in [
        "User=certbound",
        "ExecStart=/usr/bin/certbound serve --config /etc/certbound/certbound.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "StateDirectory=certbound",
        "StateDirectoryMode=0700",
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        "WantedBy=multi-user.target",
    ] {
        assert!(
            lines.contains(&key),
            "the unit lacks the line {key}:\n{unit}"
        );
    }
    // The way to ports below 1024 is documented beside the empty bounding set.
    assert!(unit.contains("#   AmbientCapabilities=CAP_NET_BIND_SERVICE"));
}

/// `systemd-analyze verify` of the unit, its binary and man page taken from
/// the extracted package: what it prints (warnings included) and whether it
/// succeeded.
fn verify(unit_text: &str, root: &Path, dir: &Path) -> (bool, String) {
    let unit = dir.join("certbound.service");
    let bin = root.join("usr/bin/certbound");
    std::fs::write(
        &unit,
        unit_text.replace("/usr/bin/certbound", bin.to_str().unwrap()),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", unit.to_str().unwrap()])
        .env("MANPATH", root.join("usr/share/man"))
        .output()
        .unwrap();
    (out.status.success(), text(&out))
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        // No systemd here: the_unit_is_sandboxed checked the keys as text.
        eprintln!("systemd-analyze is not installed: the unit was checked as text only");
        return;
    }
    let (_, _, root) = package();
    let unit =
        std::fs::read_to_string(root.join("usr/lib/systemd/system/certbound.service")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (ok, said) = verify(&unit, root, dir.path());
    assert!(
        ok && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
    // The sandbox rates "OK" (systemd's scale: 0 safest, 10 unsafe).
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(dir.path().join("certbound.service"))
        .env("MANPATH", root.join("usr/share/man"))
        .output()
        .unwrap();
    let said = text(&out);
    let level: f64 = said
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for certbound.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level: {said}"));
    assert!(level <= 2.0, "exposure {level}: {said}");

    // A misspelt key is caught by the same check.
    let (_, said) = verify(
        &unit.replace("ProtectSystem=strict", "ProtectSystm=strict"),
        root,
        dir.path(),
    );
    assert!(said.contains("Unknown key"), "{said}");
}
