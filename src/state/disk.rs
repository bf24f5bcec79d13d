//! The tweets of a [`State`](super::State) in an embedded ordered store
//! (redb), `state.redb` in a site's data dir: what a running site uses, so
//! that memory, start-up and checkpoints cost what changes, not the history.
//!
//! # Layout
//!
//! - table `tweets`: `(author, unix seconds, nanoseconds, slot, index)` →
//!   text. The key sorts exactly as [`TweetKey`] within an author, and
//!   (seconds, nanoseconds) gives back the `DateTime<Utc>` bit for bit
//!   (tweets of older data dirs may carry nanoseconds, and any time a peer
//!   sent: i64 nanoseconds would not cover every representable time).
//! - table `meta`: `users` (JSON list of names, written at creation) and
//!   `state` (JSON [`Meta`]: the next slot to apply, the per-author tweet
//!   counts, the blocks and the applied operations). These are small and
//!   written in the same transaction as the tweets of the slots they
//!   account for, so the file is always a state after some whole slot (as
//!   etcd keeps its applied index inside its bbolt transaction).
//!
//! # Durability
//!
//! Applying keeps the rows (and the meta) of the slots it applies in
//! memory ([`Pending`]), where reads find them as if written, until
//! [`WRITE_AT_ROWS`] wait; then it writes them in one transaction with
//! [`Durability::None`]: no fsync, visible to readers in this process.
//! (A transaction for every batch of slots cost more than its rows.) What
//! is pending is lost with the writer (or its process), as a write not
//! made durable is, unless [`Disk::flush`] wrote it: its owner applies
//! those slots again from the log. A writer dropped does not write them,
//! since a new writer of the same file may already have applied them
//! again (a site that recovers from a failed disk opens its state anew
//! before it lets the old one go): the file and the memory of one writer
//! never hold the same row, or reads would give it twice.
//! [`Durable::commit`] makes everything so far durable with one
//! commit whose cost follows the pages written since the previous one. A
//! crash brings the file back to its last durable commit; its `next_slot`
//! says where the owner must resume applying the decided log (the log, not
//! this file, is the truth). Durable commits record redb's allocator state
//! (`set_quick_repair`), so opening after a crash does not walk the file.
//!
//! A durable commit holds redb's only writer through its fsyncs (redb 4 has
//! no commit that lets go of it earlier), and the site runs it on another
//! thread while its loop goes on applying (issue 14: no loop stall from a
//! checkpoint). So applying never waits for the writer: when it is taken,
//! the batch's rows and meta are kept in memory ([`Pending`]), where reads
//! find them as if written, and go into the file with the next write that
//! gets the writer (or [`Disk::flush`]). A crash loses them like any write
//! not made durable. Measured with `tweettui bench --remote --history
//! 200000` (README, Performance): about one apply per checkpoint (every
//! 1,000 slots) found the writer taken, at most 13 during one durable
//! commit; each would have held the loop for the rest of that commit.
//!
//! # Sharing
//!
//! One [`Database`] per file per process (redb refuses a second open of a
//! file, and the UI of `demo` keeps views of a site's state across its
//! restarts): [`open_db`] hands back the one already open. A writer
//! (the site's runtime) and any number of views (the UI's copy) share it;
//! a view reads only the tweets of slots below its own `next_slot`.

