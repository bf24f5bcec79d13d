//! Joining and rejoining: whether this site votes.
//!
//! # Rejoin (SPEC 6)
//!
//! An acceptor that forgot its promises and accepts breaks agreement, so a
//! site that starts on an empty data dir does not vote at once:
//!
//! - **Joining**: it asks every peer whether it holds any history (a
//!   probe: `fetch` of an empty range, answered with the peer's decided
//!   prefix and promise). Once `n - q + 1` peers answered that they hold
//!   none (with `q` the quorum), every quorum that could have formed
//!   without this site's knowledge contains one of them, so nothing was
//!   ever promised or chosen: the cluster is new and the site votes. As
//!   soon as any message shows history, it is **Rejoining** (made durable
//!   first, so a restart does not make it forget that it rejoins).
//! - **Rejoining**: it learns (commits, catch-up) and forwards its users'
//!   submissions, but answers no `prepare` and no `accept`. It runs an
//!   election of its own with a fresh ballot `F` that needs, besides a
//!   quorum in all, the promises of `n - q + 1` *other* sites (its own
//!   report misses what it forgot). Those meet every quorum that chose a
//!   value in a slot in a site other than this one (a quorum less this
//!   site has `q - 1` members), so `F`'s phase 1 recovers every
//!   value that may have been chosen, up to slot `N` (its first fresh
//!   slot), and no ballot below `F` can be chosen afterwards. Once every
//!   slot below `N` is decided here (by this site's phase 2 or any later
//!   leader's), the votes it forgot cannot matter any more: above `N`
//!   nothing was chosen before `F`, and its promise is `F`. It votes again
//!   (made durable). This is Paxos Made Live's rule (5.1): it waits for a
//!   whole instance that began after its return, its own election.

use super::{Core, Output};
use crate::paxos::types::*;

impl Core {
    /// Peers that must say they hold no history before a site that started
    /// empty votes: enough that every quorum holds one of them.
    pub(super) fn empty_peers_needed(&self) -> usize {
        self.cfg.sites as usize - self.cfg.quorum() + 1
    }

    /// Whether this site may run for leader: a voter, or a rejoining site
    /// (whose own promise does not count).
    pub(super) fn may_run(&self) -> bool {
        self.membership != Membership::Joining
    }

    /// A joining site reads each message for signs of history.
    pub(super) fn joining_hears(&mut self, out: &mut Output, from: SiteId, msg: &Message) {
        let history = match msg {
            Message::Decided {
                decided_upto,
                entries,
                promised,
                probe,
            } => {
                let decided = *decided_upto > 0 || !entries.is_empty();
                // Only an answer to this life's probe speaks of promises.
                if *probe != self.probe_nonce {
                    decided
                } else if decided || *promised != Ballot::ZERO {
                    true
                } else {
                    self.empty_peers.insert(from);
                    if self.empty_peers.len() >= self.empty_peers_needed() {
                        self.born_at.get_or_insert(self.now);
                    }
                    false
                }
            }
            // Someone running for leader may be as new as we are; a forward
            // says nothing about the log; a fetch is answered as it is.
            Message::Prepare { .. }
            | Message::Forward { .. }
            | Message::Fetch { .. }
            | Message::Probe { .. } => false,
            other => other.ballot().is_some_and(|b| b > Ballot::ZERO),
        };
        if history {
            self.set_membership(out, Membership::Rejoining);
        }
    }

    fn set_membership(&mut self, out: &mut Output, m: Membership) {
        if self.membership == m {
            return;
        }
        match m {
            Membership::Rejoining => out.persist.push(Record::Rejoining),
            Membership::Voting if self.membership == Membership::Rejoining => {
                out.persist.push(Record::Voting)
            }
            _ => {}
        }
        self.membership = m;
        self.rejoin_until = None;
        out.trace.push(TraceEvent::Membership(m));
    }

    /// A rejoining site votes again once every slot its own election
    /// recovered is decided here.
    pub(super) fn check_rejoined(&mut self, out: &mut Output) {
        if self.membership == Membership::Rejoining
            && self.rejoin_until.is_some_and(|n| self.prefix >= n)
        {
            self.set_membership(out, Membership::Voting);
        }
    }

    /// Sends the joining probe to every peer, every `timeout_ms`; once the
    /// cluster is known to be new, votes.
    ///
    /// The cluster is new, but this site does not vote at once: the peers
    /// that are joining too would take its first promise for history (and
    /// rejoin, which needs voters). It waits until each peer that answered
    /// "nothing" has probed it while it still holds nothing (so their
    /// probes are answered "nothing" for good), or for `birth_wait_ms`.
    pub(super) fn probe_if_joining(&mut self, out: &mut Output) {
        if self.membership != Membership::Joining {
            return;
        }
        if let Some(born) = self.born_at {
            let all_probed = self.empty_peers.is_subset(&self.probed_me);
            if all_probed || self.now >= born + self.cfg.birth_wait_ms() {
                self.set_membership(out, Membership::Voting);
                return;
            }
        }
        if self.now < self.next_probe {
            return;
        }
        self.next_probe = self.now + self.cfg.timeout_ms;
        let me = self.cfg.me;
        for peer in (0..self.cfg.sites).filter(|&p| p != me) {
            if !self.empty_peers.contains(&peer) {
                let nonce = self.probe_nonce;
                self.send(out, peer, Message::Probe { nonce });
            }
        }
    }
}
