//! The engine's own checks: a cluster decides when its messages are
//! delivered, the queue shows and steers them, and the disk keeps exactly
//! what was synced.

use super::*;
use crate::paxos::{CoreConfig, Input, Message, MsgKind, Record, Slot};
use crate::state::op::{Command, Op};

const TIMEOUT: u64 = 100;

fn cluster(n: u32) -> (Engine, Steady) {
    let users = (0..n).map(|i| format!("u{i}")).collect();
    let mut e = Engine::new(EngineConfig::new(users));
    let mut env = Steady { latency_ms: 5 };
    for i in 0..n {
        let cfg = CoreConfig::new(n, i, TIMEOUT, 20 * TIMEOUT, u64::from(i) + 1);
        e.restart(i, cfg, &mut env).expect("starts");
    }
    (e, env)
}

/// Delivers everything due and ticks every site, `ms` times 5 ms.
fn run(e: &mut Engine, env: &mut Steady, ms: u64) -> Vec<(SiteId, Report)> {
    let mut reports = Vec::new();
    for _ in 0..ms / 5 {
        e.advance(5);
        let mut due = e.take_due(e.now());
        due.sort_by_key(|m| m.id);
        for m in due {
            let to = m.to;
            if let Delivery::Received(r) = e.receive(m, env).expect("receives") {
                reports.push((to, r));
            }
        }
        for i in 0..e.len() {
            let r = e.step(i, Input::Tick, false, env).expect("ticks");
            reports.push((i, r));
        }
    }
    reports
}

fn tweet(e: &mut Engine, site: SiteId, text: &str) -> Command {
    let id = e.next_op_id(site).expect("up");
    Command {
        id,
        op: Op::Tweet {
            user: format!("u{site}"),
            text: text.into(),
            time: chrono::DateTime::from_timestamp_millis(0).unwrap_or_default(),
        },
    }
}

#[test]
fn a_cluster_decides_what_it_is_given_when_its_messages_flow() {
    let (mut e, mut env) = cluster(3);
    run(&mut e, &mut env, 1_000);
    let cmd = tweet(&mut e, 1, "hello");
    let id = cmd.id;
    e.step(1, Input::Submit(cmd), false, &mut env)
        .expect("submits");
    let reports = run(&mut e, &mut env, 2_000);
    let done = reports
        .iter()
        .flat_map(|(_, r)| &r.completed)
        .find(|c| c.id == id)
        .expect("decided");
    for i in 0..3 {
        let s = e.site(i);
        assert!(s.state.next_slot() > done.slot, "site {i} applied it");
        assert_eq!(s.disk.archive.len() as u64, s.state.next_slot());
    }
}

#[test]
fn the_queue_shows_and_steers_every_message() {
    let (mut e, mut env) = cluster(3);
    run(&mut e, &mut env, 1_000);
    // Nobody leads: a submission makes its site run for leader.
    let cmd = tweet(&mut e, 0, "x");
    e.step(0, Input::Submit(cmd), false, &mut env)
        .expect("submits");
    let fired = e
        .next_timer(0, 5, 10 * TIMEOUT, &mut env)
        .expect("ticks")
        .expect("a timer fires");
    assert!(!fired.sent.is_empty(), "{fired:?}");
    let q: Vec<MsgId> = e.queue().iter().map(|m| m.id).collect();
    assert!(!q.is_empty());
    let first = e.queued(q[0]).expect("queued").clone();
    assert_eq!(first.from, 0);
    assert!(first.sent_at <= e.now() && first.due >= first.sent_at);
    // Duplicate, then drop the original: the copy stays, with a new id.
    let copy = e.duplicate(q[0], 1).expect("copied");
    assert!(copy > *q.iter().max().unwrap_or(&0));
    assert!(e.take(q[0]).is_some());
    assert!(e.queued(q[0]).is_none());
    let copy = e.take(copy).expect("the copy");
    assert_eq!(copy.msg.kind(), first.msg.kind());
    assert!(matches!(e.receive(copy, &mut env), Ok(Delivery::Received(r)) if r.ran));
    // A cut link loses what it carries; a down site too.
    e.set_cut(0, 2, true);
    let mut sent = Vec::new();
    e.transmit(0, 2, first.msg.clone(), &mut env, &mut sent);
    assert!(matches!(sent[..], [Sent::Cut { to: 2, .. }]));
    e.crash(1);
    let m = InFlight {
        id: 0,
        from: 0,
        to: 1,
        msg: first.msg,
        sent_at: 0,
        due: 0,
    };
    assert!(matches!(e.receive(m, &mut env), Ok(Delivery::Down)));
}

