//! Durable storage of a site: the acceptor's records, the decided log, the
//! checkpoints, and the lock that keeps two processes off one data dir
//! (SPEC section 6).
//!
//! # Layout of a data dir
//!
//! ```text
//! LOCK                      held (File::try_lock) for the life of the Store
//! wal/0000000000000007.wal  write-ahead log segments: one batch of Records
//!                           per group commit (the newest may end in
//!                           preallocated zeros: its end; an older one
//!                           too until its checkpoint trims it, and the
//!                           last may be an empty spare: see `job.rs`)
//! archive.log               decided entries of slots 0..archived_len, in order
//! archive.idx               one u64 LE offset into archive.log per slot
//! checkpoint.json           the latest checkpoint (crc32 header line + JSON):
//!                           applied slots, WAL start, acceptor state
//! state.redb                the derived state (crate::state, not this module:
//!                           redb's own format; rebuilt from the archive if lost)
//! identity.json             whose data dir this is: cluster and site (SPEC 6)
//! ```
//!
//! A record frame is `[u32 LE len][u32 LE crc32(payload)][payload]` with a
//! JSON payload ([`Record`] in the WAL, [`DecidedEntry`] in the archive).
//! The WAL wraps the frames of each [`Store::append`] in one **batch**:
//!
//! ```text
//! [F8 F9 FA FB FC FD FE FF][u32 crc32(payload)][u32 payload len][u32 crc32(the 16 bytes before)]
//! [payload: the record frames]
//! ```
//!
//! The magic is no possible record length, so segments written before
//! batches (bare record frames) are still read; a store opened on one
//! appends its batches to a new segment. [`encode_wal_batch`] and
//! [`recover_wal_segment`] are the byte-level format and recovery, public so
//! that the simulator can run the real recovery on a page-model disk; the
//! store uses them itself.
//!
//! # Why a checksummed append-only log and not an embedded database
//!
//! redb (a mature embedded ACID store) was the alternative. We chose the
//! design of etcd's WAL instead, because the two properties SPEC section 6
//! asks for are then explicit and testable here rather than inside a
//! dependency:
//!
//! - **Torn writes vs corruption.** A power loss during an append may
//!   persist any subset of the batch's 4 KiB pages ([`WAL_PAGE`]), in any
//!   order; none of its records were acknowledged, so the whole batch is a
//!   torn write. On start-up the newest segment keeps its batches whose
//!   header and payload checksums hold, up to the first that does not (at
//!   offset P). If no batch header (the magic and a matching header crc)
//!   occurs anywhere after P, the bad batch was the last write: it is
//!   discarded, logged, and the file cut to P, whatever pattern of lost and
//!   persisted pages it shows (zeros alone after P are the preallocated
//!   end). If one does occur, the bad batch was not the last write: that is
//!   [`StorageError::Corrupt`] naming the file and P, and the site does not
//!   start. The magic's bytes never occur in JSON nor eight in a row
//!   anywhere else the writer puts, and lost pages read as zeros, so a torn
//!   batch can never pass for a following one (the full argument is in
//!   `batch.rs`). Other damage (any in an older segment, a missing segment,
//!   a bad checkpoint, a good checksum on bytes that do not decode) is
//!   corruption too. The tests drop every subset of a batch's pages, cut
//!   the last write (a batch, a checkpoint, an archive entry) at every byte
//!   offset, and flip bytes at chosen offsets.
//! - **Cheap durable appends.** [`Store::append`] encodes a whole batch of
//!   records into one buffer, writes it once and syncs once (group commit),
//!   into space the segment already has (preallocated in 4 MiB steps), so
//!   the sync need not commit a new file size. `cargo bench --bench storage`
//!   measures it against redb with the same records and one `fsync` per
//!   commit: 0.11 ms vs 0.19 ms at the median for one record, 0.20 ms vs
//!   0.33 ms for sixteen.
//!
//! Start-up time does not grow with history: the derived state is in
//! `state.redb` (its owner, the site, makes it durable up to `applied`
//! before each checkpoint and opens it reading only its meta), the WAL is
//! cut at every checkpoint, and old decided slots stay in the archive, read
//! on demand by slot through the fixed-width index.
//!
//! # Durability contract
//!
//! - [`Store::append`] returns once the records are on stable storage,
//!   and with them every record given to [`Store::append_lazy`] before.
//! - [`Store::append_lazy`] neither writes nor syncs: it keeps the records
//!   (decisions: [`crate::paxos::Durability::Lazy`]) for the next
//!   [`Store::append`] or [`Store::flush_lazy`], which writes them first in
//!   its batch (WAL order is kept, and the WAL still holds at most one
//!   unsynced batch, its last, so a torn write is still told from
//!   corruption). A crash or a power loss before then loses them; that
//!   loses nothing chosen (see "Decisions need no sync" in `paxos::core`),
//!   and the archive usually still has them (below). A checkpoint needs no
//!   flush of them: its acceptor state holds every decision the core
//!   knows, and a decision replayed again later is idempotent.
//! - [`Store::archive`] does not sync: the archive must only be durable up to
//!   the checkpoint's `applied`, and [`Store::checkpoint`] syncs it first.
//!   Slots archived after the checkpoint are kept at start-up as far as
//!   their entries are whole and in order (a crash of the process keeps
//!   them; a power loss may cut them) and replayed as decisions into
//!   [`Recovered::acceptor`]; the caller hands every decided slot from
//!   `applied` on to the archive again, which skips those it holds.
//! - After any failed write or sync the store refuses further writes
//!   ([`StorageError::Failed`]): what is on disk is then unknown, and the
//!   only safe way on is to reopen and recover from what is durable.

