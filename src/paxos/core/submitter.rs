//! This site's submissions, from `submit` to their completion or their
//! deadline.
//!
//! # Exactly once
//!
//! Every submission has a unique [`OpId`]. Two rules together make each
//! one take effect at most once, and every one whose site keeps a leader
//! in reach take effect:
//!
//! 1. **Applying skips copies.** The replicated state applies an operation
//!    the first time the log holds it and skips every later copy
//!    ([`crate::state::AppliedOps`]), the same on every site. So an
//!    operation that reaches two slots is applied once, in the first, and
//!    the answer of its submission names that first slot (its site learns
//!    the log in order and completes the submission there).
//! 2. **A submission follows the leader this site trusts.** The submitter
//!    tracks each pending operation as
//!    - `Unsent`: with no leader yet: it is handed to the next one (or, on
//!      the leader itself, queued);
//!    - `Queued`: in this site's own leader queue, not yet in a slot;
//!    - `Forwarded(leader, ballot)`: handed to the leader of `ballot`, and
//!      re-sent to it every `retry_ms` while this site trusts that leader
//!      and ballot. It goes back to `Unsent` (to be handed to the next
//!      leader) as soon as it does not: a higher ballot is heard, the leader
//!      falls silent, the leader answers `rejected` (it never assigned the
//!      operation in that term and never will), or the leader leaves our
//!      forwards unanswered for `forward_patience_ms` (it does not hear us);
//!    - `Assigned(slot)`: the leader put it in `slot`; when `slot` is
//!      decided without it, it lost the slot and goes back to `Unsent`.
//!
//! Why rule 1 is needed: an operation handed to a leader that then lost its
//! term may sit, unknown to its submitter, in a slot that a few acceptors
//! accepted in that term; a later leader may recover that accept into the
//! log at any time, even after the operation was handed on and decided
//! elsewhere. No local knowledge of the submitter can rule that out (the
//! acceptors that hold the stale accept may be unreachable), so instead of
//! letting the operation wait until it fails (the original design: a 503
//! with a majority up), it is handed on and the copy is skipped. A leader
//! also forgets the assignments of decided slots for the same reason: a
//! late forward of one only makes a copy.
//!
//! Within one term a leader assigns an operation to one slot at most
//! (`assigned`), and recovery never moves a value to another slot, so
//! copies only come from leader changes and stay rare.

use super::{Completion, Core, Output, Role};
use crate::paxos::types::*;
use crate::state::op::{Command, OpId, Value};
use std::collections::BTreeMap;

/// Where one of this site's submissions stands (see "Exactly once").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PendState {
    Unsent,
    /// In this site's own leader queue, not yet in a slot.
    Queued,
    Forwarded {
        to: SiteId,
        ballot: Ballot,
        /// When it was first handed to this leader and ballot.
        since: u64,
        /// When it was last (re-)sent.
        sent_at: u64,
    },
    Assigned {
        slot: Slot,
        since: u64,
    },
}

#[derive(Clone, Debug)]
pub(super) struct Pending {
    cmd: Command,
    deadline: u64,
    state: PendState,
}

impl Core {
    pub(super) fn on_submit(&mut self, out: &mut Output, cmd: Command) {
        let id = cmd.id;
        if self.pending.contains_key(&id) {
            return;
        }
        self.pending.insert(
            id,
            Pending {
                cmd,
                deadline: self.now + self.cfg.submit_timeout_ms,
                state: PendState::Unsent,
            },
        );
        // With no leader in sight, run for it now rather than at the next
        // tick (the first submission of an idle cluster).
        if self.leader().is_none()
            && self.may_run()
            && matches!(self.role, Role::Follower)
            && self.now >= self.next_election_at
            && self.pre_vote(out)
        {
            self.start_election(out);
        }
    }

