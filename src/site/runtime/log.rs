//! Answering `log` and `view` requests: read from the archive and the
//! state's store on tasks of their own, so the site's loop never waits for
//! a long history.

use super::{Runtime, LOG_CHUNK_BYTES, LOG_PAGE_BYTES};
use crate::paxos::types::{DecidedEntry, Slot};
use crate::site::api::{
    no_tweet_at, Answer, Chunk, Chunks, Refusal, Reply, ViewPage, LOG_PAGE, VIEW_CHUNK,
};
use crate::state::op::Op;
use crate::state::{Tweet, TweetKey};
use crate::storage::ArchiveReader;
use anyhow::Context;
use std::ops::Range;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Semaphore};

impl Runtime {
    /// Answers `view`: the whole timeline (streamed: see
    /// [`Runtime::stream_timeline`]) or one page of it, read on the
    /// blocking pool from a view of the state (on disk: it shares the open
    /// database and sees the slots applied so far), a few readers at a
    /// time. The tweet a page starts after is found by its slot in the
    /// archive (its time places it in the timeline).
    pub(super) fn serve_view(
        &self,
        user: String,
        page: Option<ViewPage>,
        reply: oneshot::Sender<Reply>,
    ) {
        let Some(page) = page else {
            let _ = reply.send(Ok(Answer::Timeline(self.stream_timeline(user))));
            return;
        };
        let state = self.state.clone();
        let reader = Arc::clone(&self.archive);
        let permits = Arc::clone(&self.log_readers);
        tokio::spawn(async move {
            let read = async {
                let _permit = permits.acquire_owned().await?;
                tokio::task::spawn_blocking(move || -> Result<Reply, anyhow::Error> {
                    let after = match page.after {
                        None => None,
                        Some((slot, index)) if slot >= state.next_slot() => {
                            return Ok(Err(no_tweet_at(slot, index)))
                        }
                        Some((slot, index)) => match tweet_key(&reader, slot, index)? {
                            Some(key) => Some(key),
                            None => return Ok(Err(no_tweet_at(slot, index))),
                        },
                    };
                    let tweets: Vec<Tweet> = state.timeline_page(&user, after, page.limit);
                    Ok(Ok(Answer::View(tweets)))
                })
                .await
                .context("the view reading task failed")?
            };
            let answer = read.await.unwrap_or_else(|e| {
                tracing::error!("cannot read the timeline: {e:#}");
                Err(Refusal::internal(format!(
                    "cannot read the timeline: {e:#}"
                )))
            });
            let _ = reply.send(answer);
        });
    }

