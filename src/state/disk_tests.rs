//! The state on disk (`state.redb`) against the state in memory: the same
//! log gives the same answers (SPEC 4: timeline, blocks), it survives a
//! reopen, a crash brings it back to its last durable commit, and a view
//! reads only what it applied (SPEC 6: storage of the derived state).

use super::op::{Op, Value};
use super::test_fixtures::{cmd, users, USERS};
use super::*;
use chrono::TimeZone;
use proptest::prelude::*;
use std::sync::Arc;

/// A random op over the known users plus one unknown; times with few
/// distinct seconds (ties are common) and sometimes nanoseconds.
fn arb_op() -> impl Strategy<Value = Op> {
    let user = prop::sample::select(vec!["alice", "bob", "carol", "dave", "zed"]);
    prop_oneof![
        3 => (user.clone(), "[a-z]{0,6}", -3i64..6, prop::sample::select(vec![0u32, 1, 999_999_999])).prop_map(|(u, text, secs, nanos)| Op::Tweet {
            user: u.into(),
            text,
            time: Utc.timestamp_opt(1_700_000_000 + secs, nanos).unwrap(),
        }),
        2 => (user.clone(), user.clone()).prop_map(|(u, v)| Op::Block { user: u.into(), target: v.into() }),
        1 => (user.clone(), user).prop_map(|(u, v)| Op::Unblock { user: u.into(), target: v.into() }),
    ]
}

/// A log of batches, with an operation repeated now and then (its second
/// copy takes no effect) and a cut into apply batches.
fn arb_log() -> impl Strategy<Value = (Vec<Value>, Vec<usize>)> {
    let slots = prop::collection::vec(prop::collection::vec((arb_op(), 0u8..10), 0..4), 0..40);
    (slots, prop::collection::vec(1usize..6, 1..20)).prop_map(|(slots, cuts)| {
        let mut seq = 0;
        let log = slots
            .into_iter()
            .map(|ops| {
                Value::batch(
                    ops.into_iter()
                        .map(|(op, again)| {
                            // One in ten reuses the previous id.
                            if again != 0 || seq == 0 {
                                seq += 1;
                            }
                            cmd(seq, op)
                        })
                        .collect(),
                )
            })
            .collect();
        (log, cuts)
    })
}

/// Applies `log` in batches of the sizes in `cuts` (cycled).
fn apply_in_batches(s: &mut State, log: &[Value], cuts: &[usize]) {
    let mut slot = 0;
    let mut i = 0;
    while slot < log.len() {
        let n = cuts[i % cuts.len()].min(log.len() - slot);
        let batch = (slot..slot + n).map(|k| (k as u64, &log[k]));
        s.apply_all(batch).unwrap();
        slot += n;
        i += 1;
    }
}

fn memory(log: &[Value]) -> State {
    let mut s = State::new(users());
    for (slot, v) in log.iter().enumerate() {
        s.apply(slot as u64, v).unwrap();
    }
    s
}