use super::applied::AppliedOps;
use super::TweetKey;
use chrono::{DateTime, Utc};
use redb::{
    Database, Durability, ReadableDatabase, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use thiserror::Error;

/// The state file's name in a data dir.
pub const STATE_FILE: &str = "state.redb";

/// Key of a tweet: (author, seconds, nanoseconds, slot, index).
pub(super) type Key = (u32, i64, u32, u64, u32);

const TWEETS: TableDefinition<Key, &str> = TableDefinition::new("tweets");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// The rows of applied slots kept in memory ([`Pending`]) before they are
/// written to the file, in one transaction (see "Durability" above).
/// A transaction costs much more than its rows: one for every batch of
/// slots applied was redb's 8 % of the CPU of a cluster at 16 clients (all
/// three sites and the load on two cores), and writing every 256 rows took
/// those clients from 10,400-10,900 to 11,300-13,200 tweets/s through real
/// processes (`bench --remote`, three rounds in turn; README, Performance).
pub(super) const WRITE_AT_ROWS: usize = 256;

/// What redb may cache (the default is 1 GiB; a site's reads are pages of a
/// timeline and its writes a few slots, and `demo` runs five sites).
const CACHE_BYTES: usize = 16 << 20;

/// The small part of the state, stored beside the tweets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Meta {
    pub next_slot: u64,
    pub counts: Vec<u64>,
    /// `blocks[a]`: whom user `a` blocks.
    pub blocks: Vec<BTreeSet<usize>>,
    pub applied: AppliedOps,
}

/// [`Meta`] as written, borrowed from the state.
#[derive(Serialize)]
pub(super) struct MetaRef<'a> {
    pub next_slot: u64,
    pub counts: &'a [u64],
    pub blocks: &'a [BTreeSet<usize>],
    pub applied: &'a AppliedOps,
}

/// Why `state.redb` cannot be used.
#[derive(Debug, Error)]
pub enum StoreError {
    /// redb failed (the file cannot be opened, read or written).
    #[error("{}: {what}: {source}", path.display())]
    Redb {
        path: PathBuf,
        what: &'static str,
        /// Boxed: redb's error is large, and this one is rare.
        #[source]
        source: Box<redb::Error>,
    },
    /// The file opens but does not hold up (see [`open`]).
    #[error("{}: {why}", path.display())]
    Inconsistent { path: PathBuf, why: String },
    /// A file redb cannot open could not be moved aside.
    #[error("{}: cannot move it aside: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file belongs to other users than the configured ones.
    #[error(
        "{}: the state was written for the users {file:?}, but the config has {config:?}",
        path.display()
    )]
    OtherUsers {
        path: PathBuf,
        file: Vec<String>,
        config: Vec<String>,
    },
}

impl StoreError {
    fn redb<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(redb::Error) -> StoreError + 'a {
        move |source| StoreError::Redb {
            path: path.to_path_buf(),
            what,
            source: Box::new(source),
        }
    }

    fn inconsistent(path: &Path, why: impl Into<String>) -> StoreError {
        StoreError::Inconsistent {
            path: path.to_path_buf(),
            why: why.into(),
        }
    }
}

/// The open databases of this process, by path (see "Sharing" above).
static OPEN: Mutex<Vec<(PathBuf, Weak<Database>)>> = Mutex::new(Vec::new());

/// Opens (creating if needed) the database at `path`, or hands back the
/// one this process already has open there.
pub(super) fn open_db(path: &Path) -> Result<Arc<Database>, StoreError> {
    let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
    open.retain(|(_, db)| db.strong_count() > 0);
    if let Some(db) = open
        .iter()
        .find(|(p, _)| p == path)
        .and_then(|(_, db)| db.upgrade())
    {
        return Ok(db);
    }
    // redb trusts a file it closed cleanly and may panic on one damaged
    // outside it: such a file is refused like one it reports as corrupt.
    let opened =
        std::panic::catch_unwind(|| Database::builder().set_cache_size(CACHE_BYTES).create(path));
    let db = match opened {
        Ok(r) => r.map_err(|e| StoreError::redb(path, "cannot open")(e.into()))?,
        Err(_) => {
            return Err(StoreError::inconsistent(
                path,
                "redb cannot open it (it panicked reading the file)",
            ))
        }
    };
    let db = Arc::new(db);
    open.push((path.to_path_buf(), Arc::downgrade(&db)));
    Ok(db)
}

/// What was applied but is not in the file yet (see "Durability" above):
/// fewer than [`WRITE_AT_ROWS`] rows, and what came while another
/// transaction held redb's writer. Shared by a writer and its views.
#[derive(Debug, Default)]
pub(super) struct Pending {
    rows: BTreeMap<Key, String>,
    /// The JSON of the meta and of the users of the latest of them.
    meta: Option<(Vec<u8>, Vec<u8>)>,
    /// How many writes were kept here (and not yet counted by
    /// [`Disk::take_deferred`]).
    deferred: u64,
}

