//! Crash and corruption tests of the store.

use super::*;
use crate::paxos::types::Ballot;
use crate::state::op::{Command, Op, OpId};
use chrono::DateTime;
use proptest::prelude::*;
use std::io::Write;
use tempfile::TempDir;

type St = Vec<u64>;

fn value(n: u64) -> Value {
    Value::batch(vec![Command {
        id: OpId {
            site: 0,
            boot: 1,
            seq: n,
        },
        op: Op::Tweet {
            user: "alice".into(),
            text: format!("tweet {n}"),
            time: DateTime::from_timestamp(n as i64, 0).unwrap(),
        },
    }])
}

fn open(dir: &Path) -> (Store, Recovered<St>) {
    Store::open::<St>(dir).unwrap()
}

fn open_err(dir: &Path) -> StorageError {
    match Store::open::<St>(dir) {
        Ok(_) => panic!("open of {} should fail", dir.display()),
        Err(e) => e,
    }
}

fn replay<'a>(records: impl IntoIterator<Item = &'a Record>) -> AcceptorState {
    let mut a = AcceptorState::default();
    for r in records {
        a.apply(r);
    }
    a
}

fn seg(dir: &Path, n: u64) -> PathBuf {
    wal::segment_path(&dir.join(wal::DIR), n)
}

fn file_len(p: &Path) -> u64 {
    fs::metadata(p).unwrap().len()
}

