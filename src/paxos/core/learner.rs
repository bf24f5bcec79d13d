//! The learner: decided values, the contiguous decided prefix, and
//! catch-up.
//!
//! # Catch-up
//!
//! A site that learns of a decided slot beyond a hole (a commit, a heartbeat
//! or a promise says so) fetches decided values in bulk (`fetch` /
//! `decided`), again every so often while the hole stays.
//!
//! A long hole (a site that was down) is fetched as a pipeline: up to
//! `fetch_pipeline` chunks are asked of one peer at once, and each answer
//! that moves the prefix asks for the next, so the round trip, the peer's
//! read and our own sync overlap instead of adding up. A chunk is what one
//! answer carries (`fetch_span`: from the last answer's bytes per slot, at
//! most `fetch_chunk` slots); an answer cut short by its byte budget has the
//! rest of its chunk asked for at once. A lost
//! request or answer stalls the prefix: after a whole `timeout_ms` without
//! progress the pass starts again from the prefix (a duplicated answer is
//! harmless: a slot is learned once). A leader fills
//! slots nobody knows about with no-ops (after phase 1 and when a fetch asks
//! for slots beyond its log); a site with a hole that stays and no leader
//! runs an election itself, which re-proposes what was accepted and a no-op
//! where nothing was. A value is never invented for a slot.

use super::{approx_value_bytes, Core, Output, Role, ServeRequest};
use crate::paxos::types::*;
use crate::state::op::Value;
use std::collections::VecDeque;

/// The catch-up requests in flight: all to one peer, in slot order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FetchPass {
    peer: SiteId,
    /// The ranges asked for and not answered yet.
    asks: VecDeque<(Slot, Slot)>,
}

/// When [`Core::maybe_fetch`] asks a peer for the decided slots it knows
/// of beyond its prefix. Either way, a fetch that went unanswered is asked
/// again after a whole `timeout_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FetchWhen {
    /// Once the prefix made no progress for `fetch_after_ms`: a commit may
    /// be late rather than lost.
    Stalled,
    /// At once: the last answer made progress, so the next chunk is asked
    /// for without waiting (pipelined catch-up).
    Now,
}

impl Core {
    pub(super) fn note_decided(&mut self, slot: Option<Slot>) {
        if let Some(s) = slot {
            self.max_known_decided = Some(self.max_known_decided.map_or(s, |m| m.max(s)));
        }
    }

    /// `slot` is decided with `value`.
    pub(super) fn learn(&mut self, out: &mut Output, slot: Slot, value: Value) {
        if slot < self.prefix || self.decided.contains_key(&slot) {
            return;
        }
        self.note_decided(Some(slot));
        self.accepted.remove(&slot);
        if let Role::Leading(l) = &mut self.role {
            l.inflight.remove(&slot);
            l.next_slot = l.next_slot.max(slot.saturating_add(1));
        }
        out.persist.push(Record::Decide {
            slot,
            value: value.clone(),
        });
        self.slot_decided(slot, &value);
        self.decided.insert(slot, value);
        self.advance_prefix(out);
    }

    /// Moves the contiguous decided slots into the committed output.
    pub(super) fn advance_prefix(&mut self, out: &mut Output) {
        while let Some(value) = self.decided.remove(&self.prefix) {
            let slot = self.prefix;
            let own = self.slot_applied(out, slot, &value);
            out.trace.push(TraceEvent::Decided {
                slot,
                value: super::summary(&self.cfg, &value),
                own,
            });
            self.recent.push_back((slot, value.clone()));
            while self.recent.len() > self.cfg.recent {
                self.recent.pop_front();
            }
            out.committed.push((slot, value));
            self.prefix = self.prefix.saturating_add(1);
            self.last_progress = self.now;
        }
    }

