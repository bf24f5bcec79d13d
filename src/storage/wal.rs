//! The write-ahead log: `wal/<16-digit segment number>.wal`, each a sequence
//! of frames whose payload is the JSON of a [`Record`].

use super::error::{IoContext, StorageError};
use super::frame::{self, sync_dir};
use crate::paxos::durable::AcceptorState;
use crate::paxos::types::Record;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) const DIR: &str = "wal";

pub(crate) fn segment_path(wal_dir: &Path, n: u64) -> PathBuf {
    wal_dir.join(format!("{n:016}.wal"))
}

/// The segment numbers in `wal_dir`, ascending. Files that are not named
/// like a segment are left alone.
pub(crate) fn list_segments(wal_dir: &Path) -> Result<Vec<u64>, StorageError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(wal_dir).at(wal_dir)? {
        let entry = entry.at(wal_dir)?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".wal")) else {
            continue;
        };
        if stem.len() == 16 && stem.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = stem.parse() {
                out.push(n);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Replays segment `path` into `acceptor`. In the newest segment (`last`) a
/// torn tail is cut off (and logged); elsewhere anything wrong is corrupt.
pub(crate) fn replay_segment(
    path: &Path,
    last: bool,
    acceptor: &mut AcceptorState,
) -> Result<(), StorageError> {
    let buf = fs::read(path).at(path)?;
    let end = frame::scan(&buf, last, path, |off, payload| {
        let record: Record = serde_json::from_slice(payload).map_err(|e| {
            StorageError::corrupt(
                path,
                Some(off),
                format!("record has a good checksum but is not a record: {e}"),
            )
        })?;
        acceptor.apply(&record);
        Ok(())
    })?;
    if let Some(reason) = end.torn {
        tracing::warn!(
            file = %path.display(),
            offset = end.good_end,
            discarded = buf.len() as u64 - end.good_end,
            "torn write at the end of the WAL ({reason}); discarding it"
        );
        let f = OpenOptions::new().write(true).open(path).at(path)?;
        f.set_len(end.good_end).at(path)?;
        f.sync_all().at(path)?;
    }
    Ok(())
}

/// The segment appends go to.
pub(crate) struct Segment {
    pub number: u64,
    pub path: PathBuf,
    file: File,
}

impl Segment {
    /// Opens an existing segment for appending.
    pub(crate) fn open(wal_dir: &Path, number: u64) -> Result<Segment, StorageError> {
        let path = segment_path(wal_dir, number);
        let file = OpenOptions::new().append(true).open(&path).at(&path)?;
        Ok(Segment { number, path, file })
    }

    /// Creates a new, empty segment and makes its existence durable.
    pub(crate) fn create(wal_dir: &Path, number: u64) -> Result<Segment, StorageError> {
        let path = segment_path(wal_dir, number);
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .at(&path)?;
        file.sync_all().at(&path)?;
        sync_dir(wal_dir)?;
        Ok(Segment { number, path, file })
    }

    /// One write and one sync of `buf` (group commit).
    pub(crate) fn write_synced(&mut self, buf: &[u8]) -> Result<(), StorageError> {
        self.file.write_all(buf).at(&self.path)?;
        self.file.sync_data().at(&self.path)
    }
}
