//! Hostile bytes to the storage decoders: a WAL segment (batches of record
//! frames) and a checkpoint file. Arbitrary bytes and mutations of valid
//! ones never panic and are either read (and then only what was written)
//! or refused as corruption naming the file; mutations behind good
//! checksums reach the JSON decoders; valid input round-trips.

use super::*;
use crate::state::State;
use batch::{BATCH_HEADER, MAGIC};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z \"\\\\{}\\[\\]:,\\n\u{0}\u{7f}é日😀\u{F8}\u{FF}]{0,40}",
    ]
}

fn record() -> impl Strategy<Value = Record> {
    let b = (any::<u64>(), any::<u32>()).prop_map(|(r, s)| Ballot::new(r, s));
    prop_oneof![
        b.clone().prop_map(|ballot| Record::Promise { ballot }),
        (any::<u64>(), b, 0u64..1 << 40, text()).prop_map(|(slot, ballot, n, t)| {
            Record::Accept {
                slot,
                ballot,
                value: value_text(n, t),
            }
        }),
        (any::<u64>(), 0u64..1 << 40, text()).prop_map(|(slot, n, t)| Record::Decide {
            slot,
            value: value_text(n, t),
        }),
        Just(Record::Rejoining),
        Just(Record::Voting),
    ]
}

fn batches() -> impl Strategy<Value = Vec<Vec<Record>>> {
    prop::collection::vec(prop::collection::vec(record(), 1..4), 1..4)
}

/// The segment holding `batches`, and the records before each batch end.
fn segment(batches: &[Vec<Record>]) -> (Vec<u8>, Vec<usize>) {
    let mut buf = Vec::new();
    let mut prefixes = vec![0];
    for b in batches {
        buf.extend_from_slice(&encode_wal_batch(b).unwrap());
        prefixes.push(prefixes.last().unwrap() + b.len());
    }
    (buf, prefixes)
}

/// Edits of a valid input: bytes flipped, removed, inserted, or the rest cut.
fn mutate(mut b: Vec<u8>, edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    for (i, kind, x) in edits {
        if b.is_empty() {
            break;
        }
        let at = i.index(b.len());
        match kind % 4 {
            0 => b[at] ^= x | 1,
            1 => {
                b.remove(at);
            }
            2 => b.insert(at, *x),
            _ => b.truncate(at),
        }
    }
    b
}

fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8, u8)>> {
    prop::collection::vec(any::<(prop::sample::Index, u8, u8)>(), 1..5)
}

/// One batch with good checksums around `payloads` as record frames.
fn framed(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for p in payloads {
        body.extend_from_slice(&(p.len() as u32).to_le_bytes());
        body.extend_from_slice(&crc32fast::hash(p).to_le_bytes());
        body.extend_from_slice(p);
    }
    let mut b = MAGIC.to_vec();
    b.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    b.extend_from_slice(&(body.len() as u32).to_le_bytes());
    let header_crc = crc32fast::hash(&b);
    b.extend_from_slice(&header_crc.to_le_bytes());
    assert_eq!(b.len(), BATCH_HEADER);
    b.extend_from_slice(&body);
    b
}

/// Reading `buf` as the newest segment: never a panic; an error is
/// corruption naming the file; what is read is what `check` accepts.
fn read_segment(buf: &[u8], check: impl FnOnce(&WalRecovery)) {
    let path = Path::new("wal/0000000000000003.wal");
    match recover_wal_segment(buf, path) {
        Ok(r) => {
            assert!(r.good_end as usize <= buf.len());
            check(&r);
        }
        Err(e) => {
            assert!(
                matches!(&e, StorageError::Corrupt { path: p, .. } if p == path),
                "{e:?}"
            );
            assert!(e.to_string().contains("0000000000000003.wal"), "{e}");
        }
    }
}

fn state(ops: &[(u8, u8, String)]) -> State {
    let users: Vec<String> = ["alice", "bob", "carol"].map(String::from).into();
    let mut s = State::new(users.clone());
    for (slot, (kind, who, text)) in ops.iter().enumerate() {
        let (user, target) = (
            users[*who as usize % 3].clone(),
            users[*kind as usize % 3].clone(),
        );
        let op = match kind % 3 {
            0 if user != target => Op::Block { user, target },
            1 if user != target => Op::Unblock { user, target },
            _ => Op::Tweet {
                user,
                text: text.clone(),
                time: DateTime::from_timestamp(slot as i64 * 1000, 7).unwrap(),
            },
        };
        let id = OpId {
            site: 0,
            boot: 9,
            seq: slot as u64,
        };
        s.apply(slot as u64, &Value::batch(vec![Command { id, op }]))
            .unwrap();
    }
    s
}

fn acceptor(records: &[Record]) -> AcceptorState {
    replay(records)
}

