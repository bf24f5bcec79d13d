//! Phase 1 (election.rs): running for leader, promises, taking over,
//! giving up; who leads.

use super::*;

#[test]
fn spec5_a_single_site_decides_alone_once_its_accept_is_durable() {
    // SPEC 5: a quorum is a majority of all sites, the proposer included:
    // alone, a site's own promise and accept are a quorum. The whole Synod
    // runs in the step of the submission, but its own vote counts only
    // once its accept is durable ("The leader's own vote"): the step after.
    let mut core = restored(
        CoreConfig::new(1, 0, 100, 5000, 0),
        AcceptorState::default(),
    );
    let cmd = tweet(0, 1);
    let v = one(cmd.clone());
    let out = core.step(0, Input::Submit(cmd.clone()));
    assert_eq!(
        out.persist,
        vec![
            Record::Promise { ballot: b(1, 0) },
            accept_record(0, b(1, 0), v.clone()),
        ]
    );
    assert_eq!(out.send_now, Vec::new());
    assert_eq!(out.send, vec![own_ack(0, b(1, 0), 0)]);
    assert_eq!(out.committed, Vec::new());
    assert_eq!(
        events(&out),
        vec![
            TraceEvent::Election {
                ballot: b(1, 0),
                from_slot: 0
            },
            TraceEvent::Leader {
                leader: Some(0),
                ballot: b(1, 0)
            },
            TraceEvent::Proposed {
                slot: 0,
                ballot: b(1, 0),
                value: v.summary(),
                recovered: false
            },
        ]
    );
    // The accept is durable: the runtime hands the own ack back.
    let out = core.step(0, from(0, ack(b(1, 0), 0)));
    assert_eq!(
        out.persist,
        vec![Record::Decide {
            slot: 0,
            value: v.clone()
        }]
    );
    assert_eq!(out.send_now, Vec::new());
    assert_eq!(out.send, Vec::new());
    assert_eq!(out.committed, vec![(0, v.clone())]);
    assert_eq!(
        out.completed,
        vec![Completion {
            id: cmd.id,
            slot: 0,
            index: 0
        }]
    );
    assert_eq!(
        events(&out),
        vec![TraceEvent::Decided {
            slot: 0,
            value: v.summary(),
            own: Some(true)
        }]
    );
}

#[test]
fn pre_vote_a_site_that_heard_no_quorum_asks_before_it_runs() {
    // "No livelock", pre-vote: a site with work and no leader that has not
    // heard a quorum asks the peers how far the log goes, and does not run.
    let mut core = voter(0);
    let out = core.step(0, Input::Submit(tweet(0, 1)));
    assert_eq!(out.persist, Vec::new());
    assert_eq!(out.send_now, to_others(0, log_end_probe(0)));
    assert_eq!(events(&out), Vec::new());
}

#[test]
fn spec5_a_site_with_work_that_heard_a_quorum_runs_phase_1_for_every_slot() {
    // SPEC 5, Multi-Paxos: with no leader, a site with work prepares a
    // fresh ballot for all slots from its first undecided one, its own
    // promise made durable first.
    let mut core = voter(0);
    let answer = Message::Decided {
        decided_upto: 0,
        entries: Vec::new(),
        promised: b(1, 0),
        probe: 0,
    };
    core.step(0, from(1, answer));
    let out = core.step(1, Input::Submit(tweet(0, 1)));
    assert_eq!(out.persist, vec![Record::Promise { ballot: b(2, 0) }]);
    assert_eq!(out.send, to_others(0, prepare(b(2, 0), 0)));
    assert_eq!(
        events(&out),
        vec![TraceEvent::Election {
            ballot: b(2, 0),
            from_slot: 0
        }]
    );
}

#[test]
fn spec5_a_quorum_of_promises_makes_the_candidate_leader() {
    // SPEC 5, Multi-Paxos: once a quorum promised (its own and site 1's of
    // three), the candidate leads and says so.
    let mut core = candidate();
    let out = core.step(1, from(1, promise(b(2, 0), Vec::new())));
    assert!(core.is_leading());
    assert_eq!(out.persist, Vec::new());
    assert_eq!(out.send, to_others(0, heartbeat(b(2, 0))));
    assert_eq!(
        events(&out),
        vec![TraceEvent::Leader {
            leader: Some(0),
            ballot: b(2, 0)
        }]
    );
}