    /// Hands unsent submissions to the leader (or to ourselves when we lead)
    /// and re-sends forwards that were not answered.
    pub(super) fn dispatch_pending(&mut self, out: &mut Output) {
        if self.pending.is_empty() {
            return;
        }
        self.reroute_forwarded();
        let now = self.now;
        let retry = self.cfg.retry_ms();
        let mut unsent: Vec<OpId> = Vec::new();
        let mut resend: BTreeMap<(SiteId, Ballot), Vec<OpId>> = BTreeMap::new();
        for (id, p) in &self.pending {
            match p.state {
                PendState::Unsent => unsent.push(*id),
                PendState::Forwarded {
                    to,
                    ballot,
                    sent_at,
                    ..
                } if now.saturating_sub(sent_at) >= retry => {
                    resend.entry((to, ballot)).or_default().push(*id);
                }
                _ => {}
            }
        }
        // Oldest first, so a batch keeps the order of submission.
        unsent.sort_by_key(|id| id.seq);
        if !unsent.is_empty() {
            if let Role::Leading(l) = &mut self.role {
                for id in unsent {
                    if let Some(p) = self.pending.get_mut(&id) {
                        p.state = PendState::Queued;
                        if l.queued.insert(id) {
                            l.queue.push_back((self.cfg.me, p.cmd.clone()));
                        }
                    }
                }
                self.assign_fresh(out);
            } else if let (Some(site), Some(ballot)) = (self.leader(), self.leader_ballot()) {
                if site != self.cfg.me {
                    for id in &unsent {
                        if let Some(p) = self.pending.get_mut(id) {
                            p.state = PendState::Forwarded {
                                to: site,
                                ballot,
                                since: now,
                                sent_at: now,
                            };
                        }
                    }
                    resend.entry((site, ballot)).or_default().extend(unsent);
                }
            }
        }
        for ((site, ballot), ids) in resend {
            let cmds: Vec<Command> = ids
                .iter()
                .filter_map(|id| {
                    let p = self.pending.get_mut(id)?;
                    if let PendState::Forwarded { sent_at, .. } = &mut p.state {
                        *sent_at = now;
                    }
                    Some(p.cmd.clone())
                })
                .collect();
            for chunk in cmds.chunks(self.cfg.max_batch.max(1)) {
                self.send(
                    out,
                    site,
                    Message::Forward {
                        ballot,
                        cmds: chunk.to_vec(),
                    },
                );
            }
        }
    }

    /// A submission stays with the leader it was handed to only while this
    /// site trusts that leader and ballot; otherwise it goes back to be
    /// handed to the next one (see "Exactly once").
    pub(super) fn reroute_forwarded(&mut self) {
        if self.cfg.defects.sticky_forwards {
            return;
        }
        let trusted = self.trusted_ballot();
        for p in self.pending.values_mut() {
            if let PendState::Forwarded { ballot, .. } = p.state {
                if Some(ballot) != trusted {
                    p.state = PendState::Unsent;
                }
            }
        }
    }

    /// The ballot of the leader this site trusts now (itself included).
    fn trusted_ballot(&self) -> Option<Ballot> {
        self.leader().and(self.leader_ballot())
    }

    /// The leader of `ballot` answered a forward: it hears this site.
    fn answered_by(&mut self, ballot: Ballot) {
        if self.distrusted == Some(ballot) {
            self.distrusted = None;
        }
        for p in self.pending.values_mut() {
            if let PendState::Forwarded {
                ballot: b, since, ..
            } = &mut p.state
            {
                if *b == ballot {
                    *since = self.now;
                }
            }
        }
    }

    /// The leader of `ballot` put these submissions of ours into `slot`.
    pub(super) fn on_assigned(&mut self, ballot: Ballot, slot: Slot, ids: Vec<OpId>) {
        self.answered_by(ballot);
        for id in ids {
            self.assigned_one(id, ballot, slot);
        }
    }

    fn assigned_one(&mut self, id: OpId, ballot: Ballot, slot: Slot) {
        let Some(p) = self.pending.get_mut(&id) else {
            return;
        };
        if !matches!(p.state, PendState::Forwarded { ballot: b, .. } if b == ballot) {
            return;
        }
        if slot < self.prefix {
            // That slot is decided and applied without it: it lost.
            p.state = PendState::Unsent;
            return;
        }
        p.state = PendState::Assigned {
            slot,
            since: self.now,
        };
        self.by_slot.entry(slot).or_default().push(id);
        if let Some(v) = self.decided.get(&slot) {
            if !v.contains(id) {
                // Decided beyond a hole without it: lost as well.
                p.state = PendState::Unsent;
            }
        }
    }

    /// The leader of `ballot` never put these submissions of ours into a
    /// slot and never will: they go back to be handed to the next leader.
    pub(super) fn on_rejected(&mut self, ballot: Ballot, ids: Vec<OpId>) {
        self.answered_by(ballot);
        // Only a leader whose term is over rejects: trusting it still would
        // hand it the same submissions again at once, and again.
        if self.leader.is_some_and(|l| l.ballot == ballot) {
            self.leader = None;
        }
        for id in ids {
            if let Some(p) = self.pending.get_mut(&id) {
                if matches!(p.state, PendState::Forwarded { ballot: b, .. } if b == ballot) {
                    p.state = PendState::Unsent;
                }
            }
        }
    }

    /// Our leader queue (as leader) put this submission into `slot`.
    pub(super) fn assigned_here(&mut self, id: OpId, slot: Slot) {
        if let Some(p) = self.pending.get_mut(&id) {
            p.state = PendState::Assigned {
                slot,
                since: self.now,
            };
            self.by_slot.entry(slot).or_default().push(id);
        }
    }

    /// Our term ended with this submission still in its queue: it goes
    /// back to be handed to the next leader.
    pub(super) fn unqueued(&mut self, id: OpId) {
        if let Some(p) = self.pending.get_mut(&id) {
            p.state = PendState::Unsent;
        }
    }

