//! Phase 1: running for leader, counting promises, taking over, and
//! stepping down; who this site takes for the leader.
//!
//! # No livelock
//!
//! Sites do not compete for slots: a site that knows a live leader (it heard
//! a heartbeat, an accept or a commit recently) hands its submissions to it
//! (`forward`) instead of proposing. Only when no leader is alive does a site
//! with work run an election, and after a lost election (a `nack`, a
//! competitor's higher `prepare`, or no quorum in time) it waits a random
//! time drawn from a seeded generator before trying again, so two candidates
//! do not keep preempting each other.

use super::acceptor::{merge_parts, PromiseInfo, MAX_PROMISE_PARTS};
use super::{Core, LeaderSeen, Leading, Output, PastTerm, Role};
use crate::paxos::types::*;
use crate::state::op::{OpId, Value};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// A run for leader: phase 1 with `ballot` for every slot from
/// `from_slot` on.
#[derive(Clone, Debug)]
pub(super) struct Candidacy {
    pub(super) ballot: Ballot,
    pub(super) from_slot: Slot,
    pub(super) promises: BTreeMap<SiteId, PromiseInfo>,
    /// Promises that travel in parts, until every part is here: the
    /// answer they belong to, and its parts.
    pub(super) partial: BTreeMap<SiteId, (u64, Vec<Option<PromiseInfo>>)>,
    pub(super) started: u64,
    pub(super) sent_at: u64,
}

impl Core {
    pub(super) fn own_ballot(&self) -> Option<Ballot> {
        match &self.role {
            Role::Follower => None,
            Role::Preparing(c) => Some(c.ballot),
            Role::Leading(l) => Some(l.ballot),
        }
    }

    /// A message of `ballot` shows its site acting as leader.
    pub(super) fn heard_leader(&mut self, out: &mut Output, ballot: Ballot) {
        if ballot.site == self.cfg.me
            || ballot < self.promised
            || self.distrusted.is_some_and(|d| ballot <= d)
        {
            return;
        }
        if self.own_ballot().is_some_and(|b| b < ballot) {
            self.step_down(out);
        }
        let changed = self.leader.is_none_or(|l| l.ballot != ballot);
        if self.leader.is_none_or(|l| l.ballot <= ballot) {
            self.leader = Some(LeaderSeen {
                site: ballot.site,
                ballot,
                last_heard: self.now,
            });
            if changed {
                out.trace.push(TraceEvent::Leader {
                    leader: Some(ballot.site),
                    ballot,
                });
            }
        }
    }

    /// The leader of `ballot` says it is alive, and how far the log goes.
    pub(super) fn on_heartbeat(
        &mut self,
        out: &mut Output,
        from: SiteId,
        ballot: Ballot,
        decided_upto: Slot,
        max_decided: Option<Slot>,
    ) {
        if ballot < self.promised {
            // A stale leader: tell it, so it steps down at once.
            self.nack(out, from, None);
            return;
        }
        self.note_decided(decided_upto.checked_sub(1));
        self.note_decided(max_decided);
        if self.distrusted == Some(ballot) {
            return;
        }
        self.heard_leader(out, ballot);
        if self.membership == Membership::Voting {
            self.send(out, from, Message::HeartbeatAck { ballot });
        }
    }

    /// A follower answered the leader of `ballot` (check-quorum).
    pub(super) fn heard_follower(&mut self, from: SiteId, ballot: Ballot) {
        if let Role::Leading(l) = &mut self.role {
            if l.ballot == ballot {
                l.heard.insert(from, self.now);
            }
        }
    }

    pub(super) fn on_nack(&mut self, out: &mut Output, ballot: Ballot) {
        if self.own_ballot().is_some_and(|b| b < ballot) {
            self.step_down(out);
        }
    }

    pub(super) fn backoff(&mut self) -> u64 {
        self.rng.random_range(self.cfg.backoff_range_ms())
    }