/// The same choices, the same run.
#[test]
fn the_same_choices_give_the_same_run() {
    let history = || {
        let (mut e, mut env) = cluster(3);
        run(&mut e, &mut env, 500);
        let cmd = tweet(&mut e, 2, "same");
        e.step(2, Input::Submit(cmd), false, &mut env)
            .expect("submits");
        let reports = run(&mut e, &mut env, 1_500);
        let kinds: Vec<(SiteId, usize, Vec<MsgKind>)> = reports
            .iter()
            .map(|(s, r)| {
                let k = r
                    .sent
                    .iter()
                    .filter_map(|x| match x {
                        Sent::Queued { id, .. } => e.queued(*id).map(|m| m.msg.kind()),
                        _ => None,
                    })
                    .collect();
                (*s, r.committed.len(), k)
            })
            .collect();
        (kinds, e.now(), e.site(0).disk.archive.clone())
    };
    assert_eq!(history(), history());
}

/// A torn group commit keeps nothing of its batch: the real WAL recovery
/// reads back exactly the synced records, and a lost disk starts empty.
#[test]
fn a_torn_write_keeps_exactly_what_was_synced() {
    struct Torn(bool);
    impl Env for Torn {
        fn copies(&mut self, _: SiteId, _: SiteId) -> Copies {
            Copies::One(1)
        }
        fn page_reaches(&mut self) -> bool {
            self.0 = !self.0;
            self.0
        }
    }
    let (mut e, _) = cluster(1);
    let mut torn = Torn(false);
    let big = |slot| Record::Accept {
        slot,
        ballot: crate::paxos::Ballot::new(1, 0),
        value: crate::state::op::Value::noop(),
    };
    assert!(e.write_batch(0, &[big(0)], false, &mut torn));
    let records: Vec<Record> = (1..400).map(big).collect();
    assert!(!e.write_batch(0, &records, true, &mut torn));
    let r = e.recover(0).expect("starts");
    assert!(r.acceptor.accepted.contains_key(&0));
    assert!(!r.acceptor.accepted.contains_key(&1));
    e.wipe(0);
    assert!(e.site(0).disk.wal.is_empty());
}

/// A disk that syncs `slow`'s writes in 1 s and every other site's at
/// once, on a network that takes 1 ms.
struct SlowAt(SiteId);

impl Env for SlowAt {
    fn copies(&mut self, _: SiteId, _: SiteId) -> Copies {
        Copies::One(1)
    }
    fn page_reaches(&mut self) -> bool {
        true
    }
    fn sync_delay(&mut self, site: SiteId) -> Option<u64> {
        (site == self.0).then_some(1_000)
    }
}

/// Delivers every queued message in queue order, until none is left.
fn deliver_all(e: &mut Engine, env: &mut dyn Env) -> Vec<Report> {
    let mut reports = Vec::new();
    while let Some(id) = e.queue().first().map(|m| m.id) {
        let m = e.take(id).expect("queued");
        e.advance_to(m.due);
        if let Delivery::Received(r) = e.receive(m, env).expect("receives") {
            reports.push(r);
        }
    }
    reports
}

/// Three sites, a leader elected; the leader's link to one follower is cut
/// (so that one follower's ack and the leader's own vote make the quorum).
/// Returns the engine, the leader and the follower it still reaches.
fn led_with_one_follower() -> (Engine, SiteId, SiteId) {
    let (mut e, mut steady) = cluster(3);
    let first = tweet(&mut e, 0, "first");
    e.step(0, Input::Submit(first), false, &mut steady)
        .expect("submits");
    run(&mut e, &mut steady, 1_000);
    let leader = (0..3)
        .find(|&i| e.core(i).is_some_and(|c| c.is_leading()))
        .expect("a leader");
    let (f1, f2) = ((leader + 1) % 3, (leader + 2) % 3);
    e.set_cut(leader, f2, true);
    (e, leader, f1)
}

