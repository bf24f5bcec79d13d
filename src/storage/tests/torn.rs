//! Torn writes and corruption of the WAL.

use super::*;

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
fn a_group_commit_torn_in_the_middle_is_discarded_whole() {
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
    // rest of the file size was extended with zeros. Its first record is
    // whole, but none of the batch was acknowledged: all of it goes.
    let mut one = Vec::new();
    frame::encode_json(&mut one, &records[2], "t").unwrap();
    let cut = before as usize + batch::BATCH_HEADER + one.len() + 8 + 5;
    let mut b = fs::read(seg(dir, 0)).unwrap();
    b[cut..].fill(0);
    fs::write(seg(dir, 0), b).unwrap();
    let (s, rec) = open(dir);
    assert_eq!(rec.acceptor, replay(&records[..2]));
    assert_eq!(s.segment.len(), before);
}

/// A copy of data dir `dir` as a `kill -9` leaves it: the files as they
/// are while the store is open (the newest segment with its preallocated
/// zeros), nothing trimmed.
pub(super) fn crash_copy(dir: &Path, to: &Path) {
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
    let one = encode_wal_batch(&[extra_record()]).unwrap();
    for cut in [3, 8, 12, 20, 30, one.len() - 1] {
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
    assert!(s.checkpoint_v1(0, &St::new(), &acceptor).is_err());
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
    // In the payload of the third record (of five), one batch each.
    flip_byte(&path, ends[1] + batch::BATCH_HEADER as u64 + 8 + 3);
    let err = open_err(dir);
    let msg = err.to_string();
    assert!(
        matches!(err, StorageError::Corrupt { offset: Some(o), .. } if o == ends[1]),
        "{err:?}"
    );
    assert!(msg.contains("0000000000000000.wal"), "{msg}");
    assert!(msg.contains("will not start"), "{msg}");
    // It never advises deleting the data dir without the learner rule.
    assert!(
        msg.contains("learner") && !msg.contains("remove it"),
        "{msg}"
    );
    // Nothing was "repaired".
    assert_eq!(file_len(&path), ends[4]);
    assert!(Store::open::<St>(dir).is_err(), "refused again");
}

#[test]
fn a_good_checksum_on_bad_json_is_corrupt_even_at_the_end() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    write_one_by_one(dir, &five_records()[..2]);
    let buf = batch::encode_batch(&[serde_json::json!({"rec": "nonsense"})]).unwrap();
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
