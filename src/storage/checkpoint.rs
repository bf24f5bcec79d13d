//! `checkpoint.json`: the latest checkpoint, replaced atomically.
//!
//! The file is one header line `crc32 <8 hex digits>` followed by the JSON
//! body; the crc covers every byte after the header line. The body is
//! `{"format":2,"applied":..,"wal_start":..,"acceptor":{..}}`: small, its
//! cost does not grow with the history. The derived state is in
//! `state.redb` (see `crate::state`), made durable before this file says
//! `applied`. Format 1 (older data dirs) also held the whole derived state
//! as `"state"`: it still loads, and its owner moves that state into
//! `state.redb` and rewrites the file as format 2.

use super::error::{IoContext, StorageError};
use super::faults::{self, Io};
use super::frame::sync_dir;
use crate::paxos::durable::AcceptorState;
use crate::paxos::types::Slot;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::Path;

pub(crate) const FILE: &str = "checkpoint.json";
pub(crate) const TMP: &str = "checkpoint.json.tmp";

/// The body format written.
const FORMAT: u32 = 2;

/// The format with the derived state inside, read for older data dirs.
const FORMAT_WITH_STATE: u32 = 1;

#[derive(Serialize)]
struct Out<'a, S> {
    format: u32,
    applied: Slot,
    wal_start: u64,
    acceptor: &'a AcceptorState,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a S>,
}

/// A checkpoint as loaded.
#[derive(Deserialize)]
pub(crate) struct Checkpoint<S> {
    format: u32,
    pub applied: Slot,
    pub wal_start: u64,
    pub acceptor: AcceptorState,
    /// Only in format 1.
    #[serde(default = "none")]
    pub state: Option<S>,
}

fn none<S>() -> Option<S> {
    None
}

/// The whole file content of a checkpoint: format 2, or format 1 when
/// `state` is given (only tests write that: older data dirs have it).
pub(crate) fn encode<S: Serialize>(
    applied: Slot,
    wal_start: u64,
    acceptor: &AcceptorState,
    state: Option<&S>,
) -> Result<Vec<u8>, StorageError> {
    let mut body = serde_json::to_vec(&Out {
        format: if state.is_some() {
            FORMAT_WITH_STATE
        } else {
            FORMAT
        },
        applied,
        wal_start,
        acceptor,
        state,
    })
    .map_err(|source| StorageError::Encode {
        what: "checkpoint",
        source,
    })?;
    body.push(b'\n');
    let mut file = format!("crc32 {:08x}\n", crc32fast::hash(&body)).into_bytes();
    file.extend_from_slice(&body);
    Ok(file)
}

/// Replaces `dir/checkpoint.json` with `content` so that a crash leaves
/// either the old or the new file, never a mix.
pub(crate) fn write_atomic(dir: &Path, content: &[u8]) -> Result<(), StorageError> {
    let tmp = dir.join(TMP);
    let path = dir.join(FILE);
    let mut f = File::create(&tmp).at(&tmp)?;
    faults::check(&tmp, Io::Write)
        .and_then(|()| f.write_all(content))
        .at(&tmp)?;
    faults::check(&tmp, Io::Sync)
        .and_then(|()| f.sync_all())
        .at(&tmp)?;
    drop(f);
    fs::rename(&tmp, &path).at(&path)?;
    sync_dir(dir)
}

/// Loads `dir/checkpoint.json`, or `None` when there is none.
pub(crate) fn load<S: DeserializeOwned>(dir: &Path) -> Result<Option<Checkpoint<S>>, StorageError> {
    let path = dir.join(FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io(&path, e)),
    };
    decode(&bytes, &path).map(Some)
}

/// Decodes the content of a checkpoint file read from `path` (named in
/// errors): any damage is [`StorageError::Corrupt`].
pub(crate) fn decode<S: DeserializeOwned>(
    bytes: &[u8],
    path: &Path,
) -> Result<Checkpoint<S>, StorageError> {
    let corrupt = |reason: String| StorageError::corrupt(path, None, reason);
    let Some(nl) = bytes.iter().position(|&b| b == b'\n') else {
        return Err(corrupt("no `crc32` header line".into()));
    };
    let (header, body) = (&bytes[..nl], &bytes[nl + 1..]);
    let expected = std::str::from_utf8(header)
        .ok()
        .and_then(|h| h.strip_prefix("crc32 "))
        .and_then(|hex| u32::from_str_radix(hex.trim(), 16).ok())
        .ok_or_else(|| corrupt("the first line is not `crc32 <hex>`".into()))?;
    let actual = crc32fast::hash(body);
    if actual != expected {
        return Err(corrupt(format!(
            "checksum mismatch: the header says {expected:08x}, the content has {actual:08x}"
        )));
    }
    let ckpt: Checkpoint<S> = serde_json::from_slice(body).map_err(|e| {
        corrupt(format!(
            "the checksum matches but the content is not a checkpoint: {e}"
        ))
    })?;
    match (ckpt.format, ckpt.state.is_some()) {
        (FORMAT, false) | (FORMAT_WITH_STATE, true) => Ok(ckpt),
        (FORMAT, true) => Err(corrupt(format!(
            "checkpoint format {FORMAT} holds no state, but this one has one"
        ))),
        (FORMAT_WITH_STATE, false) => Err(corrupt(format!(
            "checkpoint format {FORMAT_WITH_STATE} holds the state, but this one has none"
        ))),
        (other, _) => Err(corrupt(format!(
            "checkpoint format {other} is not known to this version of tweettui \
             (it knows {FORMAT_WITH_STATE} and {FORMAT})"
        ))),
    }
}