#[test]
fn spec5_a_new_leader_reproposes_what_may_have_been_chosen_and_fills_holes_with_noops() {
    // SPEC 5, Catch-up: a value is never invented for a slot: the new leader
    // proposes in each slot the value a promise reports accepted, and a
    // no-op where none was.
    let mut core = candidate();
    let v = one(tweet(2, 1));
    let reported = vec![accepted(1, b(1, 1), v.clone())];
    let out = core.step(1, from(1, promise(b(2, 0), reported)));
    let mut accepts = to_others(0, accept(b(2, 0), 0, Value::noop()));
    accepts.extend(to_others(0, accept(b(2, 0), 1, v.clone())));
    assert_eq!(out.send_now, accepts);
    let mut sent = to_others(0, heartbeat(b(2, 0)));
    sent.extend([own_ack(0, b(2, 0), 0), own_ack(0, b(2, 0), 1)]);
    assert_eq!(out.send, sent);
    assert_eq!(
        out.persist,
        vec![
            accept_record(0, b(2, 0), Value::noop()),
            accept_record(1, b(2, 0), v.clone()),
        ]
    );
}

#[test]
fn spec7_a_promise_in_parts_does_not_count_before_its_last_part() {
    // SPEC 7: a promise split into parts counts once every part is here.
    let mut core = candidate();
    let first = vec![accepted(0, b(1, 1), one(tweet(2, 1)))];
    let out = core.step(1, from(1, promise_part(b(2, 0), first, (0, 2))));
    assert!(!core.is_leading());
    assert_eq!(out.send, Vec::new());
    assert_eq!(out.persist, Vec::new());
}

#[test]
fn spec7_the_last_part_of_a_promise_completes_it() {
    // SPEC 7: the parts together are the promise: both halves of what
    // site 1 accepted are re-proposed.
    let mut core = candidate();
    let (v0, v1) = (one(tweet(2, 1)), one(tweet(2, 2)));
    let first = vec![accepted(0, b(1, 1), v0.clone())];
    core.step(1, from(1, promise_part(b(2, 0), first, (0, 2))));
    let last = vec![accepted(1, b(1, 1), v1.clone())];
    let out = core.step(2, from(1, promise_part(b(2, 0), last, (1, 2))));
    assert!(core.is_leading());
    let mut accepts = to_others(0, accept(b(2, 0), 0, v0));
    accepts.extend(to_others(0, accept(b(2, 0), 1, v1)));
    assert_eq!(out.send_now, accepts);
    let mut sent = to_others(0, heartbeat(b(2, 0)));
    sent.extend([own_ack(0, b(2, 0), 0), own_ack(0, b(2, 0), 1)]);
    assert_eq!(out.send, sent);
}

#[test]
fn spec5_a_candidate_resends_its_prepare_to_the_sites_that_did_not_promise() {
    // SPEC 5 (messages may be lost): after `timeout_ms` without a quorum,
    // the prepare goes again to the sites missing; the idle site also asks
    // every peer how far the log goes (the hole probe, "Catch-up").
    let mut core = candidate();
    let out = core.step(100, Input::Tick);
    // (The probe announces nothing durable: it leaves at once.)
    assert_eq!(out.send, to_others(0, prepare(b(2, 0), 0)));
    assert_eq!(out.send_now, to_others(0, log_end_probe(0)));
}

#[test]
fn no_livelock_a_candidate_without_a_quorum_in_time_gives_up() {
    // "No livelock": no quorum within `candidacy_ms` (400): the candidate
    // gives up for now (and tries again after a random backoff).
    let mut core = candidate();
    let out = core.step(400, Input::Tick);
    assert!(matches!(core.role, Role::Follower));
    assert_eq!(out.send_now, to_others(0, log_end_probe(0)));
    assert_eq!(out.persist, Vec::new());
}

#[test]
fn spec5_a_nack_with_a_higher_ballot_ends_a_candidacy() {
    // SPEC 5: a nack carries the higher ballot; the candidate is outbid.
    let mut core = candidate();
    let nack = Message::Nack {
        ballot: b(3, 1),
        slot: None,
    };
    let out = core.step(1, from(1, nack));
    assert!(matches!(core.role, Role::Follower));
    assert_eq!(out.send, Vec::new());
    assert_eq!(out.persist, Vec::new());
}

#[test]
fn spec5_a_follower_acks_the_heartbeat_of_its_leader() {
    // SPEC 5: the leader stays leader until it fails: its heartbeat is
    // acknowledged (check-quorum) and names it the leader.
    let mut core = voter(1);
    let out = core.step(0, from(0, heartbeat(b(2, 0))));
    assert_eq!(
        out.send,
        vec![(0, Message::HeartbeatAck { ballot: b(2, 0) })]
    );
    assert_eq!(out.persist, Vec::new());
    assert_eq!(
        events(&out),
        vec![TraceEvent::Leader {
            leader: Some(0),
            ballot: b(2, 0)
        }]
    );
    assert_eq!(core.leader(), Some(0));
}

