//! The WAL's on-disk format: one batch per group commit, and the recovery
//! scan that tells a torn last batch from corruption.
//!
//! # A batch
//!
//! Every [`Store::append`](super::Store::append) writes exactly one batch,
//! with one write and one sync:
//!
//! ```text
//! [8 bytes  MAGIC = F8 F9 FA FB FC FD FE FF]
//! [u32 LE   crc32 of the payload]
//! [u32 LE   payload length, at most MAX_BATCH (256 MiB)]
//! [u32 LE   crc32 of the 16 header bytes before it]
//! [payload: record frames [u32 LE len][u32 LE crc32][JSON of a Record], ...]
//! ```
//!
//! The first four magic bytes read as a little-endian u32 are 0xFBFAF9F8,
//! more than the 16 MiB a bare record frame may claim, so a segment of the
//! format before batches (bare record frames, "legacy") is still read: its
//! first frame says which format the segment holds, and one segment holds one
//! format (a store opened on a legacy newest segment trims it and appends
//! batches to a new segment).
//!
//! # Torn last batch or corruption
//!
//! A power loss during the write of a batch may persist any subset of its
//! 4 KiB pages ([`WAL_PAGE`]), in any order; the rest of them keep what the
//! preallocated space held: zeros. None of the batch's records were
//! acknowledged (the sync had not returned), so the whole batch is a torn
//! write to discard. Recovery of the newest segment applies the batches
//! whose header and payload checksums hold, up to the first one that does
//! not (offset `P`). Then:
//!
//! - only zeros from `P` on: the clean end of the segment;
//! - else, if **a batch follows**, i.e. at some offset `Q > P` there are the
//!   eight magic bytes and the header checksum over them matches:
//!   corruption ([`StorageError::Corrupt`] naming the file and `P`);
//! - else: a torn last batch, discarded (logged, the file cut to `P`).
//!
//! Why a torn batch can never pass for a following batch: call a byte
//! *high* when it is in `F8..=FF`. The magic is eight distinct high bytes.
//! Nothing else the writer puts in a segment holds eight high bytes in a
//! row: JSON is UTF-8, which never uses a high byte; a length (batch or
//! record) has a most significant byte of at most 0x10; so the longest run
//! of bytes that may be high outside a magic is seven (a payload crc and the
//! three low bytes of the batch length, or a header crc and the three low
//! bytes of a record length). As the magic's bytes are distinct, no shifted
//! copy of it overlaps itself either. A page that did not reach the disk
//! reads as zeros, which are not high, so losing pages only shortens runs.
//! Hence in a segment whose last write was torn, the magic occurs at batch
//! starts only, and there is none after `P`: a batch after `P` proves that
//! the bad one was not the last write. That covers a lost header page too
//! (zeros at `P`, then pages of the payload). The header's own crc catches a
//! header torn across a page boundary; the payload crc catches lost pages of
//! the payload, which are therefore never half applied.
//!
//! In an older segment (not the newest) any damage is corruption; zeros
//! alone after its batches are its preallocated end, left when a crash came
//! between the switch of appends to a newer segment and the trim of this one
//! (a checkpoint trims it off the site's loop, see `job.rs`: its batches
//! were all synced before the switch, so no torn write can be there). A
//! legacy newest segment keeps its old rule: an incomplete last frame, or a
//! final frame with a bad crc and only zeros after it, is a torn tail; other
//! damage is corruption.

use super::error::StorageError;
use super::frame::{self, frame_at, Problem, HEADER, MAX_PAYLOAD};
use crate::paxos::types::Record;
use serde::Serialize;
use std::path::Path;

/// The page size recovery assumes a crash may persist or lose on its own.
/// The format has no alignment (a batch may start anywhere); the tests and
/// the simulator use it to drop pages.
pub const WAL_PAGE: usize = 4096;

/// The start of every batch: eight distinct bytes that UTF-8 never uses.
pub(crate) const MAGIC: [u8; 8] = [0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF];

/// Bytes of a batch header.
pub(crate) const BATCH_HEADER: usize = 20;

