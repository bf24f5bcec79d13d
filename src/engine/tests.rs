//! The engine's own checks: a cluster decides when its messages are
//! delivered, the queue shows and steers them, and the disk keeps exactly
//! what was synced.

use super::*;
use crate::paxos::{CoreConfig, Input, MsgKind, Record};
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
