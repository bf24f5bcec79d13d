//! What the UI makes of the events of SPEC 9's one vocabulary
//! ([`record::Event`]), for every site whose events reach it (all of them
//! in the demo): the rows of the space-time pane ([`Diagram`]) and the
//! cells of the log grid ([`Grid`]). Built from those events only.
//!
//! A message is one row, at its send: an arrow from the sender's column to
//! the receiver's, which ends in a tip once its receive is seen and in
//! `✗` once it is dropped. A broadcast (one sender, one kind, slot and
//! ballot, within a few milliseconds) shares one row. A site's own events
//! (proposed, decided, crashed, ...) are marks in its column, and the same
//! mark at several sites shares a row too.

use crate::paxos::{Ballot, MsgKind, SiteId, Slot};
use crate::site::api::record::{DropReason, Event, Msg, What};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Rows kept in the diagram.
pub const DIAGRAM_CAP: usize = 5_000;
/// Slots kept in the grid.
pub const GRID_CAP: usize = 1_000;
/// Rows looked back at to join a broadcast or a shared mark.
const JOIN_BACK: usize = 12;
/// Milliseconds within which sends join one broadcast row.
const JOIN_MS: u64 = 5;
/// Milliseconds within which the same mark of several sites shares a row.
const JOIN_MARK_MS: u64 = 100;

/// What became of a message, as far as the events tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Sent; no receive or drop seen (yet).
    Sent,
    Received,
    Dropped(DropReason),
}

/// One receiver of a message row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub site: SiteId,
    pub fate: Fate,
}

/// The marks of the diagram (a site's own events).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MarkKind {
    Proposed,
    Decided,
    Leader,
    Election,
    Promised,
    Accepted,
    Crashed,
    Restarted,
    CutOff,
    Healed,
    Fault,
}

impl MarkKind {
    pub fn symbol(self) -> &'static str {
        match self {
            MarkKind::Proposed => "★",
            MarkKind::Decided => "✓",
            MarkKind::Leader => "♛",
            MarkKind::Election => "⚑",
            MarkKind::Promised | MarkKind::Accepted => "■",
            MarkKind::Crashed => "✗",
            MarkKind::Restarted => "↻",
            MarkKind::CutOff => "✂",
            MarkKind::Healed => "+",
            MarkKind::Fault => "~",
        }
    }

    /// Shown only when the kind filter shows everything (durable records
    /// and fault changes: many, and the log grid shows the records).
    pub fn is_detail(self) -> bool {
        matches!(
            self,
            MarkKind::Promised | MarkKind::Accepted | MarkKind::Fault
        )
    }
}

/// What a row shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowKind {
    Message {
        from: SiteId,
        targets: Vec<Target>,
        msg: Msg,
    },
    Mark {
        kind: MarkKind,
        sites: Vec<SiteId>,
        slot: Option<Slot>,
        ballot: Option<Ballot>,
        /// The rest of the label (a value).
        text: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Position in the whole diagram (never reused).
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub t: u64,
    /// The sites down (crashed or cut off) at this row, one bit each.
    pub down: u64,
    pub kind: RowKind,
}

impl Row {
    pub fn slot(&self) -> Option<Slot> {
        match &self.kind {
            RowKind::Message { msg, .. } => msg.slot,
            RowKind::Mark { slot, .. } => *slot,
        }
    }
}

/// The space-time diagram's rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagram {
    rows: VecDeque<Row>,
    next_seq: u64,
    /// The first event's time: the diagram counts time from it.
    pub t0: Option<u64>,
    down: u64,
    cut: u64,
    /// Sends not yet received or dropped: (from, to, seq) → row seq.
    open: HashMap<(SiteId, SiteId, u64), u64>,
}

fn bit(site: SiteId) -> u64 {
    1u64.checked_shl(site).unwrap_or(0)
}

impl Diagram {
    pub fn rows(&self) -> impl DoubleEndedIterator<Item = &Row> {
        self.rows.iter()
    }

    pub fn last_seq(&self) -> Option<u64> {
        self.rows.back().map(|r| r.seq)
    }

    /// Whether `site` is down (crashed or cut off) now.
    pub fn is_down(&self, site: SiteId) -> bool {
        (self.down | self.cut) & bit(site) != 0
    }

    fn row_mut(&mut self, seq: u64) -> Option<&mut Row> {
        let first = self.rows.front()?.seq;
        let i = seq.checked_sub(first)? as usize;
        self.rows.get_mut(i)
    }

