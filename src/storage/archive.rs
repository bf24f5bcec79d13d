//! `archive.log` + `archive.idx`: the decided log in slot order.
//!
//! `archive.log` holds one frame per slot (payload: the JSON of a
//! [`DecidedEntry`]); `archive.idx` one u64 LE offset into `archive.log` per
//! slot, so slot `s` is found at byte `8 * s` of the index. Appends are not
//! synced one by one: the archive only has to be durable up to a checkpoint
//! (it is synced before one is written). Later slots are kept at start-up as
//! far as their entries are whole (see [`Archive::open`]); those a power
//! loss took are in the WAL, or learned again from the peers, and archived
//! again.

use super::error::{IoContext, StorageError};
use super::faults::{self, Io};
use super::frame::{self, read_exact_at, HEADER, MAX_PAYLOAD};
use crate::paxos::types::{DecidedEntry, Slot};
use crate::state::op::Value;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

pub(crate) const LOG: &str = "archive.log";
pub(crate) const IDX: &str = "archive.idx";

/// Serialises like [`DecidedEntry`] without cloning the value.
#[derive(Serialize)]
struct EntryRef<'a> {
    slot: Slot,
    value: &'a Value,
}

pub(crate) struct Archive {
    log_path: PathBuf,
    idx_path: PathBuf,
    /// Opened for reading and appending.
    log: File,
    idx: File,
    /// The end of `archive.log` (where the next entry goes).
    log_len: u64,
    /// Slots held: `0..len`.
    len: Slot,
}

impl Archive {
    /// Opens the archive of `dir`, which must hold at least `applied` slots.
    /// Entries after them (appended since the checkpoint, not synced) are
    /// kept as far as they are whole and in order, and returned: each is a
    /// value decided for its slot (an entry is only written once its slot
    /// is decided, and agreement makes that value the only one), which a
    /// crash of the process keeps in the page cache even when the site's
    /// own record of the decision had not reached its WAL yet (SPEC 4). The
    /// first entry that is torn, lost, out of place or damaged ends them
    /// (a power loss may persist any subset of unsynced pages), and the
    /// files are cut there.
    pub(crate) fn open(
        dir: &Path,
        applied: Slot,
    ) -> Result<(Archive, Vec<DecidedEntry>), StorageError> {
        let log_path = dir.join(LOG);
        let idx_path = dir.join(IDX);
        let (keep_log, keep_idx) = if applied == 0 {
            (0, 0)
        } else {
            check_holds(&log_path, &idx_path, applied)?
        };
        let tail = sound_tail(&log_path, &idx_path, applied, keep_log)?;
        let keep_log = tail.last().map_or(keep_log, |t| t.end);
        let keep_idx = keep_idx + 8 * tail.len() as u64;
        truncate_or_create(&log_path, keep_log)?;
        truncate_or_create(&idx_path, keep_idx)?;
        let open = |p: &Path| OpenOptions::new().read(true).append(true).open(p).at(p);
        let len = applied + tail.len() as u64;
        let archive = Archive {
            log: open(&log_path)?,
            idx: open(&idx_path)?,
            log_path,
            idx_path,
            log_len: keep_log,
            len,
        };
        Ok((archive, tail.into_iter().map(|t| t.entry).collect()))
    }

    pub(crate) fn len(&self) -> Slot {
        self.len
    }

    /// Appends `slot`, which must be the next one (not synced). A slot
    /// already held is left as it is: its value was decided, so it is the
    /// same (start-up hands on again the slots kept after the checkpoint).
    pub(crate) fn append(&mut self, slot: Slot, value: &Value) -> Result<(), StorageError> {
        if slot < self.len {
            return Ok(());
        }
        if slot != self.len {
            return Err(StorageError::ArchiveOutOfOrder {
                expected: self.len,
                got: slot,
            });
        }
        let mut buf = Vec::new();
        frame::encode_json(&mut buf, &EntryRef { slot, value }, "decided entry")?;
        faults::check(&self.log_path, Io::Write)
            .and_then(|()| self.log.write_all(&buf))
            .at(&self.log_path)?;
        self.idx
            .write_all(&self.log_len.to_le_bytes())
            .at(&self.idx_path)?;
        self.log_len += buf.len() as u64;
        self.len += 1;
        Ok(())
    }

