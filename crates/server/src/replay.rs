//! The replay check of `private_key_jwt` assertions: each `jti` is recorded
//! in the store, which every instance shares, before a token is issued.
//!
//! A durable write per token would cap issuance at the disk's rate of synced
//! transactions, so concurrent requests are recorded together: one writer
//! task takes the first use waiting and every other waiting then (up to
//! [`MAX_BATCH`]) and records them in one transaction, the way databases
//! commit in groups. A request waits for its own answer; none is told "new"
//! before its transaction committed.

use std::sync::Arc;

use certbound_store::{AssertionUse, Store};
use tokio::sync::{mpsc, oneshot};

/// Most uses recorded in one transaction.
pub(crate) const MAX_BATCH: usize = 256;
/// Uses waiting for the writer before senders wait too.
const QUEUE: usize = 4096;

type Answer = Result<bool, String>;

/// The handle the token endpoint records uses through.
#[derive(Debug, Clone)]
pub struct Replays {
    tx: mpsc::Sender<(AssertionUse, oneshot::Sender<Answer>)>,
}

impl Replays {
    /// Starts the writer; it stops when every handle is dropped.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(store, rx));
        Self { tx }
    }

    /// Records `used`: `Ok(true)` when its `jti` is new, `Ok(false)` for a
    /// replay, `Err` when the store could not say (the caller refuses).
    pub async fn record(&self, used: AssertionUse) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((used, reply))
            .await
            .map_err(|_| "the replay writer has stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the replay writer has stopped".to_owned())?
    }
}

async fn writer(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<(AssertionUse, oneshot::Sender<Answer>)>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let uses: Vec<AssertionUse> = batch.iter().map(|(u, _)| u.clone()).collect();
        match store.use_assertions(&uses).await {
            Ok(fresh) => {
                for ((_, reply), fresh) in batch.drain(..).zip(fresh) {
                    let _ = reply.send(Ok(fresh));
                }
            }
            Err(e) => {
                let reason = e.to_string();
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(reason.clone()));
                }
            }
        }
        // Any reply left (a store answering with fewer results) is dropped:
        // its request gets "the writer has stopped" and is refused.
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn used(jti: &str) -> AssertionUse {
        AssertionUse {
            client_id: "c".into(),
            jti: jti.into(),
            expires_at: OffsetDateTime::now_utc() + time::Duration::minutes(5),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_uses_are_each_answered_and_a_replay_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        let store = certbound_store::open(&url).await.unwrap();
        let replays = Replays::spawn(store);
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let r = replays.clone();
                // Every jti twice: exactly one of each pair is new.
                tokio::spawn(async move { r.record(used(&format!("j{}", i / 2))).await })
            })
            .collect();
        let mut fresh = 0;
        for t in tasks {
            if t.await.unwrap().unwrap() {
                fresh += 1;
            }
        }
        assert_eq!(fresh, 100);
        assert_eq!(replays.record(used("j7")).await, Ok(false));
        assert_eq!(replays.record(used("new")).await, Ok(true));
    }
}
