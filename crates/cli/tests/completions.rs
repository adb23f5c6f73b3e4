//! `certbound completions bash|zsh|fish` and `certbound man DIR`: generated
//! from the clap definitions, for every subcommand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::process::Command;

use util::certbound;

/// Subcommands every completion script and the man pages must know.
const SUBCOMMANDS: [&str; 6] = ["pki", "check", "connect", "serve", "init", "config"];

#[test]
fn bash_completion_loads_and_completes_the_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = certbound(d, &["completions", "bash"]);
    run.code(0);
    for sub in SUBCOMMANDS {
        assert!(run.stdout.contains(sub), "{sub} missing");
    }
    std::fs::write(d.join("certbound.bash"), &run.stdout).unwrap();
    // Real bash loads it and completes `certbound se` to `serve`.
    let script = r#"
        source ./certbound.bash
        complete -p certbound
        COMP_WORDS=(certbound se); COMP_CWORD=1; COMP_LINE="certbound se"; COMP_POINT=${#COMP_LINE}
        _certbound certbound se certbound
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let out = Command::new("bash")
        .args(["-c", script])
        .current_dir(d)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("-F _certbound certbound"), "{stdout}");
    assert!(stdout.lines().any(|l| l == "serve"), "{stdout}");
    assert!(!stdout.lines().any(|l| l == "pki"), "{stdout}");
}

#[test]
fn zsh_and_fish_completions_name_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let zsh = certbound(d, &["completions", "zsh"]);
    zsh.code(0).stdout_has("#compdef certbound");
    let fish = certbound(d, &["completions", "fish"]);
    fish.code(0).stdout_has("complete -c certbound");
    for sub in SUBCOMMANDS {
        assert!(zsh.stdout.contains(&format!("'{sub}:")), "zsh: {sub}");
        assert!(
            fish.stdout.contains(&format!("-a \"{sub}\"")),
            "fish: {sub}"
        );
    }
    // The shells themselves parse them where installed.
    for (shell, text) in [("zsh", &zsh.stdout), ("fish", &fish.stdout)] {
        if Command::new(shell).arg("--version").output().is_ok() {
            let file = d.join(format!("certbound.{shell}"));
            std::fs::write(&file, text).unwrap();
            let out = Command::new(shell).arg("-n").arg(&file).output().unwrap();
            assert!(
                out.status.success(),
                "{shell} -n: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    certbound(dir.path(), &["completions", "powershell7"])
        .code(2)
        .stderr_has("bash");
}

#[test]
fn man_writes_one_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certbound(d, &["man", "man1"])
        .code(0)
        .stdout_has("man1/certbound.1")
        .stdout_has("man1/certbound-pki-issue-server.1");
    for page in [
        "certbound",
        "certbound-init",
        "certbound-config-check",
        "certbound-serve",
    ] {
        let text = std::fs::read_to_string(d.join(format!("man1/{page}.1"))).unwrap();
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page}: {text}"
        );
        assert!(text.contains(&format!(".TH {page} 1")), "{page}: no title");
    }
    let init = std::fs::read_to_string(d.join("man1/certbound-init.1")).unwrap();
    assert!(init.contains("hostname"), "{init}");
    // man renders it where installed.
    if Command::new("man").arg("--version").output().is_ok() {
        let out = Command::new("man")
            .args(["-l", "man1/certbound-serve.1"])
            .env("MANWIDTH", "80")
            .current_dir(d)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("--dev"), "{text}");
    }
}

#[test]
fn man_reports_a_directory_it_cannot_create() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("file"), "").unwrap();
    certbound(d, &["man", "file/man1"])
        .code(2)
        .stderr_has("cannot create file/man1");
}
