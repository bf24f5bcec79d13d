//! A group commit torn page by page, bad batches before good ones, WALs of
//! the format before batches, and the property the torn-or-corrupt rule
//! rests on (no magic inside a batch).

use super::*;
use crate::storage::batch::{next_batch_header, BATCH_HEADER, MAGIC};
use std::sync::{Arc, Mutex};

/// Log lines written while `f` runs on this thread.
fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);
    impl Write for Logs {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
        type Writer = Logs;
        fn make_writer(&'a self) -> Logs {
            self.clone()
        }
    }
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    (out, text)
}

/// Records whose batch is at least `bytes` long, with texts in several
/// scripts (multi-byte UTF-8 included).
pub(super) fn big_records(bytes: usize) -> Vec<Record> {
    let mut out = Vec::new();
    let mut n = 0u64;
    while encode_wal_batch(&out).unwrap().len() < bytes {
        let text = format!("{n} héllo wörld ツイート 😀 ").repeat(12);
        out.push(Record::Accept {
            slot: 10 + n,
            ballot: Ballot::new(3, 0),
            value: value_text(n, text),
        });
        n += 1;
    }
    out
}

/// Appends committed batches to a new store in `dir` so that its WAL ends
/// exactly at `start`; returns their records.
pub(super) fn committed_up_to(dir: &Path, start: usize) -> Vec<Record> {
    let mut records = five_records()[..3].to_vec();
    let (mut s, _) = open(dir);
    s.append(&records).unwrap();
    let pad = |len: usize| Record::Decide {
        slot: 9,
        value: value_text(9, "p".repeat(len)),
    };
    let base = encode_wal_batch(&[pad(0)]).unwrap().len();
    let room = start - s.segment.len() as usize;
    s.append(&[pad(room - base)]).unwrap();
    records.push(pad(room - base));
    assert_eq!(s.segment.len() as usize, start);
    records
}

/// A batch written after committed data, and what a crash left of it.
struct Torn<'a> {
    /// The committed segment: it ends where the batch starts.
    prefix: &'a [u8],
    committed: &'a [Record],
    records: &'a [Record],
    batch: &'a [u8],
}

impl Torn<'_> {
    fn start(&self) -> usize {
        self.prefix.len()
    }

    /// The file pages the batch touches.
    fn pages(&self) -> std::ops::RangeInclusive<usize> {
        self.start() / WAL_PAGE..=(self.start() + self.batch.len() - 1) / WAL_PAGE
    }

    /// The newest segment as the disk holds it when the pages of the batch
    /// for which `lost` holds did not reach it (preallocated zeros after).
    fn image(&self, lost: impl Fn(usize) -> bool) -> Vec<u8> {
        let mut b = self.prefix.to_vec();
        b.extend_from_slice(self.batch);
        for (i, byte) in b.iter_mut().enumerate().skip(self.start()) {
            if lost(i / WAL_PAGE) {
                *byte = 0;
            }
        }
        b.resize(b.len() + 4 * WAL_PAGE, 0);
        b
    }

    /// Recovers `image` with the byte-level API and with the store in
    /// `dir`, then appends once more and reopens.
    fn check(&self, dir: &Path, image: &[u8]) {
        let start = self.start();
        let full = image[start..start + self.batch.len()] == *self.batch;
        let persisted = image[start..].iter().any(|&b| b != 0);
        let mut expected = self.committed.to_vec();
        let mut end = start;
        if full {
            expected.extend_from_slice(self.records);
            end += self.batch.len();
        }
        let what = format!("{}", dir.display());
        let r = recover_wal_segment(image, &seg(dir, 0)).expect(&what);
        assert_eq!(r.records, expected, "{what}");
        assert_eq!(r.good_end, end as u64, "{what}");
        assert_eq!(r.torn.is_some(), !full && persisted, "{what}: {:?}", r.torn);

        fs::create_dir_all(dir.join(wal::DIR)).unwrap();
        fs::write(seg(dir, 0), image).unwrap();
        let ((mut s, rec), logs) = logged(|| open(dir));
        assert_eq!(rec.acceptor, replay(&expected), "{what}");
        assert_eq!(s.segment.len(), end as u64, "{what}");
        let torn_logged = logs.contains("torn write at the end of the WAL");
        assert_eq!(torn_logged, !full && persisted, "{what}: {logs}");
        let bytes = fs::read(seg(dir, 0)).unwrap();
        assert!(bytes[end..].iter().all(|&b| b == 0), "{what}: cut off");
        s.append(&[extra_record()]).unwrap();
        drop(s);
        let (_s, rec) = open(dir);
        let expected = replay(expected.iter().chain([&extra_record()]));
        assert_eq!(rec.acceptor, expected, "{what}: after the next append");
    }
}

