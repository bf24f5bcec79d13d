//! Unit tests of the consensus core, one file per role, in one style: a
//! fixture (a core in a known state, built from inputs or, where that is
//! shorter, set up directly), one step, then `assert_eq!` on the whole of
//! what matters in its `Output` (the exact `send` and `persist` lists, the
//! trace's events). Each test's name, and its first comment, say the
//! rule it checks: a SPEC section, or a section of the core's own
//! documentation ("Exactly once", "Rejoin", ...).
//!
//! Unless a test says otherwise: three sites, `timeout_ms` 100 (so a
//! heartbeat every 25 ms, a leader presumed gone after 100 ms, a forward
//! re-sent after 200 ms), submissions fail after 5000 ms.

use super::*;
use crate::state::op::Op;

mod acceptor;
mod cluster;
mod election;
mod leader;
mod learner;
mod membership;
mod submitter;

const SITES: u32 = 3;

fn cfg(me: SiteId) -> CoreConfig {
    CoreConfig::new(SITES, me, 100, 5000, 1)
}

fn b(round: u64, site: SiteId) -> Ballot {
    Ballot::new(round, site)
}

/// A core restored from `acceptor` and started at time 0 (so that the
/// test's step shows only what that step does).
fn restored(cfg: CoreConfig, acceptor: AcceptorState) -> Core {
    let mut core = Core::new(cfg, acceptor, 0);
    core.start(0);
    core
}

/// Site `me` of a cluster with history: it promised `promised`, so it
/// votes (an empty one would first ask its peers, see "Rejoin").
fn voter_with(me: SiteId, promised: Ballot) -> Core {
    voter_configured(cfg(me), promised)
}

/// `voter_with` configured with `cfg`.
fn voter_configured(cfg: CoreConfig, promised: Ballot) -> Core {
    let acceptor = AcceptorState {
        promised,
        ..AcceptorState::default()
    };
    restored(cfg, acceptor)
}

fn voter(me: SiteId) -> Core {
    voter_with(me, b(1, 0))
}

/// Site `me` on an empty data dir: it joins (SPEC 6), and is not started.
fn fresh(me: SiteId) -> Core {
    Core::new(cfg(me), AcceptorState::default(), 0)
}

fn tweet(site: SiteId, seq: u64) -> Command {
    Command {
        id: OpId { site, boot: 7, seq },
        op: Op::Tweet {
            user: format!("u{site}"),
            text: format!("hello {seq}"),
            time: chrono::DateTime::from_timestamp_millis(0).unwrap_or_default(),
        },
    }
}

fn one(cmd: Command) -> Value {
    Value::batch(vec![cmd])
}

fn from(site: SiteId, msg: Message) -> Input {
    Input::Message { from: site, msg }
}

/// What `broadcast` sends from site `me`: `msg` to every other site, in
/// site order.
fn to_others(me: SiteId, msg: Message) -> Vec<(SiteId, Message)> {
    (0..SITES)
        .filter(|&s| s != me)
        .map(|s| (s, msg.clone()))
        .collect()
}

/// The ack of this site's own acceptor for its own accept: released to
/// its own core (by the runtime) only once the accept is durable.
fn own_ack(me: SiteId, ballot: Ballot, slot: Slot) -> (SiteId, Message) {
    (me, ack(ballot, slot))
}

fn ack(ballot: Ballot, slot: Slot) -> Message {
    Message::Ack { ballot, slot }
}

/// The trace without its message events: elections, leaders, proposals,
/// decisions, membership.
fn events(out: &Output) -> Vec<TraceEvent> {
    out.trace
        .iter()
        .filter(|e| !matches!(e, TraceEvent::Message { .. }))
        .cloned()
        .collect()
}

fn prepare(ballot: Ballot, from_slot: Slot) -> Message {
    Message::Prepare {
        ballot,
        from_slot,
        rejoin: false,
    }
}

