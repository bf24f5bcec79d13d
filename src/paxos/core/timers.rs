//! The clocks of the core, named, and what each role does when time
//! passes (`Input::Tick`).

use super::learner::FetchWhen;
use super::{Core, CoreConfig, Output, Role};
use crate::paxos::types::*;
use rand::Rng;

/// Heartbeats a leader sends per `timeout_ms`: several, so that one lost
/// heartbeat is not taken for a failure.
const HEARTBEATS_PER_TIMEOUT: u64 = 4;
/// Heartbeats a follower misses before it suspects its leader.
const MISSED_HEARTBEATS: u64 = 4;

/// Every clock of the core, named, with why it has that length. All derive
/// from `timeout_ms`, the time a peer may take to answer (SPEC 3).
impl CoreConfig {
    /// How often a leader tells the others it is alive.
    fn heartbeat_ms(&self) -> u64 {
        (self.timeout_ms / HEARTBEATS_PER_TIMEOUT).max(1)
    }

    /// A leader not heard from for this long is presumed gone: as many
    /// heartbeats as make one `timeout_ms`.
    pub(super) fn leader_timeout_ms(&self) -> u64 {
        self.heartbeat_ms() * MISSED_HEARTBEATS
    }

    /// check-quorum: a leader that has heard no quorum for this long steps
    /// down. One heartbeat more than followers wait, so that a leader cut
    /// off from its followers' answers gives way about when they start to
    /// look for another.
    fn check_quorum_ms(&self) -> u64 {
        self.leader_timeout_ms() + self.heartbeat_ms()
    }

    /// A follower with work and no leader runs for leader after a random
    /// pause up to this long, so that the followers of a dead leader do not
    /// all run at once (one round trip is far shorter).
    fn election_jitter_ms(&self) -> u64 {
        self.timeout_ms / 2
    }

    /// A candidate without a quorum of promises after this long gives up
    /// for now (its prepares are re-sent every `timeout_ms`: three tries).
    fn candidacy_ms(&self) -> u64 {
        4 * self.timeout_ms
    }

    /// After a lost election, the pause before the next one is drawn from
    /// this range: long enough for the winner's first heartbeat to arrive.
    pub(super) fn backoff_range_ms(&self) -> std::ops::RangeInclusive<u64> {
        self.timeout_ms..=3 * self.timeout_ms
    }

    /// How often a forwarded submission is re-sent to its leader: two
    /// timeouts, one for the forward and one for the leader's queue.
    pub(super) fn retry_ms(&self) -> u64 {
        self.timeout_ms * 2
    }

    /// A follower whose forwards got no answer for this long (two re-sends)
    /// stops trusting the leader: it may hear the leader, but the leader
    /// does not hear it.
    pub(super) fn forward_patience_ms(&self) -> u64 {
        2 * self.retry_ms()
    }

    /// A submission in an assigned slot that is not decided after this long
    /// makes its site look for the slot (catch-up); after twice this long,
    /// it counts as work that needs a leader.
    pub(super) fn assigned_patience_ms(&self) -> u64 {
        self.retry_ms()
    }

    /// A hole below a follower's known decided slots that stays this long
    /// (three fetches' worth) needs an election to be filled.
    pub(super) fn follower_hole_ms(&self) -> u64 {
        3 * self.timeout_ms
    }

    /// A hole that stays this long under a leader, with no peer delivering
    /// it, makes the leader run phase 1 again to recover it (one timeout
    /// more than a follower waits, so the followers' fetches go first).
    fn leader_hole_ms(&self) -> u64 {
        4 * self.timeout_ms
    }

    /// How long a past term's assignments are remembered, to answer late
    /// forwards truthfully: longer than any submission waits.
    pub(super) fn past_term_memory_ms(&self) -> u64 {
        4 * self.submit_timeout_ms.max(self.timeout_ms)
    }

    /// A site of a new cluster waits at most this long for its peers'
    /// probes before it votes (see `probe_if_joining`).
    pub(super) fn birth_wait_ms(&self) -> u64 {
        4 * self.timeout_ms
    }

    /// How often a site with no leader asks a peer how far the log goes.
    fn hole_probe_ms(&self) -> u64 {
        2 * self.timeout_ms
    }

    /// A site that knows of decided slots beyond its prefix and made no
    /// progress for this long asks a peer for them (a commit may be late
    /// rather than lost: give it half a timeout); an unanswered fetch is
    /// asked again after a whole timeout.
    pub(super) fn fetch_after_ms(&self) -> u64 {
        self.timeout_ms / 2
    }
}

impl Core {
    pub(super) fn on_tick(&mut self, out: &mut Output) {
        let now = self.now;
        self.probe_if_joining(out);
        self.note_unlearned();
        self.expire_deadlines(out);
        self.forget_past_terms();
        match self.role {
            Role::Leading(_) => self.leader_tick(out),
            Role::Preparing(_) => self.candidate_tick(out),
            Role::Follower => self.follower_tick(out),
        }
        if now >= self.next_hole_check {
            self.next_hole_check = now + self.cfg.hole_probe_ms();
            if self.leader().is_none() && self.fetch_sent_at.is_none() {
                // No leader heartbeats to tell us how far the log goes: ask
                // every peer (an empty range: only how far its log goes), so
                // that a commit we missed is found even when the cluster is
                // idle. Every peer, not one in turn: a restarted site learns
                // from whichever answers first, and its line wakes each
                // peer's dialer to it (they were in reconnect backoff while
                // it was down).
                let (at, me) = (self.prefix, self.cfg.me);
                for peer in (0..self.cfg.sites).filter(|&p| p != me) {
                    self.fetch_sent_at = Some(now);
                    self.send_free(out, peer, Message::Fetch { from: at, to: at });
                }
            }
            self.maybe_fetch(out, FetchWhen::Stalled);
        }
    }

