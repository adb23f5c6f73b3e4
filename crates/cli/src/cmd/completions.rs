//! `certbound completions SHELL` and `certbound man DIR`: shell completions
//! (clap_complete) and man pages (clap_mangen), both generated from the
//! clap definitions at run time, so they never disagree with the binary.
//! The Debian package ships both, made by `packaging/build-assets.sh`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    shell: Shell,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write the pages to (created if missing): certbound.1
    /// and one certbound-SUBCOMMAND.1 per subcommand.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// Print the completion script for `shell` to stdout.
pub fn completions(args: &CompletionsArgs, mut cmd: clap::Command) -> Result<ExitCode> {
    use clap_complete::Shell as S;
    let shell = match args.shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
    };
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// Write one man page per command and subcommand to `args.dir`.
pub fn man(args: &ManArgs, cmd: clap::Command) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| crate::cmd::usage(format!("cannot create {}: {e}", args.dir.display())))?;
    let mut written = Vec::new();
    write_pages(&cmd, &args.dir, &mut written)?;
    for path in &written {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    let mut cmd = cmd.clone();
    cmd.build();
    write_page(&cmd, cmd.get_name(), dir, written)?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        write_sub(sub, cmd.get_name(), dir, written)?;
    }
    Ok(())
}

/// Subcommand pages are named `certbound-pki-init.1`, as git names its pages.
fn write_sub(
    cmd: &clap::Command,
    parent: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    let name = format!("{parent}-{}", cmd.get_name());
    write_page(cmd, &name, dir, written)?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        write_sub(sub, &name, dir, written)?;
    }
    Ok(())
}

fn write_page(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    let cmd = cmd
        .clone()
        .display_name(name.to_string())
        .bin_name(name.replace('-', " "));
    let path = dir.join(format!("{name}.1"));
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .title(name.to_string())
        .render(&mut out)
        .with_context(|| format!("rendering the man page {name}"))?;
    std::fs::write(&path, out).with_context(|| format!("writing {}", path.display()))?;
    written.push(path);
    Ok(())
}
