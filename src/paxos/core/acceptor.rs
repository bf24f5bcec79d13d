//! The acceptor: promises (phase 1b) and accepts (phase 2b). What it
//! promises or accepts goes into `persist` of the same output as the
//! answer, which leaves only once that is durable.

use super::{approx_value_bytes, Core, Output};
use crate::paxos::types::*;
use crate::state::op::Value;
use rand::Rng;

impl Core {
    pub(super) fn on_prepare(
        &mut self,
        out: &mut Output,
        from: SiteId,
        ballot: Ballot,
        from_slot: Slot,
        rejoin: bool,
    ) {
        // Not a voter (yet): no promise, and no nack either; but a site
        // that rejoins answers another rejoin (see "Rejoin").
        match self.membership {
            Membership::Voting => {}
            Membership::Rejoining if rejoin && ballot >= self.promised => {
                self.rejoin_floor = Some(self.rejoin_floor.map_or(ballot, |f| f.max(ballot)));
            }
            _ => return,
        }
        if ballot < self.promised {
            self.nack(out, from, None);
            return;
        }
        if ballot > self.promised {
            self.promised = ballot;
            out.persist.push(Record::Promise { ballot });
        }
        // Our own candidacy or leadership is outbid.
        if self.own_ballot().is_some_and(|b| b < ballot) {
            self.step_down(out);
        }
        // Someone is running for leader: give it time before we do.
        let backoff = self.backoff();
        self.next_election_at = self.next_election_at.max(self.now + backoff);
        let promise = self.promise_info(from_slot);
        let answer = self.rng.random::<u64>().max(1);
        for msg in promise_parts(ballot, from_slot, promise, self.cfg.promise_bytes, answer) {
            self.send(out, from, msg);
        }
    }

    pub(super) fn promise_info(&self, from_slot: Slot) -> PromiseInfo {
        PromiseInfo {
            decided_upto: self.prefix,
            accepted: self
                .accepted
                .range(from_slot..)
                .map(|(&slot, (ballot, value))| AcceptedEntry {
                    slot,
                    ballot: *ballot,
                    value: value.clone(),
                })
                .collect(),
            decided_beyond: self.decided.range(from_slot..).map(|(&s, _)| s).collect(),
        }
    }

    pub(super) fn on_accept(
        &mut self,
        out: &mut Output,
        from: SiteId,
        ballot: Ballot,
        slot: Slot,
        value: Value,
    ) {
        let may_accept = match self.membership {
            Membership::Voting => true,
            Membership::Rejoining => self.rejoin_floor.is_some_and(|f| ballot >= f),
            Membership::Joining => false,
        };
        if !may_accept {
            // A learner still hears who leads; it does not accept.
            self.heard_leader(out, ballot);
            return;
        }
        if ballot < self.promised {
            self.nack(out, from, Some(slot));
            return;
        }
        let raised = ballot > self.promised;
        self.promised = ballot;
        if self.own_ballot().is_some_and(|b| b < ballot) {
            self.step_down(out);
        }
        self.heard_leader(out, ballot);
        let decided_here = slot < self.prefix || self.decided.contains_key(&slot);
        if decided_here {
            if raised {
                out.persist.push(Record::Promise { ballot });
            }
        } else {
            self.accepted.insert(slot, (ballot, value.clone()));
            out.persist.push(Record::Accept {
                slot,
                ballot,
                value,
            });
        }
        self.send(out, from, Message::Ack { ballot, slot });
    }
}

/// What one acceptor said in its promise.
#[derive(Clone, Debug)]
pub(super) struct PromiseInfo {
    pub(super) decided_upto: Slot,
    pub(super) accepted: Vec<AcceptedEntry>,
    pub(super) decided_beyond: Vec<Slot>,
}

/// The most parts one promise may come in (a bound on what a peer can make
/// a candidate hold: 4,096 parts of 256 KiB is a gigabyte of accepted values).
pub(super) const MAX_PROMISE_PARTS: u32 = 4096;

/// A promise as the messages that carry it: one, or several parts when its
/// accepted values are more than `max_bytes` (each part holds at least one
/// value, so a part is never empty of progress).
fn promise_parts(
    ballot: Ballot,
    from_slot: Slot,
    promise: PromiseInfo,
    max_bytes: usize,
    answer: u64,
) -> Vec<Message> {
    let PromiseInfo {
        decided_upto,
        accepted,
        decided_beyond,
    } = promise;
    let mut chunks: Vec<Vec<AcceptedEntry>> = vec![Vec::new()];
    let mut bytes = 0;
    for e in accepted {
        let size = approx_value_bytes(&e.value);
        let last = chunks
            .last_mut()
            .filter(|c| c.is_empty() || bytes + size <= max_bytes);
        match last {
            Some(chunk) => chunk.push(e),
            None => {
                bytes = 0;
                chunks.push(vec![e]);
            }
        }
        bytes += size;
    }
    let parts = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
    let mut beyond = Some(decided_beyond);
    let last = chunks.len() - 1;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, accepted)| Message::Promise {
            ballot,
            from_slot,
            decided_upto,
            accepted,
            decided_beyond: if i == last {
                beyond.take().unwrap_or_default()
            } else {
                Vec::new()
            },
            part: i as u32,
            parts,
            answer: if parts == 1 { 0 } else { answer },
        })
        .collect()
}

/// The promise its parts make together.
pub(super) fn merge_parts(parts: impl Iterator<Item = PromiseInfo>) -> PromiseInfo {
    let mut all = PromiseInfo {
        decided_upto: 0,
        accepted: Vec::new(),
        decided_beyond: Vec::new(),
    };
    for p in parts {
        all.decided_upto = all.decided_upto.max(p.decided_upto);
        all.accepted.extend(p.accepted);
        all.decided_beyond.extend(p.decided_beyond);
    }
    all
}