/// Every answer a reader can get, compared between two states.
fn same_answers(a: &State, b: &State) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.next_slot(), b.next_slot());
    prop_assert_eq!(a.tweet_count(), b.tweet_count());
    let all: Vec<Tweet> = a.all_tweets().collect();
    prop_assert_eq!(&all, &b.all_tweets().collect::<Vec<_>>());
    for reader in ["alice", "bob", "carol", "dave", "zed"] {
        let line: Vec<Tweet> = a.timeline(reader).collect();
        prop_assert_eq!(&line, &b.timeline(reader).collect::<Vec<_>>());
        prop_assert_eq!(a.timeline_len(reader), b.timeline_len(reader));
        prop_assert_eq!(b.timeline_len(reader), line.len());
        prop_assert_eq!(a.blocked_by(reader), b.blocked_by(reader));
        prop_assert_eq!(a.blockers_of(reader), b.blockers_of(reader));
        for t in &all {
            let at = |s: &State| s.timeline_at(reader, t.key()).collect::<Vec<_>>();
            prop_assert_eq!(at(a), at(b));
            let above = |s: &State| s.timeline_above(reader, Some(t.key())).collect::<Vec<_>>();
            prop_assert_eq!(above(a), above(b));
            prop_assert_eq!(
                a.timeline_at(reader, t.key()).skip_n(2).peek_key(),
                b.timeline_at(reader, t.key()).skip_n(2).peek_key()
            );
        }
        prop_assert_eq!(
            a.timeline_above(reader, None).collect::<Vec<_>>(),
            b.timeline_above(reader, None).collect::<Vec<_>>()
        );
    }
    prop_assert!(a == b);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// SPEC 4 and 6: the same log, applied in any batches, gives the state
    /// on disk the answers of the state in memory; so does the file
    /// reopened, and a view at each point.
    #[test]
    fn disk_state_answers_as_the_memory_state((log, cuts) in arb_log()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        let mut disk = State::open_disk(&path, users()).unwrap();
        apply_in_batches(&mut disk, &log, &cuts);
        let mem = memory(&log);
        same_answers(&mem, &disk)?;
        // A view made half way reads only what it applied itself.
        let half = log.len() / 2;
        let mut early = State::open_disk(&dir.path().join("other.redb"), users()).unwrap();
        apply_in_batches(&mut early, &log[..half], &cuts);
        let mut view = early.clone();
        same_answers(&memory(&log[..half]), &view)?;
        for (k, v) in log.iter().enumerate().skip(half) {
            early.apply(k as u64, v).unwrap();
            // The writer is ahead: the view still answers as of slot k.
            same_answers(&memory(&log[..k]), &view)?;
            view.apply(k as u64, v).unwrap();
        }
        same_answers(&mem, &view)?;
        // A clean close writes what waits in memory.
        disk.flush().unwrap();
        drop((disk, early, view));
        let reopened = State::open_disk(&path, users()).unwrap();
        same_answers(&mem, &reopened)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Applies while another transaction holds redb's writer (a
    /// checkpoint's durable commit on another thread) are kept in memory:
    /// the state and its views answer as if they were written, the next
    /// apply that gets the writer writes them, and the file reopened
    /// holds everything.
    #[test]
    fn applies_while_the_writer_is_held_answer_the_same(
        (log, cuts) in arb_log(),
        held in prop::collection::vec(any::<bool>(), 1..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        let mut disk = State::open_disk(&path, users()).unwrap();
        let Backing::Disk(d) = &disk.tweets else { unreachable!() };
        let db = Arc::clone(&d.db);
        let (mut slot, mut i) = (0, 0);
        while slot < log.len() {
            let n = cuts[i % cuts.len()].min(log.len() - slot);
            let writer = held[i % held.len()].then(|| db.begin_write().unwrap());
            let view = disk.clone();
            disk.apply_all((slot..slot + n).map(|k| (k as u64, &log[k]))).unwrap();
            same_answers(&memory(&log[..slot + n]), &disk)?;
            same_answers(&memory(&log[..slot]), &view)?;
            drop(writer);
            slot += n;
            i += 1;
        }
        disk.flush().unwrap();
        let Backing::Disk(d) = &disk.tweets else { unreachable!() };
        prop_assert!(d.pending.lock().unwrap().is_empty());
        same_answers(&memory(&log), &disk)?;
        drop(disk);
        let reopened = State::open_disk(&path, users()).unwrap();
        same_answers(&memory(&log), &reopened)?;
    }
}

/// SPEC 6: what was applied and made durable survives; a crash (the file
/// as a `kill -9` leaves it) brings back the last durable commit, whose
/// `next_slot` says where to go on; applying from there gives the state of
/// an uninterrupted run.
#[test]
fn a_crash_brings_back_the_last_durable_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STATE_FILE);
    let log = tweet_slots(300);
    let mut s = State::open_disk(&path, users()).unwrap();
    for chunk in 0..10u64 {
        let from = chunk * 20;
        s.apply_all((from..from + 20).map(|k| (k, &log[k as usize])))
            .unwrap();
    }
    s.durable().unwrap().unwrap().commit().unwrap();
    for k in 200..260u64 {
        s.apply(k, &log[k as usize]).unwrap();
    }
    // What a crash now leaves: the file as it is (non-durable commits are
    // not in its header).
    let crashed = dir.path().join("crashed.redb");
    std::fs::copy(&path, &crashed).unwrap();
    s.flush().unwrap();
    drop(s);

    let mut back = State::open_disk(&crashed, users()).unwrap();
    assert_eq!(back.next_slot(), 200, "the last durable commit");
    assert_eq!(back, memory(&log[..200]));
    for k in 200..300u64 {
        back.apply(k, &log[k as usize]).unwrap();
    }
    assert_eq!(back, memory(&log));

    // A clean close (what waits in memory written first) keeps everything.
    let reopened = State::open_disk(&path, users()).unwrap();
    assert_eq!(reopened.next_slot(), 260);
    assert_eq!(reopened, memory(&log[..260]));
}

/// One tweet a slot, `n` slots.
fn tweet_slots(n: u64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            Value::batch(vec![cmd(
                i + 1,
                Op::Tweet {
                    user: USERS[i as usize % 4].into(),
                    text: format!("t{i}"),
                    time: Utc.timestamp_opt(1_700_000_000 + i as i64 / 3, 0).unwrap(),
                },
            )])
        })
        .collect()
}

/// Whether `s` holds applied rows that are not in its file yet.
fn holds_pending(s: &State) -> bool {
    let Backing::Disk(d) = &s.tweets else {
        unreachable!("a state on disk")
    };
    let pending = d.pending.lock().unwrap();
    !pending.is_empty()
}

/// The rows of applied slots wait in memory, where every read finds them,
/// until `WRITE_AT_ROWS` of them do; then one transaction writes them all
/// (a transaction for every batch cost more than its rows).
#[test]
fn applied_rows_wait_in_memory_until_enough_of_them_do() {
    let dir = tempfile::tempdir().unwrap();
    let rows = disk::WRITE_AT_ROWS as u64;
    let log = tweet_slots(rows);
    let mut s = State::open_disk(&dir.path().join(STATE_FILE), users()).unwrap();
    for (k, v) in log.iter().enumerate().take(log.len() - 1) {
        s.apply(k as u64, v).unwrap();
    }
    assert!(holds_pending(&s), "{} rows wait in memory", rows - 1);
    same_answers(&memory(&log[..log.len() - 1]), &s).unwrap();
    s.apply(rows - 1, &log[log.len() - 1]).unwrap();
    assert!(!holds_pending(&s), "{rows} rows are written together");
    same_answers(&memory(&log), &s).unwrap();
}

