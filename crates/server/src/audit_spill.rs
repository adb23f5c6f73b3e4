//! Where audit events wait while the store refuses them: a file of JSON
//! lines in the data directory (`audit-spill.jsonl`, mode 0600), appended to
//! in batches and written to the store, in order, once it is back. Events
//! wait on disk rather than in memory, so an outage neither fills the
//! server's memory nor, up to [`MAX_SPILL_BYTES`], loses an event.
//!
//! A file left by a server that stopped during an outage is written to the
//! store when the next one starts. Events are written at least once: a
//! server stopped in the middle of writing a file back writes its beginning
//! again at the next start, and a write that timed out but went through is
//! written again from the file.

use std::path::PathBuf;

use certbound_store::{AuditEvent, Store};
use tokio::io::{AsyncBufReadExt, AsyncSeekExt, AsyncWriteExt, BufReader};

/// The file's name in the data directory.
pub(crate) const SPILL_FILE: &str = "audit-spill.jsonl";
/// The largest the file grows; events beyond are dropped and counted.
pub(crate) const MAX_SPILL_BYTES: u64 = 256 << 20;
/// Events written back to the store in one transaction.
const REPLAY_BATCH: usize = 512;

/// Why an event could not be spilled.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpillError {
    #[error("the audit spill file {path} is full ({MAX_SPILL_BYTES} bytes)")]
    Full { path: String },
    #[error("cannot write the audit spill file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The spill file and how much of it the store already has.
#[derive(Debug)]
pub(crate) struct Spill {
    path: PathBuf,
    /// Its length; 0 when it holds nothing to write back.
    len: u64,
    /// How far it has been written back to the store.
    written_back: u64,
}

impl Spill {
    /// The spill file at `path`, holding what a previous server left.
    pub(crate) fn open(path: PathBuf) -> Self {
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if len > 0 {
            tracing::warn!(path = %path.display(), bytes = len, "audit events left by a previous run wait to be written to the store");
        }
        Self {
            path,
            len,
            written_back: 0,
        }
    }

    /// Whether events wait in the file.
    pub(crate) fn pending(&self) -> bool {
        self.len > self.written_back
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    /// Append `events`.
    pub(crate) async fn append(&mut self, events: &[AuditEvent]) -> Result<(), SpillError> {
        let mut text = String::new();
        for e in events {
            // An event is plain data: serializing it cannot fail.
            if let Ok(line) = serde_json::to_string(e) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        if self.len + text.len() as u64 > MAX_SPILL_BYTES {
            return Err(SpillError::Full { path: self.name() });
        }
        let io = |source| SpillError::Io {
            path: self.name(),
            source,
        };
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .await
            .map_err(io)?;
        file.write_all(text.as_bytes()).await.map_err(io)?;
        file.flush().await.map_err(io)?;
        self.len += text.len() as u64;
        Ok(())
    }

    /// Write what waits to `store`, in order, in batches; on success the file
    /// is removed. A failure keeps the rest for the next try.
    /// Each batch may take `timeout`.
    pub(crate) async fn write_back(
        &mut self,
        store: &dyn Store,
        timeout: std::time::Duration,
    ) -> Result<u64, String> {
        let mut file = tokio::fs::File::open(&self.path)
            .await
            .map_err(|e| format!("cannot read {}: {e}", self.name()))?;
        file.seek(std::io::SeekFrom::Start(self.written_back))
            .await
            .map_err(|e| format!("cannot read {}: {e}", self.name()))?;
        let mut lines = BufReader::new(file);
        let mut written = 0u64;
        loop {
            let mut batch = Vec::with_capacity(REPLAY_BATCH);
            let mut bytes = 0u64;
            let mut line = String::new();
            while batch.len() < REPLAY_BATCH {
                line.clear();
                let n = lines
                    .read_line(&mut line)
                    .await
                    .map_err(|e| format!("cannot read {}: {e}", self.name()))?;
                if n == 0 {
                    break;
                }
                bytes += n as u64;
                match serde_json::from_str::<AuditEvent>(line.trim_end()) {
                    Ok(e) => batch.push(e),
                    // A line cut short by a crash: skipped, said.
                    Err(e) => {
                        tracing::error!(path = %self.name(), error = %e, "an unreadable line of the audit spill file is skipped")
                    }
                }
            }
            if bytes == 0 {
                break;
            }
            tokio::time::timeout(timeout, store.append_audit(&batch))
                .await
                .map_err(|_| format!("the store did not answer within {timeout:?}"))?
                .map_err(|e| e.to_string())?;
            self.written_back += bytes;
            written += batch.len() as u64;
        }
        tokio::fs::remove_file(&self.path)
            .await
            .map_err(|e| format!("cannot remove {}: {e}", self.name()))?;
        self.len = 0;
        self.written_back = 0;
        Ok(written)
    }
}