mod archive;
mod batch;
mod checkpoint;
mod error;
pub(crate) mod faults;
mod frame;
mod identity;
mod job;
mod wal;

#[cfg(test)]
mod tests;

pub use self::archive::ArchiveReader;
pub use self::batch::{encode_wal_batch, recover_wal_segment, WalRecovery, WAL_PAGE};
pub use self::error::StorageError;
pub use self::identity::Identity;
pub use self::job::{CheckpointJob, Spare, SpareJob};

use self::archive::Archive;
use self::error::IoContext;
use self::job::{note_failed, Content};
use self::wal::Segment;
use crate::paxos::durable::AcceptorState;
use crate::paxos::types::{DecidedEntry, Record, Slot};
use crate::state::op::Value;
use serde::de::DeserializeOwned;
#[cfg(test)]
use serde::Serialize;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The name of the lock file in a data dir.
pub const LOCK_FILE: &str = "LOCK";

/// What [`Store::open`] found on disk.
#[derive(Clone, Debug, PartialEq)]
pub struct Recovered<S> {
    /// Slots `0..applied` are in the archive (durably) and, since format 2,
    /// in the derived state the site made durable before the checkpoint.
    pub applied: Slot,
    /// The derived state of a format-1 checkpoint (older data dirs), which
    /// held it; `None` otherwise (no checkpoint, or format 2).
    pub state: Option<S>,
    /// The checkpoint's acceptor state with every WAL record written since
    /// replayed into it. Its `decided` map may hold slots below `applied`
    /// (decisions learned again after the checkpoint); ignore those.
    pub acceptor: AcceptorState,
}

/// One site's data dir, open and locked.
pub struct Store {
    dir: PathBuf,
    wal_dir: PathBuf,
    /// Held for the life of the store: the lock goes with the handle.
    _lock: File,
    segment: Segment,
    /// The segment the next checkpoint switches appends to, created in
    /// advance ([`Store::spare_job`]), when there is one.
    spare: Option<Segment>,
    archive: Archive,
    /// Set when a write or sync failed (here or in a [`CheckpointJob`]):
    /// no more writes.
    failed: Arc<AtomicBool>,
    /// Records of [`Store::append_lazy`], written by the next append.
    lazy: Vec<Record>,
}

// The runtime moves the store to blocking threads.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Store>();
};

impl Store {
    /// Opens (creating if needed) and locks the data dir `dir`, and recovers
    /// what is durable in it. See the module documentation for what is
    /// repaired and what is refused.
    pub fn open<S: DeserializeOwned>(dir: &Path) -> Result<(Store, Recovered<S>), StorageError> {
        Store::open_inner(dir, None)
    }

