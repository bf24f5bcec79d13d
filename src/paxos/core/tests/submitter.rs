//! This site's submissions (submitter.rs), rule by rule of "Exactly once".

use super::*;

fn forward_of(cmd: Command) -> Message {
    forward(b(2, 0), vec![cmd])
}

#[test]
fn exactly_once_a_submission_is_handed_to_the_leader_this_site_trusts() {
    // SPEC 5 (hand operations to the site that currently leads), "Exactly
    // once" rule 2: the submission is forwarded, stamped with the ballot
    // of the leader it is handed to.
    let mut core = follower();
    let out = core.step(1, Input::Submit(tweet(1, 1)));
    // A forward announces nothing durable: it leaves at once, even while
    // the site syncs earlier records.
    assert_eq!(out.send_now, vec![(0, forward_of(tweet(1, 1)))]);
    assert_eq!(out.send, Vec::new());
    assert_eq!(out.persist, Vec::new());
}

#[test]
fn exactly_once_an_unanswered_forward_is_sent_again_after_retry_ms() {
    // "Exactly once" rule 2: re-sent to its leader every `retry_ms` (200)
    // while this site trusts that leader and ballot.
    let mut core = forwarded();
    let out = core.step(200, from(0, heartbeat(b(2, 0))));
    assert_eq!(
        out.send,
        vec![(0, Message::HeartbeatAck { ballot: b(2, 0) })]
    );
    let out = core.step(201, from(0, heartbeat(b(2, 0))));
    assert_eq!(
        out.send,
        vec![(0, Message::HeartbeatAck { ballot: b(2, 0) })]
    );
    assert_eq!(out.send_now, vec![(0, forward_of(tweet(1, 1)))]);
}

#[test]
fn exactly_once_a_forward_whose_leader_falls_silent_waits_for_the_next_one() {
    // "Exactly once" rule 2: a leader not heard for `leader_timeout_ms`
    // (100) is not trusted: the submission goes back to be handed to the
    // next leader (and this site, with work and no leader, looks for one).
    let mut core = forwarded();
    assert!(!core.has_work());
    let out = core.step(101, Input::Tick);
    assert_eq!(core.leader(), None);
    assert!(core.has_work(), "the submission waits for a leader");
    assert_eq!(out.send_now, to_others(1, log_end_probe(0)));
}

#[test]
fn exactly_once_a_forward_to_a_leader_that_does_not_hear_us_is_taken_back() {
    // "Exactly once" rule 2: a leader that leaves our forwards unanswered
    // for `forward_patience_ms` (400) does not hear us, even if we hear
    // it: this site stops trusting it and looks for another.
    let mut core = forwarded();
    core.step(350, from(0, heartbeat(b(2, 0))));
    let out = core.step(401, Input::Tick);
    assert_eq!(
        events(&out),
        vec![TraceEvent::Leader {
            leader: None,
            ballot: b(2, 0)
        }]
    );
    assert_eq!(core.leader(), None);
    assert!(core.has_work(), "the submission waits for a leader");
    // Its heartbeats no longer count.
    let out = core.step(402, from(0, heartbeat(b(2, 0))));
    assert_eq!(out.send, Vec::new());
    assert_eq!(core.leader(), None);
}

#[test]
fn exactly_once_a_rejected_submission_is_handed_on_again() {
    // "Exactly once" rule 2: a leader's `rejected` means it never assigned
    // the operation in that term and never will, and that its term is over:
    // this site stops trusting it (handing it the submission again would
    // only be rejected again) and hands the submission to the next leader.
    let mut core = forwarded();
    let rejected = Message::Rejected {
        ballot: b(2, 0),
        ids: vec![tweet(1, 1).id],
    };
    let out = core.step(2, from(0, rejected));
    assert_eq!(core.leader(), None);
    assert!(core.has_work(), "the submission waits for the next leader");
    assert!(!out
        .send_now
        .iter()
        .any(|(_, m)| matches!(m, Message::Forward { .. })));
    // The next leader's heartbeat: it gets the submission.
    let out = core.step(3, from(2, heartbeat(b(3, 2))));
    assert_eq!(
        out.send,
        vec![(2, Message::HeartbeatAck { ballot: b(3, 2) })]
    );
    assert_eq!(out.send_now, vec![(2, forward(b(3, 2), vec![tweet(1, 1)]))]);
}

#[test]
fn spec5_a_submission_is_done_when_its_slot_joins_the_decided_prefix() {
    // SPEC 5 / "Exactly once" rule 1: the answer names the slot where the
    // operation first appears in the log, and its place in the slot.
    let (mut core, cmd) = assigned_to(0);
    let out = core.step(3, from(0, commit(b(2, 0), 0, one(cmd.clone()))));
    assert_eq!(
        out.completed,
        vec![Completion {
            id: cmd.id,
            slot: 0,
            index: 0
        }]
    );
    assert_eq!(out.send, Vec::new());
    assert_eq!(
        events(&out),
        vec![TraceEvent::Decided {
            slot: 0,
            value: one(cmd).summary(),
            own: Some(true)
        }]
    );
    assert_eq!(core.pending_count(), 0);
}

#[test]
fn spec5_a_submission_whose_slot_is_decided_without_it_tries_a_later_slot() {
    // SPEC 5 (a site whose value lost a slot tries again in a later slot),
    // "Exactly once": `Assigned(slot)` decided without it goes back to be
    // handed on, in the same step.
    let (mut core, cmd) = assigned_to(0);
    let out = core.step(3, from(0, commit(b(2, 0), 0, Value::noop())));
    assert_eq!(
        out.persist,
        vec![Record::Decide {
            slot: 0,
            value: Value::noop()
        }]
    );
    assert_eq!(out.committed, vec![(0, Value::noop())]);
    assert_eq!(out.completed, Vec::new());
    assert_eq!(out.send_now, vec![(0, forward_of(cmd))]);
    assert_eq!(
        events(&out),
        vec![TraceEvent::Decided {
            slot: 0,
            value: Value::noop().summary(),
            own: Some(false)
        }]
    );
}

#[test]
fn spec5_a_submission_not_decided_in_time_fails() {
    // SPEC 5: after a bounded time (`submit_timeout_ms`, 5000) the site
    // reports failure (status 503).
    let mut core = forwarded();
    let out = core.step(1 + 4999, Input::Tick);
    assert_eq!(out.failed, Vec::new());
    let out = core.step(1 + 5000, Input::Tick);
    assert_eq!(out.failed, vec![tweet(1, 1).id]);
    assert_eq!(out.completed, Vec::new());
    assert_eq!(core.pending_count(), 0);
}
