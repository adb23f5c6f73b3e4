//! What both benchmark programs do before and around their run: the runtime
//! of the load generator, the exit code, and the binaries under test found
//! as absolute paths (the servers run in a temporary directory, where a
//! relative path would not resolve).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

/// The machine's cores.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Run `run` on a multi-thread runtime of `threads` workers; errors go to
/// stderr and exit 1.
pub fn main_with<F>(threads: usize, run: F) -> ExitCode
where
    F: Future<Output = Result<()>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `given`, or the `certbound` next to this program, as an absolute path.
pub fn certbound_binary(given: Option<&Path>) -> Result<PathBuf> {
    let bin = match given {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe()
            .context("locating this program")?
            .with_file_name("certbound"),
    };
    absolute(&bin)
}

/// `given`, or nginx where Debian installs it, as an absolute path.
pub fn nginx_binary(given: Option<&Path>) -> Result<PathBuf> {
    absolute(&given.map_or_else(crate::setup::find_nginx, Path::to_path_buf))
}

fn absolute(bin: &Path) -> Result<PathBuf> {
    std::path::absolute(bin).with_context(|| format!("locating {}", bin.display()))
}
