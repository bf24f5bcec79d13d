//! Record framing shared by the WAL and the archive, and the few file-system
//! helpers both need.
//!
//! A frame is `[u32 LE payload length][u32 LE crc32 of the payload][payload]`.

use super::error::StorageError;
use serde::Serialize;
use std::fs::File;
use std::io;
use std::path::Path;

/// Bytes of a frame header.
pub(crate) const HEADER: usize = 8;

/// The largest payload written or accepted. A header that claims more is
/// corrupt or torn, never a reason to allocate gigabytes.
pub(crate) const MAX_PAYLOAD: usize = 16 << 20;

/// Appends one frame holding the JSON of `value` to `buf`.
pub(crate) fn encode_json<T: Serialize + ?Sized>(
    buf: &mut Vec<u8>,
    value: &T,
    what: &'static str,
) -> Result<(), StorageError> {
    let start = buf.len();
    buf.extend_from_slice(&[0; HEADER]);
    if let Err(source) = serde_json::to_writer(&mut *buf, value) {
        buf.truncate(start);
        return Err(StorageError::Encode { what, source });
    }
    let len = buf.len() - start - HEADER;
    if len > MAX_PAYLOAD {
        buf.truncate(start);
        return Err(StorageError::TooLarge {
            what,
            len,
            max: MAX_PAYLOAD,
        });
    }
    let crc = crc32fast::hash(&buf[start + HEADER..]);
    // `len <= MAX_PAYLOAD` fits in a u32.
    buf[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
    buf[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Splits a frame header into (payload length, crc).
pub(crate) fn parse_header(h: &[u8; HEADER]) -> (usize, u32) {
    let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    (len as usize, crc)
}

/// How a scan of a log buffer ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ScanEnd {
    /// The end of the last good frame: the length to keep.
    pub good_end: u64,
    /// Why the bytes after `good_end` were taken for a torn write, if any.
    pub torn: Option<String>,
    /// The bytes after `good_end` are all zeros (none, or a zero-filled
    /// tail such as preallocated space).
    pub zero_tail: bool,
}

/// Walks the frames of a whole log file held in `buf`, handing each payload
/// (with its offset) to `each`, which decodes it (a decoding error is
/// corruption: the crc matched, so these are the bytes that were written).
///
/// When `last` is true (the file is the newest one, written when the site
/// last stopped), an incomplete frame at the end, a final frame whose crc
/// mismatches and after which only zero bytes follow, or a tail of zero
/// bytes, is a torn write: the scan stops there and reports it. Anything
/// else that is wrong is [`StorageError::Corrupt`].
pub(crate) fn scan(
    buf: &[u8],
    last: bool,
    path: &Path,
    mut each: impl FnMut(u64, &[u8]) -> Result<(), StorageError>,
) -> Result<ScanEnd, StorageError> {
    let mut pos = 0usize;
    while pos < buf.len() {
        let rest = &buf[pos..];
        let problem = match frame_at(rest) {
            Ok(payload) => {
                each(pos as u64, payload)?;
                pos += HEADER + payload.len();
                continue;
            }
            Err(p) => p,
        };
        let zero_tail = rest.iter().all(|&b| b == 0);
        let (torn_shape, reason) = if zero_tail {
            (
                true,
                format!("{} zero bytes at the end of the file", rest.len()),
            )
        } else {
            match problem {
                Problem::Incomplete(reason) => (true, reason),
                Problem::CrcMismatch { after } => {
                    if rest[after..].iter().all(|&b| b == 0) {
                        (
                            true,
                            "the final record's checksum does not match its content".to_string(),
                        )
                    } else {
                        (
                            false,
                            "record checksum does not match its content, and more data \
                             follows it (so it is not a torn write)"
                                .to_string(),
                        )
                    }
                }
                Problem::BadLength(len) => (
                    false,
                    format!("record header claims an impossible length of {len} bytes"),
                ),
            }
        };
        return if torn_shape && last {
            Ok(ScanEnd {
                good_end: pos as u64,
                torn: Some(reason),
                zero_tail,
            })
        } else if torn_shape {
            Err(StorageError::corrupt(
                path,
                Some(pos as u64),
                format!("{reason}, in a file that is not the newest one"),
            ))
        } else {
            Err(StorageError::corrupt(path, Some(pos as u64), reason))
        };
    }
    Ok(ScanEnd {
        good_end: pos as u64,
        torn: None,
        zero_tail: true,
    })
}

enum Problem {
    /// The frame extends past the end of the buffer.
    Incomplete(String),
    /// The frame is complete but its crc mismatches; `after` is the offset
    /// (relative to the frame start) of the byte after it.
    CrcMismatch { after: usize },
    /// Zero or more than [`MAX_PAYLOAD`] bytes (and complete).
    BadLength(usize),
}

/// The payload of the frame at the start of `rest`, if it is whole and sound.
fn frame_at(rest: &[u8]) -> Result<&[u8], Problem> {
    let Some(header) = rest.first_chunk::<HEADER>() else {
        return Err(Problem::Incomplete(format!(
            "a record header cut short after {} of {HEADER} bytes",
            rest.len()
        )));
    };
    let (len, crc) = parse_header(header);
    let end = HEADER.saturating_add(len);
    if end > rest.len() {
        return Err(Problem::Incomplete(format!(
            "a record of {len} bytes cut short after {} bytes",
            rest.len() - HEADER
        )));
    }
    if len == 0 || len > MAX_PAYLOAD {
        return Err(Problem::BadLength(len));
    }
    let payload = &rest[HEADER..end];
    if crc32fast::hash(payload) != crc {
        return Err(Problem::CrcMismatch { after: end });
    }
    Ok(payload)
}

/// Reads exactly `buf.len()` bytes at `offset` without moving any shared
/// cursor (so it works through `&File`).
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0usize;
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_read(
                file,
                &mut buf[done..],
                offset + done as u64,
            )?;
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
            }
            done += n;
        }
        Ok(())
    }
    #[cfg(not(any(unix, windows)))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = file;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}