    /// Pre-vote: a site runs for leader only when it has heard a quorum
    /// (itself included) within `leader_timeout_ms`; otherwise it asks the
    /// peers it has not heard from (a probe for the log's end, which every
    /// site answers) and waits. A site that can send but not hear never
    /// runs: its prepares would depose every leader, again and again, with
    /// elections it cannot finish.
    pub(super) fn pre_vote(&mut self, out: &mut Output) -> bool {
        if self.cfg.defects.no_pre_vote {
            return true;
        }
        let now = self.now;
        let window = self.cfg.leader_timeout_ms();
        let heard = self
            .heard_from
            .values()
            .filter(|&&t| now.saturating_sub(t) < window)
            .count();
        if heard + 1 >= self.cfg.quorum() {
            return true;
        }
        let due = self
            .pre_vote_sent_at
            .is_none_or(|at| now.saturating_sub(at) >= self.cfg.timeout_ms / 2);
        if due {
            self.pre_vote_sent_at = Some(now);
            let at = self.prefix;
            for peer in 0..self.cfg.sites {
                let recent = self
                    .heard_from
                    .get(&peer)
                    .is_some_and(|&t| now.saturating_sub(t) < window / 2);
                if peer != self.cfg.me && !recent {
                    self.send_free(out, peer, Message::Fetch { from: at, to: at });
                }
            }
        }
        false
    }

    /// Whether `count` promises (this site's own among them) finish phase 1.
    /// A rejoining site's own report misses what it forgot, so it also
    /// needs `n - q + 1` promises of others: enough that they meet every
    /// quorum that may have chosen a value with its forgotten vote.
    fn enough_promises(&self, count: usize) -> bool {
        let others = count.saturating_sub(1);
        count >= self.cfg.quorum()
            && (self.membership == Membership::Voting || others >= self.empty_peers_needed())
    }

    pub(super) fn start_election(&mut self, out: &mut Output) {
        let ballot = Ballot::next_above(self.max_seen.max(self.promised), self.cfg.me);
        self.max_seen = ballot;
        self.promised = ballot;
        out.persist.push(Record::Promise { ballot });
        let from_slot = self.prefix;
        let mut promises = BTreeMap::new();
        promises.insert(self.cfg.me, self.promise_info(from_slot));
        self.role = Role::Preparing(Candidacy {
            ballot,
            from_slot,
            promises,
            partial: BTreeMap::new(),
            started: self.now,
            sent_at: self.now,
        });
        self.election_armed = false;
        out.trace.push(TraceEvent::Election { ballot, from_slot });
        let rejoin = self.membership == Membership::Rejoining;
        if rejoin {
            self.rejoin_floor = Some(self.rejoin_floor.map_or(ballot, |f| f.max(ballot)));
        }
        self.broadcast(
            out,
            Message::Prepare {
                ballot,
                from_slot,
                rejoin,
            },
        );
        if self.enough_promises(1) {
            self.activate(out);
        }
    }

    pub(super) fn on_promise(
        &mut self,
        out: &mut Output,
        from: SiteId,
        ballot: Ballot,
        info: PromiseInfo,
        (part, parts, answer): (u32, u32, u64),
    ) {
        let Role::Preparing(c) = &mut self.role else {
            return;
        };
        if c.ballot != ballot
            || c.promises.contains_key(&from)
            || part >= parts
            || parts > MAX_PROMISE_PARTS
        {
            return;
        }
        let info = if parts == 1 {
            info
        } else {
            // A promise in parts counts once every part is here.
            // Only the parts of one answer go together: a part of another
            // (the answer to a re-sent prepare) starts the collection again.
            let (of, slots) = c
                .partial
                .entry(from)
                .or_insert_with(|| (answer, vec![None; parts as usize]));
            let other = *of != answer && !self.cfg.defects.merge_parts_of_any_answer;
            if other || slots.len() != parts as usize {
                *of = answer;
                *slots = vec![None; parts as usize];
            }
            slots[part as usize] = Some(info);
            if slots.iter().any(Option::is_none) {
                return;
            }
            let Some((_, slots)) = c.partial.remove(&from) else {
                return;
            };
            merge_parts(slots.into_iter().flatten())
        };
        c.promises.insert(from, info);
        let count = c.promises.len();
        if self.enough_promises(count) {
            self.activate(out);
        }
    }