    /// [`Store::open`] for the site `me`: the data dir must belong to it
    /// (a new one is made its own), see [`Identity`]; checked before
    /// anything else is read or written.
    pub fn open_as<S: DeserializeOwned>(
        dir: &Path,
        me: &Identity,
    ) -> Result<(Store, Recovered<S>), StorageError> {
        Store::open_inner(dir, Some(me))
    }

    fn open_inner<S: DeserializeOwned>(
        dir: &Path,
        me: Option<&Identity>,
    ) -> Result<(Store, Recovered<S>), StorageError> {
        if dir.exists() && !dir.is_dir() {
            let why = "a file, not a directory: a data dir must be a directory";
            let e = std::io::Error::new(std::io::ErrorKind::NotADirectory, why);
            return Err(StorageError::io(dir, e));
        }
        if !dir.is_dir() {
            fs::create_dir_all(dir).at(dir)?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                frame::sync_dir(parent)?;
            }
        }
        let lock = lock(dir)?;
        if let Some(me) = me {
            identity::claim(dir, me)?;
        }
        let wal_dir = dir.join(wal::DIR);
        if !wal_dir.is_dir() {
            fs::create_dir_all(&wal_dir).at(&wal_dir)?;
            frame::sync_dir(dir)?;
        }
        // A checkpoint that was being written when the site stopped.
        let tmp = dir.join(checkpoint::TMP);
        if let Err(e) = fs::remove_file(&tmp) {
            if e.kind() != ErrorKind::NotFound {
                return Err(StorageError::io(&tmp, e));
            }
        }

        let (applied, wal_start, mut acceptor, state) = match checkpoint::load::<S>(dir)? {
            Some(c) => (c.applied, c.wal_start, c.acceptor, Some(c.state)),
            None => (0, 0, AcceptorState::default(), None),
        };
        let has_checkpoint = state.is_some();
        let state = state.flatten();
        let (archive, tail) = Archive::open(dir, applied)?;