/// Makes the entries of directory `dir` (files created, renamed, removed)
/// durable. On Windows there is no such call and NTFS journals metadata.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    #[cfg(unix)]
    {
        use super::error::IoContext;
        File::open(dir).and_then(|d| d.sync_all()).at(dir)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(payloads: &[&str]) -> Vec<u8> {
        let mut buf = Vec::new();
        for p in payloads {
            encode_json(&mut buf, p, "test").unwrap();
        }
        buf
    }

    fn collect(buf: &[u8], last: bool) -> Result<(Vec<String>, ScanEnd), StorageError> {
        let mut out = Vec::new();
        let end = scan(buf, last, Path::new("x.wal"), |_, p| {
            out.push(serde_json::from_slice(p).unwrap());
            Ok(())
        })?;
        Ok((out, end))
    }

    #[test]
    fn frames_round_trip() {
        let buf = frames(&["a", "bc", "def"]);
        let (out, end) = collect(&buf, false).unwrap();
        assert_eq!(out, ["a", "bc", "def"]);
        assert_eq!(end.good_end, buf.len() as u64);
        assert_eq!(end.torn, None);
    }

    #[test]
    fn torn_shapes_only_in_the_last_file() {
        let good = frames(&["a", "bc"]);
        let mut cut = frames(&["a", "bc", "def"]);
        cut.pop();
        let (out, end) = collect(&cut, true).unwrap();
        assert_eq!(out, ["a", "bc"]);
        assert_eq!(end.good_end, good.len() as u64);
        assert!(end.torn.is_some());
        let err = collect(&cut, false).unwrap_err();
        assert!(
            matches!(err, StorageError::Corrupt { offset: Some(o), .. } if o == good.len() as u64)
        );
    }

    #[test]
    fn zero_length_header_followed_by_data_is_corrupt() {
        let mut buf = frames(&["a"]);
        buf.extend_from_slice(&[0; HEADER]);
        buf.extend_from_slice(&frames(&["b"]));
        assert!(collect(&buf, true).is_err());
    }
}
