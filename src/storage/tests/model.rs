//! Property: random appends, checkpoints, crashes, reopens.

use super::*;

#[derive(Debug, Clone)]
enum Step {
    Append(Vec<Record>),
    Checkpoint,
    Reopen,
    /// The site dies in the middle of appending these records: of their
    /// batch, the first `cut` bytes were written, and of those, the pages
    /// whose bit is set in `lost` (by page number in the file) did not
    /// reach the disk.
    Crash(Vec<Record>, usize, u8),
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
        1 => (prop::collection::vec(arb_record(), 1..3), any::<usize>(), any::<u8>())
            .prop_map(|(r, c, l)| Step::Crash(r, c, l)),
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
                    s.checkpoint_v1(applied, &state, &m.acceptor).unwrap();
                    m.applied = applied;
                    m.state = Some(state);
                    let segs = wal::list_segments(&dir.join(wal::DIR)).unwrap();
                    prop_assert_eq!(segs.len(), 1);
                }
                Step::Reopen => {
                    drop(store.take());
                    store = Some(reopen_and_check(dir, &mut m));
                }
                Step::Crash(records, cut, lost) => {
                    let path = store.as_ref().unwrap().segment.path.clone();
                    drop(store.take());
                    let start = file_len(&path) as usize;
                    let mut buf = encode_wal_batch(&records).unwrap();
                    // The whole batch when `cut` says so, else a prefix.
                    let cut = cut % (buf.len() + 4);
                    buf.truncate(cut.min(buf.len()));
                    let whole = buf.len() == encode_wal_batch(&records).unwrap().len();
                    let mut hit = false;
                    for (i, b) in buf.iter_mut().enumerate() {
                        let page = (start + i) / WAL_PAGE;
                        if lost & (1 << (page % 8)) != 0 && *b != 0 {
                            *b = 0;
                            hit = true;
                        }
                    }
                    // All of the batch or nothing of it.
                    if whole && !hit {
                        for r in &records {
                            m.acceptor.apply(r);
                        }
                    }
                    append_bytes(&path, &buf);
                    store = Some(reopen_and_check(dir, &mut m));
                }
            }
        }
        drop(store.take());
        reopen_and_check(dir, &mut m);
    }
}