        let (segment, segments) = replay_wal(&wal_dir, wal_start, has_checkpoint, &mut acceptor)?;
        // Decisions the archive kept past the checkpoint: the site may have
        // answered them before their `Decide` records were written.
        let kept = tail.len();
        for e in tail {
            acceptor.apply(&Record::Decide {
                slot: e.slot,
                value: e.value,
            });
        }
        tracing::info!(
            dir = %dir.display(),
            applied,
            segments,
            archived_after_checkpoint = kept,
            "storage recovered"
        );
        let store = Store {
            dir: dir.to_path_buf(),
            wal_dir,
            _lock: lock,
            segment,
            spare: None,
            archive,
            failed: Arc::new(AtomicBool::new(false)),
            lazy: Vec::new(),
        };
        Ok((
            store,
            Recovered {
                applied,
                state,
                acceptor,
            },
        ))
    }

    /// The data dir.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// Makes `records` durable: one write and one sync for the whole slice
    /// (group commit), after the records of [`append_lazy`](Self::append_lazy)
    /// not yet written (in the same batch). An empty slice does nothing.
    pub fn append(&mut self, records: &[Record]) -> Result<(), StorageError> {
        if records.is_empty() {
            return Ok(());
        }
        self.write_synced(records)
    }

    /// One synced batch: the records kept by
    /// [`append_lazy`](Self::append_lazy), then `records`.
    fn write_synced(&mut self, records: &[Record]) -> Result<(), StorageError> {
        self.writable()?;
        let buf = batch::encode_batch_of(self.lazy.iter().chain(records))?;
        let r = self.segment.write_synced(&buf);
        self.lazy.clear();
        self.note(r)
    }

    /// Keeps `records` to be written, in order, by the next
    /// [`append`](Self::append): no write, no sync (see the module
    /// documentation). Only for records that may be lost in a crash.
    pub fn append_lazy(&mut self, records: Vec<Record>) -> Result<(), StorageError> {
        self.writable()?;
        self.lazy.extend(records);
        Ok(())
    }

    /// Writes and syncs the records kept by
    /// [`append_lazy`](Self::append_lazy), if any: before the store is
    /// closed on a clean stop, so that a restart finds every decision in
    /// its WAL.
    pub fn flush_lazy(&mut self) -> Result<(), StorageError> {
        if self.lazy.is_empty() {
            return Ok(());
        }
        self.write_synced(&[])
    }

    /// Records kept by [`append_lazy`](Self::append_lazy), not yet written.
    pub fn lazy_len(&self) -> usize {
        self.lazy.len()
    }

    /// Appends decided slot `slot` to the archive. `slot` must be
    /// [`archived_len`](Self::archived_len). Not synced (see the module
    /// documentation).
    pub fn archive(&mut self, slot: Slot, value: &Value) -> Result<(), StorageError> {
        self.writable()?;
        let r = self.archive.append(slot, value);
        self.note(r)
    }

    /// [`Store::archive`] for consecutive slots, the first of which must be
    /// [`archived_len`](Self::archived_len): one write per file for all.
    pub fn archive_all(&mut self, entries: &[(Slot, Value)]) -> Result<(), StorageError> {
        self.writable()?;
        let r = self.archive.append_all(entries);
        self.note(r)
    }

    /// The archive holds slots `0..archived_len()`.
    pub fn archived_len(&self) -> Slot {
        self.archive.len()
    }

    /// Consecutive archived entries from `from` on, below `to`, stopping
    /// before the JSON payloads would exceed `max_bytes` (but always at least
    /// one entry when `from < archived_len()`). Empty when `from` is not
    /// archived.
    pub fn read_decided(
        &self,
        from: Slot,
        to: Slot,
        max_bytes: usize,
    ) -> Result<Vec<DecidedEntry>, StorageError> {
        self.archive.read(from, to, max_bytes)
    }

    /// A read-only handle on the archive that can be moved to another
    /// thread and read while this store goes on appending (the `log`
    /// command is served that way, off the site's loop).
    pub fn archive_reader(&self) -> Result<ArchiveReader, StorageError> {
        self.archive.reader()
    }

    /// Writes a checkpoint: slots `0..applied` are applied to the derived
    /// state, which the caller has made durable (it is not in this file),
    /// and must be archived; `acceptor` is the full current acceptor state
    /// (every record appended so far applied; decided slots below `applied`
    /// may be forgotten). Syncs the archive, starts a new WAL segment, writes
    /// `checkpoint.json` atomically, then deletes the older segments: both
    /// parts of [`Store::checkpoint_begin`] in a row.
    pub fn checkpoint(
        &mut self,
        applied: Slot,
        acceptor: &AcceptorState,
    ) -> Result<(), StorageError> {
        self.checkpoint_after(applied, acceptor, || Ok(()))
    }

    /// [`Store::checkpoint`], calling `ready` after the archive is synced
    /// and the old WAL segment trimmed, just before `checkpoint.json` is
    /// written: what must be durable before the checkpoint says `applied`
    /// (the derived state) can be made durable meanwhile, on another
    /// thread, and `ready` waits for it. An error of `ready` stops the
    /// checkpoint: the previous one stays in force (its WAL segments are
    /// all kept).
    pub fn checkpoint_after<E: From<StorageError>>(
        &mut self,
        applied: Slot,
        acceptor: &AcceptorState,
        ready: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        let content = Content::Acceptor(acceptor.clone());
        self.begin(applied, content)?.run(ready)
    }

    /// A format-1 checkpoint, with the derived state inside, as older
    /// versions wrote (tests of their data dirs).
    #[cfg(test)]
    pub(crate) fn checkpoint_v1<S: Serialize>(
        &mut self,
        applied: Slot,
        state: &S,
        acceptor: &AcceptorState,
    ) -> Result<(), StorageError> {
        let wal_start = self.segment.number + 1;
        let content = checkpoint::encode(applied, wal_start, acceptor, Some(state))?;
        self.begin(applied, Content::Encoded(content))?
            .run(|| Ok::<(), StorageError>(()))
    }

    /// The first part of a checkpoint, on the caller's thread and cheap
    /// when a spare segment is ready ([`Store::has_spare`]): appends switch
    /// to the next WAL segment. The rest is the returned job, to run on
    /// another thread while this store goes on appending (see
    /// [`CheckpointJob`] for the steps and why a crash at any point is
    /// safe). `acceptor`: as for [`Store::checkpoint`], taken with no
    /// append in between. Start no other checkpoint before the job ends.
    pub fn checkpoint_begin(
        &mut self,
        applied: Slot,
        acceptor: AcceptorState,
    ) -> Result<CheckpointJob, StorageError> {
        self.begin(applied, Content::Acceptor(acceptor))
    }

    fn begin(&mut self, applied: Slot, content: Content) -> Result<CheckpointJob, StorageError> {
        self.writable()?;
        if applied > self.archive.len() {
            return Err(StorageError::CheckpointAhead {
                applied,
                archived: self.archive.len(),
            });
        }
        let archive = self.archive.syncer()?;
        let lock = self._lock.try_clone().at(&self.dir.join(LOCK_FILE))?;
        let next = match self.spare.take() {
            Some(spare) => spare,
            // No spare ready: created here (what the synchronous
            // checkpoint does; the site's loop waits for a spare instead).
            None => {
                let r = Segment::create(&self.wal_dir, self.segment.number + 1);
                self.note(r)?
            }
        };
        let old = std::mem::replace(&mut self.segment, next);
        // Decisions below `applied` are in the archive the job syncs before
        // `checkpoint.json` says so: their records need not reach the WAL
        // (a site catching up would otherwise write every value it fetched
        // a second time). Should the job fail, they are lost as any lazy
        // record may be, and nothing chosen with them.
        self.lazy
            .retain(|r| !matches!(r, Record::Decide { slot, .. } if *slot < applied));
        Ok(CheckpointJob {
            dir: self.dir.clone(),
            wal_dir: self.wal_dir.clone(),
            _lock: lock,
            old,
            archive,
            applied,
            wal_start: self.segment.number,
            content,
            failed: Arc::clone(&self.failed),
        })
    }

    /// Whether a spare segment is ready for the next checkpoint.
    pub fn has_spare(&self) -> bool {
        self.spare.is_some()
    }

    /// A job that creates the segment after the one appends go to, for
    /// the next checkpoint to switch to: run it on another thread and
    /// hand its result to [`Store::install_spare`]. The segment holds
    /// nothing until then, and recovery deletes such a segment at the end
    /// of the WAL (see [`CheckpointJob`]).
    pub fn spare_job(&self) -> Result<SpareJob, StorageError> {
        self.writable()?;
        Ok(SpareJob {
            wal_dir: self.wal_dir.clone(),
            number: self.segment.number + 1,
            _lock: self._lock.try_clone().at(&self.dir.join(LOCK_FILE))?,
            failed: Arc::clone(&self.failed),
        })
    }

    /// Keeps `spare` (from a [`SpareJob`]) for the next checkpoint. It must
    /// follow the segment appends go to.
    pub fn install_spare(&mut self, spare: Spare) -> Result<(), StorageError> {
        let expected = self.segment.number + 1;
        if spare.0.number != expected {
            return Err(StorageError::WrongSpare {
                expected,
                got: spare.0.number,
            });
        }
        self.spare = Some(spare.0);
        Ok(())
    }

    /// After a failed write or sync (the store refuses writes: see
    /// [`StorageError::Failed`]): cuts the newest WAL segment back to the
    /// end of its last synced batch and syncs it and the directories, so no
    /// byte that was never acknowledged stays in the file or the page cache.
    /// After a failed fsync the kernel may have dropped those pages' data
    /// yet go on serving them to readers, so a reopen without this could
    /// take them for durable. Then it checks that the disk takes a write
    /// again (a synced page of zeros where the next batch goes: a full disk
    /// allows the cut but refuses that). Fails while the disk still fails;
    /// once it has succeeded, drop the store and open the data dir again to
    /// go on from what is durable.
    pub fn discard_unsynced(&mut self) -> Result<(), StorageError> {
        self.segment.discard_unsynced()?;
        frame::sync_dir(&self.wal_dir)?;
        frame::sync_dir(&self.dir)
    }

    fn writable(&self) -> Result<(), StorageError> {
        if self.failed.load(Ordering::Acquire) {
            Err(StorageError::Failed {
                path: self.dir.clone(),
            })
        } else {
            Ok(())
        }
    }

    /// Marks the store failed when a write or sync failed.
    fn note<T>(&mut self, r: Result<T, StorageError>) -> Result<T, StorageError> {
        note_failed(&self.failed, r)
    }
}