    /// Appends consecutive slots, the first of which must be the next one
    /// (not synced): [`Archive::append`] for each, with one write to each
    /// file for the whole run (two syscalls per decided batch instead of two
    /// per slot). A failure leaves a prefix of the run written, as a failure
    /// in the middle of `append`s would (the store then refuses writes, and
    /// `open` keeps the whole entries of it).
    pub(crate) fn append_all(&mut self, entries: &[(Slot, Value)]) -> Result<(), StorageError> {
        // Slots already held are left as they are (see `append`).
        let held = entries.iter().take_while(|(s, _)| *s < self.len).count();
        let entries = &entries[held..];
        let mut log = Vec::new();
        let mut idx = Vec::with_capacity(8 * entries.len());
        let mut next = self.len;
        for (slot, value) in entries {
            if *slot != next {
                return Err(StorageError::ArchiveOutOfOrder {
                    expected: next,
                    got: *slot,
                });
            }
            let offset = self.log_len + log.len() as u64;
            frame::encode_json(&mut log, &EntryRef { slot: *slot, value }, "decided entry")?;
            idx.extend_from_slice(&offset.to_le_bytes());
            next += 1;
        }
        if entries.is_empty() {
            return Ok(());
        }
        faults::check(&self.log_path, Io::Write)
            .and_then(|()| self.log.write_all(&log))
            .at(&self.log_path)?;
        self.idx.write_all(&idx).at(&self.idx_path)?;
        self.log_len += log.len() as u64;
        self.len = next;
        Ok(())
    }

    /// A handle that syncs the archive from another thread (a checkpoint's
    /// background part) while this one goes on appending: an fsync makes
    /// every byte written before it durable, those of later appends too.
    pub(crate) fn syncer(&self) -> Result<ArchiveSyncer, StorageError> {
        Ok(ArchiveSyncer {
            log: self.log.try_clone().at(&self.log_path)?,
            idx: self.idx.try_clone().at(&self.idx_path)?,
            log_path: self.log_path.clone(),
            idx_path: self.idx_path.clone(),
        })
    }

    /// Consecutive entries from `from`, below `to`, until their payloads
    /// would exceed `max_bytes` (at least one when `from < len`).
    pub(crate) fn read(
        &self,
        from: Slot,
        to: Slot,
        max_bytes: usize,
    ) -> Result<Vec<DecidedEntry>, StorageError> {
        let files = Files {
            log: &self.log,
            log_path: &self.log_path,
            idx: &self.idx,
            idx_path: &self.idx_path,
        };
        files.read(self.len, self.log_len, from..to, max_bytes)
    }

    /// A read-only handle on the archive, for readers that must not wait
    /// for (nor hold up) the store's owner.
    pub(crate) fn reader(&self) -> Result<ArchiveReader, StorageError> {
        Ok(ArchiveReader {
            log: File::open(&self.log_path).at(&self.log_path)?,
            idx: File::open(&self.idx_path).at(&self.idx_path)?,
            log_path: self.log_path.clone(),
            idx_path: self.idx_path.clone(),
        })
    }
}

/// Syncs an archive: see [`Archive::syncer`].
pub(crate) struct ArchiveSyncer {
    log: File,
    idx: File,
    log_path: PathBuf,
    idx_path: PathBuf,
}

impl ArchiveSyncer {
    /// Makes every entry appended so far durable.
    pub(crate) fn sync(&self) -> Result<(), StorageError> {
        faults::check(&self.log_path, Io::Sync)
            .and_then(|()| self.log.sync_data())
            .at(&self.log_path)?;
        self.idx.sync_data().at(&self.idx_path)
    }
}

/// A read-only handle on a site's archive (see
/// [`Store::archive_reader`](super::Store::archive_reader)). Reads go on
/// while the store appends: an archived entry never changes, and a slot is
/// in the index only once its entry is written.
#[derive(Debug)]
pub struct ArchiveReader {
    log_path: PathBuf,
    idx_path: PathBuf,
    log: File,
    idx: File,
}

