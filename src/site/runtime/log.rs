//! Answering `log` requests: one page of the decided log, read from the
//! archive on a task of its own so the site's loop never waits for it.

use super::{Runtime, LOG_PAGE_BYTES};
use crate::paxos::types::{DecidedEntry, Slot};
use crate::site::api::{Answer, Refusal, Reply, LOG_PAGE};
use crate::storage::ArchiveReader;
use anyhow::Context;
use std::ops::Range;
use std::sync::Arc;
use tokio::sync::{oneshot, Semaphore};

impl Runtime {
    /// Answers `log` with one page: the decided slots this site holds from
    /// `from` below `to`, at most [`LOG_PAGE`] of them. The loop only
    /// copies the few decided values above the applied prefix from memory;
    /// the archive is read and the answer built on a task of its own, so
    /// the loop never waits for it.
    pub(super) fn serve_log(&self, from: Slot, to: Option<Slot>, reply: oneshot::Sender<Reply>) {
        let to = to.unwrap_or(Slot::MAX).min(from.saturating_add(LOG_PAGE));
        // Every applied slot is archived (archived before it is applied);
        // slots decided after a hole are in the core's memory.
        let applied = self.applied;
        let archived = from..to.min(applied);
        let known_end = self
            .core
            .max_known_decided()
            .map_or(0, |m| m.saturating_add(1));
        let memory: Vec<DecidedEntry> = (from.max(applied)..to.min(known_end))
            .filter_map(|slot| {
                let value = self.core.decided_value(slot)?.clone();
                Some(DecidedEntry { slot, value })
            })
            .collect();
        let reader = Arc::clone(&self.archive);
        let permits = Arc::clone(&self.log_readers);
        tokio::spawn(async move {
            let answer = match log_page(reader, permits, archived, memory).await {
                Ok(entries) => Ok(Answer::Log(entries)),
                Err(e) => {
                    tracing::error!("cannot read the decided log: {e:#}");
                    Err(Refusal::internal(format!(
                        "cannot read the decided log: {e:#}"
                    )))
                }
            };
            let _ = reply.send(answer);
        });
    }
}

/// Reads the `archived` slots (on the blocking pool, a few readers at a
/// time) and adds the decided slots from `memory` after them, unless the
/// archived part was cut short by its byte budget: then the page ends
/// there, and the next one starts after its last slot.
async fn log_page(
    reader: Arc<ArchiveReader>,
    permits: Arc<Semaphore>,
    archived: Range<Slot>,
    memory: Vec<DecidedEntry>,
) -> anyhow::Result<Vec<DecidedEntry>> {
    let _permit = permits.acquire_owned().await?;
    tokio::task::spawn_blocking(move || {
        let mut entries = if archived.is_empty() {
            Vec::new()
        } else {
            reader.read_decided(archived.start, archived.end, LOG_PAGE_BYTES)?
        };
        let whole = match entries.last() {
            Some(last) => last.slot.saturating_add(1) == archived.end,
            None => archived.is_empty(),
        };
        if whole {
            entries.extend(memory);
        }
        Ok(entries)
    })
    .await
    .context("the log reading task failed")?
}