    fn push(&mut self, t: u64, kind: RowKind) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.rows.push_back(Row {
            seq,
            t,
            down: self.down | self.cut,
            kind,
        });
        if self.rows.len() > DIAGRAM_CAP {
            self.rows.pop_front();
        }
        seq
    }

    /// Takes in one event.
    pub fn see(&mut self, ev: &Event) {
        self.t0.get_or_insert(ev.t);
        let site = ev.site;
        match &ev.what {
            What::Send { to, seq, msg } => self.send(ev.t, site, *to, *seq, msg),
            What::Receive { from, seq, msg } => {
                self.settle(ev.t, *from, site, *seq, msg, Fate::Received)
            }
            What::Drop {
                from,
                to,
                seq,
                reason,
                msg,
            } => self.settle(ev.t, *from, *to, *seq, msg, Fate::Dropped(*reason)),
            What::Crashed => {
                self.down |= bit(site);
                self.mark(ev.t, site, (MarkKind::Crashed, None, None, String::new()));
            }
            What::Restarted => {
                self.down &= !bit(site);
                self.mark(ev.t, site, (MarkKind::Restarted, None, None, String::new()));
            }
            What::CutOff => {
                self.cut |= bit(site);
                self.mark(ev.t, site, (MarkKind::CutOff, None, None, String::new()));
            }
            What::Healed => {
                self.cut &= !bit(site);
                self.mark(ev.t, site, (MarkKind::Healed, None, None, String::new()));
            }
            other => {
                if let Some(mark) = mark_of(other) {
                    self.mark(ev.t, site, mark);
                }
            }
        }
    }

    fn send(&mut self, t: u64, from: SiteId, to: SiteId, seq: u64, msg: &Msg) {
        let target = Target {
            site: to,
            fate: Fate::Sent,
        };
        let joined = self
            .rows
            .iter_mut()
            .rev()
            .take(JOIN_BACK)
            .find(|r| match &r.kind {
                RowKind::Message {
                    from: f,
                    targets,
                    msg: m,
                } => {
                    *f == from
                        && m.kind == msg.kind
                        && m.slot == msg.slot
                        && m.ballot == msg.ballot
                        && t.saturating_sub(r.t) <= JOIN_MS
                        && targets.iter().all(|x| x.site != to)
                }
                RowKind::Mark { .. } => false,
            });
        let row = match joined {
            Some(r) => {
                if let RowKind::Message { targets, .. } = &mut r.kind {
                    targets.push(target);
                    targets.sort_by_key(|x| x.site);
                }
                r.seq
            }
            None => self.push(
                t,
                RowKind::Message {
                    from,
                    targets: vec![target],
                    msg: msg.clone(),
                },
            ),
        };
        self.open.insert((from, to, seq), row);
        if self.open.len() > 4 * DIAGRAM_CAP {
            let oldest = self.rows.front().map_or(0, |r| r.seq);
            self.open.retain(|_, row| *row >= oldest);
        }
    }

    /// A receive or a drop: settles its send's row, or is a row of its
    /// own when the send was not seen.
    fn settle(
        &mut self,
        t: u64,
        from: SiteId,
        to: SiteId,
        seq: Option<u64>,
        msg: &Msg,
        fate: Fate,
    ) {
        let row = seq.and_then(|s| self.open.remove(&(from, to, s)));
        if let Some(r) = row.and_then(|row| self.row_mut(row)) {
            if let RowKind::Message { targets, .. } = &mut r.kind {
                if let Some(x) = targets.iter_mut().find(|x| x.site == to) {
                    x.fate = fate;
                    return;
                }
            }
        }
        self.push(
            t,
            RowKind::Message {
                from,
                targets: vec![Target { site: to, fate }],
                msg: msg.clone(),
            },
        );
    }

    fn mark(&mut self, t: u64, site: SiteId, mark: MarkParts) {
        let (kind, slot, ballot, text) = mark;
        let alone = matches!(
            kind,
            MarkKind::Crashed | MarkKind::Restarted | MarkKind::CutOff | MarkKind::Healed
        );
        let joined = self.rows.iter_mut().rev().take(JOIN_BACK).find(|r| {
            let near = t.saturating_sub(r.t) <= JOIN_MARK_MS;
            matches!(&r.kind, RowKind::Mark { kind: k, slot: s, ballot: b, text: x, sites }
                if *k == kind && *s == slot && *b == ballot && *x == text
                    && !sites.contains(&site) && near && !alone)
        });
        match joined {
            Some(r) => {
                if let RowKind::Mark { sites, .. } = &mut r.kind {
                    sites.push(site);
                }
            }
            None => {
                self.push(
                    t,
                    RowKind::Mark {
                        kind,
                        sites: vec![site],
                        slot,
                        ballot,
                        text,
                    },
                );
            }
        }
    }
}