    fn follower_tick(&mut self, out: &mut Output) {
        let now = self.now;
        // A leader that never answers our forwards does not hear us, even if
        // we hear it: stop trusting it, so that our work finds a leader.
        let unheard = self.leader_not_hearing_us();
        if let Some(ballot) = unheard.filter(|_| !self.cfg.defects.deaf_leader_stays) {
            self.distrusted = Some(ballot);
            self.leader = None;
            out.trace.push(TraceEvent::Leader {
                leader: None,
                ballot,
            });
            self.reroute_forwarded();
        }
        // A rejoining site runs even under a live leader: its own election
        // is what makes it safe to vote again.
        let rejoin = self.membership == Membership::Rejoining && self.rejoin_until.is_none();
        if !self.may_run() || !(rejoin || self.has_work() && self.leader().is_none()) {
            self.election_armed = false;
            return;
        }
        if !self.election_armed {
            self.election_armed = true;
            let jitter = self.rng.random_range(0..=self.cfg.election_jitter_ms());
            self.next_election_at = self.next_election_at.max(now + jitter);
        }
        if now >= self.next_election_at && self.pre_vote(out) {
            self.start_election(out);
        }
    }

    fn leader_tick(&mut self, out: &mut Output) {
        let now = self.now;
        let timeout = self.cfg.timeout_ms;
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        let heartbeat_due = now.saturating_sub(l.last_heartbeat) >= self.cfg.heartbeat_ms();
        // Accepts a quorum has not answered in time are sent again to the
        // sites that did not answer.
        let ballot = l.ballot;
        let mut resend = Vec::new();
        for (slot, f) in l.inflight.iter_mut() {
            if now.saturating_sub(f.sent_at) >= timeout {
                f.sent_at = now;
                resend.push((*slot, f.value.clone(), f.acks.clone()));
            }
        }
        // Assignments of decided slots are forgotten: their submitters learn
        // the slot from the log (and a late copy is skipped when applied).
        let prefix = self.prefix;
        if l.assigned.len() > 2 * self.cfg.window * self.cfg.max_batch {
            l.assigned.retain(|_, slot| *slot >= prefix);
        }
        // check-quorum: a leader that hears no quorum any more steps down,
        // so that a leader that can send but not hear is replaced.
        let window = self.cfg.check_quorum_ms();
        let heard = 1 + l
            .heard
            .values()
            .filter(|&&t| now.saturating_sub(t) < window)
            .count();
        if now.saturating_sub(l.since) >= window
            && heard < self.cfg.quorum()
            && !self.cfg.defects.deaf_leader_stays
        {
            self.step_down(out);
            return;
        }
        let hole_stuck = !l.inflight.contains_key(&self.prefix)
            && self.max_known_decided.is_some_and(|m| m >= self.prefix)
            && now.saturating_sub(self.last_progress) >= self.cfg.leader_hole_ms();
        if heartbeat_due {
            self.send_heartbeat(out);
        }
        for (slot, value, acks) in resend {
            for site in (0..self.cfg.sites).filter(|s| !acks.contains(s)) {
                let msg = Message::Accept {
                    ballot,
                    slot,
                    value: value.clone(),
                };
                self.send(out, site, msg);
            }
        }
        if hole_stuck {
            // A slot below our log that no peer delivers as decided (the only
            // site that knew may be down): run phase 1 again to recover it.
            self.step_down(out);
            self.start_election(out);
            return;
        }
        // A submission of ours that an earlier leader assigned to a slot
        // beyond our log waits on a slot nobody drives: settle it (a
        // follower gets the same by fetching that slot from us).
        if let Some(slot) = self.stuck_assigned() {
            self.fill_beyond_log(out, slot.saturating_add(1));
        }
    }

    fn candidate_tick(&mut self, out: &mut Output) {
        let now = self.now;
        let timeout = self.cfg.timeout_ms;
        let Role::Preparing(c) = &mut self.role else {
            return;
        };
        if now.saturating_sub(c.started) >= self.cfg.candidacy_ms() {
            // No quorum in time: give up for now, try again after a backoff.
            self.step_down(out);
            return;
        }
        if now.saturating_sub(c.sent_at) < timeout {
            return;
        }
        c.sent_at = now;
        let (ballot, from_slot) = (c.ballot, c.from_slot);
        let missing: Vec<SiteId> = (0..self.cfg.sites)
            .filter(|s| !c.promises.contains_key(s))
            .collect();
        for site in missing {
            let rejoin = self.membership == Membership::Rejoining;
            self.send(
                out,
                site,
                Message::Prepare {
                    ballot,
                    from_slot,
                    rejoin,
                },
            );
        }
    }
}
