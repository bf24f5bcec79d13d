//! A checkpoint in two parts (`job.rs`): a crash at each step of the
//! background part, with appends going on in the new segment, loses
//! nothing; a failing disk there keeps the previous checkpoint and stops
//! the store's writes; spare segments hold nothing and are dropped.

use super::faults::{self, Fault};
use super::torn::crash_copy;
use super::*;

/// `a` without the decided slots below `applied` (a checkpoint may forget
/// them), so that states recovered from either checkpoint compare.
fn below(mut a: AcceptorState, applied: Slot) -> AcceptorState {
    a.forget_below(applied);
    a
}

fn more() -> Record {
    Record::Accept {
        slot: 9,
        ballot: Ballot::new(1, 0),
        value: value(9),
    }
}

/// Reopens the crash image `dir`: it must hold the checkpoint at `applied`
/// with every record of `all`, and take and keep one more append.
fn check_crash(dir: &Path, all: &[Record], applied: Slot, what: &str) {
    let (mut s, rec) = open(dir);
    assert_eq!(rec.applied, applied, "{what}");
    // The archive keeps its whole entries after the checkpoint (see
    // `Archive::open`): here every slot of `all` was archived.
    assert!((applied..=4).contains(&s.archived_len()), "{what}");
    assert_eq!(
        below(rec.acceptor, applied),
        below(replay(all), applied),
        "{what}"
    );
    s.append(&[more()]).unwrap();
    drop(s);
    let (_s, rec) = open(dir);
    let after = replay(all.iter().chain([&more()]));
    assert_eq!(
        below(rec.acceptor, applied),
        below(after, applied),
        "{what}: after one more append"
    );
}

/// A store with slots 0 and 1 decided and archived, switched to segment 1
/// by `checkpoint_begin(2)` (from a spare made beside), slots 2 and 3
/// appended after the switch, and the next spare made. Returns the store,
/// the job, every record written, and the end of segment 1's records.
fn switched(dir: &Path) -> (Store, CheckpointJob, Vec<Record>, u64) {
    let (mut s, _) = open(dir);
    let mut all = decide_and_archive(&mut s, 0..2);
    let spare = s.spare_job().unwrap().run().unwrap();
    s.install_spare(spare).unwrap();
    let job = s.checkpoint_begin(2, below(replay(&all), 2)).unwrap();
    assert_eq!(s.segment.number, 1);
    all.extend(decide_and_archive(&mut s, 2..4));
    let spare = s.spare_job().unwrap().run().unwrap();
    s.install_spare(spare).unwrap();
    let end = s.segment.len();
    (s, job, all, end)
}

#[test]
fn a_crash_at_each_step_of_a_background_checkpoint_loses_nothing() {
    let tmp = TempDir::new().unwrap();
    let live = tmp.path().join("live");
    let (s, mut job, all, end) = switched(&live);
    let mut n = 0;
    let mut crash = |what: &str| {
        n += 1;
        let dir = tmp.path().join(format!("crash-{n}"));
        crash_copy(&live, &dir);
        assert!(seg(&dir, 2).exists(), "{what}: the spare");
        dir
    };
    // Segment 0 untrimmed, segment 1 newest, segment 2 a spare.
    let dir = crash("switched");
    assert!(file_len(&seg(&dir, 0)) >= wal::PREALLOCATE);
    check_crash(&dir, &all, 0, "switched");
    // The same with a torn batch at the end of segment 1.
    let dir = crash("torn");
    let torn = encode_wal_batch(&[more()]).unwrap();
    let mut f = OpenOptions::new().write(true).open(seg(&dir, 1)).unwrap();
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(end)).unwrap();
    f.write_all(&torn[..torn.len() - 3]).unwrap();
    drop(f);
    check_crash(&dir, &all, 0, "a torn batch after the switch");
    job.sync_archive().unwrap();
    check_crash(&crash("synced"), &all, 0, "archive synced");
    job.trim_old().unwrap();
    let dir = crash("trimmed");
    assert!(file_len(&seg(&dir, 0)) < wal::PREALLOCATE);
    check_crash(&dir, &all, 0, "old segment trimmed");
    job.write_checkpoint().unwrap();
    check_crash(&crash("written"), &all, 2, "checkpoint.json written");
    job.delete_old();
    let dir = crash("deleted");
    assert!(!seg(&dir, 0).exists());
    check_crash(&dir, &all, 2, "old segment deleted");
    // The live store goes on, and its next checkpoint takes the spare.
    drop(job);
    let mut s = s;
    let mut all = all;
    all.push(more());
    s.append(&[more()]).unwrap();
    s.checkpoint(4, &below(replay(&all), 4)).unwrap();
    assert_eq!(wal::list_segments(&live.join(wal::DIR)).unwrap(), [2]);
    drop(s);
    check_crash(&live, &all, 4, "the next checkpoint");
}