/// The leader's accept leaves at once and its follower acks it while the
/// leader's own write is in flight: one ack is not a quorum of three. Once
/// the sync completes, the leader's own vote counts: the commit leaves at
/// once, and the slot is applied and answered at once: the decision waits
/// unwritten for a later sync (`Durability::Lazy`).
#[test]
fn a_leaders_write_is_in_flight_until_its_sync_event() {
    let (mut e, leader, f1) = led_with_one_follower();
    let mut env = SlowAt(leader);
    let cmd = tweet(&mut e, leader, "parallel");
    let r = e
        .step(leader, Input::Submit(cmd.clone()), false, &mut env)
        .expect("submits");
    assert!(r.durable.is_empty() && r.committed.is_empty());
    assert!(
        matches!(r.sent[..], [Sent::Queued { to, .. }, Sent::Cut { .. }] | [Sent::Cut { .. }, Sent::Queued { to, .. }] if to == f1),
        "the accepts leave at once: {:?}",
        r.sent
    );
    assert_eq!(e.site(leader).disk.unsynced.len(), 1);
    let reports = deliver_all(&mut e, &mut env);
    assert_eq!(
        reports.len(),
        2,
        "the accept at the follower, its ack at the leader"
    );
    assert!(reports.iter().all(|r| r.committed.is_empty()));
    assert!(
        reports[1].sent.is_empty(),
        "no commit before the leader's sync"
    );
    // The sync completes: the accept is durable, the own vote counts.
    let syncs = e.take_due_syncs(e.now() + 1_000);
    assert_eq!(syncs.len(), 1);
    e.advance_to(syncs[0].due);
    let r = e.complete_sync(syncs[0], false, &mut env).expect("syncs");
    // Earlier decisions (`Durability::Lazy`) are written in this batch
    // first; the accept is its last record.
    assert!(matches!(r.durable.last(), Some(Record::Accept { .. })));
    let kinds: Vec<MsgKind> = r
        .sent
        .iter()
        .filter_map(|s| match s {
            Sent::Queued { id, .. } => e.queued(*id).map(|m| m.msg.kind()),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec![MsgKind::Commit]);
    assert!(matches!(r.lazy[..], [Record::Decide { .. }]));
    assert_eq!(r.committed.len(), 1, "applied with no sync of the decision");
    assert_eq!(r.completed.len(), 1);
    assert_eq!(r.completed[0].id, cmd.id);
    assert!(e.take_due_syncs(e.now() + 1_000).is_empty());
    assert!(e.site(leader).disk.unsynced.is_empty());
    assert_eq!(e.site(leader).disk.lazy.len(), 1);
}

/// A crash loses a decision not yet written, and nothing chosen: the
/// leader restarts with its accepted value, and the decision is in the
/// cluster still.
#[test]
fn a_crash_loses_a_lazy_decision_but_not_the_vote() {
    let (mut e, leader, _) = led_with_one_follower();
    let mut env = SlowAt(leader);
    let cmd = tweet(&mut e, leader, "answered");
    e.step(leader, Input::Submit(cmd.clone()), false, &mut env)
        .expect("submits");
    deliver_all(&mut e, &mut env);
    let syncs = e.take_due_syncs(e.now() + 1_000);
    e.advance_to(syncs[0].due);
    let r = e.complete_sync(syncs[0], false, &mut env).expect("syncs");
    assert_eq!(r.completed.len(), 1, "answered");
    e.crash(leader);
    assert!(e.site(leader).disk.lazy.is_empty());
    let recovered = e.recover(leader).expect("starts");
    let holds = |v: &crate::state::op::Value| v.cmds.iter().any(|c| c.id == cmd.id);
    assert!(!recovered.acceptor.decided.values().any(holds));
    assert!(recovered.acceptor.accepted.values().any(|(_, v)| holds(v)));
}

/// A crash before the sync completes loses the write and everything
/// waiting for it: the leader restarts without its accept, and the sync
/// event, when it comes, does nothing.
#[test]
fn a_crash_before_the_sync_loses_the_write() {
    let (mut e, leader, _) = led_with_one_follower();
    let mut env = SlowAt(leader);
    let cmd = tweet(&mut e, leader, "lost");
    e.step(leader, Input::Submit(cmd.clone()), false, &mut env)
        .expect("submits");
    deliver_all(&mut e, &mut env);
    e.crash(leader);
    assert!(e.site(leader).disk.unsynced.is_empty());
    let recovered = e.recover(leader).expect("starts");
    let holds = |v: &crate::state::op::Value| v.cmds.iter().any(|c| c.id == cmd.id);
    assert!(!recovered.acceptor.accepted.values().any(|(_, v)| holds(v)));
    let syncs = e.take_due_syncs(e.now() + 1_000);
    assert_eq!(syncs.len(), 1);
    let r = e.complete_sync(syncs[0], false, &mut env).expect("no-op");
    assert!(!r.ran);
}

/// What the scripted run below does with a message it is about to deliver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Deliver,
    Drop,
    Hold,
}