impl ArchiveReader {
    /// Like [`Store::read_decided`](super::Store::read_decided): consecutive
    /// archived entries from `from` on, below `to`, stopping before their
    /// JSON payloads would exceed `max_bytes` (at least one entry when
    /// `from` is archived). Slots archived after this call starts may be
    /// left out.
    pub fn read_decided(
        &self,
        from: Slot,
        to: Slot,
        max_bytes: usize,
    ) -> Result<Vec<DecidedEntry>, StorageError> {
        // The index first: every slot it holds has its whole entry in the
        // log by then (the log is written before the index).
        let idx_len = self.idx.metadata().at(&self.idx_path)?.len();
        let log_len = self.log.metadata().at(&self.log_path)?.len();
        let files = Files {
            log: &self.log,
            log_path: &self.log_path,
            idx: &self.idx,
            idx_path: &self.idx_path,
        };
        files.read(idx_len / 8, log_len, from..to, max_bytes)
    }
}

/// The two files of an archive, however they were opened.
struct Files<'a> {
    log: &'a File,
    log_path: &'a Path,
    idx: &'a File,
    idx_path: &'a Path,
}

impl Files<'_> {
    /// Entries of `range` (cut to the `len` slots held, in a log of
    /// `log_len` bytes) until their payloads would exceed `max_bytes`.
    fn read(
        &self,
        len: Slot,
        log_len: u64,
        range: std::ops::Range<Slot>,
        max_bytes: usize,
    ) -> Result<Vec<DecidedEntry>, StorageError> {
        let (from, to) = (range.start, range.end.min(len));
        if from >= to {
            return Ok(Vec::new());
        }
        let mut off = read_offset(self.idx, self.idx_path, from)?;
        let mut out = Vec::new();
        let mut total = 0usize;
        for slot in from..to {
            let (len, crc) = read_header(self.log, self.log_path, off, log_len)?;
            if !out.is_empty() && total.saturating_add(len) > max_bytes {
                break;
            }
            let entry = read_entry(self.log, self.log_path, off, len, crc, slot)?;
            total += len;
            out.push(entry);
            off += (HEADER + len) as u64;
        }
        Ok(out)
    }
}

/// Checks that the archive holds slots `0..applied` and returns the lengths
/// of `archive.log` and `archive.idx` that hold exactly those.
fn check_holds(
    log_path: &Path,
    idx_path: &Path,
    applied: Slot,
) -> Result<(u64, u64), StorageError> {
    let idx = open_existing(idx_path, applied)?;
    let log = open_existing(log_path, applied)?;
    let idx_len = idx.metadata().at(idx_path)?.len();
    let keep_idx = applied.checked_mul(8).ok_or_else(|| {
        StorageError::corrupt(idx_path, None, format!("impossible slot count {applied}"))
    })?;
    if idx_len < keep_idx {
        return Err(StorageError::corrupt(
            idx_path,
            Some(idx_len),
            format!(
                "the index holds {} slots, but checkpoint.json says slots 0..{applied} are archived",
                idx_len / 8
            ),
        ));
    }
    let last = applied - 1;
    let log_len = log.metadata().at(log_path)?.len();
    let off = read_offset(&idx, idx_path, last)?;
    let (len, crc) = read_header(&log, log_path, off, log_len).map_err(|e| match e {
        StorageError::Corrupt { offset, reason, .. } => StorageError::corrupt(
            log_path,
            offset,
            format!(
                "{reason} (checkpoint.json says slots 0..{applied} are archived, and the \
                 archive must hold slot {last})"
            ),
        ),
        other => other,
    })?;
    read_entry(&log, log_path, off, len, crc, last)?;
    Ok((off + (HEADER + len) as u64, keep_idx))
}

/// An entry of the archive's tail, and the end of its frame in the log.
struct TailEntry {
    entry: DecidedEntry,
    end: u64,
}

