//! What the kernel says a server process costs: CPU time from
//! `/proc/PID/stat` and memory from `/proc/PID/status`, summed over a set of
//! processes (certbound is one; nginx is a master and its workers), or one
//! thread of this process (the in-process upstream). Reading /proc from
//! outside measures the server as it runs, with no instrumentation inside it,
//! the same way for both programs.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How often RSS is sampled while a run goes on.
pub const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// Clock ticks per second of `/proc/PID/stat` times (`getconf CLK_TCK`).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        // USER_HZ is 100 on every Linux architecture that matters here.
        .unwrap_or(100.0)
}

/// A fixed set of processes (or one thread) measured together.
#[derive(Debug, Clone)]
pub struct Procs {
    /// `/proc/PID` directories, or `/proc/PID/task/TID` for a thread.
    dirs: Vec<String>,
    ticks: f64,
}

impl Procs {
    /// `root` and its direct children (nginx's workers), as they are now.
    pub fn tree(root: u32) -> Self {
        let mut pids = vec![root];
        pids.extend(children(root));
        Self {
            dirs: pids.iter().map(|p| format!("/proc/{p}")).collect(),
            ticks: clock_ticks(),
        }
    }

    /// This process (the load generator).
    pub fn this() -> Self {
        Self {
            dirs: vec![format!("/proc/{}", std::process::id())],
            ticks: clock_ticks(),
        }
    }

    /// The calling thread alone (its CPU time; memory is the process's).
    pub fn current_thread() -> Self {
        // `/proc/thread-self` links to `PID/task/TID`.
        let dir = std::fs::read_link("/proc/thread-self")
            .map(|p| format!("/proc/{}", p.display()))
            .unwrap_or_else(|_| format!("/proc/{}", std::process::id()));
        Self {
            dirs: vec![dir],
            ticks: clock_ticks(),
        }
    }

    pub fn count(&self) -> usize {
        self.dirs.len()
    }

    /// User + system CPU seconds consumed so far by every process of the set.
    pub fn cpu_seconds(&self) -> f64 {
        let ticks: u64 = self.dirs.iter().filter_map(|d| cpu_ticks(d)).sum();
        ticks as f64 / self.ticks
    }

    /// Sum of `VmRSS` in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.dirs
            .iter()
            .filter_map(|d| status_kib(d, "VmRSS:"))
            .sum()
    }

    /// Sum of `VmHWM` (peak RSS over each process's life) in KiB.
    pub fn hwm_kib(&self) -> u64 {
        self.dirs
            .iter()
            .filter_map(|d| status_kib(d, "VmHWM:"))
            .sum()
    }
}

/// utime + stime of one process (all its threads, dead ones included) or of one thread.
fn cpu_ticks(dir: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn status_kib(dir: &str, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Processes whose parent is `parent`.
fn children(parent: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(parent))
        .collect()
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The 1, 5 and 15 minute load averages, as the kernel prints them.
pub fn loadavg() -> String {
    std::fs::read_to_string(Path::new("/proc/loadavg"))
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Samples the RSS of a set of processes on a thread until stopped; keeps the maximum.
#[derive(Debug)]
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    max_kib: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    pub fn start(procs: &Procs) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let max_kib = Arc::new(AtomicU64::new(procs.rss_kib()));
        let (procs, s, m) = (procs.clone(), Arc::clone(&stop), Arc::clone(&max_kib));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                m.fetch_max(procs.rss_kib(), Ordering::Relaxed);
                std::thread::sleep(RSS_SAMPLE_EVERY);
            }
        });
        Self {
            stop,
            max_kib,
            thread: Some(thread),
        }
    }

    /// Stop sampling; the largest RSS seen, in KiB.
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.max_kib.load(Ordering::Relaxed)
    }
}
