//! A PostgreSQL database for tests: started and created on demand.
//!
//! Store tests run against a real PostgreSQL server, never a mock, and never
//! skip. [`database`] makes sure the local cluster is running (starting it with
//! `pg_ctlcluster` if needed), that a login role for tests exists, and creates a
//! fresh database owned by that role, so every test gets an empty schema and
//! tests may run in parallel, across threads and across test binaries.
//!
//! The cluster is administered as the `postgres` operating-system user: through
//! `runuser` when the tests run as root, through `sudo -n` otherwise. Tests
//! connect over TCP on loopback with a password, the way a deployed server does.
//!
//! Databases are named `cbtest_<prefix>_<pid>_<n>`. They are not dropped when a
//! test ends (a connection pool may still be closing). A database left by a test
//! process that no longer runs is recycled instead of creating a new one: it is
//! renamed and emptied with `DROP OWNED BY`, which leaves it as good as new for
//! the role and costs far less than `DROP DATABASE` (that forces a checkpoint:
//! up to seconds on a busy disk). So the number of test databases stays bounded
//! by the most that one run needed.
//!
//! This module is synchronous on purpose (it runs `psql` as a child process): a
//! test on any runtime, or none, can call it.

use std::fs::{File, OpenOptions};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The login role the tests connect as. It owns every test database.
pub const ROLE: &str = "certbound_test";

/// The password of [`ROLE`]. A fixed value: the role exists only on a test
/// machine's local cluster and can reach nothing but the test databases.
pub const PASSWORD: &str = "certbound-test-only";

/// Prefix of every database made here; stale ones are recognised by it.
const DATABASE_PREFIX: &str = "cbtest_";

/// How long to wait for a started cluster to accept TCP connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What to tell a developer whose machine has no usable PostgreSQL.
const INSTALL_HINT: &str = "the store tests need a local PostgreSQL server (15 or newer): \
    install it with `apt-get install postgresql` (Debian/Ubuntu; the tests start the \
    cluster themselves with `pg_ctlcluster`), and run the tests as root or as a user \
    that may run `sudo -n -u postgres`";