    /// Asks a peer for decided values when this site knows of decided slots
    /// beyond its prefix (or waits for a slot it was assigned).
    pub(super) fn maybe_fetch(&mut self, out: &mut Output, when: FetchWhen) {
        let target = self.max_known_decided.max(self.stuck_assigned());
        let Some(target) = target.filter(|&t| t >= self.prefix) else {
            self.last_progress = self.now;
            self.fetch_pass = None;
            return;
        };
        let end = target.saturating_add(1);
        let expired = self
            .fetch_sent_at
            .is_some_and(|at| self.now.saturating_sub(at) >= self.cfg.timeout_ms);
        let due = match self.fetch_sent_at {
            // A request or its answer was lost (or the peer is down): start
            // again from the prefix.
            Some(_) if expired => true,
            None => {
                // A hole longer than the leader's window cannot be commits
                // that are merely late: fetch at once.
                let far = end.saturating_sub(self.prefix) > self.cfg.window as u64;
                when == FetchWhen::Now
                    || far
                    || self.now.saturating_sub(self.last_progress) >= self.cfg.fetch_after_ms()
            }
            // An answer made progress: keep the pipeline full.
            Some(_) => when == FetchWhen::Now && self.fetch_pass.is_some(),
        };
        if !due {
            return;
        }
        if expired {
            self.fetch_pass = None;
        }
        let pass = match self.fetch_pass.take() {
            Some(pass) => pass,
            None => {
                let peer = match self.leader() {
                    Some(l) if l != self.cfg.me => l,
                    _ => match self.next_peer() {
                        Some(p) => p,
                        None => return,
                    },
                };
                FetchPass {
                    peer,
                    asks: VecDeque::new(),
                }
            }
        };
        let mut pass = pass;
        let mut from = pass
            .asks
            .iter()
            .map(|&(_, to)| to)
            .max()
            .unwrap_or(self.prefix)
            .max(self.prefix);
        let chunk = self.fetch_span.clamp(1, self.cfg.fetch_chunk.max(1));
        let mut asked = Vec::new();
        while pass.asks.len() < self.cfg.fetch_pipeline.max(1) && from < end {
            let to = end.min(from.saturating_add(chunk));
            pass.asks.push_back((from, to));
            asked.push((from, to));
            from = to;
        }
        let peer = pass.peer;
        self.fetch_pass = Some(pass);
        if asked.is_empty() {
            return;
        }
        self.fetch_sent_at = Some(self.now);
        for (from, to) in asked {
            self.send_free(out, peer, Message::Fetch { from, to });
        }
    }

    /// Settles the request of `peer` that an answer starting at `first` and
    /// ending before `end` belongs to; returns the rest of its range when
    /// the answer was cut short (its byte budget, or the part the peer
    /// still held in memory), which is asked for at once.
    fn settle_ask(&mut self, peer: SiteId, first: Slot, end: Slot) -> Option<(Slot, Slot)> {
        let pass = self.fetch_pass.as_mut().filter(|p| p.peer == peer)?;
        let i = pass
            .asks
            .iter()
            .position(|&(lo, hi)| lo <= first && first < hi)?;
        let (_, hi) = pass.asks.remove(i)?;
        if end < hi {
            let rest = (end.max(self.prefix), hi);
            if rest.0 < rest.1 {
                pass.asks.insert(i, rest);
                return Some(rest);
            }
        }
        None
    }

    /// Sizes the next catch-up requests from an answer's bytes per slot,
    /// so that one request is what one answer carries (`fetch_bytes`). A
    /// request of `fetch_chunk` slots of 31 tweets each was answered in
    /// thirteen pieces, each asked for once the one before had come: the
    /// pipeline's other requests meanwhile brought slots beyond the prefix,
    /// held in memory until the first chunk was whole.
    fn size_fetches(&mut self, entries: &[DecidedEntry]) {
        let bytes: usize = entries.iter().map(|e| approx_value_bytes(&e.value)).sum();
        if entries.is_empty() || bytes == 0 {
            return;
        }
        let fits = entries.len() as u128 * self.cfg.fetch_bytes as u128 / bytes as u128;
        self.fetch_span = u64::try_from(fits)
            .unwrap_or(u64::MAX)
            .clamp(1, self.cfg.fetch_chunk.max(1));
    }

    /// The next peer in a rotation over all others.
    pub(super) fn next_peer(&mut self) -> Option<SiteId> {
        let n = self.cfg.sites;
        if n <= 1 {
            return None;
        }
        self.fetch_rotation = (self.fetch_rotation + 1) % n;
        if self.fetch_rotation == self.cfg.me {
            self.fetch_rotation = (self.fetch_rotation + 1) % n;
        }
        Some(self.fetch_rotation)
    }