/// A file of other users is refused with both lists; one that does not hold
/// up (or cannot be opened) is reported and can be reset.
#[test]
fn a_file_that_does_not_fit_is_refused_and_can_be_reset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STATE_FILE);
    let mut s = State::open_disk(&path, users()).unwrap();
    s.apply(
        0,
        &Value::batch(vec![cmd(
            1,
            Op::Block {
                user: "alice".into(),
                target: "bob".into(),
            },
        )]),
    )
    .unwrap();
    s.flush().unwrap();
    drop(s);
    let others = vec!["x".to_string(), "y".to_string()];
    let err = State::open_disk(&path, others).unwrap_err();
    assert!(matches!(err, StoreError::OtherUsers { .. }), "{err}");
    assert!(err.to_string().contains("state.redb"), "{err}");

    std::fs::write(&path, vec![0x5a; 16 << 10]).unwrap();
    let err = State::open_disk(&path, users()).unwrap_err();
    assert!(err.to_string().contains("state.redb"), "{err}");
    let fresh = State::reset_disk(&path, users()).unwrap();
    assert_eq!(fresh.next_slot(), 0);
    assert!(dir.path().join("state.redb.broken").exists());
}

/// `import` (the format-1 migration) copies a state in memory exactly.
#[test]
fn import_copies_a_memory_state() {
    let dir = tempfile::tempdir().unwrap();
    let log: Vec<Value> = (0..50u64)
        .map(|i| {
            Value::batch(vec![cmd(
                i + 1,
                if i % 7 == 3 {
                    Op::Block {
                        user: "bob".into(),
                        target: "carol".into(),
                    }
                } else {
                    Op::Tweet {
                        user: USERS[i as usize % 4].into(),
                        text: format!("t{i}"),
                        time: Utc.timestamp_opt(1_600_000_000, i as u32 * 7).unwrap(),
                    }
                },
            )])
        })
        .collect();
    let mem = memory(&log);
    let mut disk = State::open_disk(&dir.path().join(STATE_FILE), users()).unwrap();
    disk.import(&mem).unwrap();
    assert_eq!(disk, mem);
    let reopened = {
        disk.durable().unwrap().unwrap().commit().unwrap();
        drop(disk);
        State::open_disk(&dir.path().join(STATE_FILE), users()).unwrap()
    };
    assert_eq!(reopened, mem);
}

/// SPEC 6 costs, by hand: `cargo test --release --lib state::disk_tests::a_million -- --ignored --nocapture`.
#[test]
#[ignore = "slow: run by hand to see the costs"]
fn a_million_tweets_on_disk() {
    use std::time::Instant;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STATE_FILE);
    let mut s = State::open_disk(&path, users()).unwrap();
    let start = Instant::now();
    let batch = |i: u64| {
        Value::batch(
            (0..4)
                .map(|k| {
                    cmd(
                        i * 4 + k + 1,
                        Op::Tweet {
                            user: USERS[k as usize].into(),
                            text: "hello, world: a tweet of some length".into(),
                            time: Utc
                                .timestamp_opt(1_700_000_000 + (i * 4 + k) as i64 / 3, 0)
                                .unwrap(),
                        },
                    )
                })
                .collect(),
        )
    };
    let mut slot = 0u64;
    while slot < 250_000 {
        let values: Vec<Value> = (slot..slot + 100).map(batch).collect();
        s.apply_all(values.iter().enumerate().map(|(k, v)| (slot + k as u64, v)))
            .unwrap();
        slot += 100;
        if slot.is_multiple_of(1000) {
            s.durable().unwrap().unwrap().commit().unwrap();
        }
    }
    println!("apply 1M tweets: {:?}", start.elapsed());
    let values: Vec<Value> = (slot..slot + 10).map(batch).collect();
    let t = Instant::now();
    s.apply_all(values.iter().enumerate().map(|(k, v)| (slot + k as u64, v)))
        .unwrap();
    println!("one apply of 10 slots (40 tweets) at 1M: {:?}", t.elapsed());
    let t = Instant::now();
    s.durable().unwrap().unwrap().commit().unwrap();
    println!("one durable commit after it: {:?}", t.elapsed());
    drop(s);
    let t = Instant::now();
    let s = State::open_disk(&path, users()).unwrap();
    println!(
        "open (reads the meta): {:?}, {} tweets",
        t.elapsed(),
        s.tweet_count()
    );
    let t = Instant::now();
    let page: Vec<Tweet> = s.timeline("bob").skip(1000).take(50).collect();
    println!("a page 1000 deep: {:?}", t.elapsed());
    assert_eq!(page.len(), 50);
}
