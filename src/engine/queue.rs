//! The messages in flight: every message a site sends waits in one queue,
//! with its id, its link and when it was sent, until the driver delivers
//! it (at its due time, or whenever it likes), drops it or duplicates it.
//! The [`Env`] decides, for each message sent, how many copies travel and
//! how long each takes (the simulator: at random; the step mode: one copy,
//! a fixed time: [`Steady`]).

use super::{Engine, EngineError, Report, Sent};
use crate::paxos::{Input, Message, SiteId};

/// A message's number: unique in a run, in the order messages were sent.
pub type MsgId = u64;

/// A message in flight.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub id: MsgId,
    pub from: SiteId,
    pub to: SiteId,
    pub msg: Message,
    /// When it was sent (virtual ms).
    pub sent_at: u64,
    /// When it is due at `to`, should the driver deliver in time order.
    pub due: u64,
}

/// How many copies of a message travel, each with its delay in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Copies {
    Lost,
    One(u64),
    Two(u64, u64),
}

/// What the engine leaves to its driver: the network's and the disk's
/// whims.
pub trait Env {
    /// The copies of a message from `from` to `to` sent now (over a link
    /// that is not cut).
    fn copies(&mut self, from: SiteId, to: SiteId) -> Copies;
    /// During a torn group commit: whether the next page reaches the disk.
    fn page_reaches(&mut self) -> bool;
    /// How long the sync of a group commit `site` writes now takes: `None`
    /// (the default) completes it within the step, `Some(ms)` queues its
    /// completion as an event due `ms` later ([`Engine::take_due_syncs`]),
    /// so that the site's peers may answer before its own sync is done.
    fn sync_delay(&mut self, _site: SiteId) -> Option<u64> {
        None
    }
}

/// A write's number: unique in a run, in the order writes were made.
pub type SyncId = u64;

/// The completion of a site's sync, due at `due` (virtual ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncDue {
    pub id: SyncId,
    pub site: SiteId,
    pub due: u64,
}

/// A network that delivers every message once, `latency_ms` after it was
/// sent, and a disk that never tears: the step mode's.
#[derive(Clone, Copy, Debug)]
pub struct Steady {
    pub latency_ms: u64,
}

impl Env for Steady {
    fn copies(&mut self, _from: SiteId, _to: SiteId) -> Copies {
        Copies::One(self.latency_ms)
    }

    fn page_reaches(&mut self) -> bool {
        true
    }
}

/// What became of a message handed to its receiver.
#[derive(Debug)]
pub enum Delivery {
    /// The receiver's core took it.
    Received(Report),
    /// The link is cut (it was cut after the message left): lost.
    Cut,
    /// The receiver is down: lost.
    Down,
}

impl Engine {
    /// Sends one message from `from` to `to`: over a cut link it is lost;
    /// else `env` says how many copies travel, and each is queued. What
    /// became of it goes to `out`.
    pub(super) fn transmit(
        &mut self,
        from: SiteId,
        to: SiteId,
        msg: Message,
        env: &mut dyn Env,
        out: &mut Vec<Sent>,
    ) {
        if !self.connected(from, to) {
            return out.push(Sent::Cut { to, msg });
        }
        match env.copies(from, to) {
            Copies::Lost => out.push(Sent::Lost { to, msg }),
            Copies::One(d) => out.push(self.enqueue(from, to, msg, d)),
            Copies::Two(d1, d2) => {
                out.push(self.enqueue(from, to, msg.clone(), d1));
                out.push(self.enqueue(from, to, msg, d2));
            }
        }
    }

    fn enqueue(&mut self, from: SiteId, to: SiteId, msg: Message, delay: u64) -> Sent {
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push(InFlight {
            id,
            from,
            to,
            msg,
            sent_at: self.now,
            due: self.now.saturating_add(delay),
        });
        Sent::Queued { to, id }
    }

    /// Every message in flight, in the queue's order (not always the order
    /// they were sent: see [`Engine::take_due`]).
    pub fn queue(&self) -> &[InFlight] {
        &self.queue
    }

    /// The message `id`, if it is in flight.
    pub fn queued(&self, id: MsgId) -> Option<&InFlight> {
        self.queue.iter().find(|m| m.id == id)
    }