impl Pending {
    pub(super) fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.meta.is_none()
    }

    /// Keeps `tweets` and `meta` (the latest meta wins) for a later write.
    fn keep(&mut self, tweets: Vec<(Key, String)>, meta: Option<(Vec<u8>, Vec<u8>)>) {
        self.rows.extend(tweets);
        if meta.is_some() {
            self.meta = meta;
        }
    }
}

/// The tweets of a state on disk: a writer (the one that applies) or a
/// view that reads what the writer wrote.
pub(super) struct Disk {
    pub db: Arc<Database>,
    pub path: Arc<Path>,
    pub writer: bool,
    /// Held while a write commits and while a read opens its range, so a
    /// row is read either from the file or from here, never twice.
    pub pending: Arc<Mutex<Pending>>,
}

impl fmt::Debug for Disk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Disk")
            .field("path", &self.path)
            .field("writer", &self.writer)
            .finish()
    }
}

impl Disk {
    /// A view on the same file (never writes).
    pub fn view(&self) -> Disk {
        Disk {
            db: Arc::clone(&self.db),
            path: Arc::clone(&self.path),
            writer: false,
            pending: Arc::clone(&self.pending),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn durable(&self) -> Durable {
        Durable {
            db: Arc::clone(&self.db),
            path: Arc::clone(&self.path),
        }
    }

    /// Writes `tweets` and `meta` in one transaction, not synced, with any
    /// pending rows before them; or, when another transaction holds the
    /// writer, keeps them pending (see "Durability" above) and returns at
    /// once. `meta` and `users` are left as they are when `None` (an import
    /// in several transactions writes them with the last).
    pub fn write(
        &self,
        tweets: Vec<(Key, String)>,
        meta: Option<&MetaRef<'_>>,
        users: &[String],
    ) -> Result<(), StoreError> {
        self.write_from(0, tweets, meta, users)
    }

    /// [`write`](Self::write) of the slots just applied, which keeps them
    /// pending until [`WRITE_AT_ROWS`] rows wait (see "Durability" above):
    /// they move there, uncopied.
    pub fn write_applied(
        &self,
        tweets: Vec<(Key, String)>,
        meta: &MetaRef<'_>,
        users: &[String],
    ) -> Result<(), StoreError> {
        self.write_from(WRITE_AT_ROWS, tweets, Some(meta), users)
    }

    /// [`write`](Self::write) once `rows` rows or more would be pending.
    fn write_from(
        &self,
        rows: usize,
        tweets: Vec<(Key, String)>,
        meta: Option<&MetaRef<'_>>,
        users: &[String],
    ) -> Result<(), StoreError> {
        let path = &*self.path;
        let meta = meta.map(|m| encode_meta(path, m, users)).transpose()?;
        let mut pending = self.lock_pending();
        if pending.rows.len() + tweets.len() < rows {
            pending.keep(tweets, meta);
            return Ok(());
        }
        let tx = match self.db.try_begin_write() {
            Ok(tx) => tx,
            Err(redb::TransactionError::WouldBlock) => {
                pending.keep(tweets, meta);
                pending.deferred += 1;
                return Ok(());
            }
            Err(x) => return Err(StoreError::redb(path, "begin write")(x.into())),
        };
        self.commit_with_pending(tx, &mut pending, &tweets, meta)
    }

    /// Writes the pending rows and meta into the file (not synced),
    /// waiting for the writer if another transaction holds it: before a
    /// durable commit that must hold every slot applied.
    pub fn flush(&self) -> Result<(), StoreError> {
        let mut pending = self.lock_pending();
        if pending.is_empty() {
            return Ok(());
        }
        let tx = self
            .db
            .begin_write()
            .map_err(|x| StoreError::redb(&self.path, "begin write")(x.into()))?;
        self.commit_with_pending(tx, &mut pending, &[], None)
    }

    /// How many writes were kept pending since the last call.
    pub fn take_deferred(&self) -> u64 {
        std::mem::take(&mut self.lock_pending().deferred)
    }

    fn lock_pending(&self) -> MutexGuard<'_, Pending> {
        // A panic elsewhere while it was held leaves whole rows in it.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `pending`, then `tweets` and `meta` (else the pending meta),
    /// in `tx` without fsync; empties `pending` once committed.
    fn commit_with_pending(
        &self,
        mut tx: WriteTransaction,
        pending: &mut Pending,
        tweets: &[(Key, String)],
        meta: Option<(Vec<u8>, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let path = &*self.path;
        let e = |what| StoreError::redb(path, what);
        tx.set_durability(Durability::None)
            .map_err(|x| e("set durability")(x.into()))?;
        {
            let mut table = tx
                .open_table(TWEETS)
                .map_err(|x| e("open tweets")(x.into()))?;
            let rows = pending.rows.iter().map(|(k, t)| (k, t.as_str()));
            for (key, text) in rows.chain(tweets.iter().map(|(k, t)| (k, t.as_str()))) {
                table
                    .insert(key, text)
                    .map_err(|x| e("insert a tweet")(x.into()))?;
            }
            if let Some((meta, users)) = meta.as_ref().or(pending.meta.as_ref()) {
                let mut m = tx.open_table(META).map_err(|x| e("open meta")(x.into()))?;
                m.insert("state", meta.as_slice())
                    .map_err(|x| e("write meta")(x.into()))?;
                m.insert("users", users.as_slice())
                    .map_err(|x| e("write users")(x.into()))?;
            }
        }
        tx.commit().map_err(|x| e("commit")(x.into()))?;
        pending.rows.clear();
        pending.meta = None;
        Ok(())
    }

    /// A write transaction of this store with `durability`.
    fn begin_write(&self, durability: Durability) -> Result<WriteTransaction, StoreError> {
        begin_write(&self.db, &self.path, durability)
    }

    /// Deletes every tweet and the meta (a rebuild starts from nothing).
    pub fn clear(&self) -> Result<(), StoreError> {
        let path = &*self.path;
        let e = |what| StoreError::redb(path, what);
        let tx = self.begin_write(Durability::None)?;
        tx.delete_table(TWEETS)
            .map_err(|x| e("delete tweets")(x.into()))?;
        tx.delete_table(META)
            .map_err(|x| e("delete meta")(x.into()))?;
        tx.commit().map_err(|x| e("commit")(x.into()))
    }

    /// One author's tweets in `range` of slots below `limit`, in key order
    /// both ways: those in the file, and those pending (in key order).
    pub fn range(
        &self,
        author: usize,
        lower: Bound<Key>,
        upper: Bound<Key>,
        limit: u64,
    ) -> (DiskRange, Vec<(TweetKey, String)>) {
        let path = Arc::clone(&self.path);
        // Held until both are read: a write that commits rows empties
        // `pending` under it (see `Disk::pending`).
        let pending = self.lock_pending();
        let inner = (|| {
            let tx = self.db.begin_read().map_err(redb::Error::from)?;
            let table = tx.open_table(TWEETS).map_err(redb::Error::from)?;
            table.range_owned((lower, upper)).map_err(redb::Error::from)
        })();
        let inner = match inner {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(file = %path.display(), "cannot read the tweets of author {author}: {e}");
                None
            }
        };
        let held = pending
            .rows
            .range((lower, upper))
            .filter(|(k, _)| k.3 < limit)
            .filter_map(|(k, t)| Some((tweet_key(&path, k)?, t.clone())))
            .collect();
        (DiskRange { inner, limit, path }, held)
    }
}

/// The JSON of `meta` and of `users`, as the table `meta` holds them.
fn encode_meta(
    path: &Path,
    meta: &MetaRef<'_>,
    users: &[String],
) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    let meta = serde_json::to_vec(meta)
        .map_err(|x| StoreError::inconsistent(path, format!("cannot encode meta: {x}")))?;
    let users = serde_json::to_vec(users)
        .map_err(|x| StoreError::inconsistent(path, format!("cannot encode users: {x}")))?;
    Ok((meta, users))
}

/// The timeline key of a stored key, `None` (logged) for a time that
/// cannot be.
fn tweet_key(path: &Path, k: &Key) -> Option<TweetKey> {
    let &(_, secs, nanos, slot, index) = k;
    let Some(time) = DateTime::<Utc>::from_timestamp(secs, nanos) else {
        tracing::warn!(file = %path.display(), "a tweet at slot {slot} has no valid time ({secs} s, {nanos} ns)");
        return None;
    };
    Some(TweetKey { time, slot, index })
}

/// A write transaction on `db` (the file at `path`) with `durability`.
fn begin_write(
    db: &Database,
    path: &Path,
    durability: Durability,
) -> Result<WriteTransaction, StoreError> {
    let e = |what| StoreError::redb(path, what);
    let mut tx = db.begin_write().map_err(|x| e("begin write")(x.into()))?;
    tx.set_durability(durability)
        .map_err(|x| e("set durability")(x.into()))?;
    Ok(tx)
}

/// Makes what a writer applied durable; can be moved to another thread.
#[derive(Clone)]
pub struct Durable {
    db: Arc<Database>,
    path: Arc<Path>,
}

impl fmt::Debug for Durable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Durable({})", self.path.display())
    }
}

