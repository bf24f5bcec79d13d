//! Phase 2 as leader (leader.rs): slots for submissions, accepts, acks,
//! commits, heartbeats, check-quorum, and the answers to forwards.

use super::*;

#[test]
fn spec5_a_leader_puts_a_forwarded_submission_in_its_next_slot_and_says_where() {
    // SPEC 5: a site hands its operations to the leader, which sends accept
    // directly (phase 2 only), counting its own; the submitter is told the
    // slot ("Exactly once": `Assigned`).
    let mut core = leader();
    let cmd = tweet(1, 1);
    let v = one(cmd.clone());
    let out = core.step(2, from(1, forward(b(2, 0), vec![cmd.clone()])));
    let assigned = Message::Assigned {
        ballot: b(2, 0),
        slot: 0,
        ids: vec![cmd.id],
    };
    assert_eq!(out.send_now, to_others(0, accept(b(2, 0), 0, v.clone())));
    assert_eq!(out.send, vec![(1, assigned), own_ack(0, b(2, 0), 0)]);
    assert_eq!(out.persist, vec![accept_record(0, b(2, 0), v)]);
}

#[test]
fn exactly_once_a_forward_repeated_in_the_same_term_gets_its_slot_again() {
    // "Exactly once": within one term a leader assigns an operation to one
    // slot at most; a forward sent again is answered with that slot.
    let mut core = leader();
    let cmd = tweet(1, 1);
    core.step(2, from(1, forward(b(2, 0), vec![cmd.clone()])));
    let out = core.step(3, from(1, forward(b(2, 0), vec![cmd.clone()])));
    let assigned = Message::Assigned {
        ballot: b(2, 0),
        slot: 0,
        ids: vec![cmd.id],
    };
    assert_eq!(out.send, vec![(1, assigned)]);
    assert_eq!(out.persist, Vec::new());
}

#[test]
fn exactly_once_a_past_term_answers_late_forwards_truthfully() {
    // "Exactly once": a leader that lost its term still says which of the
    // forwards stamped with it got a slot, and rejects the others (it
    // never will assign them), so that they are handed to the next leader.
    let mut core = leader();
    let (t1, t2) = (tweet(1, 1), tweet(1, 2));
    core.step(2, from(1, forward(b(2, 0), vec![t1.clone()])));
    core.step(3, from(2, prepare(b(3, 2), 0)));
    assert!(!core.is_leading());
    let out = core.step(4, from(1, forward(b(2, 0), vec![t1.clone(), t2.clone()])));
    let assigned = Message::Assigned {
        ballot: b(2, 0),
        slot: 0,
        ids: vec![t1.id],
    };
    let rejected = Message::Rejected {
        ballot: b(2, 0),
        ids: vec![t2.id],
    };
    assert_eq!(out.send, vec![(1, assigned), (1, rejected)]);
}

#[test]
fn spec5_a_quorum_of_acks_decides_and_commits_to_every_site() {
    // SPEC 5: accept / ack, then commit to every site; the leader's own
    // submission is done when its slot is decided here. The leader's own
    // vote comes once its accept is durable.
    let (cmd, out) = acked_in_order(0, 1);
    // Every vote counted is durable: the commit leaves at once.
    assert_decided_slot_0(&cmd, &out);
}

/// The leader's step with its submission `tweet(0, 1)` in slot 0 and the
/// acks of sites `first` and then `second`, and the output of the second.
fn acked_in_order(first: SiteId, second: SiteId) -> (Command, Output) {
    let mut core = leader();
    let cmd = tweet(0, 1);
    core.step(2, Input::Submit(cmd.clone()));
    core.step(3, from(first, ack(b(2, 0), 0)));
    (cmd.clone(), core.step(4, from(second, ack(b(2, 0), 0))))
}

/// `cmd`, decided in slot 0 by the output `out`: committed and completed
/// here, a `Decide` written, a commit to every other site at once.
fn assert_decided_slot_0(cmd: &Command, out: &Output) {
    let v = one(cmd.clone());
    assert_eq!(out.send_now, to_others(0, commit(b(2, 0), 0, v.clone())));
    assert_eq!(out.send, Vec::new());
    assert_eq!(
        out.persist,
        vec![Record::Decide {
            slot: 0,
            value: v.clone()
        }]
    );
    assert_eq!(out.committed, vec![(0, v)]);
    assert_eq!(
        out.completed,
        vec![Completion {
            id: cmd.id,
            slot: 0,
            index: 0
        }]
    );
}