/// The largest batch payload written or accepted. Its most significant
/// byte (0x10) is not high, which the argument above needs.
pub(crate) const MAX_BATCH: usize = 256 << 20;

/// What recovery keeps of a WAL segment.
#[derive(Clone, Debug, PartialEq)]
pub struct WalRecovery {
    /// The records of the whole, sound batches (or legacy frames), in order.
    pub records: Vec<Record>,
    /// The end of the last of them: the length to keep, where appends go on.
    pub good_end: u64,
    /// Why non-zero bytes after `good_end` were taken for a torn last write
    /// (`None`: only zeros follow, such as preallocated space).
    pub torn: Option<String>,
}

/// The bytes one group commit appends: one batch holding `records` (none
/// for an empty slice, which writes nothing).
pub fn encode_wal_batch(records: &[Record]) -> Result<Vec<u8>, StorageError> {
    encode_batch(records)
}

/// What recovery keeps of the newest WAL segment held in `buf` (its
/// preallocated zeros included), read from `path` (named in errors). See
/// the module documentation of `storage` for what is torn and what is
/// corrupt.
pub fn recover_wal_segment(buf: &[u8], path: &Path) -> Result<WalRecovery, StorageError> {
    scan_segment(buf, true, path).map(|s| s.recovery)
}

/// One batch holding the JSON of each item as a record frame.
pub(crate) fn encode_batch<T: Serialize>(items: &[T]) -> Result<Vec<u8>, StorageError> {
    encode_batch_of(items)
}

/// One batch holding the JSON of each item as a record frame, in order
/// (none when there are no items).
pub(crate) fn encode_batch_of<'a, T: Serialize + 'a>(
    items: impl IntoIterator<Item = &'a T>,
) -> Result<Vec<u8>, StorageError> {
    let mut buf = vec![0; BATCH_HEADER];
    for item in items {
        frame::encode_json(&mut buf, item, "WAL record")?;
    }
    if buf.len() == BATCH_HEADER {
        return Ok(Vec::new());
    }
    let len = buf.len() - BATCH_HEADER;
    if len > MAX_BATCH {
        return Err(StorageError::TooLarge {
            what: "WAL batch",
            len,
            max: MAX_BATCH,
        });
    }
    let crc = crc32fast::hash(&buf[BATCH_HEADER..]);
    buf[..8].copy_from_slice(&MAGIC);
    buf[8..12].copy_from_slice(&crc.to_le_bytes());
    // `len <= MAX_BATCH` fits in a u32.
    buf[12..16].copy_from_slice(&(len as u32).to_le_bytes());
    let header_crc = crc32fast::hash(&buf[..16]);
    buf[16..BATCH_HEADER].copy_from_slice(&header_crc.to_le_bytes());
    Ok(buf)
}

/// Which format a segment holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Batches,
    /// Bare record frames, written before batches existed.
    Legacy,
}

/// A segment read by [`scan_segment`].
pub(crate) struct Scanned {
    pub recovery: WalRecovery,
    /// The segment holds bare record frames (appends must not go there).
    pub legacy: bool,
}

/// Reads the segment held in `buf`. `newest`: it is the newest segment
/// (the one written when the site stopped), where a torn last write is cut
/// off; elsewhere any damage is corruption (zeros alone at the end are not
/// damage).
pub(crate) fn scan_segment(buf: &[u8], newest: bool, path: &Path) -> Result<Scanned, StorageError> {
    let mut records = Vec::new();
    let mut format = None;
    let mut pos = 0usize;
    let mut torn = None;
    while pos < buf.len() {
        match unit_at(&buf[pos..], format) {
            Ok((f, payload, len)) => {
                match f {
                    Format::Batches => {
                        decode_batch(payload, pos + BATCH_HEADER, path, &mut records)?
                    }
                    Format::Legacy => records.push(decode_record(payload, pos, path)?),
                }
                format = Some(f);
                pos += len;
            }
            Err(bad) => {
                let at = Failure { buf, pos, format };
                torn = at.judge(bad, newest, path)?;
                break;
            }
        }
    }
    Ok(Scanned {
        recovery: WalRecovery {
            records,
            good_end: pos as u64,
            torn,
        },
        legacy: format == Some(Format::Legacy),
    })
}