impl Durable {
    /// One durable commit: everything committed before it survives a crash.
    /// Its cost follows the pages written since the last durable commit.
    pub fn commit(&self) -> Result<(), StoreError> {
        let path = &*self.path;
        let e = |what| StoreError::redb(path, what);
        let mut tx = begin_write(&self.db, path, Durability::Immediate)?;
        // Keeps redb's allocator state in the file: opening after a crash
        // then loads it instead of walking every page (start-up would grow
        // with the history).
        tx.set_quick_repair(true);
        tx.commit().map_err(|x| e("durable commit")(x.into()))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

type Owned = redb::OwnedRange<Key, &'static str>;

/// One author's tweets from disk, owned, skipping slots at or above the
/// reader's `next_slot`. A read error ends the walk (logged).
pub(super) struct DiskRange {
    inner: Option<Owned>,
    limit: u64,
    path: Arc<Path>,
}

impl fmt::Debug for DiskRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DiskRange({}, < {})", self.path.display(), self.limit)
    }
}

impl DiskRange {
    pub fn next(&mut self, back: bool) -> Option<(TweetKey, String)> {
        loop {
            let inner = self.inner.as_mut()?;
            let item = if back {
                inner.next_back()
            } else {
                inner.next()
            }?;
            let (k, v) = match item {
                Ok(kv) => kv,
                Err(e) => {
                    tracing::warn!(file = %self.path.display(), "cannot read a tweet: {e}");
                    self.inner = None;
                    return None;
                }
            };
            let key = k.value();
            if key.3 >= self.limit {
                // Applied by the writer, not yet by this view.
                continue;
            }
            let Some(key) = tweet_key(&self.path, &key) else {
                continue;
            };
            return Some((key, v.value().to_string()));
        }
    }
}