fn read_checkpoint(bytes: &[u8]) {
    let path = Path::new("checkpoint.json");
    if let Err(e) = checkpoint::decode::<State>(bytes, path) {
        assert!(
            matches!(&e, StorageError::Corrupt { path: p, .. } if p == path),
            "{e:?}"
        );
        assert!(e.to_string().contains("checkpoint.json"), "{e}");
    }
}

/// A checkpoint file with a good checksum over `body`.
fn with_crc(body: &[u8]) -> Vec<u8> {
    let mut f = format!("crc32 {:08x}\n", crc32fast::hash(body)).into_bytes();
    f.extend_from_slice(body);
    f
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn wal_segments_round_trip(batches in batches(), zeros in 0usize..5000) {
        let (mut buf, _) = segment(&batches);
        let end = buf.len() as u64;
        buf.resize(buf.len() + zeros, 0);
        let r = recover_wal_segment(&buf, Path::new("x.wal")).unwrap();
        let all: Vec<Record> = batches.concat();
        prop_assert_eq!(r, WalRecovery { records: all, good_end: end, torn: None });
    }

    #[test]
    fn arbitrary_wal_bytes_never_panic(bytes in any::<Vec<u8>>(), magic in any::<bool>()) {
        // With the magic in front, the bytes reach the batch reader.
        let mut buf = if magic { MAGIC.to_vec() } else { Vec::new() };
        buf.extend_from_slice(&bytes);
        read_segment(&buf, |_| {});
    }

    #[test]
    fn a_mutated_wal_yields_whole_batches_written_or_is_refused(
        batches in batches(),
        edits in edits(),
    ) {
        let (buf, prefixes) = segment(&batches);
        let all: Vec<Record> = batches.concat();
        read_segment(&mutate(buf, &edits), |r| {
            // Only records that were written, in whole batches, in order.
            let n = r.records.len();
            assert!(prefixes.contains(&n), "{n} records of {prefixes:?}");
            assert_eq!(r.records[..], all[..n]);
        });
    }

    #[test]
    fn mutated_records_behind_good_checksums_never_panic(
        records in prop::collection::vec(record(), 1..4),
        edits in edits(),
    ) {
        let payloads: Vec<Vec<u8>> = records
            .iter()
            .map(|r| serde_json::to_vec(r).unwrap())
            .collect();
        let mut bad = payloads.clone();
        let last = bad.len() - 1;
        bad[last] = mutate(bad[last].clone(), &edits);
        bad.retain(|p| !p.is_empty());
        read_segment(&framed(&bad), |r| {
            // Whatever decoded is a record, and encodes to what decodes to it.
            for rec in &r.records {
                let again: Record = serde_json::from_slice(&serde_json::to_vec(rec).unwrap()).unwrap();
                assert_eq!(&again, rec);
            }
        });
    }

    #[test]
    fn checkpoints_round_trip(
        ops in prop::collection::vec((any::<u8>(), any::<u8>(), text()), 0..12),
        records in prop::collection::vec(record(), 0..6),
        wal_start in any::<u64>(),
    ) {
        let st = state(&ops);
        let acc = acceptor(&records);
        let applied = ops.len() as u64;
        let bytes = checkpoint::encode(applied, wal_start, &acc, Some(&st)).unwrap();
        let c = checkpoint::decode::<State>(&bytes, Path::new("checkpoint.json")).unwrap();
        prop_assert_eq!((c.applied, c.wal_start, c.acceptor, c.state), (applied, wal_start, acc.clone(), Some(st)));
        // Format 2 (SPEC 6: the state is in state.redb): no state inside.
        let bytes = checkpoint::encode::<State>(applied, wal_start, &acc, None).unwrap();
        let c = checkpoint::decode::<State>(&bytes, Path::new("checkpoint.json")).unwrap();
        prop_assert_eq!((c.applied, c.wal_start, c.acceptor, c.state), (applied, wal_start, acc, None));
    }

    #[test]
    fn arbitrary_checkpoint_bytes_never_panic(bytes in any::<Vec<u8>>(), body in any::<Vec<u8>>()) {
        read_checkpoint(&bytes);
        // With a good checksum, the bytes reach the JSON decoder.
        read_checkpoint(&with_crc(&body));
    }

    #[test]
    fn mutated_checkpoints_never_panic(
        ops in prop::collection::vec((any::<u8>(), any::<u8>(), text()), 0..12),
        records in prop::collection::vec(record(), 0..6),
        edits in edits(),
    ) {
        let bytes = checkpoint::encode(
            ops.len() as u64,
            1,
            &acceptor(&records),
            Some(&state(&ops)),
        )
        .unwrap();
        read_checkpoint(&mutate(bytes.clone(), &edits));
        let nl = bytes.iter().position(|&b| b == b'\n').unwrap();
        read_checkpoint(&with_crc(&mutate(bytes[nl + 1..].to_vec(), &edits)));
    }
}
