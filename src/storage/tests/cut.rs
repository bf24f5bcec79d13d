//! The last write cut at **every** byte offset, not a sample: a crash
//! that persisted any prefix of it. Each time the store is reopened and
//! must hold the state before that write or the state after it, nothing
//! else, and go on appending. The writes: a WAL batch (the first of a
//! segment, a small one after others, one over three pages), every step of
//! a checkpoint (`checkpoint.json` itself is never written in place: it is
//! written to `checkpoint.json.tmp`, synced and renamed, so its cut is a
//! cut of the temporary file), and an archive entry.

use super::pages::{big_records, committed_up_to};
use super::torn::crash_copy;
use super::*;

/// A temp dir on tmpfs where there is one: these tests reopen a store tens
/// of thousands of times, and a sync costs nothing there. What recovery
/// reads, and so what is tested, is the same.
fn fast_tmp() -> TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(t) = tempfile::Builder::new()
            .prefix("tweettui-cut")
            .tempdir_in(shm)
        {
            return t;
        }
    }
    TempDir::new().unwrap()
}

/// The WAL segment as a crash left it: `prefix` (committed batches), the
/// first `cut` bytes of `batch`, then the preallocated zeros or (on a file
/// system that grew the file with the write) nothing.
fn image(prefix: &[u8], batch: &[u8], cut: usize, zeros: bool) -> Vec<u8> {
    let mut b = prefix.to_vec();
    b.extend_from_slice(&batch[..cut]);
    if zeros {
        b.resize(b.len() + 2 * WAL_PAGE, 0);
    }
    b
}

/// Every cut of `records`' batch written after the committed WAL of the
/// store in `base` (whose records are `committed`). Returns the cuts tried.
fn every_cut(tmp: &Path, base: &Path, committed: &[Record], records: &[Record]) -> usize {
    let prefix = fs::read(seg(base, 0)).unwrap();
    let start = prefix.len();
    let batch = encode_wal_batch(records).unwrap();
    let dir = tmp.join(format!("cut-{start}-{}", batch.len()));
    let mut tried = 0;
    for cut in 0..=batch.len() {
        let whole = cut == batch.len();
        let mut expected = committed.to_vec();
        if whole {
            expected.extend_from_slice(records);
        }
        let end = if whole { start + batch.len() } else { start };
        for zeros in [true, false] {
            let what = format!("{start}+{cut} of {} bytes, zeros {zeros}", batch.len());
            let image = image(&prefix, &batch, cut, zeros);
            // The byte-level recovery the simulator runs too.
            let r = recover_wal_segment(&image, &seg(&dir, 0)).expect(&what);
            assert_eq!(r.records, expected, "{what}");
            assert_eq!(r.good_end, end as u64, "{what}");
            assert_eq!(r.torn.is_some(), cut > 0 && !whole, "{what}: {:?}", r.torn);
            // The store: reopen, append, reopen.
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(dir.join(wal::DIR)).unwrap();
            fs::write(seg(&dir, 0), &image).unwrap();
            {
                let (mut s, rec) = open(&dir);
                assert_eq!(rec.acceptor, replay(&expected), "{what}");
                assert_eq!(s.segment.len(), end as u64, "{what}");
                let bytes = fs::read(seg(&dir, 0)).unwrap();
                assert!(bytes[end..].iter().all(|&b| b == 0), "{what}: cut off");
                s.append(&[extra_record()]).unwrap();
            }
            let (_s, rec) = open(&dir);
            let after = replay(expected.iter().chain([&extra_record()]));
            assert_eq!(rec.acceptor, after, "{what}: after the next append");
            tried += 1;
        }
    }
    tried
}

#[test]
fn a_wal_batch_cut_at_every_byte_gives_the_state_before_or_after_it() {
    let tmp = fast_tmp();
    let records = five_records();
    // The first write of a new segment.
    let empty = tmp.path().join("empty");
    drop(open(&empty));
    let mut tried = every_cut(tmp.path(), &empty, &[], &records[..3]);
    // A small batch after committed ones.
    let small = tmp.path().join("small");
    write_one_by_one(&small, &records[..4]);
    tried += every_cut(tmp.path(), &small, &records[..4], &records[4..]);
    assert!(tried > 1000, "{tried}");
}

#[test]
fn a_multi_page_wal_batch_cut_at_every_byte_gives_the_state_before_or_after_it() {
    let tmp = fast_tmp();
    // Its header across a page boundary, its payload over two more pages.
    let start = 2 * WAL_PAGE - 10;
    let base = tmp.path().join("base");
    let committed = committed_up_to(&base, start);
    let records = big_records(WAL_PAGE + 30);
    let batch = encode_wal_batch(&records).unwrap();
    let pages = (start + batch.len() - 1) / WAL_PAGE - start / WAL_PAGE + 1;
    assert!(pages >= 3, "the batch spans {pages} pages");
    let tried = every_cut(tmp.path(), &base, &committed, &records);
    assert_eq!(tried, 2 * (batch.len() + 1));
}

/// A store with a checkpoint at slot 2 and slots 2 and 3 decided and
/// archived after it; returns its acceptor state.
fn checkpointed_then_more(dir: &Path) -> (Store, AcceptorState) {
    let (mut s, _) = open(dir);
    let first = decide_and_archive(&mut s, 0..2);
    let mut acceptor = replay(&first);
    acceptor.forget_below(2);
    s.checkpoint_v1(2, &vec![2u64], &acceptor).unwrap();
    for r in decide_and_archive(&mut s, 2..4) {
        acceptor.apply(&r);
    }
    (s, acceptor)
}