fn set_len(p: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(p)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn append_bytes(p: &Path, bytes: &[u8]) {
    OpenOptions::new()
        .append(true)
        .open(p)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn flip_byte(p: &Path, at: u64) {
    let mut b = fs::read(p).unwrap();
    b[at as usize] ^= 0x5a;
    fs::write(p, b).unwrap();
}

/// Five records, each changing the acceptor state.
fn five_records() -> Vec<Record> {
    let b1 = Ballot::new(1, 0);
    vec![
        Record::Promise { ballot: b1 },
        Record::Accept {
            slot: 0,
            ballot: b1,
            value: value(0),
        },
        Record::Accept {
            slot: 1,
            ballot: b1,
            value: value(1),
        },
        Record::Decide {
            slot: 0,
            value: value(0),
        },
        Record::Accept {
            slot: 2,
            ballot: Ballot::new(2, 1),
            value: value(2),
        },
    ]
}

fn extra_record() -> Record {
    Record::Decide {
        slot: 1,
        value: value(1),
    }
}

/// Appends the records one per call and closes the store; returns the end
/// of the records after each (the file ends there once the store is closed).
fn write_one_by_one(dir: &Path, records: &[Record]) -> Vec<u64> {
    let (mut s, _) = open(dir);
    let ends: Vec<u64> = records
        .iter()
        .map(|r| {
            s.append(std::slice::from_ref(r)).unwrap();
            s.segment.len()
        })
        .collect();
    drop(s);
    assert_eq!(file_len(&seg(dir, 0)), *ends.last().unwrap_or(&0));
    ends
}

#[test]
fn reopen_after_clean_close_gives_back_the_acceptor_state() {
    let tmp = TempDir::new().unwrap();
    let records = five_records();
    {
        let (mut s, rec) = open(tmp.path());
        assert_eq!(rec.applied, 0);
        assert_eq!(rec.state, None);
        assert_eq!(rec.acceptor, AcceptorState::default());
        assert_eq!(s.data_dir(), tmp.path());
        s.append(&records[..2]).unwrap();
        s.append(&[]).unwrap();
        s.append(&records[2..]).unwrap();
    }
    let (_s, rec) = open(tmp.path());
    assert_eq!(rec.acceptor, replay(&records));
    assert_eq!(rec.applied, 0);
    assert_eq!(rec.state, None);
}

#[test]
fn empty_append_writes_nothing() {
    let tmp = TempDir::new().unwrap();
    let (mut s, _) = open(tmp.path());
    s.append(&[]).unwrap();
    assert_eq!(file_len(&seg(tmp.path(), 0)), 0);
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Cut the file to `prev + n` bytes.
    CutAfterPrev(u64),
    /// Cut the middle of the last record's payload.
    CutPayloadMiddle,
    /// Cut the file `n` bytes short.
    CutShort(u64),
    AppendZeros(usize),
    AppendGarbage(&'static [u8]),
    /// Flip the last byte (the last record's crc then mismatches at EOF).
    FlipLast,
    /// Zero the second half of the last payload, size unchanged.
    ZeroPayloadTail,
}

#[test]
fn torn_tail_is_cut_off_and_the_log_goes_on() {
    let records = five_records();
    // A header claiming 1000 bytes, with 10 bytes after it.
    let mut long_header = 1000u32.to_le_bytes().to_vec();
    long_header.extend_from_slice(&[7; 14]);
    let long_header: &'static [u8] = Box::leak(long_header.into_boxed_slice());
    let cases = [
        (Damage::CutAfterPrev(3), 4),
        (Damage::CutAfterPrev(8), 4),
        (Damage::CutPayloadMiddle, 4),
        (Damage::CutShort(1), 4),
        (Damage::FlipLast, 4),
        (Damage::ZeroPayloadTail, 4),
        (Damage::AppendZeros(1), 5),
        (Damage::AppendZeros(300), 5),
        (Damage::AppendGarbage(&[0xab; 5]), 5),
        (Damage::AppendGarbage(long_header), 5),
    ];
    for (damage, kept) in cases {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path();
        let ends = write_one_by_one(dir, &records);
        let path = seg(dir, 0);
        let (prev, full) = (ends[3], ends[4]);
        match damage {
            Damage::CutAfterPrev(n) => set_len(&path, prev + n),
            Damage::CutPayloadMiddle => set_len(&path, prev + 8 + (full - prev - 8) / 2),
            Damage::CutShort(n) => set_len(&path, full - n),
            Damage::AppendZeros(n) => append_bytes(&path, &vec![0; n]),
            Damage::AppendGarbage(g) => append_bytes(&path, g),
            Damage::FlipLast => flip_byte(&path, full - 1),
            Damage::ZeroPayloadTail => {
                let mut b = fs::read(&path).unwrap();
                let mid = (prev + 8 + (full - prev - 8) / 2) as usize;
                b[mid..].fill(0);
                fs::write(&path, b).unwrap();
            }
        }
        {
            let (mut s, rec) = open(dir);
            assert_eq!(rec.acceptor, replay(&records[..kept]), "{damage:?}");
            let good = ends[kept - 1];
            assert_eq!(s.segment.len(), good, "{damage:?}: appends go on after it");
            // Garbage is cut off; zeros may stay (they read as the end).
            let bytes = fs::read(&path).unwrap();
            assert!(
                bytes.len() as u64 >= good && bytes[good as usize..].iter().all(|&b| b == 0),
                "{damage:?}: only zeros after the last good record"
            );
            s.append(&[extra_record()]).unwrap();
        }
        let (_s, rec) = open(dir);
        let expected = replay(records[..kept].iter().chain([&extra_record()]));
        assert_eq!(rec.acceptor, expected, "{damage:?}: after a second reopen");
    }
}

#[test]
fn a_group_commit_torn_in_the_middle_keeps_its_whole_records() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let records = five_records();
    let before;
    {
        let (mut s, _) = open(dir);
        s.append(&records[..2]).unwrap();
        before = s.segment.len();
        s.append(&records[2..]).unwrap();
    }
    // The batch reached the disk up to the middle of its second record; the
    // rest of the file size was extended with zeros.
    let mut one = Vec::new();
    frame::encode_json(&mut one, &records[2], "t").unwrap();
    let cut = before as usize + one.len() + 8 + 5;
    let mut b = fs::read(seg(dir, 0)).unwrap();
    b[cut..].fill(0);
    fs::write(seg(dir, 0), b).unwrap();
    let (_s, rec) = open(dir);
    assert_eq!(rec.acceptor, replay(&records[..3]));
}

/// A copy of data dir `dir` as a `kill -9` leaves it: the files as they
/// are while the store is open (the newest segment with its preallocated
/// zeros), nothing trimmed.
fn crash_copy(dir: &Path, to: &Path) {
    for sub in ["", wal::DIR] {
        fs::create_dir_all(to.join(sub)).unwrap();
        for entry in fs::read_dir(dir.join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                fs::copy(entry.path(), to.join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
}

#[test]
fn a_crash_leaves_preallocated_zeros_that_recovery_reads_as_the_end() {
    let records = five_records();
    let tmp = TempDir::new().unwrap();
    let live = tmp.path().join("live");
    let (mut s, _) = open(&live);
    let mut ends = Vec::new();
    for r in &records {
        s.append(std::slice::from_ref(r)).unwrap();
        ends.push(s.segment.len());
    }
    let full = ends[4];
    assert!(
        file_len(&seg(&live, 0)) >= wal::PREALLOCATE,
        "zeros preallocated"
    );

    // Killed after the last sync: every record, appends go on after them.
    let crashed = tmp.path().join("crashed");
    crash_copy(&live, &crashed);
    {
        let (mut s2, rec) = open(&crashed);
        assert_eq!(rec.acceptor, replay(&records));
        assert_eq!(s2.segment.len(), full);
        s2.append(&[extra_record()]).unwrap();
    }
    let (_s2, rec) = open(&crashed);
    assert_eq!(
        rec.acceptor,
        replay(records.iter().chain([&extra_record()]))
    );

    // Killed in the middle of a write into the preallocated space: the
    // part that reached the disk is cut off, the records before it stay.
    let mut one = Vec::new();
    frame::encode_json(&mut one, &extra_record(), "t").unwrap();
    for cut in [3, 8, 12, one.len() - 1] {
        let torn = tmp.path().join(format!("torn-{cut}"));
        crash_copy(&live, &torn);
        let mut b = fs::read(seg(&torn, 0)).unwrap();
        b[full as usize..full as usize + cut].copy_from_slice(&one[..cut]);
        fs::write(seg(&torn, 0), b).unwrap();
        {
            let (mut s3, rec) = open(&torn);
            assert_eq!(rec.acceptor, replay(&records), "cut at {cut}");
            assert_eq!(s3.segment.len(), full, "cut at {cut}");
            s3.append(&[extra_record()]).unwrap();
        }
        let (_s3, rec) = open(&torn);
        assert_eq!(
            rec.acceptor,
            replay(records.iter().chain([&extra_record()])),
            "cut at {cut}: after a second reopen"
        );
    }

    // A clean close trims the zeros: the file ends with its last record.
    drop(s);
    assert_eq!(file_len(&seg(&live, 0)), full);
}

#[test]
fn a_crash_between_a_new_segment_and_its_checkpoint_loses_nothing() {
    // Only the newest segment may end in zeros: a checkpoint trims the
    // segment it leaves before it starts the next one.
    let records = five_records();
    let tmp = TempDir::new().unwrap();
    let live = tmp.path().join("live");
    let (mut s, _) = open(&live);
    s.append(&records[..3]).unwrap();
    // Writing checkpoint.json fails after segment 1 was started, as if the
    // site had been killed there.
    fs::create_dir(live.join(checkpoint::TMP)).unwrap();
    let acceptor = replay(&records[..3]);
    assert!(s.checkpoint(0, &St::new(), &acceptor).is_err());
    assert!(seg(&live, 1).exists());
    let crashed = tmp.path().join("crashed");
    crash_copy(&live, &crashed);
    let (_s, rec) = open(&crashed);
    assert_eq!(rec.acceptor, acceptor);
}

#[test]
fn a_flipped_byte_in_the_middle_is_refused_naming_the_file() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let ends = write_one_by_one(dir, &five_records());
    let path = seg(dir, 0);
    // In the payload of the third record (of five).
    flip_byte(&path, ends[1] + 8 + 3);
    let err = open_err(dir);
    let msg = err.to_string();
    assert!(
        matches!(err, StorageError::Corrupt { offset: Some(o), .. } if o == ends[1]),
        "{err:?}"
    );
    assert!(msg.contains("0000000000000000.wal"), "{msg}");
    assert!(msg.contains("will not start"), "{msg}");
    // Nothing was "repaired".
    assert_eq!(file_len(&path), ends[4]);
    assert!(Store::open::<St>(dir).is_err(), "refused again");
}

#[test]
fn a_good_checksum_on_bad_json_is_corrupt_even_at_the_end() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    write_one_by_one(dir, &five_records()[..2]);
    let mut buf = Vec::new();
    frame::encode_json(&mut buf, &serde_json::json!({"rec": "nonsense"}), "t").unwrap();
    append_bytes(&seg(dir, 0), &buf);
    let msg = open_err(dir).to_string();
    assert!(
        msg.contains("0000000000000000.wal") && msg.contains("not a record"),
        "{msg}"
    );
}

#[test]
fn older_segments_take_no_torn_tail_and_none_may_be_missing() {
    let records = five_records();
    let setup = || {
        let tmp = TempDir::new().unwrap();
        write_one_by_one(tmp.path(), &records[..3]);
        // As if a checkpoint had started segment 1 and the site stopped
        // before writing checkpoint.json.
        {
            let (mut s, _) = open(tmp.path());
            s.segment = Segment::create(&tmp.path().join(wal::DIR), 1).unwrap();
            s.append(&records[3..]).unwrap();
        }
        tmp
    };
    // Both segments replay, and appends go to the newest.
    let tmp = setup();
    {
        let (mut s, rec) = open(tmp.path());
        assert_eq!(rec.acceptor, replay(&records));
        assert_eq!(s.segment.number, 1);
        s.append(&[extra_record()]).unwrap();
    }
    let (_s, rec) = open(tmp.path());
    assert_eq!(
        rec.acceptor,
        replay(records.iter().chain([&extra_record()]))
    );
    drop(_s);

    // A cut in segment 0 is not a torn write: segment 1 came after it.
    let tmp = setup();
    let p0 = seg(tmp.path(), 0);
    set_len(&p0, file_len(&p0) - 1);
    let msg = open_err(tmp.path()).to_string();
    assert!(msg.contains("0000000000000000.wal"), "{msg}");

    // A missing segment 0 (segment 1 present, no checkpoint).
    let tmp = setup();
    fs::remove_file(seg(tmp.path(), 0)).unwrap();
    let msg = open_err(tmp.path()).to_string();
    assert!(
        msg.contains("0000000000000000.wal") && msg.contains("missing"),
        "{msg}"
    );
}

#[test]
fn the_lock_refuses_a_second_opener_until_the_first_is_dropped() {
    let tmp = TempDir::new().unwrap();
    let (first, _) = open(tmp.path());
    let err = open_err(tmp.path());
    assert!(matches!(err, StorageError::Locked { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("is in use by another tweettui process"),
        "{msg}"
    );
    assert!(msg.contains(&tmp.path().display().to_string()), "{msg}");
    drop(first);
    let (_second, _) = open(tmp.path());
}

fn entry(slot: Slot) -> DecidedEntry {
    DecidedEntry {
        slot,
        value: value(slot),
    }
}

/// Decides and archives slots `0..n` (records in the WAL, entries in the
/// archive); returns the records.
fn decide_and_archive(s: &mut Store, slots: std::ops::Range<Slot>) -> Vec<Record> {
    let mut records = Vec::new();
    for slot in slots {
        let b = Ballot::new(1, 0);
        let batch = [
            Record::Accept {
                slot,
                ballot: b,
                value: value(slot),
            },
            Record::Decide {
                slot,
                value: value(slot),
            },
        ];
        s.append(&batch).unwrap();
        s.archive(slot, &value(slot)).unwrap();
        records.extend(batch);
    }
    records
}

#[test]
fn checkpoint_then_more_records_then_reopen() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let mut model;
    let after = [
        Record::Promise {
            ballot: Ballot::new(5, 2),
        },
        Record::Accept {
            slot: 13,
            ballot: Ballot::new(5, 2),
            value: value(13),
        },
        Record::Decide {
            slot: 10,
            value: value(10),
        },
    ];
    {
        let (mut s, _) = open(dir);
        let records = decide_and_archive(&mut s, 0..12);
        model = replay(&records);
        model.forget_below(10);
        assert_eq!(model.decided.len(), 2);
        s.checkpoint(10, &vec![1u64, 2, 3], &model).unwrap();
        assert_eq!(wal::list_segments(&dir.join(wal::DIR)).unwrap(), [1]);
        s.append(&after).unwrap();
        for r in &after {
            model.apply(r);
        }
        // Read old slots from the open store.
        let got = s.read_decided(0, 12, usize::MAX).unwrap();
        assert_eq!(got, (0..12).map(entry).collect::<Vec<_>>());
    }
    {
        let (mut s, rec) = open(dir);
        assert_eq!(rec.applied, 10);
        assert_eq!(rec.state, Some(vec![1, 2, 3]));
        assert_eq!(rec.acceptor, model);
        // Slots 10 and 11 were archived after the checkpoint: cut off, to be
        // archived again from `rec.acceptor.decided`.
        assert_eq!(s.archived_len(), 10);
        assert_eq!(
            s.read_decided(0, 100, usize::MAX).unwrap(),
            (0..10).map(entry).collect::<Vec<_>>()
        );
        assert_eq!(
            s.read_decided(7, 9, usize::MAX).unwrap(),
            [entry(7), entry(8)]
        );
        let err = s.archive(11, &value(11)).unwrap_err();
        assert!(matches!(
            err,
            StorageError::ArchiveOutOfOrder {
                expected: 10,
                got: 11
            }
        ));
        s.archive(10, &value(10)).unwrap();
        s.archive(11, &value(11)).unwrap();
        let err = s.checkpoint(13, &vec![0u64], &model).unwrap_err();
        assert!(matches!(
            err,
            StorageError::CheckpointAhead {
                applied: 13,
                archived: 12
            }
        ));
        model.forget_below(12);
        s.checkpoint(12, &vec![4u64], &model).unwrap();
        assert_eq!(wal::list_segments(&dir.join(wal::DIR)).unwrap(), [2]);
    }
    let (s, rec) = open(dir);
    assert_eq!(rec.applied, 12);
    assert_eq!(rec.state, Some(vec![4]));
    assert_eq!(rec.acceptor, model);
    assert_eq!(s.read_decided(11, 12, 0).unwrap(), [entry(11)]);
}

#[test]
fn leftovers_of_an_interrupted_checkpoint_are_cleaned_up() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let records;
    {
        let (mut s, _) = open(dir);
        records = decide_and_archive(&mut s, 0..3);
        s.checkpoint(3, &vec![3u64], &replay(&records)).unwrap();
    }
    // The old segment survived (deleted after the rename), and a newer
    // checkpoint was being written.
    fs::write(seg(dir, 0), b"whatever was here").unwrap();
    fs::write(dir.join(checkpoint::TMP), b"half a checkp").unwrap();
    let (_s, rec) = open(dir);
    assert_eq!(rec.acceptor, replay(&records));
    assert!(!seg(dir, 0).exists());
    assert!(!dir.join(checkpoint::TMP).exists());
}

#[test]
fn a_corrupted_checkpoint_is_refused() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    {
        let (mut s, _) = open(dir);
        let records = decide_and_archive(&mut s, 0..3);
        s.checkpoint(3, &vec![7u64], &replay(&records)).unwrap();
    }
    let path = dir.join(checkpoint::FILE);
    let good = fs::read(&path).unwrap();
    let header_len = good.iter().position(|&b| b == b'\n').unwrap() + 1;

    let mut bad = good.clone();
    bad[header_len + 20] ^= 0x01;
    fs::write(&path, &bad).unwrap();
    let msg = open_err(dir).to_string();
    assert!(
        msg.contains("checkpoint.json") && msg.contains("checksum"),
        "{msg}"
    );

    fs::write(&path, &good[header_len..]).unwrap();
    let msg = open_err(dir).to_string();
    assert!(msg.contains("checkpoint.json"), "{msg}");

    // A good checksum over something that is not a checkpoint.
    let body = b"{\"applied\": 3}\n";
    let mut f = format!("crc32 {:08x}\n", crc32fast::hash(body)).into_bytes();
    f.extend_from_slice(body);
    fs::write(&path, &f).unwrap();
    let msg = open_err(dir).to_string();
    assert!(msg.contains("checkpoint.json"), "{msg}");

    fs::write(&path, &good).unwrap();
    let (_s, rec) = open(dir);
    assert_eq!(rec.state, Some(vec![7]));
}

#[test]
fn an_archive_short_of_the_checkpoint_is_refused() {
    let setup = || {
        let tmp = TempDir::new().unwrap();
        {
            let (mut s, _) = open(tmp.path());
            let records = decide_and_archive(&mut s, 0..5);
            s.checkpoint(5, &vec![0u64], &replay(&records)).unwrap();
        }
        tmp
    };
    let tmp = setup();
    set_len(&tmp.path().join(archive::IDX), 8 * 4);
    let msg = open_err(tmp.path()).to_string();
    assert!(msg.contains("archive.idx"), "{msg}");

    let tmp = setup();
    let log = tmp.path().join(archive::LOG);
    set_len(&log, file_len(&log) - 1);
    let msg = open_err(tmp.path()).to_string();
    assert!(msg.contains("archive.log"), "{msg}");

    let tmp = setup();
    let log = tmp.path().join(archive::LOG);
    flip_byte(&log, file_len(&log) - 2);
    let msg = open_err(tmp.path()).to_string();
    assert!(
        msg.contains("archive.log") && msg.contains("checksum"),
        "{msg}"
    );

    let tmp = setup();
    fs::remove_file(tmp.path().join(archive::LOG)).unwrap();
    let msg = open_err(tmp.path()).to_string();
    assert!(
        msg.contains("archive.log") && msg.contains("missing"),
        "{msg}"
    );
}

#[test]
fn read_decided_respects_max_bytes_and_bounds() {
    let tmp = TempDir::new().unwrap();
    let (mut s, _) = open(tmp.path());
    for slot in 0..10 {
        s.archive(slot, &value(slot)).unwrap();
    }
    assert_eq!(s.archived_len(), 10);
    // Every entry encodes to the same size.
    let p = serde_json::to_vec(&entry(3)).unwrap().len();
    let slots = |v: Vec<DecidedEntry>| v.into_iter().map(|e| e.slot).collect::<Vec<_>>();
    assert_eq!(slots(s.read_decided(0, 10, 0).unwrap()), [0]);
    assert_eq!(slots(s.read_decided(0, 10, p).unwrap()), [0]);
    assert_eq!(slots(s.read_decided(0, 10, 2 * p - 1).unwrap()), [0]);
    assert_eq!(slots(s.read_decided(0, 10, 2 * p).unwrap()), [0, 1]);
    assert_eq!(slots(s.read_decided(4, 10, 3 * p + 1).unwrap()), [4, 5, 6]);
    assert_eq!(slots(s.read_decided(3, 5, usize::MAX).unwrap()), [3, 4]);
    assert_eq!(slots(s.read_decided(8, 100, usize::MAX).unwrap()), [8, 9]);
    assert!(s.read_decided(10, 20, usize::MAX).unwrap().is_empty());
    assert!(s.read_decided(5, 3, usize::MAX).unwrap().is_empty());
    assert_eq!(s.read_decided(9, 10, 0).unwrap(), [entry(9)]);

    // Damage under a running store is reported, naming the file.
    let log = tmp.path().join(archive::LOG);
    let ends: Vec<u64> = (0..10).map(|i| (i * (p + 8)) as u64).collect();
    flip_byte(&log, ends[3] + 8 + 2);
    assert_eq!(slots(s.read_decided(0, 3, usize::MAX).unwrap()), [0, 1, 2]);
    let msg = s.read_decided(0, 10, usize::MAX).unwrap_err().to_string();
    assert!(
        msg.contains("archive.log") && msg.contains("slot 3"),
        "{msg}"
    );
}

// ---- property: random appends, checkpoints, crashes, reopens ----

#[derive(Debug, Clone)]
enum Step {
    Append(Vec<Record>),
    Checkpoint,
    Reopen,
    /// The site dies in the middle of writing these records: the first
    /// `cut` bytes of their frames reach the disk.
    Crash(Vec<Record>, usize),
}

fn arb_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        (0u64..4, 0u32..3).prop_map(|(r, s)| Record::Promise {
            ballot: Ballot::new(r, s)
        }),
        (0u64..8, 0u64..4, 0u32..3, 0u64..5).prop_map(|(slot, r, s, v)| Record::Accept {
            slot,
            ballot: Ballot::new(r, s),
            value: value(v),
        }),
        (0u64..8, 0u64..5).prop_map(|(slot, v)| Record::Decide {
            slot,
            value: value(v)
        }),
    ]
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => prop::collection::vec(arb_record(), 0..4).prop_map(Step::Append),
        1 => Just(Step::Checkpoint),
        1 => Just(Step::Reopen),
        1 => (prop::collection::vec(arb_record(), 1..3), any::<usize>())
            .prop_map(|(r, c)| Step::Crash(r, c)),
    ]
}