    /// The whole timeline of `user`, handed over in chunks, each read on
    /// the blocking pool (with one of the few permits `log` and `view`
    /// share) while the one before is sent (see [`READ_AHEAD`]). Between
    /// chunks it holds no permit and no thread, so a client that reads
    /// slowly keeps nobody else waiting. It stops when the stream is
    /// dropped (the client went away). The chunks walk one copy of the
    /// state's view, taken now; each starts after the last tweet of the
    /// chunk before.
    fn stream_timeline(&self, user: String) -> Chunks<Tweet> {
        let (tx, rx) = mpsc::channel(READ_AHEAD);
        let state = Arc::new(self.state.clone());
        let user: Arc<str> = user.into();
        let permits = Arc::clone(&self.log_readers);
        tokio::spawn(async move {
            let mut after: Option<TweetKey> = None;
            loop {
                let (state, user) = (Arc::clone(&state), Arc::clone(&user));
                let read = async {
                    let _permit = permits.acquire().await?;
                    tokio::task::spawn_blocking(move || {
                        state.timeline_page(&user, after, VIEW_CHUNK)
                    })
                    .await
                    .context("the timeline's reading task failed")
                };
                let chunk = match read.await {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        tracing::error!("cannot read the timeline: {e:#}");
                        let refusal = Refusal::internal(format!("cannot read the timeline: {e:#}"));
                        let _ = tx.send(Err(refusal)).await;
                        return;
                    }
                };
                let last = chunk.len() < VIEW_CHUNK;
                after = chunk.last().map(Tweet::key);
                let chunk = Chunk { items: chunk, last };
                if tx.send(Ok(chunk)).await.is_err() || last {
                    return;
                }
            }
        });
        Chunks(rx)
    }

    /// Answers `log`: with `to`, one page of the decided slots this site
    /// holds from `from` below `to`, at most [`LOG_PAGE`] of them; with
    /// none, every one from `from` on, streamed ([`Runtime::stream_log`]).
    /// The loop only copies the few decided values above the applied
    /// prefix from memory; the archive is read and the answer built on a
    /// task of its own, so the loop never waits for it.
    pub(super) fn serve_log(&self, from: Slot, to: Option<Slot>, reply: oneshot::Sender<Reply>) {
        let Some(to) = to else {
            let _ = reply.send(Ok(Answer::WholeLog(self.stream_log(from))));
            return;
        };
        let to = to.min(from.saturating_add(LOG_PAGE));
        // Every applied slot is archived (archived before it is applied);
        // slots decided after a hole are in the core's memory.
        let archived = from..to.min(self.applied);
        let memory = self.decided_in_memory(from, to);
        let reader = Arc::clone(&self.archive);
        let permits = Arc::clone(&self.log_readers);
        tokio::spawn(async move {
            let answer = match log_page(reader, permits, archived, memory, LOG_PAGE_BYTES).await {
                Ok(entries) => Ok(Answer::Log(entries)),
                Err(e) => Err(log_failed(e)),
            };
            let _ = reply.send(answer);
        });
    }

    /// The decided slots from `from` below `to` that are above the applied
    /// prefix (decided after a hole): they are in the core's memory only.
    fn decided_in_memory(&self, from: Slot, to: Slot) -> Vec<DecidedEntry> {
        let known_end = self
            .core
            .max_known_decided()
            .map_or(0, |m| m.saturating_add(1));
        (from.max(self.applied)..to.min(known_end))
            .filter_map(|slot| {
                let value = self.core.decided_value(slot)?.clone();
                Some(DecidedEntry { slot, value })
            })
            .collect()
    }

    /// Every decided slot this site holds from `from` on, as of now: the
    /// archived ones (the applied prefix) in pages of [`LOG_PAGE`] slots or
    /// [`LOG_CHUNK_BYTES`] of stored values, each read (as [`log_page`]
    /// reads one) while the one before is sent, then the few decided above
    /// the prefix, copied now.
    /// Between pages it holds no permit and no thread; it stops when the
    /// stream is dropped (the client went away).
    fn stream_log(&self, from: Slot) -> Chunks<DecidedEntry> {
        let (tx, rx) = mpsc::channel(READ_AHEAD);
        let applied = self.applied;
        let memory = self.decided_in_memory(from, Slot::MAX);
        let reader = Arc::clone(&self.archive);
        let permits = Arc::clone(&self.log_readers);
        tokio::spawn(async move {
            let mut next = from;
            while next < applied {
                let archived = next..applied.min(next.saturating_add(LOG_PAGE));
                let read = log_page(
                    Arc::clone(&reader),
                    Arc::clone(&permits),
                    archived,
                    Vec::new(),
                    LOG_CHUNK_BYTES,
                );
                let items = match read.await {
                    Ok(items) => items,
                    Err(e) => {
                        let _ = tx.send(Err(log_failed(e))).await;
                        return;
                    }
                };
                // At least one entry from an archived slot on: a page
                // always moves on.
                let Some(last) = items.last() else {
                    let e = anyhow::anyhow!("archived slot {next} could not be read");
                    let _ = tx.send(Err(log_failed(e))).await;
                    return;
                };
                next = last.slot.saturating_add(1);
                let chunk = Chunk { items, last: false };
                if tx.send(Ok(chunk)).await.is_err() {
                    return;
                }
            }
            let _ = tx
                .send(Ok(Chunk {
                    items: memory,
                    last: true,
                }))
                .await;
        });
        Chunks(rx)
    }
}

/// Chunks of a streamed answer that wait for the connection: one is enough
/// for the reading to overlap the writing. A client that reads nothing then
/// holds three chunks at most (the one being written, the one waiting, the
/// one just read: up to [`LOG_CHUNK_BYTES`] of stored values each for
/// `log`), where one page answer held one.
const READ_AHEAD: usize = 1;

/// A read of the decided log that failed: logged, and answered 500.
fn log_failed(e: anyhow::Error) -> Refusal {
    tracing::error!("cannot read the decided log: {e:#}");
    Refusal::internal(format!("cannot read the decided log: {e:#}"))
}

/// Reads the `archived` slots (on the blocking pool, a few readers at a
/// time; `max_bytes` of stored values at most, one slot at least) and adds
/// the decided slots from `memory` after them, unless the archived part was
/// cut short by its byte budget: then the page ends there, and the next one
/// starts after its last slot.
async fn log_page(
    reader: Arc<ArchiveReader>,
    permits: Arc<Semaphore>,
    archived: Range<Slot>,
    memory: Vec<DecidedEntry>,
    max_bytes: usize,
) -> anyhow::Result<Vec<DecidedEntry>> {
    let _permit = permits.acquire_owned().await?;
    tokio::task::spawn_blocking(move || {
        let mut entries = if archived.is_empty() {
            Vec::new()
        } else {
            reader.read_decided(archived.start, archived.end, max_bytes)?
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

/// Where the tweet at (`slot`, `index`) sorts, read from the archive;
/// `None` if that operation is not a tweet.
fn tweet_key(reader: &ArchiveReader, slot: Slot, index: u32) -> anyhow::Result<Option<TweetKey>> {
    let entries = reader.read_decided(slot, slot.saturating_add(1), usize::MAX)?;
    let Some(entry) = entries.into_iter().find(|e| e.slot == slot) else {
        return Ok(None);
    };
    let cmd = usize::try_from(index)
        .ok()
        .and_then(|i| entry.value.cmds.get(i));
    Ok(match cmd.map(|c| &c.op) {
        Some(Op::Tweet { time, .. }) => Some(TweetKey {
            time: *time,
            slot,
            index,
        }),
        _ => None,
    })
}