    /// A catch-up answer (or a probe's).
    pub(super) fn on_decided(
        &mut self,
        out: &mut Output,
        from: SiteId,
        decided_upto: Slot,
        entries: Vec<DecidedEntry>,
    ) {
        self.note_decided(decided_upto.checked_sub(1));
        let before = self.prefix;
        let span = match (entries.first(), entries.last()) {
            (Some(f), Some(l)) => Some((f.slot, l.slot.saturating_add(1))),
            _ => None,
        };
        self.size_fetches(&entries);
        for e in entries {
            self.learn(out, e.slot, e.value);
        }
        let rest = span.and_then(|(first, end)| self.settle_ask(from, first, end));
        if let Some((lo, hi)) = rest {
            self.send_free(out, from, Message::Fetch { from: lo, to: hi });
        }
        // An empty answer (the peer holds none of a chunk: it is behind too)
        // changes nothing here: that chunk is asked again when the pass
        // expires. Starting a new pass on it instead would turn every empty
        // answer into `fetch_pipeline` new requests: a storm.
        let waiting = self.fetch_pass.as_ref().is_some_and(|p| !p.asks.is_empty());
        if !waiting {
            self.fetch_pass = None;
            self.fetch_sent_at = None;
        } else if self.prefix > before || rest.is_some() {
            // Progress: the lost-request timer starts again.
            self.fetch_sent_at = Some(self.now);
        }
        if self.prefix > before {
            // Pipelined catch-up: ask for the next chunks at once.
            self.maybe_fetch(out, FetchWhen::Now);
        }
    }

    pub(super) fn on_fetch(&mut self, out: &mut Output, from: SiteId, lo: Slot, hi: Slot) {
        let hi = hi.min(lo.saturating_add(self.cfg.fetch_chunk));
        if lo >= hi {
            // A probe: the asker only wants to know how far our log goes
            // (and, when it starts empty, whether we hold any history).
            self.send(
                out,
                from,
                Message::Decided {
                    decided_upto: self.prefix,
                    entries: Vec::new(),
                    promised: self.promised,
                    probe: 0,
                },
            );
            return;
        }
        let recent_start = self.recent.front().map_or(self.prefix, |(s, _)| *s);
        if lo < recent_start {
            out.serve.push(ServeRequest {
                to_site: from,
                from: lo,
                to: hi.min(recent_start),
                decided_upto: self.prefix,
            });
        } else {
            let mut entries = Vec::new();
            let mut bytes = 0;
            for slot in lo..hi {
                let Some(value) = self.decided_value(slot) else {
                    if slot >= self.prefix {
                        // Beyond our prefix only some slots are known.
                        continue;
                    }
                    break;
                };
                bytes += approx_value_bytes(value);
                entries.push(DecidedEntry {
                    slot,
                    value: value.clone(),
                });
                if bytes >= self.cfg.fetch_bytes {
                    break;
                }
            }
            self.send(
                out,
                from,
                Message::Decided {
                    decided_upto: self.prefix,
                    entries,
                    promised: self.promised,
                    probe: 0,
                },
            );
        }
        // A leader asked for slots beyond its log fills them with no-ops, so
        // that a value stranded there by an earlier leader is settled.
        self.fill_beyond_log(out, hi);
    }

    /// As leader, proposes no-ops from the end of its log up to `end`
    /// (excluded; a window at most): a slot beyond its log that an earlier
    /// leader assigned and nobody drives is settled, so that a submission
    /// waiting on it learns it lost the slot and is retried.
    pub(super) fn fill_beyond_log(&mut self, out: &mut Output, end: Slot) {
        if let Role::Leading(l) = &mut self.role {
            let first = l.next_slot;
            let end = end.min(first.saturating_add(self.cfg.window as u64));
            if end > first {
                l.next_slot = end;
                for slot in first..end {
                    self.propose(out, slot, Value::noop(), true);
                }
            }
        }
    }

    /// Answers a joining site's probe with what this site held when it
    /// first heard that probe (that life of the asker): a site that held
    /// nothing then was in no quorum before the asker lost its disk, even
    /// if it voted since (for instance because the cluster is new and it
    /// decided so first).
    pub(super) fn on_probe(&mut self, out: &mut Output, from: SiteId, nonce: u64) {
        let holds_nothing = self.prefix == 0
            && self.promised == Ballot::ZERO
            && self.accepted.is_empty()
            && self.decided.is_empty();
        if holds_nothing {
            self.probed_me.insert(from);
        }
        if holds_nothing && !self.empty_when_probed.contains(&nonce) {
            self.empty_when_probed.push_back(nonce);
            if self.empty_when_probed.len() > 4 * self.cfg.sites as usize {
                self.empty_when_probed.pop_front();
            }
        }
        let answer = if self.empty_when_probed.contains(&nonce) {
            Message::Decided {
                decided_upto: 0,
                entries: Vec::new(),
                promised: Ballot::ZERO,
                probe: nonce,
            }
        } else {
            Message::Decided {
                decided_upto: self.prefix,
                entries: Vec::new(),
                promised: self.promised,
                probe: nonce,
            }
        };
        self.send(out, from, answer);
    }
}