struct Model {
    acceptor: AcceptorState,
    applied: Slot,
    state: Option<St>,
    /// What the archive must hold, `0..archived.len()`.
    archived: Vec<DecidedEntry>,
}

fn reopen_and_check(dir: &Path, m: &mut Model) -> Store {
    let (s, rec) = open(dir);
    m.archived.truncate(m.applied as usize);
    assert_eq!(rec.acceptor, m.acceptor);
    assert_eq!(rec.applied, m.applied);
    assert_eq!(rec.state, m.state);
    assert_eq!(s.archived_len(), m.applied);
    assert_eq!(
        s.read_decided(0, m.applied, usize::MAX).unwrap(),
        m.archived
    );
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn reopen_restores_what_replay_in_memory_gives(
        steps in prop::collection::vec(arb_step(), 1..20)
    ) {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path();
        let mut m = Model {
            acceptor: AcceptorState::default(),
            applied: 0,
            state: None,
            archived: Vec::new(),
        };
        let mut store = Some(open(dir).0);
        for step in steps {
            match step {
                Step::Append(records) => {
                    store.as_mut().unwrap().append(&records).unwrap();
                    for r in &records {
                        m.acceptor.apply(r);
                    }
                }
                Step::Checkpoint => {
                    let s = store.as_mut().unwrap();
                    // Archive the contiguous decided slots, like the runtime.
                    while let Some(v) = m.acceptor.decided.get(&s.archived_len()).cloned() {
                        let slot = s.archived_len();
                        s.archive(slot, &v).unwrap();
                        m.archived.push(DecidedEntry { slot, value: v });
                    }
                    let applied = s.archived_len();
                    m.acceptor.forget_below(applied);
                    let state: St = m.archived.iter().map(|e| e.slot * 10).collect();
                    s.checkpoint(applied, &state, &m.acceptor).unwrap();
                    m.applied = applied;
                    m.state = Some(state);
                    let segs = wal::list_segments(&dir.join(wal::DIR)).unwrap();
                    prop_assert_eq!(segs.len(), 1);
                }
                Step::Reopen => {
                    drop(store.take());
                    store = Some(reopen_and_check(dir, &mut m));
                }
                Step::Crash(records, cut) => {
                    let path = store.as_ref().unwrap().segment.path.clone();
                    drop(store.take());
                    let mut buf = Vec::new();
                    for r in &records {
                        frame::encode_json(&mut buf, r, "t").unwrap();
                    }
                    let cut = cut % buf.len();
                    // Whole records before the cut survive.
                    let mut pos = 0;
                    for r in &records {
                        let mut one = Vec::new();
                        frame::encode_json(&mut one, r, "t").unwrap();
                        pos += one.len();
                        if pos <= cut {
                            m.acceptor.apply(r);
                        }
                    }
                    append_bytes(&path, &buf[..cut]);
                    store = Some(reopen_and_check(dir, &mut m));
                }
            }
        }
        drop(store.take());
        reopen_and_check(dir, &mut m);
    }
}
