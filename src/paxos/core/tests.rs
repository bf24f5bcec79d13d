//! Unit tests of the consensus core.

use super::*;
use crate::state::op::Op;
use std::collections::HashSet;

/// The durable state of a site of a cluster with history: it votes
/// (an empty one would first ask its peers, see "Rejoin").
fn voter() -> AcceptorState {
    AcceptorState {
        promised: Ballot::new(1, 0),
        ..AcceptorState::default()
    }
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

/// Cores on a perfect network: every message is delivered in order, and
/// time advances by 1 ms per round.
struct Cluster {
    cores: Vec<Core>,
    queue: VecDeque<(SiteId, SiteId, Message)>,
    now: u64,
    committed: Vec<Vec<Value>>,
    completed: Vec<Vec<Completion>>,
}

impl Cluster {
    fn new(n: u32) -> Self {
        let cores = (0..n)
            .map(|i| {
                Core::new(
                    CoreConfig::new(n, i, 100, 5000, i as u64),
                    AcceptorState::default(),
                    0,
                )
            })
            .collect();
        Cluster {
            cores,
            queue: VecDeque::new(),
            now: 0,
            committed: vec![Vec::new(); n as usize],
            completed: vec![Vec::new(); n as usize],
        }
    }

    fn take(&mut self, site: SiteId, out: Output) {
        for (to, msg) in out.send {
            self.queue.push_back((site, to, msg));
        }
        self.committed[site as usize].extend(out.committed.into_iter().map(|(_, v)| v));
        self.completed[site as usize].extend(out.completed);
    }

    fn input(&mut self, site: SiteId, input: Input) {
        let out = self.cores[site as usize].step(self.now, input);
        self.take(site, out);
    }

    fn run(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            while let Some((from, to, msg)) = self.queue.pop_front() {
                self.input(to, Input::Message { from, msg });
            }
            self.now += 1;
            for i in 0..self.cores.len() as SiteId {
                self.input(i, Input::Tick);
            }
        }
    }
}

#[test]
fn a_single_site_decides_alone() {
    let mut c = Cluster::new(1);
    let out = c.cores[0].step(0, Input::Submit(tweet(0, 1)));
    assert_eq!(out.completed.len(), 1, "decided in the same step");
    assert_eq!(out.committed.len(), 1);
    assert!(out
        .persist
        .iter()
        .any(|r| matches!(r, Record::Promise { .. })));
    assert!(out
        .persist
        .iter()
        .any(|r| matches!(r, Record::Decide { slot: 0, .. })));
}

#[test]
fn three_sites_decide_and_forward_to_the_leader() {
    let mut c = Cluster::new(3);
    c.input(1, Input::Submit(tweet(1, 1)));
    c.run(200);
    assert_eq!(c.completed[1].len(), 1);
    assert_eq!(c.cores[1].leader(), Some(1));
    for i in 0..3 {
        assert_eq!(c.committed[i].len(), 1, "site {i} learned slot 0");
    }
    // Site 2 hands its tweet to the leader instead of competing.
    c.input(2, Input::Submit(tweet(2, 1)));
    c.run(20);
    assert_eq!(c.completed[2].len(), 1);
    assert_eq!(c.completed[2][0].slot, 1);
    assert_eq!(c.cores[1].leader(), Some(1), "leadership kept");
}

#[test]
fn promises_and_acks_are_persisted_in_the_same_output() {
    let mut core = Core::new(CoreConfig::new(3, 0, 100, 5000, 1), voter(), 0);
    let b = Ballot::new(4, 2);
    let out = core.step(
        0,
        Input::Message {
            from: 2,
            msg: Message::Prepare {
                ballot: b,
                from_slot: 0,
                rejoin: false,
            },
        },
    );
    assert!(out.persist.contains(&Record::Promise { ballot: b }));
    assert!(matches!(out.send[0], (2, Message::Promise { .. })));
    let value = Value::batch(vec![tweet(2, 1)]);
    let out = core.step(
        1,
        Input::Message {
            from: 2,
            msg: Message::Accept {
                ballot: b,
                slot: 0,
                value: value.clone(),
            },
        },
    );
    assert!(out.persist.contains(&Record::Accept {
        slot: 0,
        ballot: b,
        value
    }));
    assert!(matches!(out.send[0], (2, Message::Ack { .. })));
    // A lower ballot is refused with the higher one.
    let out = core.step(
        2,
        Input::Message {
            from: 1,
            msg: Message::Prepare {
                ballot: Ballot::new(3, 1),
                from_slot: 0,
                rejoin: false,
            },
        },
    );
    assert!(out.persist.is_empty());
    assert!(matches!(out.send[0], (1, Message::Nack { ballot, .. }) if ballot == b));
}