impl Drop for Store {
    /// A clean close leaves the newest segment without its preallocated
    /// zeros (a crash leaves them: recovery reads them as the end).
    fn drop(&mut self) {
        if self.failed.load(Ordering::Acquire) {
            return;
        }
        if let Err(e) = self.segment.trim() {
            tracing::warn!("cannot trim the WAL segment on close: {e}");
        }
    }
}

/// Opens and locks `dir/LOCK`.
fn lock(dir: &Path) -> Result<File, StorageError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .at(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StorageError::Locked {
            path: dir.to_path_buf(),
        }),
        Err(TryLockError::Error(e)) => Err(StorageError::io(&path, e)),
    }
}

/// Deletes the WAL segments a checkpoint made obsolete, replays the live
/// ones (from `wal_start` on, none missing) into `acceptor`, and returns
/// the segment appends go to and how many segments were replayed.
fn replay_wal(
    wal_dir: &Path,
    wal_start: u64,
    has_checkpoint: bool,
    acceptor: &mut AcceptorState,
) -> Result<(Segment, usize), StorageError> {
    let segments = wal::list_segments(wal_dir)?;
    // Segments the checkpoint made obsolete (the site stopped before it
    // deleted them).
    for &n in segments.iter().filter(|&&n| n < wal_start) {
        let p = wal::segment_path(wal_dir, n);
        fs::remove_file(&p).at(&p)?;
    }
    let live: Vec<u64> = segments.into_iter().filter(|&n| n >= wal_start).collect();
    if has_checkpoint && live.is_empty() {
        return Err(missing_segment(
            wal_dir,
            wal_start,
            "checkpoint.json starts the WAL there",
        ));
    }
    for (i, &n) in live.iter().enumerate() {
        let expected = wal_start + i as u64;
        if n != expected {
            return Err(missing_segment(
                wal_dir,
                expected,
                &format!("segment {n:016}.wal exists, so records are lost"),
            ));
        }
    }
    let live = drop_spares(wal_dir, live)?;
    let mut newest = None;
    for (i, &n) in live.iter().enumerate() {
        let last = i + 1 == live.len();
        let path = wal::segment_path(wal_dir, n);
        newest = Some((n, wal::replay_segment(&path, last, acceptor)?));
    }
    let segment = match newest {
        // One segment holds one format: batches go to a new segment
        // after bare record frames (trimmed, as an older segment must be).
        Some((n, r)) if r.legacy => {
            Segment::open(wal_dir, n, r.good_end)?.trim()?;
            Segment::create(wal_dir, n + 1)?
        }
        Some((n, r)) => Segment::open(wal_dir, n, r.good_end)?,
        None => Segment::create(wal_dir, wal_start)?,
    };
    Ok((segment, live.len()))
}

/// Deletes the segments at the end of `live` that hold only zeros (never
/// the first: appends go there when all do): a spare created in advance
/// for the next checkpoint, or one that no batch reached (its first batch
/// torn with every page lost). They hold no record, and the newest segment
/// that holds something must be read as the newest, where a torn last
/// write is cut off (see `job.rs`).
fn drop_spares(wal_dir: &Path, mut live: Vec<u64>) -> Result<Vec<u64>, StorageError> {
    let mut dropped = false;
    while let [_, .., last] = live[..] {
        let path = wal::segment_path(wal_dir, last);
        if !wal::holds_nothing(&path)? {
            break;
        }
        fs::remove_file(&path).at(&path)?;
        live.pop();
        dropped = true;
    }
    if dropped {
        frame::sync_dir(wal_dir)?;
    }
    Ok(live)
}

fn missing_segment(wal_dir: &Path, n: u64, why: &str) -> StorageError {
    StorageError::corrupt(
        wal::segment_path(wal_dir, n),
        None,
        format!("this WAL segment is missing ({why})"),
    )
}