/// What is wrong with the unit (batch or legacy frame) at some offset.
enum Bad {
    /// It runs past the end of the file.
    Incomplete(String),
    /// It is whole but does not match its checksum; `after` is where it
    /// ends, relative to its start.
    Mismatch { reason: String, after: usize },
    /// Its start cannot be the start of a unit.
    Impossible(String),
}

impl Bad {
    fn reason(&self) -> &str {
        match self {
            Bad::Incomplete(r) | Bad::Mismatch { reason: r, .. } | Bad::Impossible(r) => r,
        }
    }
}

/// The format, payload and length of the unit at the start of `rest`, in a
/// segment of `format` (`None`: nothing read yet, either is welcome).
fn unit_at(rest: &[u8], format: Option<Format>) -> Result<(Format, &[u8], usize), Bad> {
    let legacy_looking = rest
        .first_chunk::<4>()
        .map(|b| u32::from_le_bytes(*b) as usize)
        .is_some_and(|len| (1..=MAX_PAYLOAD).contains(&len));
    match format {
        Some(Format::Legacy) if rest.starts_with(&MAGIC) => Err(Bad::Impossible(
            "a batch after bare record frames (one segment never holds both)".to_string(),
        )),
        Some(Format::Legacy) => legacy_at(rest),
        None if legacy_looking => legacy_at(rest),
        _ => batch_at(rest).map(|(payload, len)| (Format::Batches, payload, len)),
    }
}

fn legacy_at(rest: &[u8]) -> Result<(Format, &[u8], usize), Bad> {
    match frame_at(rest) {
        Ok(payload) => Ok((Format::Legacy, payload, HEADER + payload.len())),
        Err(p @ Problem::Incomplete(_)) => Err(Bad::Incomplete(p.describe())),
        Err(p @ Problem::CrcMismatch { after }) => Err(Bad::Mismatch {
            reason: p.describe(),
            after,
        }),
        Err(p @ Problem::BadLength(_)) => Err(Bad::Impossible(p.describe())),
    }
}

/// The payload and length of the batch at the start of `rest`.
fn batch_at(rest: &[u8]) -> Result<(&[u8], usize), Bad> {
    let n = rest.len().min(MAGIC.len());
    if rest[..n] != MAGIC[..n] {
        return Err(Bad::Impossible(format!(
            "no batch header where the next batch starts (found bytes {:02x?})",
            &rest[..n]
        )));
    }
    let Some(h) = rest.first_chunk::<BATCH_HEADER>() else {
        return Err(Bad::Incomplete(format!(
            "a batch header cut short after {} of {BATCH_HEADER} bytes",
            rest.len()
        )));
    };
    if !header_crc_ok(h) {
        return Err(Bad::Mismatch {
            reason: "the batch header's checksum does not match it".to_string(),
            after: BATCH_HEADER,
        });
    }
    let crc = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    let len = u32::from_le_bytes([h[12], h[13], h[14], h[15]]) as usize;
    if len > MAX_BATCH {
        return Err(Bad::Impossible(format!(
            "batch header claims an impossible length of {len} bytes"
        )));
    }
    let end = BATCH_HEADER + len;
    if end > rest.len() {
        return Err(Bad::Incomplete(format!(
            "a batch of {len} bytes cut short after {} bytes",
            rest.len() - BATCH_HEADER
        )));
    }
    let payload = &rest[BATCH_HEADER..end];
    if crc32fast::hash(payload) != crc {
        return Err(Bad::Mismatch {
            reason: "the batch's checksum does not match its content".to_string(),
            after: end,
        });
    }
    Ok((payload, end))
}

fn header_crc_ok(h: &[u8; BATCH_HEADER]) -> bool {
    let crc = u32::from_le_bytes([h[16], h[17], h[18], h[19]]);
    h[..8] == MAGIC && crc32fast::hash(&h[..16]) == crc
}