/// A mark: its kind, slot, ballot and the rest of its label.
type MarkParts = (MarkKind, Option<Slot>, Option<Ballot>, String);

/// The mark of a site's own event.
fn mark_of(what: &What) -> Option<MarkParts> {
    Some(match what {
        What::Proposed {
            slot,
            ballot,
            value,
            recovered,
        } => (
            MarkKind::Proposed,
            Some(*slot),
            Some(*ballot),
            if *recovered {
                format!("(recovered) {value}")
            } else {
                value.clone()
            },
        ),
        What::Decided { slot, value, .. } => (MarkKind::Decided, Some(*slot), None, value.clone()),
        What::Leader { leader, ballot } => (
            MarkKind::Leader,
            None,
            Some(*ballot),
            leader.map_or("none".to_string(), |l| l.to_string()),
        ),
        What::Election { ballot, from_slot } => (
            MarkKind::Election,
            Some(*from_slot),
            Some(*ballot),
            String::new(),
        ),
        What::Promised { ballot } => (MarkKind::Promised, None, Some(*ballot), String::new()),
        What::Accepted {
            slot,
            ballot,
            value,
        } => (
            MarkKind::Accepted,
            Some(*slot),
            Some(*ballot),
            value.clone(),
        ),
        What::Fault { fault } => (
            MarkKind::Fault,
            None,
            None,
            format!("filter {}", super::links::describe(fault)),
        ),
        _ => return None,
    })
}

/// One site's part of one slot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub accepted: Option<(Ballot, String)>,
    pub decided: Option<String>,
}

/// The log grid: rows are slots, columns are sites.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grid {
    pub slots: BTreeMap<Slot, Vec<Cell>>,
    /// Each site's durable promise.
    pub promised: Vec<Option<Ballot>>,
    /// Each site's last promise sent: from which slot on, which ballot.
    pub promise_from: Vec<Option<(Slot, Ballot)>>,
    sites: usize,
}

impl Grid {
    pub fn new(sites: usize) -> Grid {
        Grid {
            slots: BTreeMap::new(),
            promised: vec![None; sites],
            promise_from: vec![None; sites],
            sites,
        }
    }

    fn cell(&mut self, slot: Slot, site: SiteId) -> Option<&mut Cell> {
        if !self.slots.contains_key(&slot) {
            if self.slots.len() >= GRID_CAP {
                if self.slots.first_key_value().is_some_and(|(&f, _)| slot < f) {
                    return None;
                }
                self.slots.pop_first();
            }
            self.slots.insert(slot, vec![Cell::default(); self.sites]);
        }
        self.slots.get_mut(&slot)?.get_mut(site as usize)
    }

    /// The promise that covers `slot` at `site`, if newer than what it
    /// accepted there.
    pub fn promise_over(&self, slot: Slot, site: usize, cell: &Cell) -> Option<Ballot> {
        let (from, b) = self.promise_from.get(site).copied().flatten()?;
        let above = cell.accepted.as_ref().is_none_or(|(a, _)| b > *a);
        (slot >= from && above && cell.decided.is_none()).then_some(b)
    }

    pub fn see(&mut self, ev: &Event) {
        let site = ev.site;
        match &ev.what {
            What::Accepted {
                slot,
                ballot,
                value,
            } => {
                if let Some(c) = self.cell(*slot, site) {
                    c.accepted = Some((*ballot, value.clone()));
                }
            }
            What::Decided { slot, value, .. } => {
                if let Some(c) = self.cell(*slot, site) {
                    c.decided = Some(value.clone());
                }
            }
            What::Promised { ballot } => {
                if let Some(p) = self.promised.get_mut(site as usize) {
                    *p = Some(*ballot);
                }
            }
            What::Send { msg, .. } if msg.kind == MsgKind::Promise => {
                if let (Some(p), Some(slot), Some(b)) = (
                    self.promise_from.get_mut(site as usize),
                    msg.slot,
                    msg.ballot,
                ) {
                    *p = Some((slot, b));
                }
            }
            _ => {}
        }
    }
}