/// Reopens `dir` and checks it holds the old checkpoint (slot 2) or the
/// new one (slot 4), with `acceptor`; then it must checkpoint again.
fn check_checkpoint(dir: &Path, new: bool, acceptor: &AcceptorState, what: &str) {
    let (mut s, rec) = open(dir);
    let (applied, state) = if new { (4, vec![4u64]) } else { (2, vec![2]) };
    assert_eq!(
        (rec.applied, rec.state.as_ref()),
        (applied, Some(&state)),
        "{what}"
    );
    assert_eq!(&rec.acceptor, acceptor, "{what}");
    // The entries after the checkpoint are kept as far as they are whole.
    let held = s.archived_len();
    assert!((applied..=4).contains(&held), "{what}: {held} archived");
    let got = s.read_decided(0, 4, usize::MAX).unwrap();
    assert_eq!(got, (0..held).map(entry).collect::<Vec<_>>(), "{what}");
    assert!(!dir.join(checkpoint::TMP).exists(), "{what}");
    for slot in applied..4 {
        s.archive(slot, &rec.acceptor.decided[&slot]).unwrap();
    }
    let mut later = rec.acceptor.clone();
    later.forget_below(4);
    s.checkpoint_v1(4, &vec![4u64], &later).expect(what);
    drop(s);
    let (_s, rec) = open(dir);
    assert_eq!((rec.applied, rec.acceptor), (4, later), "{what}: again");
}

#[test]
fn a_checkpoint_cut_at_every_byte_and_step_gives_the_old_or_the_new_one() {
    let tmp = fast_tmp();
    let live = tmp.path().join("live");
    let (s, full) = checkpointed_then_more(&live);
    let old_segment = s.segment.len();
    let mut newer = full.clone();
    newer.forget_below(4);
    let content = checkpoint::encode(4, 2, &newer, Some(&vec![4u64])).unwrap();
    // The steps of `Store::checkpoint`, each as a crash leaves it: segment
    // 2 created and appends switched to it (segment 1 still ends in its
    // preallocated zeros: see `job.rs`)...
    let created = tmp.path().join("created");
    crash_copy(&live, &created);
    drop(s);
    fs::write(seg(&created, 2), b"").unwrap();
    let try_dir = tmp.path().join("try");
    let fresh = |from: &Path| {
        let _ = fs::remove_dir_all(&try_dir);
        crash_copy(from, &try_dir);
    };
    assert!(file_len(&seg(&created, 1)) > old_segment, "untrimmed");
    fresh(&created);
    check_checkpoint(&try_dir, false, &full, "segment 2 created");
    // ... the archive synced (a crash copy holds it anyway), segment 1
    // trimmed ...
    let trimmed = tmp.path().join("trimmed");
    crash_copy(&created, &trimmed);
    set_len(&seg(&trimmed, 1), old_segment);
    fresh(&trimmed);
    check_checkpoint(&try_dir, false, &full, "segment 1 trimmed");
    let created = trimmed;
    // ... checkpoint.json.tmp written up to every byte ...
    for cut in 0..=content.len() {
        fresh(&created);
        fs::write(try_dir.join(checkpoint::TMP), &content[..cut]).unwrap();
        let what = format!("checkpoint.json.tmp cut at {cut} of {}", content.len());
        check_checkpoint(&try_dir, false, &full, &what);
    }
    // ... renamed (the old segments still there) ...
    fresh(&created);
    fs::write(try_dir.join(checkpoint::FILE), &content).unwrap();
    check_checkpoint(&try_dir, true, &newer, "renamed");
    // ... and the old segments deleted.
    fresh(&created);
    fs::write(try_dir.join(checkpoint::FILE), &content).unwrap();
    fs::remove_file(seg(&try_dir, 1)).unwrap();
    check_checkpoint(&try_dir, true, &newer, "old segments deleted");
}

#[test]
fn an_archive_entry_cut_at_every_byte_is_archived_again() {
    let tmp = fast_tmp();
    let live = tmp.path().join("live");
    let (s, full) = checkpointed_then_more(&live);
    let base = tmp.path().join("base");
    crash_copy(&live, &base);
    drop(s);
    let log_len = file_len(&base.join(archive::LOG));
    let mut last = Vec::new();
    frame::encode_json(&mut last, &entry(3), "t").unwrap();
    let before = log_len - last.len() as u64;
    // The entry's bytes, then its 8 index bytes (written after it).
    let cuts = (0..last.len() as u64).map(|k| (before + k, 3 * 8));
    let cuts = cuts.chain((0..=8).map(|k| (log_len, 3 * 8 + k)));
    let dir = tmp.path().join("try");
    for (log, idx) in cuts {
        let what = format!("archive.log cut at {log}, archive.idx at {idx}");
        let _ = fs::remove_dir_all(&dir);
        crash_copy(&base, &dir);
        set_len(&dir.join(archive::LOG), log);
        set_len(&dir.join(archive::IDX), idx);
        // Slots 2 and 3 are after the checkpoint: slot 2 is whole and
        // kept; slot 3 too once its entry and index are, else it is cut
        // off and archived again from the WAL.
        let whole = log == log_len && idx == 4 * 8;
        assert_eq!(
            open(&dir).0.archived_len(),
            if whole { 4 } else { 3 },
            "{what}"
        );
        check_checkpoint(&dir, false, &full, &what);
        let (s, _) = open(&dir);
        let got = s.read_decided(0, 4, usize::MAX).unwrap();
        assert_eq!(got, (0..4).map(entry).collect::<Vec<_>>(), "{what}");
    }
}