/// Every subset of the batch's pages that is not all of them: the store
/// opens with exactly the records before the batch.
fn every_subset_of_pages(start: usize) -> usize {
    let tmp = TempDir::new().unwrap();
    let base = tmp.path().join("base");
    let committed = committed_up_to(&base, start);
    let prefix = fs::read(seg(&base, 0)).unwrap();
    let records = big_records(3 * WAL_PAGE + 500);
    let batch = encode_wal_batch(&records).unwrap();
    let torn = Torn {
        prefix: &prefix,
        committed: &committed,
        records: &records,
        batch: &batch,
    };
    let pages = torn.pages();
    let n = pages.clone().count();
    assert!(n >= 4, "the batch spans {n} pages");
    for kept in 0u32..1 << n {
        let image = torn.image(|p| kept & (1 << (p - pages.start())) == 0);
        torn.check(&tmp.path().join(format!("kept-{kept:b}")), &image);
    }
    1 << n
}

#[test]
fn a_multi_page_batch_persisted_in_any_subset_of_pages_is_a_torn_write() {
    // The header across a page boundary, then at the start of a page.
    let cases = every_subset_of_pages(2 * WAL_PAGE - 10) + every_subset_of_pages(2 * WAL_PAGE);
    assert!(cases >= 48, "{cases}");
}

#[test]
fn a_torn_batch_header_is_a_torn_write() {
    let tmp = TempDir::new().unwrap();
    for start in [2 * WAL_PAGE, 2 * WAL_PAGE - 10] {
        let base = tmp.path().join(format!("base-{start}"));
        let committed = committed_up_to(&base, start);
        let prefix = fs::read(seg(&base, 0)).unwrap();
        let records = big_records(2 * WAL_PAGE);
        let batch = encode_wal_batch(&records).unwrap();
        let torn = Torn {
            prefix: &prefix,
            committed: &committed,
            records: &records,
            batch: &batch,
        };
        // The page with the (start of the) header is lost, the payload's
        // pages reached the disk.
        let image = torn.image(|p| p == start / WAL_PAGE);
        assert!(image[start..start + BATCH_HEADER].contains(&0));
        assert!(image[start + BATCH_HEADER..].iter().any(|&b| b != 0));
        torn.check(&tmp.path().join(format!("header-{start}")), &image);
        // Only the page after the header's start is lost.
        let image = torn.image(|p| p == start / WAL_PAGE + 1);
        torn.check(&tmp.path().join(format!("second-{start}")), &image);
    }
}

/// Three batches; returns the offsets of the second and third.
fn three_batches(dir: &Path) -> (u64, u64) {
    let records = five_records();
    let (mut s, _) = open(dir);
    s.append(&records[..2]).unwrap();
    let second = s.segment.len();
    s.append(&records[2..4]).unwrap();
    let third = s.segment.len();
    s.append(&records[4..]).unwrap();
    (second, third)
}

#[test]
fn a_bad_batch_followed_by_a_whole_batch_is_corruption() {
    type Damage = fn(&mut [u8], usize, usize);
    let cases: [(&str, Damage); 5] = [
        ("a flipped payload byte", |b, second, _| {
            b[second + BATCH_HEADER + 12] ^= 1
        }),
        ("a flipped length", |b, second, _| b[second + 12] ^= 1),
        ("a zeroed header", |b, second, _| {
            b[second..second + BATCH_HEADER].fill(0)
        }),
        ("a zeroed batch", |b, second, third| {
            b[second..third].fill(0)
        }),
        ("the next batch torn too", |b, second, third| {
            b[second + BATCH_HEADER + 12] ^= 1;
            b[third + BATCH_HEADER + 12] ^= 1;
        }),
    ];
    for (what, damage) in cases {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path();
        let (second, third) = three_batches(dir);
        let path = seg(dir, 0);
        let mut b = fs::read(&path).unwrap();
        damage(&mut b, second as usize, third as usize);
        fs::write(&path, &b).unwrap();
        let err = recover_wal_segment(&b, &path).unwrap_err();
        assert!(
            matches!(&err, StorageError::Corrupt { path: p, offset: Some(o), .. }
                if *p == path && *o == second),
            "{what}: {err:?}"
        );
        let msg = open_err(dir).to_string();
        assert!(msg.contains("0000000000000000.wal"), "{what}: {msg}");
        assert!(msg.contains(&format!("at byte {second}")), "{what}: {msg}");
        let follows = format!("batch header follows at byte {third}");
        assert!(msg.contains(&follows), "{what}: {msg}");
        assert_eq!(fs::read(&path).unwrap(), b, "{what}: nothing repaired");
    }
    // The same damage to the last batch is a torn write.
    let tmp = TempDir::new().unwrap();
    let (_, third) = three_batches(tmp.path());
    flip_byte(&seg(tmp.path(), 0), third + BATCH_HEADER as u64 + 12);
    let (_s, rec) = open(tmp.path());
    assert_eq!(rec.acceptor, replay(&five_records()[..4]));
}

/// Bare record frames, as the WAL was before batches.
fn legacy_frames(records: &[Record]) -> (Vec<u8>, Vec<u64>) {
    let mut buf = Vec::new();
    let mut ends = Vec::new();
    for r in records {
        frame::encode_json(&mut buf, r, "t").unwrap();
        ends.push(buf.len() as u64);
    }
    (buf, ends)
}

