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

/// What is wrong with the frame at some offset.
pub(crate) enum Problem {
    /// The frame extends past the end of the buffer.
    Incomplete(String),
    /// The frame is complete but its crc mismatches; `after` is the offset
    /// (relative to the frame start) of the byte after it.
    CrcMismatch { after: usize },
    /// Zero or more than [`MAX_PAYLOAD`] bytes (and complete).
    BadLength(usize),
}

impl Problem {
    /// What is wrong, in words.
    pub(crate) fn describe(&self) -> String {
        match self {
            Problem::Incomplete(reason) => reason.clone(),
            Problem::CrcMismatch { .. } => "record checksum does not match its content".to_string(),
            Problem::BadLength(len) => {
                format!("record header claims an impossible length of {len} bytes")
            }
        }
    }
}

/// The payload of the frame at the start of `rest`, if it is whole and sound.
pub(crate) fn frame_at(rest: &[u8]) -> Result<&[u8], Problem> {
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
        super::faults::check(dir, super::faults::Io::Sync)
            .and_then(|()| File::open(dir))
            .and_then(|d| d.sync_all())
            .at(dir)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