/// A whole promise (one part) for every slot from 0 on.
fn promise(ballot: Ballot, accepted: Vec<AcceptedEntry>) -> Message {
    promise_part(ballot, accepted, (0, 1))
}

/// Part `part` of `parts` of a promise, all of one answer (7).
fn promise_part(
    ballot: Ballot,
    accepted: Vec<AcceptedEntry>,
    (part, parts): (u32, u32),
) -> Message {
    let answer = if parts == 1 { 0 } else { 7 };
    promise_of_answer(ballot, accepted, Vec::new(), (part, parts, answer))
}

fn promise_of_answer(
    ballot: Ballot,
    accepted: Vec<AcceptedEntry>,
    decided_beyond: Vec<Slot>,
    (part, parts, answer): (u32, u32, u64),
) -> Message {
    Message::Promise {
        ballot,
        from_slot: 0,
        decided_upto: 0,
        accepted,
        decided_beyond,
        part,
        parts,
        answer,
    }
}

fn accepted(slot: Slot, ballot: Ballot, value: Value) -> AcceptedEntry {
    AcceptedEntry {
        slot,
        ballot,
        value,
    }
}

fn accept(ballot: Ballot, slot: Slot, value: Value) -> Message {
    Message::Accept {
        ballot,
        slot,
        value,
    }
}

/// The record of an accepted value, as `persist` lists it.
fn accept_record(slot: Slot, ballot: Ballot, value: Value) -> Record {
    Record::Accept {
        slot,
        ballot,
        value,
    }
}

fn commit(ballot: Ballot, slot: Slot, value: Value) -> Message {
    Message::Commit {
        ballot,
        slot,
        value,
    }
}

/// A heartbeat of a leader whose log is empty.
fn heartbeat(ballot: Ballot) -> Message {
    Message::Heartbeat {
        ballot,
        decided_upto: 0,
        max_decided: None,
    }
}

fn forward(ballot: Ballot, cmds: Vec<Command>) -> Message {
    Message::Forward { ballot, cmds }
}

/// A fetch of an empty range: "how far does your log go?"
fn log_end_probe(at: Slot) -> Message {
    Message::Fetch { from: at, to: at }
}

// ----- fixtures: one core at a known point of a run -----------------------

/// Site 0 at time 0, running for leader with ballot (2,0): its own promise
/// is counted, its prepares are out.
fn candidate() -> Core {
    candidate_with(cfg(0))
}

/// `candidate()` configured with `cfg` (of site 0).
fn candidate_with(cfg: CoreConfig) -> Core {
    let mut core = voter_configured(cfg, b(1, 0));
    core.start_election(&mut Output::default());
    core
}

/// Site 0 at time 1, leader with ballot (2,0) since site 1 promised; its
/// log is empty.
fn leader() -> Core {
    leader_with(cfg(0))
}

/// `leader()` configured with `cfg` (of site 0).
fn leader_with(cfg: CoreConfig) -> Core {
    let mut core = candidate_with(cfg);
    core.step(1, from(1, promise(b(2, 0), Vec::new())));
    assert!(core.is_leading());
    core
}

/// Site 1 at time 0: it heard the heartbeat of site 0, leader of (2,0).
fn follower() -> Core {
    let mut core = voter(1);
    core.step(0, from(0, heartbeat(b(2, 0))));
    core
}

/// `follower()` at time 1, with `tweet(1, 1)` submitted and forwarded to
/// the leader.
fn forwarded() -> Core {
    let mut core = follower();
    core.step(1, Input::Submit(tweet(1, 1)));
    core
}

/// `forwarded()` at time 2: the leader of (2,0) put `tweet(1, 1)` into
/// `slot`. Returns the core and the command.
fn assigned_to(slot: Slot) -> (Core, Command) {
    let mut core = forwarded();
    let cmd = tweet(1, 1);
    let assigned = Message::Assigned {
        ballot: b(2, 0),
        slot,
        ids: vec![cmd.id],
    };
    core.step(2, from(0, assigned));
    (core, cmd)
}
