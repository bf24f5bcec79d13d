//! The learner (learner.rs): decided values, the decided prefix,
//! catch-up.

use super::*;
use std::collections::BTreeMap;

/// Site 0 at time 0 with slots 0 and 1 decided and applied, keeping the
/// last `recent` decided values in memory.
fn learned(recent: usize) -> (Core, Value, Value) {
    let (v0, v1) = (one(tweet(1, 1)), one(tweet(2, 1)));
    let mut c = cfg(0);
    c.recent = recent;
    let acceptor = AcceptorState {
        promised: b(1, 0),
        decided: BTreeMap::from([(0, v0.clone()), (1, v1.clone())]),
        ..AcceptorState::default()
    };
    (restored(c, acceptor), v0, v1)
}

#[test]
fn spec5_catch_up_a_fetch_is_answered_with_the_decided_values_in_memory() {
    // SPEC 5, Catch-up: a site asks peers for decided values in bulk; the
    // answer also says how far the log goes.
    let (mut core, v0, v1) = learned(1024);
    let out = core.step(1, from(2, Message::Fetch { from: 0, to: 5 }));
    let answer = Message::Decided {
        decided_upto: 2,
        entries: vec![
            DecidedEntry { slot: 0, value: v0 },
            DecidedEntry { slot: 1, value: v1 },
        ],
        promised: b(1, 0),
        probe: 0,
    };
    assert_eq!(out.send, vec![(2, answer)]);
    assert_eq!(out.serve, Vec::new());
}

#[test]
fn spec5_catch_up_slots_no_longer_in_memory_are_served_from_storage() {
    // SPEC 5, Catch-up (and SPEC 6, start-up does not grow with history):
    // decided values older than the ones kept in memory are read from the
    // archive by the runtime.
    let (mut core, _, _) = learned(1);
    let out = core.step(1, from(2, Message::Fetch { from: 0, to: 5 }));
    assert_eq!(out.send, Vec::new());
    assert_eq!(
        out.serve,
        vec![ServeRequest {
            to_site: 2,
            from: 0,
            to: 1,
            decided_upto: 2
        }]
    );
}

#[test]
fn spec5_catch_up_a_fetch_of_an_empty_range_asks_how_far_the_log_goes() {
    // SPEC 5, Catch-up (holes are looked for periodically): the answer to
    // an empty range carries no values, only the decided prefix.
    let (mut core, _, _) = learned(1024);
    let out = core.step(1, from(2, log_end_probe(2)));
    let answer = Message::Decided {
        decided_upto: 2,
        entries: Vec::new(),
        promised: b(1, 0),
        probe: 0,
    };
    assert_eq!(out.send, vec![(2, answer)]);
}

#[test]
fn spec5_decided_slots_are_committed_in_order_once_the_hole_before_them_fills() {
    // SPEC 5: the log is a sequence; a slot decided beyond a hole waits,
    // durable, and is applied once every slot before it is.
    let mut core = voter(1);
    let (v0, v1) = (one(tweet(2, 1)), one(tweet(2, 2)));
    let out = core.step(0, from(0, commit(b(2, 0), 1, v1.clone())));
    assert_eq!(
        out.persist,
        vec![Record::Decide {
            slot: 1,
            value: v1.clone()
        }]
    );
    assert_eq!(out.committed, Vec::new());
    let out = core.step(1, from(0, commit(b(2, 0), 0, v0.clone())));
    assert_eq!(out.committed, vec![(0, v0), (1, v1)]);
    assert_eq!(core.decided_prefix(), 2);
}

#[test]
fn spec5_catch_up_a_commit_beyond_a_hole_makes_the_site_fetch_the_hole() {
    // SPEC 5, Catch-up: a site that learns of a decided slot beyond a hole
    // asks (its leader first) for the slots it misses, once no progress
    // came for `fetch_after_ms` (50: a commit may be late, not lost).
    let mut core = voter(1);
    core.step(0, from(0, commit(b(2, 0), 2, Value::noop())));
    let out = core.step(49, Input::Tick);
    assert_eq!(out.send_now, Vec::new());
    let out = core.step(50, Input::Tick);
    assert_eq!(out.send_now, vec![(0, Message::Fetch { from: 0, to: 3 })]);
}

#[test]
fn spec5_catch_up_an_answer_that_made_progress_asks_for_the_next_chunk_at_once() {
    // SPEC 5, Catch-up in bulk: the fetch is pipelined: when an answer
    // fills part of the hole, the next part is asked for in the same step.
    let mut core = voter(1);
    core.step(0, from(0, commit(b(2, 0), 2, Value::noop())));
    core.step(50, Input::Tick);
    let answer = Message::Decided {
        decided_upto: 3,
        entries: vec![DecidedEntry {
            slot: 0,
            value: Value::noop(),
        }],
        promised: b(2, 0),
        probe: 0,
    };
    let out = core.step(51, from(0, answer));
    assert_eq!(out.committed, vec![(0, Value::noop())]);
    assert_eq!(out.send_now, vec![(0, Message::Fetch { from: 1, to: 3 })]);
}

/// Site 1 following leader 0, with catch-up chunks of 10 slots and 3 of
/// them in flight at most; the leader's commit of slot 99 has just told it
/// that it misses slots 0..100.
fn far_behind() -> (Core, Output) {
    far_behind_with(|_| {})
}