#[test]
fn spec5_the_heartbeat_of_an_outbid_leader_gets_a_nack() {
    // SPEC 5: a leader stays leader until it is outbid; a stale one is told
    // at once, so that it steps down.
    let mut core = voter_with(1, b(3, 2));
    let out = core.step(0, from(0, heartbeat(b(2, 0))));
    assert_eq!(
        out.send,
        vec![(
            0,
            Message::Nack {
                ballot: b(3, 2),
                slot: None
            }
        )]
    );
    assert_eq!(core.leader(), None);
}

/// Ticks `core` (a single site) every 10 ms up to `until`, handing its own
/// acks back at once (as after their sync); returns the slots it applied
/// and whether it ran for leader.
fn tick_alone(core: &mut Core, until: u64) -> (Vec<(Slot, Value)>, bool) {
    let (mut committed, mut ran) = (Vec::new(), false);
    for now in (0..until).step_by(10) {
        let mut out = core.step(now, Input::Tick);
        loop {
            ran |= events(&out)
                .iter()
                .any(|e| matches!(e, TraceEvent::Election { .. }));
            committed.append(&mut out.committed);
            let own: Vec<Message> = out.send.drain(..).map(|(_, m)| m).collect();
            if own.is_empty() {
                break;
            }
            out = Output::default();
            for m in own {
                out.append(core.step(now, from(0, m)));
            }
        }
    }
    (committed, ran)
}

#[test]
fn spec5_a_value_accepted_here_but_decided_nowhere_is_finished_by_a_phase_1() {
    // SPEC 5, Catch-up: "for a slot no peer knows as decided, [a site]
    // runs Synod itself". Decisions are written lazily ("Decisions need no
    // sync"): after every site lost power, a value that was chosen, and
    // answered, may be held as accepted with its decision nowhere. A site
    // holding such a value runs phase 1 once it stalls, with no
    // submission waiting, which re-proposes and decides it.
    let v = one(tweet(0, 1));
    let acceptor = AcceptorState {
        promised: b(1, 0),
        accepted: std::collections::BTreeMap::from([(0, (b(1, 0), v.clone()))]),
        ..AcceptorState::default()
    };
    let mut core = restored(CoreConfig::new(1, 0, 100, 5000, 0), acceptor);
    assert_eq!(tick_alone(&mut core, 2_000), (vec![(0, v)], true));
    // With nothing accepted (and nothing to do), no election.
    let acceptor = AcceptorState {
        promised: b(1, 0),
        ..AcceptorState::default()
    };
    let mut idle = restored(CoreConfig::new(1, 0, 100, 5000, 0), acceptor);
    assert_eq!(tick_alone(&mut idle, 2_000), (Vec::new(), false));
}

#[test]
fn spec5_parts_of_two_answers_to_one_prepare_are_never_merged() {
    // SPEC 5 safety (the simulator's seed 1192 found it): a prepare sent
    // again is answered again, in parts, and slot 1 went from accepted to
    // decided between the two answers. The first answer's part 1 (slot 2)
    // and the second's part 0 (slot 2 again) hold slot 1 in neither: taken
    // together, the new leader would fill slot 1 with a no-op although
    // it may be chosen. Parts of another answer start the collection anew.
    let mut core = candidate();
    let (v2, v3) = (one(tweet(2, 2)), one(tweet(2, 3)));
    let first_part_1 = vec![accepted(2, b(1, 1), v2.clone())];
    core.step(
        1,
        from(
            1,
            promise_of_answer(b(2, 0), first_part_1, Vec::new(), (1, 2, 11)),
        ),
    );
    let second_part_0 = vec![accepted(2, b(1, 1), v2.clone())];
    let out = core.step(
        2,
        from(
            1,
            promise_of_answer(b(2, 0), second_part_0, Vec::new(), (0, 2, 22)),
        ),
    );
    assert!(!core.is_leading(), "parts of two answers merged");
    assert_eq!(out.send_now, Vec::new());
    // The second answer's last part: slot 1 is decided at site 1.
    let second_part_1 = vec![accepted(3, b(1, 1), v3.clone())];
    let out = core.step(
        3,
        from(
            1,
            promise_of_answer(b(2, 0), second_part_1, vec![1], (1, 2, 22)),
        ),
    );
    assert!(core.is_leading());
    let proposed: Vec<(Slot, Value)> = out
        .send_now
        .iter()
        .filter(|(to, _)| *to == 1)
        .filter_map(|(_, m)| match m {
            Message::Accept { slot, value, .. } => Some((*slot, value.clone())),
            _ => None,
        })
        .collect();
    // Slot 0 free (a no-op), slot 1 left to catch-up, 2 and 3 re-proposed.
    assert_eq!(proposed, vec![(0, Value::noop()), (2, v2), (3, v3)]);
}