/// Runs `ms` of time in 5 ms steps: each message due meets `fate` (held
/// ones are kept in `held`), every site ticks.
fn run_with(
    e: &mut Engine,
    env: &mut Steady,
    ms: u64,
    held: &mut Vec<InFlight>,
    fate: &mut dyn FnMut(&InFlight) -> Fate,
) {
    for _ in 0..ms / 5 {
        e.advance(5);
        let mut due = e.take_due(e.now());
        due.sort_by_key(|m| m.id);
        for m in due {
            match fate(&m) {
                Fate::Deliver => {
                    e.receive(m, env).expect("receives");
                }
                Fate::Drop => {}
                Fate::Hold => held.push(m),
            }
        }
        for i in 0..e.len() {
            e.step(i, Input::Tick, false, env).expect("ticks");
        }
    }
}

/// The values decided at each site, slot by slot.
fn decided_logs(e: &Engine) -> Vec<Vec<crate::state::op::Value>> {
    (0..e.len())
        .map(|i| e.site(i).disk.archive.clone())
        .collect()
}

/// SPEC 5 (agreement), the promise in parts: site 2 runs for leader while
/// site 1 holds accepted values in slots p+1..p+3 of site 0's term (its
/// promise comes in two parts: [p+1, p+2] and [p+3]); part 0 of that
/// answer is lost; slot p+1 is decided (site 1 learns it) before the
/// candidate's prepare goes again, and the second answer's parts are [p+2]
/// and [p+3 + "p+1 decided"]. Part 1 of the first answer and part 0 of the
/// second hold p+1 in neither: merged, the candidate fills p+1 with a
/// no-op although site 0's value was chosen there. Returns p+1 and the
/// decided logs once the links heal and everything is delivered.
fn promise_parts_scenario(merge_any: bool) -> (Slot, Vec<Vec<crate::state::op::Value>>) {
    let users: Vec<String> = (0..3).map(|i| format!("u{i}")).collect();
    let mut e = Engine::new(EngineConfig::new(users));
    let mut env = Steady { latency_ms: 5 };
    for i in 0..3 {
        let mut cfg = CoreConfig::new(3, i, TIMEOUT, 20 * TIMEOUT, u64::from(i) + 1);
        // Values of 278 bytes (100 characters) and 778 (600): two of the
        // first fit in a part, the big one does not.
        cfg.promise_bytes = 600;
        // Each submission in a slot of its own, several in flight.
        cfg.fresh_window = cfg.window;
        cfg.defects.merge_parts_of_any_answer = merge_any;
        e.restart(i, cfg, &mut env).expect("starts");
    }
    // Site 0 leads, and one slot is decided everywhere.
    let cmd = tweet(&mut e, 0, "first");
    e.step(0, Input::Submit(cmd), false, &mut env)
        .expect("submits");
    run(&mut e, &mut env, 1_000);
    let p = e.site(0).state.next_slot();
    assert!(p >= 1 && (0..3).all(|i| e.site(i).state.next_slot() == p));
    // Sites 0 and 2 no longer hear each other.
    e.set_cut(0, 2, true);
    e.set_cut(2, 0, true);
    let texts = ["p", &"a".repeat(100), &"b".repeat(100), &"c".repeat(600)];
    for text in texts {
        let cmd = tweet(&mut e, 0, text);
        e.step(0, Input::Submit(cmd), false, &mut env)
            .expect("submits");
    }
    let slot_of = |m: &InFlight| m.msg.slot();
    let mut held = Vec::new();
    // Site 1 accepts p+1..p+3, not p; the commits wait.
    run_with(&mut e, &mut env, 50, &mut held, &mut |m| {
        match (m.msg.kind(), m.from, m.to) {
            (MsgKind::Accept, 0, 1) if slot_of(m) == Some(p) => Fate::Drop,
            (MsgKind::Commit, 0, 1) => Fate::Hold,
            // Nor does it learn them by catch-up.
            (MsgKind::Decided, 0, 1) => Fate::Drop,
            _ => Fate::Deliver,
        }
    });
    assert!(
        (1..4).all(|k| held.iter().any(|m| slot_of(m) == Some(p + k))),
        "p+1..p+3 decided at site 0"
    );
    // Site 2 has work and no leader it hears: it runs. Part 0 of site 1's
    // first promise is lost, part 1 arrives; then site 1 learns that p+1
    // is decided, and the second promise's part 0 arrives.
    let cmd = tweet(&mut e, 2, "mine");
    e.step(2, Input::Submit(cmd), false, &mut env)
        .expect("submits");
    let mut first: Option<u64> = None;
    let mut first_parts = 0;
    let mut p1_told = false;
    for _ in 0..400 {
        run_with(
            &mut e,
            &mut env,
            5,
            &mut held,
            &mut |m| match (m.msg.kind(), m.from, m.to, &m.msg) {
                (MsgKind::Accept, 0, 1, _) if slot_of(m) == Some(p) => Fate::Drop,
                (MsgKind::Commit, 0, 1, _) => Fate::Hold,
                (MsgKind::Decided, 0, 1, _) => Fate::Drop,
                (
                    MsgKind::Promise,
                    1,
                    2,
                    Message::Promise {
                        part,
                        parts,
                        answer,
                        ..
                    },
                ) => {
                    assert_eq!(*parts, 2, "site 1 answers in two parts");
                    let answer = *answer;
                    let of_first = *first.get_or_insert(answer) == answer;
                    match (of_first, part) {
                        (true, 0) => {
                            first_parts += 1;
                            Fate::Drop
                        }
                        (true, _) => {
                            first_parts += 1;
                            Fate::Deliver
                        }
                        (false, 0) => Fate::Deliver,
                        (false, _) => Fate::Hold,
                    }
                }
                _ => Fate::Deliver,
            },
        );
        if !p1_told && first_parts >= 2 {
            // The first answer is through: site 1 learns that p+1 is
            // decided (before the prepare goes again).
            let i = held
                .iter()
                .position(|m| m.msg.kind() == MsgKind::Commit && slot_of(m) == Some(p + 1))
                .expect("the commit of p+1 is held");
            let m = held.remove(i);
            e.receive(m, &mut env).expect("receives");
            p1_told = true;
        }
        if e.core(2).is_some_and(|c| c.is_leading()) {
            break;
        }
    }
    assert!(p1_told, "site 2 ran for leader and site 1 answered");
    // Everything heals and is delivered.
    e.heal_all();
    for m in held.drain(..) {
        e.receive(m, &mut env).expect("receives");
    }
    run(&mut e, &mut env, 3_000);
    (p + 1, decided_logs(&e))
}