#[test]
fn a_legacy_wal_of_bare_frames_still_opens_and_appends_go_to_a_new_segment() {
    let records = five_records();
    let (frames, _) = legacy_frames(&records);
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    fs::create_dir_all(dir.join(wal::DIR)).unwrap();
    // As a crash left it: preallocated zeros after the frames.
    let mut image = frames.clone();
    image.resize(frames.len() + 3 * WAL_PAGE, 0);
    fs::write(seg(dir, 0), &image).unwrap();
    {
        let (mut s, rec) = open(dir);
        assert_eq!(rec.acceptor, replay(&records));
        assert_eq!(s.segment.number, 1, "batches go to a new segment");
        assert_eq!(file_len(&seg(dir, 0)), frames.len() as u64, "trimmed");
        s.append(&[extra_record()]).unwrap();
    }
    assert!(fs::read(seg(dir, 1)).unwrap().starts_with(&MAGIC));
    let (_s, rec) = open(dir);
    let all = replay(records.iter().chain([&extra_record()]));
    assert_eq!(rec.acceptor, all);
}

#[test]
fn a_legacy_wal_keeps_its_torn_tail_and_corruption_rules() {
    let records = five_records();
    let (frames, ends) = legacy_frames(&records);
    let path = Path::new("0000000000000000.wal");
    // A last frame cut short: torn.
    let cut = &frames[..frames.len() - 3];
    let r = recover_wal_segment(cut, path).unwrap();
    assert_eq!(r.records, records[..4]);
    assert_eq!(r.good_end, ends[3]);
    assert!(r.torn.is_some());
    // A flipped byte in the middle, frames after it: corrupt.
    let mut flipped = frames.clone();
    flipped[ends[1] as usize + 10] ^= 1;
    let err = recover_wal_segment(&flipped, path).unwrap_err();
    assert!(
        matches!(err, StorageError::Corrupt { offset: Some(o), .. } if o == ends[1]),
        "{err:?}"
    );
    // In an older segment even the torn shape is corrupt.
    assert!(batch::scan_segment(cut, false, path).is_err());
}

#[test]
fn bytes_of_another_format_in_a_segment_are_not_read_as_records() {
    let records = five_records();
    let (frames, _) = legacy_frames(&records[2..]);
    let path = Path::new("x.wal");
    // A bare frame after a batch: the last write, torn.
    let mut b = encode_wal_batch(&records[..2]).unwrap();
    let end = b.len() as u64;
    b.extend_from_slice(&frames);
    let r = recover_wal_segment(&b, path).unwrap();
    assert_eq!((r.records.as_slice(), r.good_end), (&records[..2], end));
    assert!(r.torn.is_some());
    // A batch after bare frames (never written: batches go to a new
    // segment) is not explained by a torn write.
    let mut b = frames.clone();
    b.extend_from_slice(&encode_wal_batch(&records[..2]).unwrap());
    assert!(recover_wal_segment(&b, path).is_err());
}

fn magics(buf: &[u8]) -> Vec<usize> {
    buf.windows(MAGIC.len())
        .enumerate()
        .filter(|(_, w)| *w == MAGIC)
        .map(|(i, _)| i)
        .collect()
}

fn headers(buf: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(q) = next_batch_header(buf, from) {
        found.push(q);
        from = q + 1;
    }
    found
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(any::<char>(), 0..300).prop_map(|c| c.into_iter().collect()),
    ]
}

fn arb_big_record() -> impl Strategy<Value = Record> {
    (any::<u64>(), any::<u64>(), any::<u32>(), arb_text()).prop_map(|(slot, r, s, text)| {
        Record::Accept {
            slot,
            ballot: Ballot::new(r, s),
            value: value_text(slot % 1_000_000, text),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// What the torn-or-corrupt rule rests on: in a run of batches, with
    /// any bytes zeroed, a batch header is found exactly at batch starts.
    #[test]
    fn the_magic_occurs_only_at_batch_starts(
        batches in prop::collection::vec(prop::collection::vec(arb_big_record(), 1..6), 1..4),
        zeroed in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
    ) {
        let mut buf = Vec::new();
        let mut starts = Vec::new();
        for records in &batches {
            starts.push(buf.len());
            buf.extend_from_slice(&encode_wal_batch(records).unwrap());
        }
        prop_assert_eq!(magics(&buf), starts.clone());
        prop_assert_eq!(headers(&buf), starts.clone());
        // Pages that did not reach the disk read as zeros: that never
        // makes a magic, at most it unmakes one.
        for i in zeroed {
            let at = i.index(buf.len());
            buf[at] = 0;
        }
        let found = magics(&buf);
        prop_assert!(found.iter().all(|q| starts.contains(q)), "{:?}", found);
        let found = headers(&buf);
        prop_assert!(found.iter().all(|q| starts.contains(q)), "{:?}", found);
    }
}
