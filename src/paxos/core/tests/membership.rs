//! SPEC 6: a site that starts on an empty data dir (membership.rs, see
//! "Rejoin").

use super::*;

fn rejoin_prepare(ballot: Ballot) -> Message {
    Message::Prepare {
        ballot,
        from_slot: 0,
        rejoin: true,
    }
}

/// A probe's answer that says "I hold nothing".
fn nothing(probe: u64) -> Message {
    Message::Decided {
        decided_upto: 0,
        entries: Vec::new(),
        promised: Ballot::ZERO,
        probe,
    }
}

/// Site 0 at time 0 on an empty data dir that heard a commit of (3,1): it
/// rejoins.
fn rejoining() -> Core {
    let mut core = fresh(0);
    core.step(0, from(1, commit(b(3, 1), 0, Value::noop())));
    assert_eq!(core.membership(), Membership::Rejoining);
    core
}

#[test]
fn spec6_an_empty_site_answers_no_prepare_until_it_knows_the_cluster_is_new() {
    // SPEC 6: it never answers a prepare from amnesia: no promise, and no
    // nack either.
    let mut core = fresh(0);
    let out = core.step(0, from(1, prepare(b(1, 1), 0)));
    assert_eq!(out.send, Vec::new());
    assert_eq!(out.persist, Vec::new());
    assert_eq!(core.membership(), Membership::Joining);
}

#[test]
fn spec6_an_empty_site_asks_every_peer_whether_the_cluster_has_history() {
    // SPEC 6 / "Rejoin", joining: a probe to every peer (besides the hole
    // probe every idle site sends).
    let mut core = fresh(0);
    let out = core.step(0, Input::Tick);
    let probe = Message::Probe {
        nonce: core.probe_nonce,
    };
    assert_eq!(out.send, to_others(0, probe));
    assert_eq!(out.send_now, to_others(0, log_end_probe(0)));
    assert_eq!(
        events(&out),
        vec![TraceEvent::Membership(Membership::Joining)]
    );
}

#[test]
fn spec6_an_empty_site_that_hears_of_history_makes_its_rejoin_durable_first() {
    // SPEC 6: lost state is never a silent restart: the site rejoins as a
    // learner, and says so on disk before anything else (a restart must not
    // make it forget that it rejoins).
    let mut core = fresh(0);
    let out = core.step(0, from(1, commit(b(3, 1), 0, Value::noop())));
    assert_eq!(
        out.persist,
        vec![
            Record::Rejoining,
            Record::Decide {
                slot: 0,
                value: Value::noop()
            },
        ]
    );
    assert_eq!(out.committed, vec![(0, Value::noop())]);
    assert_eq!(core.membership(), Membership::Rejoining);
}

#[test]
fn spec6_a_rejoining_site_answers_no_ordinary_prepare() {
    // SPEC 6: it never answers a prepare from amnesia.
    let mut core = rejoining();
    let out = core.step(1, from(1, prepare(b(4, 1), 0)));
    assert_eq!(out.send, Vec::new());
    assert_eq!(out.persist, Vec::new());
}

#[test]
fn rejoin_a_rejoining_site_answers_the_prepare_of_another_rejoin() {
    // "Rejoin": a prepare that counts promises the way a rejoin needs may
    // be answered by a site that rejoins too.
    let mut core = rejoining();
    let out = core.step(1, from(1, rejoin_prepare(b(5, 1))));
    assert_eq!(out.persist, vec![Record::Promise { ballot: b(5, 1) }]);
    let promise = Message::Promise {
        ballot: b(5, 1),
        from_slot: 0,
        decided_upto: 1,
        accepted: Vec::new(),
        decided_beyond: Vec::new(),
        part: 0,
        parts: 1,
        answer: 0,
    };
    assert_eq!(out.send, vec![(1, promise)]);
}

#[test]
fn rejoin_an_answer_to_another_lifes_probe_does_not_count() {
    // "Rejoin", joining: only an answer to this life's probe speaks of
    // promises.
    let mut core = fresh(0);
    core.step(0, Input::Tick);
    let stale = core.probe_nonce ^ 1;
    for site in [1, 2] {
        core.step(1, from(site, nothing(stale)));
    }
    let out = core.step(2, Input::Tick);
    assert_eq!(core.membership(), Membership::Joining);
    assert_eq!(events(&out), Vec::new());
}

#[test]
fn rejoin_an_empty_site_votes_once_enough_peers_said_they_hold_nothing() {
    // "Rejoin", joining: n - q + 1 = 2 peers of 3 answered that they hold
    // nothing, and both probed this site while it held nothing: the
    // cluster is new, and it votes (nothing to write: it never rejoined).
    let mut core = fresh(0);
    core.step(0, Input::Tick);
    let nonce = core.probe_nonce;
    for site in [1, 2] {
        core.step(3, from(site, nothing(nonce)));
        core.step(3, from(site, Message::Probe { nonce: 9 }));
    }
    let out = core.step(4, Input::Tick);
    assert_eq!(core.membership(), Membership::Voting);
    assert_eq!(out.persist, Vec::new());
    assert_eq!(out.send, Vec::new());
    assert_eq!(
        events(&out),
        vec![TraceEvent::Membership(Membership::Voting)]
    );
}

#[test]
fn rejoin_a_probe_is_answered_with_what_this_site_held_when_first_probed() {
    // "Rejoin": a site that held nothing when a probe first came was in no
    // quorum before the asker lost its disk: it says "nothing" to that
    // probe for good, even once it holds something.
    let mut core = fresh(0);
    core.step(0, from(1, Message::Probe { nonce: 5 }));
    core.step(1, from(2, commit(b(3, 2), 0, Value::noop())));
    let out = core.step(2, from(1, Message::Probe { nonce: 5 }));
    assert_eq!(out.send, vec![(1, nothing(5))]);
    let out = core.step(3, from(1, Message::Probe { nonce: 6 }));
    let held = Message::Decided {
        decided_upto: 1,
        entries: Vec::new(),
        promised: Ballot::ZERO,
        probe: 6,
    };
    assert_eq!(out.send, vec![(1, held)]);
}