#[test]
fn competing_submitters_all_get_decided_once() {
    let mut c = Cluster::new(3);
    for i in 0..3 {
        for seq in 1..=3 {
            c.input(i, Input::Submit(tweet(i, seq)));
        }
    }
    c.run(3000);
    let mut seen = HashSet::new();
    for v in &c.committed[0] {
        for cmd in &v.cmds {
            assert!(seen.insert(cmd.id), "{} decided twice", cmd.id);
        }
    }
    assert_eq!(seen.len(), 9);
    for i in 0..3 {
        assert_eq!(c.completed[i].len(), 3, "site {i}");
        assert_eq!(c.committed[i], c.committed[0]);
    }
}

#[test]
fn a_restarted_site_keeps_its_promise() {
    let mut core = Core::new(CoreConfig::new(3, 0, 100, 5000, 1), voter(), 0);
    let b = Ballot::new(4, 2);
    let out = core.step(
        0,
        Input::Message {
            from: 2,
            msg: Message::Prepare {
                ballot: b,
                from_slot: 0,
                rejoin: false,
            },
        },
    );
    let mut disk = voter();
    for r in &out.persist {
        disk.apply(r);
    }
    let mut again = Core::new(CoreConfig::new(3, 0, 100, 5000, 1), disk, 0);
    let out = again.step(
        1,
        Input::Message {
            from: 1,
            msg: Message::Accept {
                ballot: Ballot::new(3, 1),
                slot: 0,
                value: Value::noop(),
            },
        },
    );
    assert!(matches!(out.send[0], (1, Message::Nack { .. })));
}

// ----- SPEC 6: a site that starts on an empty data dir --------------

fn fresh(me: SiteId) -> Core {
    Core::new(
        CoreConfig::new(3, me, 100, 5000, 1),
        AcceptorState::default(),
        0,
    )
}

fn prepare(ballot: Ballot, rejoin: bool) -> Input {
    Input::Message {
        from: 1,
        msg: Message::Prepare {
            ballot,
            from_slot: 0,
            rejoin,
        },
    }
}

#[test]
fn an_empty_site_answers_no_prepare_until_it_knows_the_cluster_is_new() {
    let mut core = fresh(0);
    let out = core.step(0, prepare(Ballot::new(1, 1), false));
    assert_eq!(out.send, Vec::new(), "no promise and no nack");
    assert_eq!(out.persist, Vec::new());
    assert_eq!(core.membership(), Membership::Joining);
}

#[test]
fn an_empty_site_that_hears_of_history_makes_its_rejoin_durable_first() {
    let mut core = fresh(0);
    let commit = Message::Commit {
        ballot: Ballot::new(3, 1),
        slot: 0,
        value: Value::noop(),
    };
    let out = core.step(
        0,
        Input::Message {
            from: 1,
            msg: commit,
        },
    );
    assert_eq!(out.persist.first(), Some(&Record::Rejoining));
    assert_eq!(core.membership(), Membership::Rejoining);
    // It still answers no ordinary prepare...
    let out = core.step(1, prepare(Ballot::new(4, 1), false));
    assert_eq!(out.send, Vec::new());
    // ...but another rejoin's, yes.
    let out = core.step(2, prepare(Ballot::new(5, 1), true));
    assert!(matches!(
        out.send.as_slice(),
        [(1, Message::Promise { .. })]
    ));
}

#[test]
fn an_empty_site_votes_once_enough_peers_said_they_hold_nothing() {
    let mut core = fresh(0);
    let out = core.step(0, Input::Tick);
    let nonce = out
        .send
        .iter()
        .find_map(|(_, m)| match m {
            Message::Probe { nonce } => Some(*nonce),
            _ => None,
        })
        .expect("a probe");
    let nothing = |probe| Message::Decided {
        decided_upto: 0,
        entries: Vec::new(),
        promised: Ballot::ZERO,
        probe,
    };
    // An answer to another life's probe does not count.
    for from in [1, 2] {
        core.step(
            1,
            Input::Message {
                from,
                msg: nothing(nonce ^ 1),
            },
        );
    }
    core.step(2, Input::Tick);
    assert_eq!(core.membership(), Membership::Joining);
    // n - q + 1 = 2 peers said nothing; once both probed us too, we vote.
    for from in [1, 2] {
        core.step(
            3,
            Input::Message {
                from,
                msg: nothing(nonce),
            },
        );
        core.step(
            3,
            Input::Message {
                from,
                msg: Message::Probe { nonce: 9 },
            },
        );
    }
    core.step(4, Input::Tick);
    assert_eq!(core.membership(), Membership::Voting);
}