    /// Takes the message `id` out of the queue (to deliver it, or to drop
    /// it: then it is simply gone).
    pub fn take(&mut self, id: MsgId) -> Option<InFlight> {
        let i = self.queue.iter().position(|m| m.id == id)?;
        Some(self.queue.remove(i))
    }

    /// Takes out every message due by `now`, in the queue's order (each is
    /// swapped out with the last: drivers that need another order sort or
    /// shuffle them).
    pub fn take_due(&mut self, now: u64) -> Vec<InFlight> {
        let mut due = Vec::new();
        let mut i = 0;
        while i < self.queue.len() {
            if self.queue[i].due <= now {
                due.push(self.queue.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due
    }

    /// The earliest due time in the queue.
    pub fn next_due(&self) -> Option<u64> {
        self.queue.iter().map(|m| m.due).min()
    }

    /// Takes out every sync completion due by `now`, in the order the
    /// writes were made.
    pub fn take_due_syncs(&mut self, now: u64) -> Vec<SyncDue> {
        let (due, later) = self.syncs.drain(..).partition(|s| s.due <= now);
        self.syncs = later;
        due
    }

    /// The earliest due time of a sync completion.
    pub fn next_sync_due(&self) -> Option<u64> {
        self.syncs.iter().map(|s| s.due).min()
    }

    /// The sync `s` completes (with every earlier write of its site): its
    /// records are durable, and what waited for them happens. With `torn`,
    /// the power fails during it instead (see `disk.rs`). Nothing happens
    /// (`ran` is false) when the write was lost in a crash meanwhile.
    pub fn complete_sync(
        &mut self,
        s: SyncDue,
        torn: bool,
        env: &mut dyn Env,
    ) -> Result<Report, EngineError> {
        let pending = self.sites[s.site as usize]
            .disk
            .unsynced
            .iter()
            .any(|(id, _)| *id == s.id);
        if !pending || !self.is_up(s.site) {
            return Ok(Report::default());
        }
        let mut report = Report {
            ran: true,
            ..Report::default()
        };
        if torn {
            self.power_fails(s.site, env, &mut report);
            return Ok(report);
        }
        let mut own = std::collections::VecDeque::new();
        self.synced(s.site, s.id, env, &mut report, &mut own)?;
        self.hand_back(s.site, own, env, &mut report)?;
        Ok(report)
    }

    /// Queues a copy of the message `id`, sent now and due `delay` ms
    /// later; its new id.
    pub fn duplicate(&mut self, id: MsgId, delay: u64) -> Option<MsgId> {
        let m = self.queued(id)?.clone();
        match self.enqueue(m.from, m.to, m.msg, delay) {
            Sent::Queued { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Hands a message taken from the queue to its receiver, now: lost if
    /// its link is cut or the receiver is down.
    pub fn receive(&mut self, m: InFlight, env: &mut dyn Env) -> Result<Delivery, EngineError> {
        if !self.connected(m.from, m.to) {
            return Ok(Delivery::Cut);
        }
        if !self.is_up(m.to) {
            return Ok(Delivery::Down);
        }
        let input = Input::Message {
            from: m.from,
            msg: m.msg,
        };
        Ok(Delivery::Received(self.step(m.to, input, false, env)?))
    }

    /// Advances the clock to `site`'s next timer: ticks that site (and no
    /// other) every `tick_ms` until a tick does something it shows (sends,
    /// writes, decides, gives up a submission, or traces), at most
    /// `within_ms` ahead. `None`: no timer fired in that time (the clock
    /// has moved on), or the site is down.
    pub fn next_timer(
        &mut self,
        site: SiteId,
        tick_ms: u64,
        within_ms: u64,
        env: &mut dyn Env,
    ) -> Result<Option<Report>, EngineError> {
        if !self.is_up(site) {
            return Ok(None);
        }
        let end = self.now.saturating_add(within_ms);
        while self.now < end {
            self.advance(tick_ms.max(1));
            let r = self.step(site, Input::Tick, false, env)?;
            let shows = !(r.sent.is_empty()
                && r.durable.is_empty()
                && r.lazy.is_empty()
                && r.committed.is_empty()
                && r.failed.is_empty()
                && r.trace.is_empty());
            if shows {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}
