//! A probe for `tweettui bench --breakdown`: the sites that the bench starts
//! in its own process note, with a monotonic [`Instant`], the moments a
//! commit passes through (a control request read and answered, a forward,
//! an accept, an ack or a commit sent or received, a batch made durable and
//! applied), into one buffer the bench reads afterwards
//! (`crate::bench::breakdown` turns them into stages).
//!
//! Off (the default, and everywhere but the bench) it holds nothing and
//! every call returns at once: no clock is read, nothing is allocated.

use crate::net::NetEvent;
use crate::paxos::{Message, Record, SiteId, Slot};

/// Messages to send, with their addressees.
type Sends = Vec<(SiteId, Message)>;
use crate::state::op::{OpId, Value};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One moment of a commit, as the breakdown needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A control request read at `read` was answered with this slot and
    /// index (the reply line written when the event is noted).
    Answered {
        read: Instant,
        slot: Slot,
        index: usize,
    },
    /// Submissions forwarded by another site arrived here.
    ForwardReceived { ids: Vec<OpId> },
    /// An accept for `slot` left for a peer, carrying these submissions.
    AcceptSent { slot: Slot, ids: Vec<OpId> },
    /// A peer's ack for `slot` arrived.
    AckReceived { slot: Slot },
    /// A commit for `slot` arrived.
    CommitReceived { slot: Slot },
    /// One output of the core carried out (`Runtime::carry_out`): begun at
    /// `since` (the slots of `decided` were known decided then), `decided`
    /// archived at `archived` and applied (their submissions answered) at
    /// `applied`, its records (accepts for `accepted`) durable at `synced`
    /// (before or after `applied`: see `Runtime::make_durable`).
    Batch {
        since: Instant,
        archived: Instant,
        applied: Instant,
        synced: Instant,
        accepted: Vec<Slot>,
        decided: Vec<Slot>,
    },
}

/// An event at a site and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub at: Instant,
    pub site: SiteId,
    pub event: Event,
}

/// Where the sites of one process note their events (see the module docs).
#[derive(Clone, Default)]
pub struct Probe(Option<Arc<Mutex<Vec<Seen>>>>);

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_on() {
            "Probe(on)"
        } else {
            "Probe(off)"
        })
    }
}

impl Probe {
    /// A probe that notes events.
    pub fn on() -> Probe {
        Probe(Some(Arc::new(Mutex::new(Vec::new()))))
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Now, when the probe is on.
    pub fn now(&self) -> Option<Instant> {
        self.0.as_ref().map(|_| Instant::now())
    }

    /// Notes `event` as happening now at `site`.
    pub fn note(&self, site: SiteId, event: impl FnOnce() -> Event) {
        if let Some(buf) = &self.0 {
            let seen = Seen {
                at: Instant::now(),
                site,
                event: event(),
            };
            buf.lock().unwrap_or_else(|e| e.into_inner()).push(seen);
        }
    }

    /// Everything noted so far (and forgets it).
    pub fn take(&self) -> Vec<Seen> {
        match &self.0 {
            Some(buf) => std::mem::take(&mut *buf.lock().unwrap_or_else(|e| e.into_inner())),
            None => Vec::new(),
        }
    }

    /// The transport's events at site `me` that a commit passes through.
    pub fn net(&self, me: SiteId, ev: &NetEvent<'_>) {
        if !self.is_on() {
            return;
        }
        let event = match *ev {
            NetEvent::Sent {
                msg: Message::Accept { slot, value, .. },
                ..
            } => Event::AcceptSent {
                slot: *slot,
                ids: value.cmds.iter().map(|c| c.id).collect(),
            },
            NetEvent::Received { msg, .. } => match msg {
                Message::Forward { cmds, .. } => Event::ForwardReceived {
                    ids: cmds.iter().map(|c| c.id).collect(),
                },
                Message::Ack { slot, .. } => Event::AckReceived { slot: *slot },
                Message::Commit { slot, .. } => Event::CommitReceived { slot: *slot },
                _ => return,
            },
            _ => return,
        };
        self.note(me, || event);
    }

    /// Begins noting one core output carried out at `me` (its accepted
    /// records and decided slots); off, it notes nothing.
    pub fn batch(&self, me: SiteId, persist: &[Record], committed: &[(Slot, Value)]) -> Batch {
        let accepted: Vec<Slot> = match self.0 {
            Some(_) => persist
                .iter()
                .filter_map(|r| match r {
                    Record::Accept { slot, .. } => Some(*slot),
                    _ => None,
                })
                .collect(),
            None => Vec::new(),
        };
        let on = self.is_on() && !(accepted.is_empty() && committed.is_empty());
        Batch(on.then(|| BatchNotes {
            probe: self.clone(),
            me,
            since: Instant::now(),
            archived: None,
            applied: None,
            synced: None,
            accepted,
            decided: committed.iter().map(|(slot, _)| *slot).collect(),
        }))
    }
}

/// One core output being carried out (see [`Probe::batch`]).
pub struct Batch(Option<BatchNotes>);

struct BatchNotes {
    probe: Probe,
    me: SiteId,
    since: Instant,
    archived: Option<Instant>,
    applied: Option<Instant>,
    synced: Option<Instant>,
    accepted: Vec<Slot>,
    decided: Vec<Slot>,
}

impl Batch {
    /// Its decided slots are in the archive now.
    pub fn archived(&mut self) {
        self.mark(|b| &mut b.archived);
    }

    /// Its decided slots are applied now (and their submissions answered).
    pub fn applied(&mut self) {
        self.mark(|b| &mut b.applied);
    }

    /// Its records are durable now.
    pub fn synced(&mut self) {
        self.mark(|b| &mut b.synced);
    }

    fn mark(&mut self, moment: impl FnOnce(&mut BatchNotes) -> &mut Option<Instant>) {
        if let Some(b) = &mut self.0 {
            *moment(b) = Some(Instant::now());
        }
    }

    /// It is carried out: noted (a moment not marked is taken as `since`).
    pub fn done(self) {
        if let Some(b) = self.0 {
            let at = |m: Option<Instant>| m.unwrap_or(b.since);
            b.probe.note(b.me, || Event::Batch {
                since: b.since,
                archived: at(b.archived),
                applied: at(b.applied),
                synced: at(b.synced),
                accepted: b.accepted,
                decided: b.decided,
            });
        }
    }
}

/// What `tweettui bench` asks of the sites it starts in its own process
/// (`runtime::start_with`); the default asks nothing.
#[derive(Clone, Debug, Default)]
pub struct BenchHooks {
    /// `--breakdown`: where to note the moments of each commit.
    pub probe: Probe,
    /// `--serial-leader-write`: the leader sends its accepts (and commits)
    /// only after its own records are durable, the order before item 2 of
    /// issue 14: as safe, one sync more in series, for measuring both with
    /// one binary.
    pub serial_leader_write: bool,
}

impl BenchHooks {
    /// Which of a leader's messages that may leave before its sync do
    /// (first), and which wait until after it (second): all of them with
    /// `serial_leader_write`, none otherwise.
    pub fn when_to_send(&self, send_now: Sends) -> (Sends, Sends) {
        match self.serial_leader_write {
            false => (send_now, Vec::new()),
            true => (Vec::new(), send_now),
        }
    }
}