/// The offset of the first batch header (magic and a matching header crc)
/// at or after `from`.
pub(crate) fn next_batch_header(buf: &[u8], from: usize) -> Option<usize> {
    let mut q = from;
    while q + BATCH_HEADER <= buf.len() {
        q += buf[q..].iter().position(|&b| b == MAGIC[0])?;
        if let Some(h) = buf.get(q..).and_then(|r| r.first_chunk::<BATCH_HEADER>()) {
            if header_crc_ok(h) {
                return Some(q);
            }
        }
        q += 1;
    }
    None
}

/// The first unit that is not whole and sound, at `pos` in `buf`.
struct Failure<'a> {
    buf: &'a [u8],
    pos: usize,
    format: Option<Format>,
}

impl Failure<'_> {
    /// `Ok(None)`: the clean end of the segment; `Ok(Some(reason))`: a torn
    /// last write to discard; `Err`: corruption.
    fn judge(&self, bad: Bad, newest: bool, path: &Path) -> Result<Option<String>, StorageError> {
        let rest = &self.buf[self.pos..];
        let corrupt = |reason: String| StorageError::corrupt(path, Some(self.pos as u64), reason);
        // Zeros alone after the batches: the preallocated end. An older
        // segment has them too when a crash came after appends switched
        // to a newer one and before the checkpoint trimmed it (off the
        // loop: see `job.rs`); every batch it holds was synced before the
        // switch, so nothing else can follow them there.
        if rest.iter().all(|&b| b == 0) {
            return Ok(None);
        }
        let reason = bad.reason();
        if !newest {
            return Err(corrupt(format!(
                "{reason}, in a file that is not the newest one"
            )));
        }
        if let Some(q) = next_batch_header(self.buf, self.pos + 1) {
            return Err(corrupt(format!(
                "{reason}, and a whole batch header follows at byte {q} \
                 (so it is not a torn last write)"
            )));
        }
        let batch_rule = match self.format {
            Some(Format::Batches) => true,
            Some(Format::Legacy) => false,
            None => rest.iter().zip(MAGIC).all(|(&b, m)| b == m || b == 0),
        };
        if batch_rule {
            return Ok(Some(format!("the last batch is torn: {reason}")));
        }
        legacy_rule(bad, rest).map_err(corrupt)
    }
}

/// The rule for a segment of bare record frames: an incomplete last frame,
/// or a frame with a bad crc and only zeros after it, is a torn write.
fn legacy_rule(bad: Bad, rest: &[u8]) -> Result<Option<String>, String> {
    match bad {
        Bad::Incomplete(reason) => Ok(Some(reason)),
        Bad::Mismatch { reason, after } if rest[after..].iter().all(|&b| b == 0) => {
            Ok(Some(format!("the final record: {reason}")))
        }
        Bad::Mismatch { reason, .. } => Err(format!(
            "{reason}, and more data follows it (so it is not a torn write)"
        )),
        Bad::Impossible(reason) => Err(reason),
    }
}

/// Decodes the record frames of a batch whose checksum matched, found at
/// offset `at` of the file.
fn decode_batch(
    payload: &[u8],
    at: usize,
    path: &Path,
    out: &mut Vec<Record>,
) -> Result<(), StorageError> {
    let mut off = 0;
    while off < payload.len() {
        let frame = frame_at(&payload[off..]).map_err(|p| {
            StorageError::corrupt(
                path,
                Some((at + off) as u64),
                format!(
                    "a batch with a good checksum holds a bad record frame: {}",
                    p.describe()
                ),
            )
        })?;
        out.push(decode_record(frame, at + off, path)?);
        off += HEADER + frame.len();
    }
    Ok(())
}

fn decode_record(payload: &[u8], at: usize, path: &Path) -> Result<Record, StorageError> {
    serde_json::from_slice(payload).map_err(|e| {
        StorageError::corrupt(
            path,
            Some(at as u64),
            format!("record has a good checksum but is not a record: {e}"),
        )
    })
}
