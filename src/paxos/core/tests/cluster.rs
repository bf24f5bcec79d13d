//! Whole clusters of cores on a perfect network: the end-to-end checks
//! that the roles fit together (the simulator, tests/sim.rs, does the same
//! under faults).

use super::*;
use std::collections::{HashSet, VecDeque};

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
    /// `n` sites on empty data dirs: a new cluster.
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

    /// The network is perfect and syncs are instant: what leaves at once
    /// and what leaves after the sync go out in that order (an ack of the
    /// site's own acceptor to itself too).
    fn take(&mut self, site: SiteId, out: Output) {
        for (to, msg) in out.send_now.into_iter().chain(out.send) {
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
fn spec5_a_new_cluster_elects_a_leader_and_others_forward_to_it() {
    // SPEC 5, Multi-Paxos: at start nobody leads and the full Synod runs;
    // the winner stays leader, and others hand it their operations.
    let mut c = Cluster::new(3);
    c.input(1, Input::Submit(tweet(1, 1)));
    c.run(200);
    assert_eq!(c.completed[1].len(), 1);
    assert_eq!(c.cores[1].leader(), Some(1));
    for i in 0..3 {
        assert_eq!(c.committed[i], vec![one(tweet(1, 1))], "site {i}");
    }
    // Site 2 hands its tweet to the leader instead of competing.
    c.input(2, Input::Submit(tweet(2, 1)));
    c.run(20);
    let id = tweet(2, 1).id;
    assert_eq!(
        c.completed[2],
        vec![Completion {
            id,
            slot: 1,
            index: 0
        }]
    );
    assert_eq!(c.cores[1].leader(), Some(1), "leadership kept");
}

#[test]
fn spec5_competing_submitters_do_not_livelock_and_each_is_decided_once() {
    // SPEC 5: competing proposers must not livelock; every operation takes
    // effect exactly once.
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