#[test]
fn spec5_a_leader_tells_every_site_it_is_alive_four_times_a_timeout() {
    // SPEC 5 (the leader stays leader until it fails): a heartbeat every
    // `heartbeat_ms` (25), with how far its log goes.
    let mut core = leader();
    let out = core.step(1 + 24, Input::Tick);
    assert_eq!(out.send, Vec::new());
    let out = core.step(1 + 25, Input::Tick);
    assert_eq!(out.send, to_others(0, heartbeat(b(2, 0))));
}

#[test]
fn check_quorum_a_leader_that_hears_no_quorum_steps_down() {
    // SPEC 5 (a leader that can send but not hear must be replaced):
    // `check_quorum_ms` (125) into its term with no follower heard since,
    // the leader steps down; as a follower with no leader, it asks a peer
    // how far the log goes.
    let mut core = leader();
    let out = core.step(1 + 125, Input::Tick);
    assert!(!core.is_leading());
    assert_eq!(
        events(&out),
        vec![TraceEvent::Leader {
            leader: None,
            ballot: b(2, 0)
        }]
    );
    assert_eq!(out.send_now, to_others(0, log_end_probe(0)));
}

#[test]
fn spec5_catch_up_a_leader_asked_for_slots_beyond_its_log_fills_them_with_noops() {
    // SPEC 5, Catch-up: a fetch beyond the leader's log makes it settle
    // those slots (no-ops, or whatever phase 1 recovers), so that a value
    // stranded there by an earlier leader is decided.
    let mut core = leader();
    let out = core.step(2, from(1, Message::Fetch { from: 0, to: 2 }));
    let answer = Message::Decided {
        decided_upto: 0,
        entries: Vec::new(),
        promised: b(2, 0),
        probe: 0,
    };
    let mut accepts = to_others(0, accept(b(2, 0), 0, Value::noop()));
    accepts.extend(to_others(0, accept(b(2, 0), 1, Value::noop())));
    assert_eq!(out.send_now, accepts);
    assert_eq!(
        out.send,
        vec![(1, answer), own_ack(0, b(2, 0), 0), own_ack(0, b(2, 0), 1)]
    );
    assert_eq!(
        out.persist,
        vec![
            accept_record(0, b(2, 0), Value::noop()),
            accept_record(1, b(2, 0), Value::noop()),
        ]
    );
}

#[test]
fn a_leader_settles_a_slot_beyond_its_log_where_its_own_submission_waits() {
    // SPEC 5 (liveness), "Exactly once" rule 2: an earlier leader put this
    // site's submission into slot 5, which nobody drives any more. Once
    // this site leads and the submission waited `assigned_patience_ms`
    // (200), it fills its log up to slot 5 with no-ops: the slot is settled,
    // and the submission, having lost it, is retried in a later one.
    let (mut core, _) = assigned_to(5);
    core.start_election(&mut Output::default());
    core.step(3, from(2, promise(b(3, 1), Vec::new())));
    assert!(core.is_leading());
    core.step(240, from(2, Message::HeartbeatAck { ballot: b(3, 1) }));
    let out = core.step(250, Input::Tick);
    let filled: Vec<Slot> = out
        .send_now
        .iter()
        .filter_map(|(to, m)| match m {
            Message::Accept { slot, value, .. } if *to == 2 && value.cmds.is_empty() => Some(*slot),
            _ => None,
        })
        .collect();
    assert_eq!(filled, (0..=5).collect::<Vec<Slot>>());
}

// ----- the leader's own vote (mod.rs, "The leader's own vote") -----------

#[test]
fn own_vote_the_accept_leaves_at_once_and_the_own_ack_after_the_sync() {
    // Ongaro's thesis 10.2.1: the leader writes its accept in parallel
    // with replicating it. The accepts to the followers leave at once; the
    // leader's own acceptor acks only after the sync, to the leader itself.
    let mut core = leader();
    let v = one(tweet(0, 1));
    let out = core.step(2, Input::Submit(tweet(0, 1)));
    assert_eq!(out.send_now, to_others(0, accept(b(2, 0), 0, v.clone())));
    assert_eq!(out.send, vec![own_ack(0, b(2, 0), 0)]);
    assert_eq!(out.persist, vec![accept_record(0, b(2, 0), v)]);
    assert_eq!(out.committed, Vec::new());
}

