//! A checkpoint in two parts, so that the site's loop is not held while
//! files are synced (issue 14: no loop stall over 20 ms from a checkpoint).
//!
//! # On the loop: [`Store::checkpoint_begin`](super::Store::checkpoint_begin)
//!
//! Only what must be ordered with the appends: appends switch to the next
//! WAL segment, created (and made durable) in advance by a [`SpareJob`], so
//! the switch is a swap of handles. The acceptor state the caller passes
//! holds every record of the segments before it, and none after.
//!
//! # Beside the loop: [`CheckpointJob::run`]
//!
//! 1. syncs the archive (slots `0..applied` durable);
//! 2. trims the old segment's preallocated zeros (tidiness: see below);
//! 3. `ready` (the caller's part: the derived state made durable up to
//!    `applied`);
//! 4. writes `checkpoint.json` (`applied`, `wal_start` = the new segment,
//!    the acceptor state) atomically;
//! 5. deletes the segments before `wal_start`.
//!
//! The store goes on appending meanwhile. Only one job runs at a time (the
//! owner starts the next checkpoint once the previous one has ended) and
//! the data dir stays locked until it ends, even if the store is dropped.
//! A failed write or sync marks the store failed, as one of its own does.
//!
//! # Why a crash at any point is safe
//!
//! Until step 4 is durable, `checkpoint.json` is the previous one and every
//! segment from its `wal_start` on is still there (step 5 comes after), so
//! start-up replays them all: nothing is lost, whatever the job had done.
//! Once step 4 is durable, the archive (step 1) and the derived state (step
//! 3) hold `0..applied`, and the new segment holds every record written
//! after the acceptor state in the checkpoint. Recovery reads two things
//! differently from before (see `replay_wal` and `batch::scan_segment`):
//!
//! - a segment older than the newest may end in zeros after its batches:
//!   the old segment untrimmed because the crash came before step 2. Every
//!   batch in it was synced before appends switched away from it (appends
//!   are one at a time), so nothing but the preallocated zeros can follow
//!   its batches; a torn or bad batch there is still corruption.
//! - segments at the end that hold nothing but zeros (a spare created in
//!   advance, or one preallocated that no batch reached) hold no record:
//!   they are deleted, and the newest segment that holds something is the
//!   one whose torn last batch is cut off.

use super::archive::ArchiveSyncer;
use super::checkpoint;
use super::error::StorageError;
use super::wal::{self, Segment};
use crate::paxos::durable::AcceptorState;
use crate::paxos::types::Slot;
use std::fs::{self, File};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What `checkpoint.json` will hold: encoded in the job, off the loop (the
/// acceptor state's JSON grows with the slots since the last checkpoint).
pub(crate) enum Content {
    Acceptor(AcceptorState),
    /// Already encoded (a format-1 checkpoint, which tests write).
    #[cfg(test)]
    Encoded(Vec<u8>),
}

/// The part of a checkpoint that runs beside the store's owner (see the
/// module documentation). Dropping it without running it leaves the
/// previous checkpoint in force, which is safe.
pub struct CheckpointJob {
    pub(crate) dir: PathBuf,
    pub(crate) wal_dir: PathBuf,
    /// A handle on `LOCK`: the lock goes with the last handle, so no other
    /// process opens the data dir until this job has ended.
    pub(crate) _lock: File,
    /// The segment appends went to before the checkpoint.
    pub(crate) old: Segment,
    pub(crate) archive: ArchiveSyncer,
    pub(crate) applied: Slot,
    /// The segment appends go to now.
    pub(crate) wal_start: u64,
    pub(crate) content: Content,
    /// The store's: set when a write or sync here fails.
    pub(crate) failed: Arc<AtomicBool>,
}

impl CheckpointJob {
    /// The slots the checkpoint says are applied.
    pub fn applied(&self) -> Slot {
        self.applied
    }

    /// Steps 1 to 5 (module documentation); `ready` is step 3. An error
    /// stops the checkpoint: the previous one stays in force.
    pub fn run<E: From<StorageError>>(
        mut self,
        ready: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        self.sync_archive()?;
        self.trim_old()?;
        ready()?;
        super::faults::checkpoint_gate(&self.dir);
        self.write_checkpoint()?;
        self.delete_old();
        Ok(())
    }

    /// Step 1.
    pub(crate) fn sync_archive(&self) -> Result<(), StorageError> {
        let r = self.archive.sync();
        self.note(r)
    }

    /// Step 2: the old segment ends with its last batch again.
    pub(crate) fn trim_old(&mut self) -> Result<(), StorageError> {
        let r = self.old.trim();
        self.note(r)
    }

    /// Step 4.
    pub(crate) fn write_checkpoint(&self) -> Result<(), StorageError> {
        let content = match &self.content {
            Content::Acceptor(acceptor) => {
                checkpoint::encode::<()>(self.applied, self.wal_start, acceptor, None)?
            }
            #[cfg(test)]
            Content::Encoded(bytes) => bytes.clone(),
        };
        let r = checkpoint::write_atomic(&self.dir, &content);
        self.note(r)
    }

    /// Step 5. Failing to delete an old segment is no error: the next
    /// start-up deletes it.
    pub(crate) fn delete_old(&self) {
        match wal::list_segments(&self.wal_dir) {
            Ok(segments) => {
                for n in segments.into_iter().filter(|&n| n < self.wal_start) {
                    let p = wal::segment_path(&self.wal_dir, n);
                    if let Err(e) = fs::remove_file(&p) {
                        tracing::warn!(file = %p.display(), "cannot delete an old WAL segment: {e}");
                    }
                }
            }
            Err(e) => tracing::warn!("cannot list the WAL segments to delete: {e}"),
        }
    }

    fn note<T>(&self, r: Result<T, StorageError>) -> Result<T, StorageError> {
        note_failed(&self.failed, r)
    }
}

/// Marks a store failed (`failed`) when `r` is a failed write or sync.
pub(crate) fn note_failed<T>(
    failed: &AtomicBool,
    r: Result<T, StorageError>,
) -> Result<T, StorageError> {
    if let Err(StorageError::Io { .. }) = &r {
        failed.store(true, Ordering::Release);
    }
    r
}

/// Creates, beside the store's owner, the segment the next checkpoint
/// switches appends to (see [`Store::spare_job`](super::Store::spare_job)).
pub struct SpareJob {
    pub(crate) wal_dir: PathBuf,
    pub(crate) number: u64,
    /// See [`CheckpointJob`]'s.
    pub(crate) _lock: File,
    pub(crate) failed: Arc<AtomicBool>,
}

/// A segment created in advance, empty and durable: hand it to
/// [`Store::install_spare`](super::Store::install_spare).
pub struct Spare(pub(crate) Segment);

impl SpareJob {
    /// Creates the segment and makes its existence durable.
    pub fn run(self) -> Result<Spare, StorageError> {
        let r = Segment::create(&self.wal_dir, self.number);
        note_failed(&self.failed, r).map(Spare)
    }
}