    /// `slot` is decided with `value`: a submission of ours assigned to
    /// this slot that is not in it lost the slot, and goes back to be
    /// retried in a later one.
    pub(super) fn slot_decided(&mut self, slot: Slot, value: &Value) {
        if let Some(ids) = self.by_slot.get(&slot) {
            for id in ids {
                if let Some(p) = self.pending.get_mut(id) {
                    if matches!(p.state, PendState::Assigned { slot: s, .. } if s == slot)
                        && !value.contains(*id)
                        && !self.cfg.defects.never_retry_lost_slot
                    {
                        p.state = PendState::Unsent;
                    }
                }
            }
        }
    }

    /// `slot` joined the decided prefix: each submission of ours in it is
    /// done, in its first copy (see "Exactly once"). Returns for the trace
    /// whether one of ours won the slot (`Some(true)`), lost it and waits
    /// to be retried (`Some(false)`), or none waited on it (`None`).
    pub(super) fn slot_applied(
        &mut self,
        out: &mut Output,
        slot: Slot,
        value: &Value,
    ) -> Option<bool> {
        let mut won = false;
        for (index, cmd) in value.cmds.iter().enumerate() {
            if self.pending.remove(&cmd.id).is_some() {
                won = true;
                out.completed.push(Completion {
                    id: cmd.id,
                    slot,
                    index,
                });
            }
        }
        let lost = self.by_slot.remove(&slot).is_some_and(|ids| {
            ids.iter().any(|id| {
                self.pending
                    .get(id)
                    .is_some_and(|p| p.state == PendState::Unsent)
            })
        });
        if won {
            Some(true)
        } else if lost {
            Some(false)
        } else {
            None
        }
    }

    /// The highest slot a submission of ours was assigned to and has waited
    /// on for `assigned_patience_ms`: catch-up looks for it.
    pub(super) fn stuck_assigned(&self) -> Option<Slot> {
        self.pending
            .values()
            .filter_map(|p| match p.state {
                PendState::Assigned { slot, since }
                    if self.now.saturating_sub(since) >= self.cfg.assigned_patience_ms() =>
                {
                    Some(slot)
                }
                _ => None,
            })
            .max()
    }

    /// The leader this site trusts, if it left a forward of ours unanswered
    /// for `forward_patience_ms`: we may hear it, but it does not hear us.
    pub(super) fn leader_not_hearing_us(&self) -> Option<Ballot> {
        let now = self.now;
        let patience = self.cfg.forward_patience_ms();
        self.pending.values().find_map(|p| match p.state {
            PendState::Forwarded { ballot, since, .. }
                if now.saturating_sub(since) >= patience
                    && self.leader.is_some_and(|l| l.ballot == ballot) =>
            {
                Some(ballot)
            }
            _ => None,
        })
    }

    /// Fails the submissions whose deadline passed (status 503), and takes
    /// them out of our leader queue.
    pub(super) fn expire_deadlines(&mut self, out: &mut Output) {
        let now = self.now;
        let expired: Vec<OpId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.pending.remove(&id);
            if let Role::Leading(l) = &mut self.role {
                if l.queued.remove(&id) {
                    l.queue.retain(|(_, c)| c.id != id);
                }
            }
            out.failed.push(id);
        }
    }

    /// Notes since when the lowest slot accepted here but not known decided
    /// has waited. Such a value may be chosen, and answered, with no site
    /// holding its decision any more (decisions are written lazily: see
    /// "Decisions need no sync"; say every site lost power): no peer knows
    /// it decided, so once it waits as long as a hole, a phase 1 of ours
    /// finishes it (SPEC 5, catch-up: see `has_work`).
    pub(super) fn note_unlearned(&mut self) {
        let lowest = self.accepted.range(self.prefix..).next().map(|(s, _)| *s);
        self.unlearned_since = match (lowest, self.unlearned_since) {
            (Some(s), Some((t, at))) if s == t => Some((t, at)),
            (Some(s), _) => Some((s, self.now)),
            (None, _) => None,
        };
    }

    /// Whether this site needs a leader: a submission waits for one, a
    /// hole stays unfilled, or a value it accepted stays unlearned.
    pub(super) fn has_work(&self) -> bool {
        let unsent = self.pending.values().any(|p| p.state == PendState::Unsent);
        let patience = self.cfg.follower_hole_ms();
        let stalled_hole = self.max_known_decided.is_some_and(|m| m >= self.prefix)
            && self.now.saturating_sub(self.last_progress) >= patience;
        let unlearned = self
            .unlearned_since
            .is_some_and(|(_, at)| self.now.saturating_sub(at) >= patience);
        let stuck = self.pending.values().any(|p| match p.state {
            PendState::Assigned { since, .. } => {
                self.now.saturating_sub(since) >= 2 * self.cfg.assigned_patience_ms()
            }
            _ => false,
        });
        unsent || stalled_hole || unlearned || stuck
    }
}
