//! Phase 2, as leader: submissions into slots, accepts, acks, commits,
//! heartbeats, and the answers to forwards (of this term and of past
//! ones).

use super::{approx_cmd_bytes, Core, LeaderSeen, Output, Role};
use crate::paxos::types::*;
use crate::state::op::{Command, OpId, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

#[derive(Clone, Debug)]
pub(super) struct InFlight {
    pub(super) value: Value,
    pub(super) acks: BTreeSet<SiteId>,
    pub(super) sent_at: u64,
}

#[derive(Clone, Debug)]
pub(super) struct Leading {
    pub(super) ballot: Ballot,
    /// The next slot for fresh submissions.
    pub(super) next_slot: Slot,
    pub(super) inflight: BTreeMap<Slot, InFlight>,
    /// Submissions waiting for a slot: (submitting site, command).
    pub(super) queue: VecDeque<(SiteId, Command)>,
    pub(super) queued: BTreeSet<OpId>,
    /// The submissions assigned in this term to slots not yet decided
    /// here, and their slot (see "Exactly once" for why forgetting the
    /// decided ones is safe).
    pub(super) assigned: BTreeMap<OpId, Slot>,
    pub(super) last_heartbeat: u64,
    /// When the term began, and when each follower was last heard in it
    /// (an ack or a heartbeat ack): check-quorum.
    pub(super) since: u64,
    pub(super) heard: BTreeMap<SiteId, u64>,
}

/// A past term of this site as leader, remembered so that late forwards
/// stamped with its ballot get a truthful answer.
#[derive(Clone, Debug)]
pub(super) struct PastTerm {
    pub(super) ballot: Ballot,
    pub(super) assigned: BTreeMap<OpId, Slot>,
    pub(super) ended_at: u64,
}

impl Core {
    pub(super) fn on_forward(
        &mut self,
        out: &mut Output,
        from: SiteId,
        ballot: Ballot,
        cmds: Vec<Command>,
    ) {
        // A site forwards only its own submissions.
        let cmds: Vec<Command> = cmds.into_iter().filter(|c| c.id.site == from).collect();
        if let Role::Leading(l) = &mut self.role {
            if l.ballot == ballot {
                let mut known: BTreeMap<Slot, Vec<OpId>> = BTreeMap::new();
                for cmd in cmds {
                    if let Some(&slot) = l.assigned.get(&cmd.id) {
                        known.entry(slot).or_default().push(cmd.id);
                    } else if l.queued.insert(cmd.id) {
                        l.queue.push_back((from, cmd));
                    }
                }
                for (slot, ids) in known {
                    self.send(out, from, Message::Assigned { ballot, slot, ids });
                }
                self.assign_fresh(out);
                return;
            }
        }
        // A term of ours that ended: answer truthfully what it did.
        if let Some(term) = self.past_terms.iter().find(|t| t.ballot == ballot) {
            let mut known: BTreeMap<Slot, Vec<OpId>> = BTreeMap::new();
            let mut never = Vec::new();
            for cmd in &cmds {
                match term.assigned.get(&cmd.id) {
                    Some(&slot) => known.entry(slot).or_default().push(cmd.id),
                    None => never.push(cmd.id),
                }
            }
            for (slot, ids) in known {
                self.send(out, from, Message::Assigned { ballot, slot, ids });
            }
            if !never.is_empty() {
                self.send(out, from, Message::Rejected { ballot, ids: never });
            }
        }
        // Otherwise a term we no longer remember (we restarted): we cannot
        // know, so we say nothing and the submitter waits for its deadline.
    }

    /// Puts queued submissions into new slots while `fresh_window` allows.
    pub(super) fn assign_fresh(&mut self, out: &mut Output) {
        loop {
            let Role::Leading(l) = &mut self.role else {
                return;
            };
            if l.queue.is_empty() || l.inflight.len() >= self.cfg.fresh_slots() {
                return;
            }
            let mut cmds = Vec::new();
            let mut bytes = 0;
            while let Some((_, cmd)) = l.queue.front() {
                let size = approx_cmd_bytes(cmd);
                if !cmds.is_empty()
                    && (cmds.len() >= self.cfg.max_batch || bytes + size > self.cfg.max_batch_bytes)
                {
                    break;
                }
                bytes += size;
                if let Some((site, cmd)) = l.queue.pop_front() {
                    l.queued.remove(&cmd.id);
                    cmds.push((site, cmd));
                }
            }
            let slot = l.next_slot;
            l.next_slot = l.next_slot.saturating_add(1);
            let ballot = l.ballot;
            let mut by_site: BTreeMap<SiteId, Vec<OpId>> = BTreeMap::new();
            for (site, cmd) in &cmds {
                l.assigned.insert(cmd.id, slot);
                by_site.entry(*site).or_default().push(cmd.id);
            }
            for (site, ids) in by_site {
                if site == self.cfg.me {
                    for id in ids {
                        self.assigned_here(id, slot);
                    }
                } else {
                    self.send(out, site, Message::Assigned { ballot, slot, ids });
                }
            }
            let value = Value::batch(cmds.into_iter().map(|(_, c)| c).collect());
            self.propose(out, slot, value, false);
        }
    }

    /// Phase 2 for one slot. The accept goes to the followers at once;
    /// this site's own acceptor accepts too, and its ack comes back to this
    /// core only once the record is durable (see "The leader's own vote").
    pub(super) fn propose(&mut self, out: &mut Output, slot: Slot, value: Value, recovered: bool) {
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        let ballot = l.ballot;
        let mut acks = BTreeSet::new();
        if ballot >= self.promised {
            self.accepted.insert(slot, (ballot, value.clone()));
            out.persist.push(Record::Accept {
                slot,
                ballot,
                value: value.clone(),
            });
            if self.cfg.defects.own_vote_before_sync {
                acks.insert(self.cfg.me);
            } else {
                out.send.push((self.cfg.me, Message::Ack { ballot, slot }));
            }
        }
        l.inflight.insert(
            slot,
            InFlight {
                value: value.clone(),
                acks,
                sent_at: self.now,
            },
        );
        out.trace.push(TraceEvent::Proposed {
            slot,
            ballot,
            value: super::summary(&self.cfg, &value),
            recovered,
        });
        self.broadcast_now(
            out,
            Message::Accept {
                ballot,
                slot,
                value,
            },
        );
        let quorum = self.cfg.quorum();
        if let Role::Leading(l) = &self.role {
            if l.inflight
                .get(&slot)
                .is_some_and(|f| f.acks.len() >= quorum)
            {
                self.decide_own(out, slot);
            }
        }
    }

    pub(super) fn on_ack(&mut self, out: &mut Output, from: SiteId, ballot: Ballot, slot: Slot) {
        let quorum = self.cfg.quorum();
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        if l.ballot != ballot {
            return;
        }
        let Some(f) = l.inflight.get_mut(&slot) else {
            return;
        };
        f.acks.insert(from);
        if from != self.cfg.me {
            l.heard.insert(from, self.now);
        }
        if f.acks.len() >= quorum {
            self.decide_own(out, slot);
        }
    }

    /// A quorum accepted our value for `slot`: it is chosen. Every vote
    /// counted is durable, so the commit leaves at once.
    fn decide_own(&mut self, out: &mut Output, slot: Slot) {
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        let Some(f) = l.inflight.remove(&slot) else {
            return;
        };
        let ballot = l.ballot;
        self.broadcast_now(
            out,
            Message::Commit {
                ballot,
                slot,
                value: f.value.clone(),
            },
        );
        self.learn(out, slot, f.value);
        self.assign_fresh(out);
    }

    /// Phase 1 is won: this site leads with `ballot`, fresh submissions go
    /// from `next_slot` on, and the sites that promised count as heard
    /// (check-quorum).
    pub(super) fn begin_term(
        &mut self,
        out: &mut Output,
        ballot: Ballot,
        next_slot: Slot,
        heard: BTreeMap<SiteId, u64>,
    ) {
        self.role = Role::Leading(Box::new(Leading {
            ballot,
            next_slot,
            inflight: BTreeMap::new(),
            queue: VecDeque::new(),
            queued: BTreeSet::new(),
            assigned: BTreeMap::new(),
            last_heartbeat: self.now,
            since: self.now,
            heard,
        }));
        self.leader = Some(LeaderSeen {
            site: self.cfg.me,
            ballot,
            last_heard: self.now,
        });
        out.trace.push(TraceEvent::Leader {
            leader: Some(self.cfg.me),
            ballot,
        });
        self.send_heartbeat(out);
    }

    /// A past term's assignments are kept as long as a late forward of
    /// its time may come (`past_term_memory_ms`).
    pub(super) fn forget_past_terms(&mut self) {
        let now = self.now;
        self.past_terms
            .retain(|t| now.saturating_sub(t.ended_at) <= self.cfg.past_term_memory_ms());
    }

    pub(super) fn send_heartbeat(&mut self, out: &mut Output) {
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        l.last_heartbeat = self.now;
        let msg = Message::Heartbeat {
            ballot: l.ballot,
            decided_upto: self.prefix,
            max_decided: self.max_known_decided,
        };
        self.broadcast(out, msg);
    }
}
