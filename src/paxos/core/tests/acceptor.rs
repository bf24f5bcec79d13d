//! The acceptor (acceptor.rs): promises and accepts.

use super::*;
use std::collections::BTreeMap;

#[test]
fn spec5_a_promise_is_persisted_in_the_output_that_sends_it() {
    // SPEC 5: an acceptor's promise is on stable storage before the promise
    // leaves the site (the runtime syncs `persist` before it sends `send`;
    // nothing leaves at once).
    let mut core = voter(0);
    let out = core.step(0, from(2, prepare(b(4, 2), 0)));
    assert_eq!(out.persist, vec![Record::Promise { ballot: b(4, 2) }]);
    assert_eq!(out.send_now, Vec::new());
    assert_eq!(out.send, vec![(2, promise(b(4, 2), Vec::new()))]);
}

#[test]
fn spec5_a_candidates_own_promise_is_durable_before_its_prepares_leave() {
    // SPEC 5: the candidate's own acceptor promises too; its prepares leave
    // only after that promise is durable, so no other promise (and no
    // quorum) can be counted with its own before then.
    let mut core = voter(0);
    let mut out = Output::default();
    core.start_election(&mut out);
    assert_eq!(out.persist, vec![Record::Promise { ballot: b(2, 0) }]);
    assert_eq!(out.send_now, Vec::new());
    assert_eq!(out.send, to_others(0, prepare(b(2, 0), 0)));
}

#[test]
fn spec5_an_accept_is_persisted_in_the_output_that_acks_it() {
    // SPEC 5: the accepted (ballot, value) is on stable storage before the
    // ack leaves; the acceptor takes the sender for the leader.
    let mut core = voter_with(0, b(4, 2));
    let value = one(tweet(2, 1));
    let out = core.step(1, from(2, accept(b(4, 2), 0, value.clone())));
    assert_eq!(
        out.persist,
        vec![Record::Accept {
            slot: 0,
            ballot: b(4, 2),
            value
        }]
    );
    assert_eq!(out.send_now, Vec::new());
    assert_eq!(out.send, vec![(2, ack(b(4, 2), 0))]);
    assert_eq!(
        events(&out),
        vec![TraceEvent::Leader {
            leader: Some(2),
            ballot: b(4, 2)
        }]
    );
}

#[test]
fn spec5_a_prepare_below_the_promise_gets_a_nack_with_the_promised_ballot() {
    // SPEC 5: a rejection is a nack that carries the higher ballot seen.
    let mut core = voter_with(0, b(4, 2));
    let out = core.step(0, from(1, prepare(b(3, 1), 0)));
    assert_eq!(out.persist, Vec::new());
    assert_eq!(
        out.send,
        vec![(
            1,
            Message::Nack {
                ballot: b(4, 2),
                slot: None
            }
        )]
    );
}

#[test]
fn spec5_an_accept_below_the_promise_gets_a_nack_naming_its_slot() {
    // SPEC 5: the nack of an accept carries the promised ballot and the slot.
    let mut core = voter_with(0, b(4, 2));
    let out = core.step(0, from(1, accept(b(3, 1), 7, Value::noop())));
    assert_eq!(out.persist, Vec::new());
    assert_eq!(
        out.send,
        vec![(
            1,
            Message::Nack {
                ballot: b(4, 2),
                slot: Some(7)
            }
        )]
    );
}

#[test]
fn spec6_a_restarted_acceptor_keeps_its_promise() {
    // SPEC 6: nothing promised is lost on kill -9: the records of a promise,
    // replayed at start-up, still refuse a lower ballot.
    let mut core = voter(0);
    let out = core.step(0, from(2, prepare(b(4, 2), 0)));
    let mut disk = AcceptorState {
        promised: b(1, 0),
        ..AcceptorState::default()
    };
    for r in &out.persist {
        disk.apply(r);
    }
    let mut again = restored(cfg(0), disk);
    let out = again.step(1, from(1, accept(b(3, 1), 0, Value::noop())));
    assert_eq!(
        out.send,
        vec![(
            1,
            Message::Nack {
                ballot: b(4, 2),
                slot: Some(0)
            }
        )]
    );
}

#[test]
fn spec7_a_promise_too_big_for_one_line_travels_in_parts() {
    // SPEC 7 (a line is at most 1 MiB): a promise whose accepted values pass
    // `promise_bytes` is split, each part with at least one value, and the
    // decided slots beyond the prefix ride in the last part.
    let mut small = cfg(0);
    small.promise_bytes = 300; // one tweet's value is about 185 bytes
    let v: Vec<Value> = (0..3).map(|i| one(tweet(2, i))).collect();
    let acceptor = AcceptorState {
        promised: b(1, 2),
        accepted: (0..3)
            .map(|i| (i, (b(1, 2), v[i as usize].clone())))
            .collect(),
        decided: BTreeMap::from([(5, Value::noop())]),
        rejoining: false,
    };
    let mut core = restored(small, acceptor);
    let out = core.step(0, from(1, prepare(b(2, 1), 0)));
    // One random number names the answer, in every part of it.
    let answer = match out.send.first() {
        Some((_, Message::Promise { answer, .. })) => *answer,
        other => panic!("a promise, not {other:?}"),
    };
    assert_ne!(answer, 0);
    let part = |i: u32, decided_beyond: Vec<Slot>| Message::Promise {
        ballot: b(2, 1),
        from_slot: 0,
        decided_upto: 0,
        accepted: vec![accepted(i as Slot, b(1, 2), v[i as usize].clone())],
        decided_beyond,
        part: i,
        parts: 3,
        answer,
    };
    assert_eq!(out.persist, vec![Record::Promise { ballot: b(2, 1) }]);
    assert_eq!(
        out.send,
        vec![
            (1, part(0, Vec::new())),
            (1, part(1, Vec::new())),
            (1, part(2, vec![5])),
        ]
    );
}
