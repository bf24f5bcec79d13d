use super::*;
use crate::site::probe::{Event, Seen};

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn id(site: SiteId, seq: u64) -> OpId {
    OpId { site, boot: 1, seq }
}

/// Two commits at 3 sites, the leader site 0: slot 0 answered by the
/// leader (client 0), slot 1 by site 1 (forwarded). Every moment is `t0 +
/// n µs`, so each stage is known exactly.
fn synthetic(t0: Instant) -> (Vec<Sample>, Vec<Seen>) {
    let t = |n: u64| t0 + us(n);
    let seen = |n: u64, site: SiteId, event: Event| Seen {
        at: t(n),
        site,
        event,
    };
    // Moments of a batch: begun, decided slots archived, applied (and
    // answered), records durable.
    let batch = |[since, archived, applied, synced]: [u64; 4],
                 accepted: Vec<Slot>,
                 decided: Vec<Slot>| Event::Batch {
        since: t(since),
        archived: t(archived),
        applied: t(applied),
        synced: t(synced),
        accepted,
        decided,
    };
    let samples = vec![
        Sample {
            sent: t(0),
            got: t(1000),
            slot: 0,
            index: 0,
        },
        Sample {
            sent: t(2000),
            got: t(3500),
            slot: 1,
            index: 0,
        },
    ];
    let events = vec![
        // Slot 0, at the leader: read at 30, accept out at 40, own sync
        // 35..300, first ack at 400 (a later one at 450), decided at 420,
        // archived 420..700, applied at 720, reply written at 750.
        seen(
            40,
            0,
            Event::AcceptSent {
                slot: 0,
                ids: vec![id(0, 1)],
            },
        ),
        seen(
            41,
            0,
            Event::AcceptSent {
                slot: 0,
                ids: vec![id(0, 1)],
            },
        ),
        seen(310, 0, batch([35, 35, 35, 300], vec![0], vec![])),
        seen(400, 0, Event::AckReceived { slot: 0 }),
        seen(450, 0, Event::AckReceived { slot: 0 }),
        seen(720, 0, batch([420, 700, 720, 700], vec![], vec![0])),
        seen(
            750,
            0,
            Event::Answered {
                read: t(30),
                slot: 0,
                index: 0,
            },
        ),
        // Slot 1, answered by site 1: read at 2050, forward in at the
        // leader at 2150, accept out at 2160, own sync 2155..2400, first
        // ack at 2500, decided at 2510, commit in at site 1 at 2600 (site 2
        // at 2590), archived there 2610..2630, applied at 2950, written at
        // 3000 (that batch's own records durable at 3100).
        seen(
            2150,
            0,
            Event::ForwardReceived {
                ids: vec![id(1, 7)],
            },
        ),
        seen(
            2160,
            0,
            Event::AcceptSent {
                slot: 1,
                ids: vec![id(1, 7)],
            },
        ),
        seen(2410, 0, batch([2155, 2155, 2155, 2400], vec![1], vec![])),
        seen(2500, 0, Event::AckReceived { slot: 1 }),
        seen(2520, 0, batch([2510, 2515, 2520, 2515], vec![], vec![1])),
        seen(2590, 2, Event::CommitReceived { slot: 1 }),
        seen(2600, 1, Event::CommitReceived { slot: 1 }),
        seen(3100, 1, batch([2610, 2630, 2950, 3100], vec![], vec![1])),
        seen(
            3000,
            1,
            Event::Answered {
                read: t(2050),
                slot: 1,
                index: 0,
            },
        ),
        // The followers' own batches for slot 1 do not count as the leader's.
        seen(2300, 1, batch([2170, 2170, 2170, 2290], vec![1], vec![])),
    ];
    (samples, events)
}

#[test]
fn stages_come_from_the_moments_of_each_commit() {
    let t0 = Instant::now();
    let (samples, events) = synthetic(t0);
    let b = analyse(&samples, &events);
    assert_eq!((b.commits, b.forwarded, b.incomplete), (2, 1, 0));
    let got = |stage: &str| b.row(stage).expect(stage).samples.clone();
    assert_eq!(got("client → site"), [us(30), us(50)]);
    assert_eq!(got("forward"), [us(100)]);
    // Slot 0: 30 → 420; slot 1: 2150 → 2510.
    assert_eq!(got("at the leader"), [us(360), us(390)]);
    assert_eq!(got("leader sync"), [us(245), us(265)]);
    assert_eq!(got("follower sync"), [us(340), us(360)]);
    assert_eq!(got("commit"), [us(90)]);
    // Slot 0: 420 → 720; slot 1: 2600 → 2950.
    assert_eq!(got("apply"), [us(300), us(350)]);
    // Slot 0: 420 → 700; slot 1: 2610 → 2630 (its batch's records were
    // durable only at 3100, after the answer: that does not count).
    assert_eq!(got("archive write"), [us(20), us(280)]);
    assert_eq!(got("reply"), [us(30), us(50)]);
    assert_eq!(got("answer"), [us(250), us(500)]);
    assert_eq!(got("total"), [us(1000), us(1500)]);
    // The stages in series add up to the total.
    let series: Duration = b.rows.iter().filter(|r| !r.nested).map(|r| r.sum).sum();
    assert_eq!(series, us(2500) * 2);
    assert_eq!(b.p50(), us(1500));
    let text = b.to_string();
    assert!(
        text.contains("2 commits followed, 1 of them forwarded"),
        "{text}"
    );
    assert!(text.contains("forward (submitter → leader)"), "{text}");
}

#[test]
fn a_commit_with_a_moment_missing_is_left_out() {
    let t0 = Instant::now();
    let (samples, mut events) = synthetic(t0);
    // Site 1 never heard the commit of slot 1.
    events.retain(|s| !(s.site == 1 && matches!(s.event, Event::CommitReceived { .. })));
    let b = analyse(&samples, &events);
    assert_eq!((b.commits, b.forwarded, b.incomplete), (1, 0, 1));
    assert_eq!(b.row("total").unwrap().samples, [us(1000)]);
    assert!(b.row("forward").unwrap().samples.is_empty());
}

#[test]
fn the_floor_line_gives_the_ratio() {
    let t0 = Instant::now();
    let (samples, events) = synthetic(t0);
    let mut b = analyse(&samples, &events);
    b.floor = Some(Floor {
        round_trip: us(100),
        sync: us(400),
    });
    let text = b.to_string();
    assert!(
        text.contains("= 500 µs; commit p50 1500 µs = 3.00 × the floor"),
        "{text}"
    );
}