/// `far_behind()` with its configuration changed by `change` first.
fn far_behind_with(change: impl FnOnce(&mut CoreConfig)) -> (Core, Output) {
    let mut c = cfg(1);
    c.fetch_chunk = 10;
    c.fetch_pipeline = 3;
    change(&mut c);
    let acceptor = AcceptorState {
        promised: b(2, 0),
        ..AcceptorState::default()
    };
    let mut core = restored(c, acceptor);
    let out = core.step(1, from(0, commit(b(2, 0), 99, Value::noop())));
    (core, out)
}

fn noops(slots: std::ops::Range<Slot>) -> Vec<DecidedEntry> {
    slots
        .map(|slot| DecidedEntry {
            slot,
            value: Value::noop(),
        })
        .collect()
}

fn answer(entries: Vec<DecidedEntry>) -> Message {
    Message::Decided {
        decided_upto: 100,
        entries,
        promised: b(2, 0),
        probe: 0,
    }
}

/// The fetches of `out` (they leave at once: they announce nothing).
fn fetches(out: &Output) -> Vec<(SiteId, Message)> {
    out.send_now
        .iter()
        .filter(|(_, m)| matches!(m, Message::Fetch { .. }))
        .cloned()
        .collect()
}

#[test]
fn spec5_catch_up_a_hole_longer_than_the_window_is_fetched_at_once_in_chunks_in_flight() {
    // SPEC 5, Catch-up in bulk: 100 missing slots cannot be commits that
    // are merely late (the leader has at most `window` in flight), so the
    // site asks at once, and for several chunks at a time.
    let (_, out) = far_behind();
    let asks = [(0, 10), (10, 20), (20, 30)];
    let expected: Vec<_> = asks
        .iter()
        .map(|&(from, to)| (0, Message::Fetch { from, to }))
        .collect();
    assert_eq!(out.send_now, expected);
}

#[test]
fn spec5_catch_up_an_answer_that_fills_its_chunk_tops_the_pipeline_up() {
    // SPEC 5, Catch-up in bulk: the answer to the first chunk moves the
    // prefix, and one more chunk is asked for, so three stay in flight.
    let (mut core, _) = far_behind();
    let out = core.step(2, from(0, answer(noops(0..10))));
    assert_eq!(out.committed.len(), 10);
    assert_eq!(out.send_now, vec![(0, Message::Fetch { from: 30, to: 40 })]);
}

#[test]
fn spec5_catch_up_an_answer_cut_short_asks_for_the_rest_of_its_chunk_at_once() {
    // SPEC 5, Catch-up in bulk: an answer ends at its byte budget (or where
    // the peer's memory begins); the rest of that chunk is asked for at
    // once instead of waiting for a timeout.
    let (mut core, _) = far_behind();
    let out = core.step(2, from(0, answer(noops(0..4))));
    assert_eq!(out.committed.len(), 4);
    assert_eq!(out.send_now, vec![(0, Message::Fetch { from: 4, to: 10 })]);
}

#[test]
fn spec5_catch_up_the_next_chunks_are_what_one_answer_carries() {
    // SPEC 5, Catch-up in bulk: values of 16 bytes and answers of 64 bytes
    // at most: an answer of 6 slots (96 bytes) says that 4 fit in one, so
    // the chunk that tops the pipeline up asks for 4 slots, not 10.
    let (mut core, _) = far_behind_with(|c| c.fetch_bytes = 64);
    let out = core.step(2, from(0, answer(noops(0..4))));
    assert_eq!(out.send_now, vec![(0, Message::Fetch { from: 4, to: 10 })]);
    let out = core.step(3, from(0, answer(noops(4..10))));
    assert_eq!(out.committed.len(), 6);
    assert_eq!(out.send_now, vec![(0, Message::Fetch { from: 30, to: 34 })]);
}

#[test]
fn spec5_catch_up_a_lost_answer_starts_the_pass_again_from_the_prefix_after_a_timeout() {
    // SPEC 5 (messages may be lost): the answer to the first chunk never
    // comes; the second one is kept, but the prefix cannot move. After a
    // whole timeout without progress the chunks are asked for again from
    // the prefix, and not before.
    let (mut core, _) = far_behind();
    let out = core.step(2, from(0, answer(noops(10..20))));
    assert_eq!((out.committed, out.send_now), (Vec::new(), Vec::new()));
    let out = core.step(100, Input::Tick);
    assert_eq!(fetches(&out), Vec::new());
    let out = core.step(102, Input::Tick);
    let again: Vec<(SiteId, Message)> = fetches(&out);
    let asked: Vec<(Slot, Slot)> = again
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Fetch { from, to } => Some((*from, *to)),
            _ => None,
        })
        .collect();
    assert_eq!(asked, vec![(0, 10), (10, 20), (20, 30)]);
}

#[test]
fn spec5_catch_up_a_duplicated_answer_changes_nothing() {
    // SPEC 5 (messages may be duplicated): the same answer twice commits
    // its slots once and asks for nothing more the second time.
    let (mut core, _) = far_behind();
    core.step(2, from(0, answer(noops(0..10))));
    let out = core.step(3, from(0, answer(noops(0..10))));
    assert_eq!(
        (out.committed, out.send, out.persist),
        (Vec::new(), Vec::new(), Vec::new())
    );
}

#[test]
fn spec5_catch_up_empty_answers_ask_for_nothing_more() {
    // SPEC 5 (messages may be duplicated, peers may be behind): a peer that
    // holds none of the chunks answers empty; those answers must not start
    // new requests, or each one would multiply into `fetch_pipeline` more.
    let (mut core, _) = far_behind();
    for t in 2..5 {
        let out = core.step(t, from(0, answer(Vec::new())));
        assert_eq!(fetches(&out), Vec::new());
    }
}
