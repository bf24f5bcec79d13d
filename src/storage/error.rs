//! What can go wrong with a data dir.

use crate::paxos::types::Slot;
use std::path::PathBuf;
use thiserror::Error;

/// An error of the storage layer. Every variant that concerns a file names it.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The operating system refused a read, write, sync, rename or delete.
    /// The OS error is in the message, not the error chain: printed with
    /// its chain (`{:#}`), it would show twice.
    #[error("I/O error on {}: {error}", .path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },

    /// Another process (or another `Store` in this one) holds the data dir.
    #[error(
        "data dir {} is in use by another tweettui process (two sites never share a data dir)",
        .path.display()
    )]
    Locked { path: PathBuf },

    /// A file holds data that a torn write cannot explain.
    #[error(
        "corrupt data in {}{}: {reason}; the site will not start on state it cannot trust. \
         Keep the data dir as it is, investigate this file, and restore the data dir from a \
         backup. Do not delete it to start over: a site with an empty data dir forgets its \
         promises, and may only rejoin as a learner that does not vote until that is safe \
         (SPEC section 6)",
        .path.display(),
        at_offset(.offset)
    )]
    Corrupt {
        path: PathBuf,
        /// The byte offset in the file where the bad data starts, when known.
        offset: Option<u64>,
        reason: String,
    },

    /// The data dir belongs to another site or another cluster (SPEC 6).
    #[error(
        "data dir {} belongs to {belongs_to}, but was started as {asked}; start it as the \
         site it belongs to, or give this site its own data dir (--data-dir)",
        .dir.display()
    )]
    NotYours {
        dir: PathBuf,
        belongs_to: String,
        asked: String,
    },

    /// [`Store::archive`](super::Store::archive) was called with a slot that
    /// is not the next one.
    #[error("slot {got} archived out of order: the archive holds slots 0..{expected}")]
    ArchiveOutOfOrder { expected: Slot, got: Slot },

    /// [`Store::checkpoint`](super::Store::checkpoint) was called for slots
    /// the archive does not hold yet.
    #[error("checkpoint of {applied} applied slots refused: the archive holds only {archived}")]
    CheckpointAhead { applied: Slot, archived: Slot },

    /// [`Store::install_spare`](super::Store::install_spare) was handed a
    /// segment that does not follow the one appends go to (a program error).
    #[error("spare WAL segment {got} refused: the next segment is {expected}")]
    WrongSpare { expected: u64, got: u64 },

    /// A record or archive entry would be larger than the readers accept.
    #[error("{what} of {len} bytes is larger than the limit of {max} bytes")]
    TooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },

    /// A value could not be turned into JSON.
    #[error("cannot encode {what} as JSON: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },

    /// An earlier write or sync failed, so what is on disk is unknown (after
    /// a failed fsync the kernel may have dropped the data and a retry would
    /// falsely succeed). The store refuses further writes; reopening it
    /// recovers from what is durable.
    #[error(
        "an earlier write in data dir {} failed, so the store refuses further writes; \
         restart the site to recover from what is on disk",
        .path.display()
    )]
    Failed { path: PathBuf },
}

fn at_offset(offset: &Option<u64>) -> String {
    match offset {
        Some(o) => format!(" at byte {o}"),
        None => String::new(),
    }
}

impl StorageError {
    /// A write, sync or read the operating system refused (a full or
    /// failing disk), as opposed to data that cannot be trusted or a
    /// program error: the disk may work again.
    pub fn is_disk_failure(&self) -> bool {
        matches!(self, StorageError::Io { .. } | StorageError::Failed { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        StorageError::Io {
            path: path.into(),
            error,
        }
    }

    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        offset: Option<u64>,
        reason: impl Into<String>,
    ) -> Self {
        StorageError::Corrupt {
            path: path.into(),
            offset,
            reason: reason.into(),
        }
    }
}

/// Attaches a path to an I/O result.
pub(crate) trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T, StorageError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T, StorageError> {
        self.map_err(|e| StorageError::io(path, e))
    }
}