#[test]
fn an_older_segment_may_end_in_zeros_but_not_in_a_torn_batch() {
    let tmp = TempDir::new().unwrap();
    let live = tmp.path().join("live");
    let (s, _job, _all, _) = switched(&live);
    let dir = tmp.path().join("crash");
    crash_copy(&live, &dir);
    drop(s);
    // Part of a batch in segment 0's zeros: segment 1 came after it, so
    // it cannot be a torn last write.
    let p0 = seg(&dir, 0);
    let bytes = fs::read(&p0).unwrap();
    let good = bytes.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
    assert!(bytes.len() > good + 64 + WAL_PAGE, "the zeros are there");
    let torn = encode_wal_batch(&[more()]).unwrap();
    let mut f = OpenOptions::new().write(true).open(&p0).unwrap();
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(good as u64 + 64)).unwrap();
    f.write_all(&torn[..torn.len() / 2]).unwrap();
    drop(f);
    let msg = open_err(&dir).to_string();
    assert!(msg.contains("0000000000000000.wal"), "{msg}");
}

#[test]
fn a_failing_disk_in_the_background_job_keeps_the_previous_checkpoint() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("d");
    let (mut s, _) = open(&dir);
    let all = decide_and_archive(&mut s, 0..2);
    let job = s.checkpoint_begin(2, below(replay(&all), 2)).unwrap();
    faults::set(&dir, Some(Fault::Syncs));
    let err = job.run(|| Ok::<(), StorageError>(())).unwrap_err();
    faults::set(&dir, None);
    assert!(err.is_disk_failure(), "{err}");
    // The store refuses writes from then on, as after a failure of its own.
    let err = s.append(&[more()]).unwrap_err();
    assert!(matches!(err, StorageError::Failed { .. }), "{err}");
    drop(s);
    let (_s, rec) = open(&dir);
    assert_eq!(rec.applied, 0);
    assert_eq!(rec.acceptor, replay(&all));
}

#[test]
fn a_spare_holds_nothing_and_the_data_dir_stays_locked_while_a_job_runs() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("d");
    let (mut s, _) = open(&dir);
    let records = five_records();
    s.append(&records).unwrap();
    let spare = s.spare_job().unwrap();
    drop(s);
    // The job holds the lock: no other store opens the data dir meanwhile.
    assert!(matches!(
        Store::open::<St>(&dir),
        Err(StorageError::Locked { .. })
    ));
    let spare = spare.run().unwrap();
    assert!(seg(&dir, 1).exists());
    drop(spare);
    // Segment 1 holds nothing: deleted, appends go on in segment 0.
    let (mut s, rec) = open(&dir);
    assert_eq!(rec.acceptor, replay(&records));
    assert_eq!(wal::list_segments(&dir.join(wal::DIR)).unwrap(), [0]);
    assert_eq!(s.segment.number, 0);
    // A spare that does not follow the segment appends go to is refused.
    s.checkpoint(0, &replay(&records)).unwrap();
    let (other, _) = open(&tmp.path().join("other"));
    let spare = other.spare_job().unwrap().run().unwrap();
    let err = s.install_spare(spare).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::WrongSpare {
                expected: 2,
                got: 1
            }
        ),
        "{err}"
    );
}