    /// A quorum promised: take over every slot from `from_slot` on.
    fn activate(&mut self, out: &mut Output) {
        let Role::Preparing(Candidacy {
            ballot, promises, ..
        }) = std::mem::replace(&mut self.role, Role::Follower)
        else {
            return;
        };
        let heard: BTreeMap<SiteId, u64> = promises
            .keys()
            .filter(|&&s| s != self.cfg.me)
            .map(|&s| (s, self.now))
            .collect();
        let Recovery {
            known_upto,
            decided_elsewhere,
            mut best,
        } = recover(promises, self.prefix);
        if let Some(&max) = decided_elsewhere.iter().next_back() {
            self.note_decided(Some(max));
        }
        self.note_decided(known_upto.checked_sub(1));
        let top = [
            best.keys().next_back().copied(),
            decided_elsewhere.iter().next_back().copied(),
            self.decided.keys().next_back().copied(),
        ]
        .into_iter()
        .flatten()
        .max();
        let next_slot = top.map_or(known_upto, |t| t.saturating_add(1).max(known_upto));
        if self.membership == Membership::Rejoining && self.rejoin_until.is_none() {
            self.rejoin_until = Some(next_slot);
        }
        self.begin_term(out, ballot, next_slot, heard);
        // Re-propose what may have been chosen; fill the rest with no-ops.
        for slot in known_upto..next_slot {
            if self.decided.contains_key(&slot) || decided_elsewhere.contains(&slot) {
                continue;
            }
            let value = best.remove(&slot).map_or_else(Value::noop, |(_, v)| v);
            if let Role::Leading(l) = &mut self.role {
                for c in &value.cmds {
                    l.assigned.insert(c.id, slot);
                }
            }
            self.propose(out, slot, value, true);
        }
        self.assign_fresh(out);
    }

    /// Leaves the leader role (or candidacy): the term's unassigned
    /// submissions go back to their sites.
    pub(super) fn step_down(&mut self, out: &mut Output) {
        let old = std::mem::replace(&mut self.role, Role::Follower);
        let backoff = self.backoff();
        self.next_election_at = self.now + backoff;
        let Role::Leading(l) = old else {
            return;
        };
        let Leading {
            ballot,
            queue,
            assigned,
            ..
        } = *l;
        let mut rejected: BTreeMap<SiteId, Vec<OpId>> = BTreeMap::new();
        for (site, cmd) in queue {
            if site == self.cfg.me {
                self.unqueued(cmd.id);
            } else {
                rejected.entry(site).or_default().push(cmd.id);
            }
        }
        for (site, ids) in rejected {
            self.send(out, site, Message::Rejected { ballot, ids });
        }
        self.past_terms.push_back(PastTerm {
            ballot,
            assigned,
            ended_at: self.now,
        });
        if self.leader.is_some_and(|l| l.site == self.cfg.me) {
            self.leader = None;
        }
        out.trace.push(TraceEvent::Leader {
            leader: None,
            ballot: self.max_seen,
        });
    }
}

/// What a quorum's promises say about the slots a new leader takes over.
struct Recovery {
    /// Slots below it are decided at some acceptor; we fetch them instead
    /// of proposing.
    known_upto: Slot,
    /// Slots from `known_upto` on that are decided at some acceptor.
    decided_elsewhere: BTreeSet<Slot>,
    /// For each slot from `known_upto` on, the value accepted with the
    /// highest ballot (what may have been chosen).
    best: BTreeMap<Slot, (Ballot, Value)>,
}

/// Reads the promises (this site's own among them) as a leader with
/// decided prefix `prefix` takes them over.
fn recover(promises: BTreeMap<SiteId, PromiseInfo>, prefix: Slot) -> Recovery {
    let known_upto = promises
        .values()
        .map(|p| p.decided_upto)
        .max()
        .unwrap_or(0)
        .max(prefix);
    let mut decided_elsewhere: BTreeSet<Slot> = BTreeSet::new();
    let mut best: BTreeMap<Slot, (Ballot, Value)> = BTreeMap::new();
    for info in promises.into_values() {
        decided_elsewhere.extend(info.decided_beyond.iter().copied());
        for e in info.accepted {
            if e.slot < known_upto {
                continue;
            }
            let better = best.get(&e.slot).is_none_or(|(b, _)| e.ballot > *b);
            if better {
                best.insert(e.slot, (e.ballot, e.value));
            }
        }
    }
    Recovery {
        known_upto,
        decided_elsewhere,
        best,
    }
}