#[test]
fn own_vote_a_followers_ack_alone_decides_nothing_before_the_sync() {
    // "The leader's own vote": until its own ack comes back (the sync is
    // done), the leader has one vote of the two a quorum of three needs.
    let mut core = leader();
    core.step(2, Input::Submit(tweet(0, 1)));
    let out = core.step(3, from(1, ack(b(2, 0), 0)));
    assert_eq!(out.persist, Vec::new());
    assert_eq!(out.send_now, Vec::new());
    assert_eq!(out.send, Vec::new());
    assert_eq!(out.committed, Vec::new());
    assert_eq!(events(&out), Vec::new());
}

#[test]
fn own_vote_one_followers_ack_and_the_synced_own_vote_decide_among_three() {
    // SPEC 5: a quorum of three is two: site 1's ack, then the leader's own
    // vote once its accept is durable. The commit leaves at once (every
    // vote counted is durable); the submission is done once applied.
    let (cmd, out) = acked_in_order(1, 0);
    assert_decided_slot_0(&cmd, &out);
}

#[test]
fn own_vote_an_own_ack_of_an_earlier_term_counts_for_nothing() {
    // "The leader's own vote": an own ack that comes back after the leader
    // lost its term (a higher prepare came during the sync) is ignored.
    let mut core = leader();
    core.step(2, Input::Submit(tweet(0, 1)));
    core.step(3, from(2, prepare(b(3, 2), 0)));
    assert!(!core.is_leading());
    let out = core.step(4, from(0, ack(b(2, 0), 0)));
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn own_vote_the_broken_core_counts_its_vote_before_the_sync() {
    // The defect the simulator must catch (`own_vote_before_sync`): the
    // leader's vote counts at once, so one follower's ack decides and a
    // commit leaves before the leader's accept is durable.
    let mut core = candidate();
    core.cfg.defects.own_vote_before_sync = true;
    core.step(1, from(1, promise(b(2, 0), Vec::new())));
    let v = one(tweet(0, 1));
    let out = core.step(2, Input::Submit(tweet(0, 1)));
    assert_eq!(out.send, Vec::new());
    let out = core.step(3, from(1, ack(b(2, 0), 0)));
    assert_eq!(out.send_now, to_others(0, commit(b(2, 0), 0, v)));
}

#[test]
fn batching_what_comes_while_a_slot_is_undecided_goes_together_into_the_next_slot() {
    // `fresh_window` (one): a leader keeps one slot of new submissions
    // undecided; a forward and a submission that come meanwhile wait, and
    // the decision of slot 0 opens slot 1 with both, in the order they came.
    let mut core = leader();
    core.step(2, Input::Submit(tweet(0, 1)));
    let waiting = [
        core.step(3, from(1, forward(b(2, 0), vec![tweet(1, 1)]))),
        core.step(4, Input::Submit(tweet(0, 2))),
    ];
    for out in &waiting {
        assert_eq!(out.send_now, Vec::new());
        assert_eq!(out.persist, Vec::new());
    }
    core.step(5, from(1, ack(b(2, 0), 0)));
    let out = core.step(6, from(0, ack(b(2, 0), 0)));
    let next = Value::batch(vec![tweet(1, 1), tweet(0, 2)]);
    let mut sent = to_others(0, commit(b(2, 0), 0, one(tweet(0, 1))));
    sent.extend(to_others(0, accept(b(2, 0), 1, next.clone())));
    assert_eq!(out.send_now, sent);
    assert_eq!(
        out.persist,
        vec![
            Record::Decide {
                slot: 0,
                value: one(tweet(0, 1))
            },
            accept_record(1, b(2, 0), next)
        ]
    );
    let assigned = Message::Assigned {
        ballot: b(2, 0),
        slot: 1,
        ids: vec![tweet(1, 1).id],
    };
    assert_eq!(out.send, vec![(1, assigned), own_ack(0, b(2, 0), 1)]);
}

#[test]
fn batching_a_wider_fresh_window_opens_a_slot_per_submission_at_once() {
    // With `fresh_window` two, the second submission gets slot 1 while
    // slot 0 is undecided; the third waits.
    let mut cfg = cfg(0);
    cfg.fresh_window = 2;
    let mut core = leader_with(cfg);
    core.step(2, Input::Submit(tweet(0, 1)));
    let out = core.step(3, Input::Submit(tweet(0, 2)));
    assert_eq!(
        out.send_now,
        to_others(0, accept(b(2, 0), 1, one(tweet(0, 2))))
    );
    let out = core.step(4, Input::Submit(tweet(0, 3)));
    assert_eq!(out.send_now, Vec::new());
}