/// The whole entries from slot `from` on, whose frames follow each other
/// from `log_off` in `archive.log` as the index says (see
/// [`Archive::open`]); none when the files do not exist. Only a failure to
/// read is an error: damage ends the tail.
fn sound_tail(
    log_path: &Path,
    idx_path: &Path,
    from: Slot,
    log_off: u64,
) -> Result<Vec<TailEntry>, StorageError> {
    let (log, idx) = match (File::open(log_path), File::open(idx_path)) {
        (Ok(log), Ok(idx)) => (log, idx),
        (Err(e), _) | (_, Err(e)) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        (Err(e), _) => return Err(StorageError::io(log_path, e)),
        (_, Err(e)) => return Err(StorageError::io(idx_path, e)),
    };
    let log_len = log.metadata().at(log_path)?.len();
    let held = idx.metadata().at(idx_path)?.len() / 8;
    let mut out = Vec::new();
    let mut off = log_off;
    for slot in from..held {
        // An index entry that does not point right after the previous
        // entry was torn (or is zeros that were never written).
        if read_offset(&idx, idx_path, slot)? != off {
            break;
        }
        let Ok((len, crc)) = read_header(&log, log_path, off, log_len) else {
            break;
        };
        let Ok(entry) = read_entry(&log, log_path, off, len, crc, slot) else {
            break;
        };
        off += (HEADER + len) as u64;
        out.push(TailEntry { entry, end: off });
    }
    Ok(out)
}

fn open_existing(path: &Path, applied: Slot) -> Result<File, StorageError> {
    File::open(path).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            StorageError::corrupt(
                path,
                None,
                format!(
                    "the file is missing, but checkpoint.json says slots 0..{applied} are archived"
                ),
            )
        } else {
            StorageError::io(path, e)
        }
    })
}

fn truncate_or_create(path: &Path, len: u64) -> Result<(), StorageError> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .at(path)?;
    if f.metadata().at(path)?.len() != len {
        f.set_len(len).at(path)?;
        f.sync_all().at(path)?;
    }
    Ok(())
}

/// The `archive.log` offset of `slot`, from the index.
fn read_offset(idx: &File, idx_path: &Path, slot: Slot) -> Result<u64, StorageError> {
    let at = slot.saturating_mul(8);
    let mut b = [0u8; 8];
    read_exact_at(idx, &mut b, at).map_err(|e| eof_is_corrupt(e, idx_path, at, "index entry"))?;
    Ok(u64::from_le_bytes(b))
}

fn read_header(
    log: &File,
    log_path: &Path,
    off: u64,
    log_len: u64,
) -> Result<(usize, u32), StorageError> {
    let mut h = [0u8; HEADER];
    read_exact_at(log, &mut h, off).map_err(|e| eof_is_corrupt(e, log_path, off, "entry"))?;
    let (len, crc) = frame::parse_header(&h);
    if len == 0 || len > MAX_PAYLOAD {
        return Err(StorageError::corrupt(
            log_path,
            Some(off),
            format!("entry header claims an impossible length of {len} bytes"),
        ));
    }
    if off + (HEADER + len) as u64 > log_len {
        return Err(StorageError::corrupt(
            log_path,
            Some(off),
            format!("entry of {len} bytes runs past the end of the file ({log_len} bytes)"),
        ));
    }
    Ok((len, crc))
}

fn read_entry(
    log: &File,
    log_path: &Path,
    off: u64,
    len: usize,
    crc: u32,
    slot: Slot,
) -> Result<DecidedEntry, StorageError> {
    let mut payload = vec![0u8; len];
    read_exact_at(log, &mut payload, off + HEADER as u64)
        .map_err(|e| eof_is_corrupt(e, log_path, off, "entry"))?;
    if crc32fast::hash(&payload) != crc {
        return Err(StorageError::corrupt(
            log_path,
            Some(off),
            format!("checksum of the entry for slot {slot} does not match its content"),
        ));
    }
    let entry: DecidedEntry = serde_json::from_slice(&payload).map_err(|e| {
        StorageError::corrupt(
            log_path,
            Some(off),
            format!("the entry for slot {slot} has a good checksum but is not an entry: {e}"),
        )
    })?;
    if entry.slot != slot {
        return Err(StorageError::corrupt(
            log_path,
            Some(off),
            format!(
                "found the entry of slot {} where slot {slot} belongs",
                entry.slot
            ),
        ));
    }
    Ok(entry)
}

fn eof_is_corrupt(e: std::io::Error, path: &Path, off: u64, what: &str) -> StorageError {
    if e.kind() == ErrorKind::UnexpectedEof {
        StorageError::corrupt(
            path,
            Some(off),
            format!("{what} cut short by the end of the file"),
        )
    } else {
        StorageError::io(path, e)
    }
}