/// The key of `key` by `author`.
pub(super) fn key(author: usize, key: &TweetKey) -> Key {
    (
        author as u32,
        key.time.timestamp(),
        key.time.timestamp_subsec_nanos(),
        key.slot,
        key.index,
    )
}

/// The lowest and highest keys of `author`.
pub(super) fn author_bounds(author: usize) -> (Key, Key) {
    (
        (author as u32, i64::MIN, 0, 0, 0),
        (author as u32, i64::MAX, u32::MAX, u64::MAX, u32::MAX),
    )
}

/// What [`open`] found.
pub(super) struct Opened {
    pub disk: Disk,
    /// `None`: a new (or emptied) file, the state before slot 0.
    pub meta: Option<Meta>,
}

/// Opens `path` for `users` (creating it when absent) and reads only its
/// meta: its tweets stay on disk. Checks that the file holds up: its users
/// are the configured ones ([`StoreError::OtherUsers`] otherwise), the meta
/// decodes and fits them, and the per-author counts add up to the number
/// of tweets stored (redb keeps a table's length in its root: no walk).
pub(super) fn open(path: &Path, users: &[String]) -> Result<Opened, StoreError> {
    let db = open_db(path)?;
    let disk = Disk {
        db,
        path: Arc::from(path),
        writer: true,
        pending: Arc::default(),
    };
    let e = |what| StoreError::redb(path, what);
    // The tables exist from here on (a reader cannot create them).
    {
        let tx = disk
            .db
            .begin_write()
            .map_err(|x| e("begin write")(x.into()))?;
        tx.open_table(TWEETS)
            .map_err(|x| e("open tweets")(x.into()))?;
        tx.open_table(META).map_err(|x| e("open meta")(x.into()))?;
        tx.commit().map_err(|x| e("commit")(x.into()))?;
    }
    let tx = disk
        .db
        .begin_read()
        .map_err(|x| e("begin read")(x.into()))?;
    let meta_table = tx.open_table(META).map_err(|x| e("open meta")(x.into()))?;
    let tweets = tx
        .open_table(TWEETS)
        .map_err(|x| e("open tweets")(x.into()))?;
    let stored = tweets.len().map_err(|x| e("count tweets")(x.into()))?;
    let get = |name: &str| -> Result<Option<Vec<u8>>, StoreError> {
        Ok(meta_table
            .get(name)
            .map_err(|x| e("read meta")(x.into()))?
            .map(|g| g.value().to_vec()))
    };
    let (Some(users_bytes), Some(meta_bytes)) = (get("users")?, get("state")?) else {
        if stored != 0 {
            return Err(StoreError::inconsistent(
                path,
                format!("{stored} tweets but no meta"),
            ));
        }
        return Ok(Opened { disk, meta: None });
    };
    let file_users: Vec<String> = serde_json::from_slice(&users_bytes)
        .map_err(|x| StoreError::inconsistent(path, format!("the users do not decode: {x}")))?;
    if file_users != users {
        return Err(StoreError::OtherUsers {
            path: path.to_path_buf(),
            file: file_users,
            config: users.to_vec(),
        });
    }
    let meta: Meta = serde_json::from_slice(&meta_bytes)
        .map_err(|x| StoreError::inconsistent(path, format!("the meta does not decode: {x}")))?;
    check_meta(path, &meta, users.len(), stored)?;
    drop((tweets, meta_table, tx));
    Ok(Opened {
        disk,
        meta: Some(meta),
    })
}

