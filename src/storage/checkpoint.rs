//! `checkpoint.json`: the latest checkpoint, replaced atomically.
//!
//! The file is one header line `crc32 <8 hex digits>` followed by the JSON
//! body; the crc covers every byte after the header line. The body is
//! `{"format":1,"applied":..,"wal_start":..,"acceptor":{..},"state":..}`.

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

/// The only body format written so far.
const FORMAT: u32 = 1;

#[derive(Serialize)]
struct Out<'a, S> {
    format: u32,
    applied: Slot,
    wal_start: u64,
    acceptor: &'a AcceptorState,
    state: &'a S,
}

/// A checkpoint as loaded.
#[derive(Deserialize)]
pub(crate) struct Checkpoint<S> {
    format: u32,
    pub applied: Slot,
    pub wal_start: u64,
    pub acceptor: AcceptorState,
    pub state: S,
}

/// The whole file content of a checkpoint.
pub(crate) fn encode<S: Serialize>(
    applied: Slot,
    wal_start: u64,
    acceptor: &AcceptorState,
    state: &S,
) -> Result<Vec<u8>, StorageError> {
    let mut body = serde_json::to_vec(&Out {
        format: FORMAT,
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
    if ckpt.format != FORMAT {
        return Err(corrupt(format!(
            "checkpoint format {} is not known to this version of tweettui (it knows {FORMAT})",
            ckpt.format
        )));
    }
    Ok(ckpt)
}
