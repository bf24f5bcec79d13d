//! Tests of the store: reopen, checkpoints, the lock, reads; crash and
//! corruption tests in `torn`, the random model test in `model`.

use super::*;
use crate::paxos::types::Ballot;
use crate::state::op::{Command, Op, OpId};
use chrono::DateTime;
use proptest::prelude::*;
use std::io::Write;
use tempfile::TempDir;

type St = Vec<u64>;

fn value(n: u64) -> Value {
    value_text(n, format!("tweet {n}"))
}

fn value_text(n: u64, text: String) -> Value {
    Value::batch(vec![Command {
        id: OpId {
            site: 0,
            boot: 1,
            seq: n,
        },
        op: Op::Tweet {
            user: "alice".into(),
            text,
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
fn lazy_records_wait_unwritten_for_the_next_append() {
    let tmp = TempDir::new().unwrap();
    let records = five_records();
    let decide = |n: u64| Record::Decide {
        slot: n,
        value: value(n),
    };
    {
        let (mut s, _) = open(tmp.path());
        s.append(&records[..3]).unwrap();
        let len = file_len(&seg(tmp.path(), 0));
        // Neither a write nor a sync: a disk whose syncs fail (or that is
        // full) does not notice.
        faults::set(tmp.path(), Some(faults::Fault::Syncs));
        s.append_lazy(vec![decide(0)]).unwrap();
        faults::set(tmp.path(), Some(faults::Fault::Full));
        s.append_lazy(vec![decide(1)]).unwrap();
        faults::set(tmp.path(), None);
        assert_eq!(s.lazy_len(), 2);
        assert_eq!(file_len(&seg(tmp.path(), 0)), len);
    }
    // Closed (or crashed) before another append: the decisions are lost,
    // the votes are not.
    let (mut s, rec) = open(tmp.path());
    assert_eq!(rec.acceptor, replay(&records[..3]));
    // The next append writes them first, in the same synced batch.
    s.append_lazy(vec![decide(0)]).unwrap();
    s.append(&records[4..]).unwrap();
    assert_eq!(s.lazy_len(), 0);
    drop(s);
    let (_s, rec) = open(tmp.path());
    let mut want = records[..3].to_vec();
    want.push(decide(0));
    want.extend_from_slice(&records[4..]);
    assert_eq!(rec.acceptor, replay(&want));
    assert!(rec.acceptor.decided.contains_key(&0));
}

/// SPEC 4 and 6: a decision answered before its `Decide` record reached
/// the WAL (kept by `append_lazy`) comes back from the archive entry that
/// was written before the answer, when the process crashed (the page cache
/// keeps what was written); `flush_lazy` puts the records in the WAL.
#[test]
fn a_lazy_decision_comes_back_from_the_archive_or_its_flush() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let accept = |n: u64| Record::Accept {
        slot: n,
        ballot: Ballot::new(1, 0),
        value: value(n),
    };
    let decide = |n: u64| Record::Decide {
        slot: n,
        value: value(n),
    };
    {
        let (mut s, _) = open(dir);
        s.append(&[accept(0), accept(1)]).unwrap();
        s.append_lazy(vec![decide(0), decide(1)]).unwrap();
        s.archive(0, &value(0)).unwrap();
        // Dropped with the decisions unwritten: a crash of the process
        // after slot 0 was archived, before slot 1 was.
    }
    let (mut s, rec) = open(dir);
    assert_eq!(rec.acceptor, replay(&[accept(0), accept(1), decide(0)]));
    assert_eq!(s.archived_len(), 1);
    // Handed on again: slot 0 is held, slot 1 follows.
    s.archive(0, &value(0)).unwrap();
    s.archive(1, &value(1)).unwrap();
    s.append_lazy(vec![decide(1)]).unwrap();
    s.flush_lazy().unwrap();
    assert_eq!(s.lazy_len(), 0);
    drop(s);
    // The archive lost (say, by a power loss): the WAL has the flushed
    // decision of slot 1, and slot 0's accepted value only (its decision
    // is learned again from the peers, or by a phase 1: it was chosen).
    fs::remove_file(dir.join(archive::LOG)).unwrap();
    fs::remove_file(dir.join(archive::IDX)).unwrap();
    let (s, rec) = open(dir);
    let all = [accept(0), accept(1), decide(1)];
    assert_eq!(rec.acceptor, replay(&all));
    assert_eq!(s.archived_len(), 0);
}

/// A checkpoint drops the unwritten decisions of the slots it covers (the
/// synced archive holds them) and keeps the later ones.
#[test]
fn a_checkpoint_drops_the_lazy_decisions_it_covers() {
    let tmp = TempDir::new().unwrap();
    let (mut s, _) = open(tmp.path());
    let decide = |n: u64| Record::Decide {
        slot: n,
        value: value(n),
    };
    s.append_lazy(vec![decide(0), decide(1), decide(2)])
        .unwrap();
    s.archive(0, &value(0)).unwrap();
    s.archive(1, &value(1)).unwrap();
    s.checkpoint(2, &replay(&[decide(2)])).unwrap();
    assert_eq!(s.lazy_len(), 1);
    s.flush_lazy().unwrap();
    drop(s);
    let (s, rec) = open(tmp.path());
    assert_eq!((rec.applied, s.archived_len()), (2, 2));
    assert_eq!(rec.acceptor, replay(&[decide(2)]));
}

/// Entries after the checkpoint end at the first one that is damaged or
/// out of place (a power loss keeps any subset of unsynced pages): what
/// follows is cut off, not taken for corruption.
#[test]
fn the_archive_after_the_checkpoint_ends_at_a_damaged_entry() {
    let tmp = TempDir::new().unwrap();
    let base = tmp.path().join("base");
    {
        let (mut s, _) = open(&base);
        for n in 0..4 {
            s.archive(n, &value(n)).unwrap();
        }
    }
    let log = fs::read(base.join(archive::LOG)).unwrap();
    let idx = fs::read(base.join(archive::IDX)).unwrap();
    let at = |slot: usize| u64::from_le_bytes(idx[8 * slot..8 * slot + 8].try_into().unwrap());
    type Damage<'a> = Box<dyn Fn(&mut Vec<u8>, &mut Vec<u8>) + 'a>;
    let damages: [(&str, Damage, u64); 3] = [
        (
            "a byte of slot 2's entry flipped",
            Box::new(|log, _| log[at(2) as usize + 12] ^= 1),
            2,
        ),
        (
            "slot 1's index entry pointing elsewhere",
            Box::new(|_, idx| idx[8] ^= 1),
            1,
        ),
        (
            "slot 3's entry zeros (its pages lost)",
            Box::new(|log, _| log[at(3) as usize..].fill(0)),
            3,
        ),
    ];
    for (what, damage, kept) in damages {
        let dir = tmp.path().join("try");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let (mut l, mut i) = (log.clone(), idx.clone());
        damage(&mut l, &mut i);
        fs::write(dir.join(archive::LOG), l).unwrap();
        fs::write(dir.join(archive::IDX), i).unwrap();
        let (mut s, rec) = open(&dir);
        assert_eq!(s.archived_len(), kept, "{what}");
        assert_eq!(rec.acceptor.decided.len() as u64, kept, "{what}");
        assert_eq!(file_len(&dir.join(archive::IDX)), 8 * kept, "{what}");
        // And it goes on from there.
        s.archive(kept, &value(kept)).unwrap();
        let got = s.read_decided(0, 10, usize::MAX).unwrap();
        assert_eq!(got, (0..=kept).map(entry).collect::<Vec<_>>(), "{what}");
    }
}

#[test]
fn empty_append_writes_nothing() {
    let tmp = TempDir::new().unwrap();
    let (mut s, _) = open(tmp.path());
    s.append(&[]).unwrap();
    assert_eq!(file_len(&seg(tmp.path(), 0)), 0);
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
        s.checkpoint_v1(10, &vec![1u64, 2, 3], &model).unwrap();
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
        // Slots 10 and 11 were archived after the checkpoint (not synced):
        // whole, so kept (SPEC 4: the site may have answered them).
        assert_eq!(s.archived_len(), 12);
        assert_eq!(
            s.read_decided(0, 100, usize::MAX).unwrap(),
            (0..12).map(entry).collect::<Vec<_>>()
        );
        assert_eq!(
            s.read_decided(7, 9, usize::MAX).unwrap(),
            [entry(7), entry(8)]
        );
        // Handed on again at start-up: skipped, being held; a gap is not.
        s.archive(10, &value(10)).unwrap();
        s.archive(11, &value(11)).unwrap();
        let err = s.archive(13, &value(13)).unwrap_err();
        assert!(matches!(
            err,
            StorageError::ArchiveOutOfOrder {
                expected: 12,
                got: 13
            }
        ));
        let err = s.checkpoint_v1(13, &vec![0u64], &model).unwrap_err();
        assert!(matches!(
            err,
            StorageError::CheckpointAhead {
                applied: 13,
                archived: 12
            }
        ));
        model.forget_below(12);
        s.checkpoint_v1(12, &vec![4u64], &model).unwrap();
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
        s.checkpoint_v1(3, &vec![3u64], &replay(&records)).unwrap();
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
        s.checkpoint_v1(3, &vec![7u64], &replay(&records)).unwrap();
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
            s.checkpoint_v1(5, &vec![0u64], &replay(&records)).unwrap();
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

#[test]
fn an_archive_reader_reads_on_another_thread_while_the_store_appends() {
    let tmp = TempDir::new().unwrap();
    let (mut s, _) = open(tmp.path());
    for slot in 0..5 {
        s.archive(slot, &value(slot)).unwrap();
    }
    let reader = s.archive_reader().unwrap();
    let slots = |v: Vec<DecidedEntry>| v.into_iter().map(|e| e.slot).collect::<Vec<_>>();
    // Only what is archived: later slots are left out, not an error.
    assert_eq!(
        slots(reader.read_decided(0, 100, usize::MAX).unwrap()),
        [0, 1, 2, 3, 4]
    );
    let p = serde_json::to_vec(&entry(3)).unwrap().len();
    assert_eq!(slots(reader.read_decided(1, 100, 2 * p).unwrap()), [1, 2]);
    let t = std::thread::spawn(move || {
        // Appends go on meanwhile; every read sees a prefix, whole.
        let mut seen = 0;
        while seen < 400 {
            let got = reader.read_decided(0, Slot::MAX, usize::MAX).unwrap();
            assert!(got.iter().enumerate().all(|(i, e)| *e == entry(i as Slot)));
            assert!(got.len() >= seen);
            seen = got.len();
        }
    });
    for slot in 5..400 {
        s.archive(slot, &value(slot)).unwrap();
    }
    t.join().unwrap();
}

mod cut;
mod decode;
mod job;
mod model;
mod pages;
mod torn;