/// Whether `meta` fits `n` users and the `stored` tweets (see [`open`]).
fn check_meta(path: &Path, meta: &Meta, n: usize, stored: u64) -> Result<(), StoreError> {
    if meta.counts.len() != n || meta.blocks.len() != n {
        return Err(StoreError::inconsistent(
            path,
            format!(
                "the meta has {} counts and {} block lists for {n} users",
                meta.counts.len(),
                meta.blocks.len()
            ),
        ));
    }
    if let Some((a, _)) = meta
        .blocks
        .iter()
        .enumerate()
        .find(|(a, set)| set.iter().any(|b| b >= &n || b == a))
    {
        return Err(StoreError::inconsistent(
            path,
            format!("the blocks of user {a} name an unknown user or the user itself"),
        ));
    }
    let counted: u64 = meta.counts.iter().sum();
    if counted != stored {
        return Err(StoreError::inconsistent(
            path,
            format!("the meta counts {counted} tweets, the file holds {stored}"),
        ));
    }
    Ok(())
}

/// Moves a file redb cannot open aside (`state.redb.broken`, kept for a
/// look) so that a new one can be made in its place.
pub(super) fn set_aside(path: &Path) -> std::io::Result<PathBuf> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".broken");
    let aside = PathBuf::from(aside);
    std::fs::rename(path, &aside)?;
    Ok(aside)
}
