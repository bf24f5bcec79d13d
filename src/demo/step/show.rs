//! What a step tells the UI, the way a real site's runtime does: the
//! events of the one vocabulary (`record::Event`, also kept for
//! `--record`), decided slots, trace rows, status, answers.

use super::Stepper;
use crate::engine::{InFlight, MsgId, Report, Sent};
use crate::paxos::{Completion, Membership, Record, SiteId};
use crate::site::api::record::{DropReason, Event, Msg, What};
use crate::site::api::{Answer, PeerStatus, Refusal, SiteEvent, Status};
use crate::state::op::OpId;
use crate::ui::Msg as UiMsg;

impl Stepper {
    /// An event of the one vocabulary, now, at `site`.
    pub(super) fn seen(&mut self, site: SiteId, what: What) {
        let ev = Event {
            t: self.epoch_ms.saturating_add(self.engine.now()),
            site,
            what,
        };
        self.events.push(ev.clone());
        self.out
            .push(UiMsg::Site(site as usize, SiteEvent::Seen(ev)));
    }

    /// A message that never arrives, dropped at its receiver.
    pub(super) fn lost(&mut self, m: InFlight, reason: DropReason) {
        let what = What::Drop {
            from: m.from,
            to: m.to,
            seq: Some(m.id),
            reason,
            msg: Msg::of(&m.msg),
        };
        self.seen(m.to, what);
    }

    /// A copy of a message was queued.
    pub(super) fn sent_copy(&mut self, id: MsgId) {
        if let Some(m) = self.engine.queued(id) {
            let (from, to, msg) = (m.from, m.to, Msg::of(&m.msg));
            self.seen(from, What::Send { to, seq: id, msg });
        }
    }

    /// What a step of `site` did, in the runtime's order: records durable,
    /// slots applied, the core's events, messages sent, answers, the trace.
    pub(super) fn show(&mut self, site: SiteId, report: Report) {
        let i = site as usize;
        for r in &report.lazy {
            if let Record::Decide { slot, .. } = r {
                if self.chosen.insert(*slot) {
                    self.last_decided = Some((*slot, site));
                }
            }
        }
        for r in &report.durable {
            if let Record::Decide { slot, .. } = r {
                if self.chosen.insert(*slot) {
                    self.last_decided = Some((*slot, site));
                }
            }
            if let Some(what) = What::from_record(r) {
                self.seen(site, what);
            }
        }
        for (slot, value) in &report.committed {
            let ev = SiteEvent::Committed {
                slot: *slot,
                value: value.clone(),
            };
            self.out.push(UiMsg::Site(i, ev));
        }
        for ev in &report.trace {
            if let Some(what) = What::from_trace(ev) {
                self.seen(site, what.with_full(&report.committed));
            }
        }
        if let Some(prefix) = self.engine.core(site).map(|c| c.decided_prefix()) {
            if self.prefix[i] != Some(prefix) {
                self.prefix[i] = Some(prefix);
                self.seen(site, What::Prefix { decided: prefix });
            }
        }
        for s in report.sent {
            match s {
                Sent::Queued { id, .. } => self.sent_copy(id),
                Sent::Cut { to, msg } | Sent::Lost { to, msg } => {
                    let what = What::Drop {
                        from: site,
                        to,
                        seq: None,
                        reason: DropReason::FaultOut,
                        msg: Msg::of(&msg),
                    };
                    self.seen(site, what);
                }
            }
        }
        self.answer(&report.completed, &report.failed);
        let at_ms = self.engine.now().saturating_sub(self.booted_at[i]);
        for event in report.trace {
            self.out
                .push(UiMsg::Site(i, SiteEvent::Trace { at_ms, event }));
        }
    }

    /// Answers the UI's submissions that finished.
    fn answer(&mut self, completed: &[Completion], failed: &[OpId]) {
        for c in completed {
            if let Some(tag) = self.waiting.remove(&c.id) {
                let reply = Ok(Answer::Decided {
                    slot: c.slot,
                    index: c.index,
                });
                self.out.push(UiMsg::Reply { tag, reply });
            }
        }
        for id in failed {
            if let Some(tag) = self.waiting.remove(id) {
                let reply = Err(Refusal::unavailable(
                    "not decided in time: no quorum reachable (the operation may still be decided later, at most once)",
                ));
                self.out.push(UiMsg::Reply { tag, reply });
            }
        }
    }

    /// A site's status as its runtime would say it: a peer is up when it
    /// runs and both directions of the link work.
    pub(super) fn status_of(&self, site: SiteId) -> Status {
        let core = self.engine.core(site);
        let state = &self.engine.site(site).state;
        Status {
            site,
            name: self.names[site as usize].clone(),
            decided: core.map_or(state.next_slot(), |c| c.decided_prefix()),
            leader: core.and_then(|c| c.leader()),
            membership: core.map_or(Membership::Voting, |c| c.membership()),
            ballot: core.map(|c| c.promised()),
            peers: (0..self.n())
                .filter(|&p| p != site)
                .map(|p| PeerStatus {
                    site: p,
                    name: self.names[p as usize].clone(),
                    connected: self.engine.is_up(p)
                        && self.engine.connected(site, p)
                        && self.engine.connected(p, site),
                })
                .collect(),
        }
    }

    /// Tells the UI every running site's status that changed.
    pub(super) fn publish_status(&mut self) {
        for site in 0..self.n() {
            if !self.engine.is_up(site) {
                continue;
            }
            let status = self.status_of(site);
            let i = site as usize;
            if self.status[i].as_ref() != Some(&status) {
                self.status[i] = Some(status.clone());
                self.out.push(UiMsg::Site(i, SiteEvent::Status(status)));
            }
        }
    }
}