#[test]
fn spec5_a_candidate_that_merges_parts_of_two_answers_breaks_agreement() {
    // The broken core: site 0 and site 1 decided site 0's tweet at p+1,
    // site 2 a no-op there.
    let (slot, logs) = promise_parts_scenario(true);
    let at = |site: usize| logs[site].get(slot as usize).map(|v| v.summary());
    let tweet = at(0).expect("site 0 decided p+1");
    assert!(tweet.contains("aaaa"), "{tweet}");
    assert_eq!(at(1).as_ref(), Some(&tweet));
    assert_eq!(at(2), Some(crate::state::op::Value::noop().summary()));
}

#[test]
fn spec5_parts_of_one_answer_only_keep_agreement() {
    // The same run with the real core: every site decides site 0's tweet
    // at p+1, and the logs agree wherever two sites decided.
    let (slot, logs) = promise_parts_scenario(false);
    for l in &logs {
        let v = l
            .get(slot as usize)
            .map(|v| v.summary())
            .unwrap_or_default();
        assert!(v.contains("aaaa"), "p+1 holds site 0's tweet: {v}");
    }
    let n = logs.iter().map(Vec::len).min().unwrap_or(0);
    for l in &logs {
        assert_eq!(l[..n], logs[0][..n], "agreement");
    }
}