/// The local cluster, found and started once per test process.
#[derive(Debug)]
struct Cluster {
    version: String,
    name: String,
    port: u16,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Creates a fresh, empty database and returns its URL,
/// `postgres://certbound_test:PASSWORD@127.0.0.1:PORT/cbtest_<prefix>_<pid>_<n>`.
///
/// `prefix` names the test in the database name (non-alphanumeric characters
/// become `_`; it is shortened to fit PostgreSQL's 63-byte limit).
///
/// # Panics
///
/// When PostgreSQL is not installed, cannot be started, or cannot be
/// administered; the message says what to install or fix. Tests never skip.
pub fn database(prefix: &str) -> String {
    let cluster = CLUSTER.get_or_init(prepare_cluster);
    let name = database_name(
        prefix,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
    );
    // Held while a stale database is claimed, so that two processes never
    // claim the same one.
    let lock = lock_file();
    if !recycle_stale_database(cluster, &name) {
        drop(lock);
        run_psql(
            cluster,
            "postgres",
            &format!("CREATE DATABASE \"{name}\" OWNER \"{ROLE}\""),
        );
    }
    format!(
        "postgres://{ROLE}:{PASSWORD}@127.0.0.1:{}/{name}",
        cluster.port
    )
}

/// Drop the database of `url` (made by [`database`]) with its data: for
/// programs that fill one with gigabytes (`soak`). Tests leave theirs to be
/// recycled.
pub fn drop_database(url: &str) {
    let cluster = CLUSTER.get_or_init(prepare_cluster);
    if let Some(name) = url.rsplit('/').next().filter(|n| {
        n.starts_with(DATABASE_PREFIX) && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }) {
        run_psql(
            cluster,
            "postgres",
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        );
    }
}

/// Run `sql` on the database of `url` (made by [`database`]) as the
/// superuser, behind every server's back: what another program writing to
/// the tables directly does (no `NOTIFY`). Panics when `psql` fails.
pub fn execute(url: &str, sql: &str) {
    let cluster = CLUSTER.get_or_init(prepare_cluster);
    let name = url
        .rsplit('/')
        .next()
        .filter(|n| n.starts_with(DATABASE_PREFIX))
        .expect("a database made by `database`");
    run_psql(cluster, name, sql);
}

/// Stop the cluster the databases live on (fast: open sessions are cut), keep
/// it down for `down`, and start it again; returns once it accepts TCP
/// connections, or after 30 s. For fault-injection programs (`soak`), never
/// for tests, which share the cluster.
pub fn restart(down: Duration) {
    let cluster = CLUSTER.get_or_init(prepare_cluster);
    let _ = as_postgres(
        "pg_ctlcluster",
        &[&cluster.version, &cluster.name, "stop", "-m", "fast"],
    );
    std::thread::sleep(down);
    start(cluster);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !accepts_tcp(cluster.port) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `cbtest_<prefix>_<pid>_<n>`, at most 63 bytes, lower-case ASCII.
fn database_name(prefix: &str, pid: u32, n: u32) -> String {
    let suffix = format!("_{pid}_{n}");
    let room = 63 - DATABASE_PREFIX.len() - suffix.len();
    let cleaned: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(room)
        .collect();
    format!("{DATABASE_PREFIX}{cleaned}{suffix}")
}

/// Finds the cluster, starts it and makes the role, holding a lock file so parallel test binaries do this one at a time.
fn prepare_cluster() -> Cluster {
    let _lock = lock_file();
    let mut cluster = find_cluster();
    if !accepts_tcp(cluster.port) {
        start(&cluster);
        // pg_lsclusters may only know the real port once the cluster runs.
        cluster = find_cluster();
        wait_for_tcp(cluster.port);
    }
    let role = format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN \
             CREATE ROLE \"{ROLE}\" LOGIN; \
           END IF; \
         END $$"
    );
    run_psql(&cluster, "postgres", &role);
    run_psql(
        &cluster,
        "postgres",
        &format!("ALTER ROLE \"{ROLE}\" WITH LOGIN PASSWORD '{PASSWORD}'"),
    );
    cluster
}

/// An exclusive lock on a file in the temporary directory, released on drop.
fn lock_file() -> File {
    let path = std::env::temp_dir().join("certbound-testkit-postgres.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open the lock file {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
    file
}

/// The first cluster `pg_lsclusters` lists, preferring one that is online.
fn find_cluster() -> Cluster {
    let output = Command::new("pg_lsclusters")
        .arg("-h")
        .output()
        .unwrap_or_else(|e| panic!("cannot run `pg_lsclusters` ({e}); {INSTALL_HINT}"));
    if !output.status.success() {
        panic!(
            "`pg_lsclusters -h` failed: {}; {INSTALL_HINT}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    // Columns: version, cluster, port, status, owner, data directory, log file.
    let mut clusters: Vec<(Cluster, bool)> = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = fields.get(2)?.parse().ok()?;
            let online = fields.get(3)?.starts_with("online");
            Some((
                Cluster {
                    version: (*fields.first()?).to_owned(),
                    name: (*fields.get(1)?).to_owned(),
                    port,
                },
                online,
            ))
        })
        .collect();
    clusters.sort_by_key(|(_, online)| !online);
    match clusters.into_iter().next() {
        Some((cluster, _)) => cluster,
        None => panic!(
            "PostgreSQL is installed but has no cluster; create one with \
             `pg_createcluster 15 main` ({INSTALL_HINT})"
        ),
    }
}

fn start(cluster: &Cluster) {
    let output = as_postgres("pg_ctlcluster", &[&cluster.version, &cluster.name, "start"]);
    // "already running" is fine: another test process may have won the race
    // before it took the lock, or the cluster listens on a socket only.
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && !stderr.contains("already running") {
        panic!(
            "cannot start PostgreSQL cluster {} {}: {}; see the log in /var/log/postgresql/ \
             ({INSTALL_HINT})",
            cluster.version,
            cluster.name,
            stderr.trim()
        );
    }
}

fn accepts_tcp(port: u16) -> bool {
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    TcpStream::connect_timeout(&addr.into(), Duration::from_secs(1)).is_ok()
}

fn wait_for_tcp(port: u16) {
    let deadline = Instant::now() + START_TIMEOUT;
    while !accepts_tcp(port) {
        if Instant::now() > deadline {
            panic!(
                "PostgreSQL was started but does not accept connections on 127.0.0.1:{port} \
                 after {}s; check `listen_addresses` in postgresql.conf and the log in \
                 /var/log/postgresql/",
                START_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Renames a test database of a process that no longer runs to `name` and
/// empties it; `false` when there is none (or none can be claimed).
fn recycle_stale_database(cluster: &Cluster, name: &str) -> bool {
    if !Path::new("/proc/self").exists() {
        return false; // No way to tell which processes run.
    }
    let list = run_psql(
        cluster,
        "postgres",
        &format!(
            "SELECT datname FROM pg_database \
             WHERE datname LIKE '{DATABASE_PREFIX}%' \
               AND datdba = (SELECT oid FROM pg_roles WHERE rolname = '{ROLE}')"
        ),
    );
    let stdout = String::from_utf8_lossy(&list.stdout);
    let stale = stdout.lines().filter(|old| {
        owner_pid(old).is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
    });
    for old in stale {
        // Fails while a connection of the dead process lingers; try another.
        let renamed = psql(
            cluster,
            "postgres",
            &format!("ALTER DATABASE \"{old}\" RENAME TO \"{name}\""),
        );
        if renamed.status.success() {
            run_psql(cluster, name, &format!("DROP OWNED BY \"{ROLE}\""));
            return true;
        }
    }
    false
}

/// The process id in `cbtest_<prefix>_<pid>_<n>`.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(DATABASE_PREFIX)?;
    let mut parts = rest.rsplit('_');
    parts.next()?.parse::<u32>().ok()?;
    parts.next()?.parse().ok()
}

/// Runs one SQL command in database `db` as the `postgres` superuser over the
/// local socket and returns its unaligned, tuples-only output; panics when it
/// fails.
fn run_psql(cluster: &Cluster, db: &str, sql: &str) -> Output {
    let output = psql(cluster, db, sql);
    if !output.status.success() {
        panic!(
            "psql as user postgres failed on `{sql}`: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    output
}

/// Runs one SQL command in database `db` as the `postgres` superuser.
fn psql(cluster: &Cluster, db: &str, sql: &str) -> Output {
    let port = cluster.port.to_string();
    let args = [
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-p",
        &port,
        "-d",
        db,
        "-c",
        sql,
    ];
    as_postgres("psql", &args)
}

/// Runs a program as the `postgres` operating-system user.
fn as_postgres(program: &str, args: &[&str]) -> Output {
    let is_root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let mut command = if is_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        let mut c = Command::new("sudo");
        c.args(["-n", "-u", "postgres", program]);
        c
    };
    command.args(args);
    // Run from a directory postgres may enter, so psql does not warn.
    command.current_dir("/");
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{program}` as user postgres ({e}); {INSTALL_HINT}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_and_carry_the_pid() {
        let name = database_name("Store Suite/über-long".repeat(10).as_str(), 123_456, 7);
        assert!(name.len() <= 63, "{name}");
        assert!(name.starts_with("cbtest_store_suite_"));
        assert!(name.ends_with("_123456_7"));
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
        assert_eq!(owner_pid(&name), Some(123_456));
        assert_eq!(owner_pid("cbtest_x_12_3"), Some(12));
        assert_eq!(owner_pid("cbtest_x"), None);
        assert_eq!(owner_pid("other_1_2"), None);
    }
}
