//! The player: the merged events of a recording, and what every site looks
//! like after the first `k` of them ([`Now`]), reached fast from anywhere.
//!
//! [`Now`] is the derived state of the panes that need the whole history:
//! each site's leader, decided count, up or down, and the space-time
//! diagram and log grid of every site. A snapshot of it is kept every
//! [`Player::every`] events, so going to event `k` is a clone of the
//! snapshot before `k` and the events from there (forward steps need no
//! snapshot). The replicated state (the timeline and the blocks) is a
//! function of how many slots a site has decided: the player keeps the
//! decided values in slot order and a state every [`STATE_EVERY`] slots.

use crate::paxos::{Membership, SiteId, Slot, TraceEvent};
use crate::site::api::record::{Event, What};
use crate::state::op::Value;
use crate::state::State;
use crate::ui::seen::{Diagram, Grid};
use std::collections::HashSet;

/// At least this many events between two snapshots of [`Now`].
pub const SNAP_EVERY_MIN: usize = 4096;
/// At most this many snapshots: memory stays a few times the events'.
pub const SNAPS_MAX: usize = 64;
/// Slots between two kept states.
pub const STATE_EVERY: usize = 1024;

/// One site after some events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteNow {
    pub leader: Option<SiteId>,
    /// Slots decided and applied here (its decided prefix).
    pub decided: Slot,
    pub up: bool,
    pub cut_off: bool,
    pub membership: Membership,
    pub restarts: u32,
}

impl Default for SiteNow {
    fn default() -> Self {
        SiteNow {
            leader: None,
            decided: 0,
            up: true,
            cut_off: false,
            membership: Membership::Voting,
            restarts: 0,
        }
    }
}

/// Every site after the first `pos` events.
#[derive(Clone, Debug, PartialEq)]
pub struct Now {
    pub pos: usize,
    pub sites: Vec<SiteNow>,
    pub diagram: Diagram,
    pub grid: Grid,
}

impl Now {
    pub fn new(sites: usize) -> Now {
        Now {
            pos: 0,
            sites: vec![SiteNow::default(); sites],
            diagram: Diagram::default(),
            grid: Grid::new(sites),
        }
    }

    /// Takes in the next event.
    pub fn step(&mut self, ev: &Event) {
        self.pos += 1;
        self.diagram.see(ev);
        self.grid.see(ev);
        let Some(s) = self.sites.get_mut(ev.site as usize) else {
            return;
        };
        match &ev.what {
            What::Leader { leader, .. } => s.leader = *leader,
            What::Decided { slot, .. } => s.decided = s.decided.max(slot.saturating_add(1)),
            What::Crashed => s.up = false,
            What::Restarted => {
                s.up = true;
                s.restarts += 1;
            }
            What::CutOff => s.cut_off = true,
            What::Healed => s.cut_off = false,
            What::Membership { membership } => s.membership = *membership,
            _ => {}
        }
    }
}

/// A row of a site's trace, for an event of that site.
pub enum TraceRow {
    Event(TraceEvent),
    Note(String),
}

/// The trace row of `ev` (at its own site), if it has one.
pub fn trace_row(ev: &Event, names: &[String]) -> Option<TraceRow> {
    use crate::paxos::Dir;
    let message = |dir, peer, msg: &crate::site::api::record::Msg| {
        TraceRow::Event(TraceEvent::Message {
            dir,
            peer,
            kind: msg.kind,
            slot: msg.slot,
            ballot: msg.ballot,
            value: msg.value.clone(),
        })
    };
    let name = names.get(ev.site as usize).map_or("?", String::as_str);
    Some(match &ev.what {
        What::Send { to, msg, .. } => message(Dir::Sent, *to, msg),
        What::Receive { from, msg, .. } => message(Dir::Received, *from, msg),
        What::Proposed {
            slot,
            ballot,
            value,
            recovered,
        } => TraceRow::Event(TraceEvent::Proposed {
            slot: *slot,
            ballot: *ballot,
            value: value.clone(),
            recovered: *recovered,
        }),
        What::Decided {
            slot, value, own, ..
        } => TraceRow::Event(TraceEvent::Decided {
            slot: *slot,
            value: value.clone(),
            own: *own,
        }),
        What::Leader { leader, ballot } => TraceRow::Event(TraceEvent::Leader {
            leader: *leader,
            ballot: *ballot,
        }),
        What::Election { ballot, from_slot } => TraceRow::Event(TraceEvent::Election {
            ballot: *ballot,
            from_slot: *from_slot,
        }),
        What::Membership { membership } => TraceRow::Event(TraceEvent::Membership(*membership)),
        What::Crashed => TraceRow::Note(format!("{name} crashed")),
        What::Restarted => TraceRow::Note(format!("{name} restarted from its data dir")),
        What::CutOff => TraceRow::Note(format!("{name} cut off from the others")),
        What::Healed => TraceRow::Note(format!("{name} healed: talks to the others again")),
        What::Limit { .. } => TraceRow::Note("the recording stopped here (its size limit)".into()),
        _ => return None,
    })
}

/// The merged events and what is derived from them once.
pub struct Player {
    pub names: Vec<String>,
    pub events: Vec<Event>,
    /// Events between two snapshots.
    pub every: usize,
    snaps: Vec<Now>,
    /// Positions just after a first decision of a slot or a leader change.
    pub marks: Vec<usize>,
    /// The decided values in slot order (a no-op where the recording has
    /// none: it started after the slot was decided).
    pub log: Vec<Value>,
    states: Vec<State>,
    /// Each site's events: their positions.
    pub by_site: Vec<Vec<usize>>,
    /// The first event's time.
    pub t0: u64,
    /// The first slot decided with two different values, and where.
    pub conflict: Option<(Slot, usize)>,
    /// Positions just after each slot's first decision, in order.
    firsts: Vec<usize>,
}

impl Player {
    pub fn new(names: Vec<String>, events: Vec<Event>) -> Player {
        let every = SNAP_EVERY_MIN.max(events.len().div_ceil(SNAPS_MAX));
        Player::with_every(names, events, every)
    }

    /// A player with a snapshot every `every` events.
    pub fn with_every(names: Vec<String>, events: Vec<Event>, every: usize) -> Player {
        let n = names.len();
        let every = every.max(1);
        let mut snaps = Vec::new();
        let mut now = Now::new(n);
        let mut by_site = vec![Vec::new(); n];
        for (i, ev) in events.iter().enumerate() {
            if i % every == 0 {
                snaps.push(now.clone());
            }
            now.step(ev);
            if let Some(v) = by_site.get_mut(ev.site as usize) {
                v.push(i);
            }
        }
        let Decisions {
            log,
            marks,
            firsts,
            conflict,
        } = decided_log(&events);
        let states = states_every(&names, &log);
        Player {
            t0: events.first().map_or(0, |e| e.t),
            names,
            events,
            every,
            snaps,
            marks,
            log,
            states,
            by_site,
            conflict,
            firsts,
        }
    }

    /// The safety check at position `k`, as the live demo's: how many slots
    /// were decided somewhere, and the first slot decided with two values
    /// if that was seen by then.
    pub fn safety_at(&self, k: usize) -> (usize, Option<Slot>) {
        let slots = self.firsts.partition_point(|&p| p <= k);
        let violation = self.conflict.filter(|&(_, at)| at <= k).map(|(s, _)| s);
        (slots, violation)
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Moves `now` to position `k` (at most the end): forward by steps when
    /// that is near, else from the snapshot before `k`.
    pub fn seek(&self, now: &mut Now, k: usize) {
        let k = k.min(self.len());
        let snap = (k / self.every).min(self.snaps.len().saturating_sub(1));
        if k < now.pos || snap * self.every > now.pos {
            if let Some(s) = self.snaps.get(snap) {
                now.clone_from(s);
            }
        }
        while now.pos < k {
            now.step(&self.events[now.pos]);
        }
    }

    /// The state at position `k`, from the start (tests, checks).
    pub fn played(&self, k: usize) -> Now {
        let mut now = Now::new(self.names.len());
        for ev in &self.events[..k.min(self.len())] {
            now.step(ev);
        }
        now
    }

    /// The replicated state after the first `slots` decided slots.
    pub fn state_at(&self, slots: Slot) -> State {
        let slots = (slots as usize).min(self.log.len());
        let i = (slots / STATE_EVERY).min(self.states.len().saturating_sub(1));
        let mut st = self.states[i].clone();
        for slot in i * STATE_EVERY..slots {
            let _ = st.apply(slot as Slot, &self.log[slot]);
        }
        st
    }

    /// Milliseconds from the first event to position `k`'s last event.
    pub fn ms_at(&self, k: usize) -> u64 {
        k.checked_sub(1)
            .and_then(|i| self.events.get(i))
            .map_or(0, |e| e.t.saturating_sub(self.t0))
    }

    /// The mark before `k`, or 0.
    pub fn prev_mark(&self, k: usize) -> usize {
        let i = self.marks.partition_point(|&m| m < k);
        i.checked_sub(1).map_or(0, |i| self.marks[i])
    }

    /// The mark after `k`, or the end.
    pub fn next_mark(&self, k: usize) -> usize {
        let i = self.marks.partition_point(|&m| m <= k);
        self.marks.get(i).copied().unwrap_or(self.len())
    }
}

/// What the `decided` events of a recording tell.
struct Decisions {
    /// The decided values by slot.
    log: Vec<Value>,
    /// Positions after each slot's first decision and each leader change.
    marks: Vec<usize>,
    /// Positions after each slot's first decision.
    firsts: Vec<usize>,
    /// The first slot decided twice with different values, and where.
    conflict: Option<(Slot, usize)>,
}

fn decided_log(events: &[Event]) -> Decisions {
    let mut log: Vec<Option<Value>> = Vec::new();
    let mut marks = Vec::new();
    let mut firsts = Vec::new();
    let mut conflict = None;
    let mut first = HashSet::new();
    for (i, ev) in events.iter().enumerate() {
        match &ev.what {
            What::Decided { slot, full, .. } => {
                if first.insert(*slot) {
                    marks.push(i + 1);
                    firsts.push(i + 1);
                }
                let Some(v) = full else { continue };
                let s = *slot as usize;
                if log.len() <= s {
                    log.resize(s + 1, None);
                }
                match &log[s] {
                    None => log[s] = Some(v.clone()),
                    Some(w) if w != v && conflict.is_none() => conflict = Some((*slot, i + 1)),
                    Some(_) => {}
                }
            }
            What::Leader { .. } => marks.push(i + 1),
            _ => {}
        }
    }
    let log = log
        .into_iter()
        .map(|v| v.unwrap_or_else(Value::noop))
        .collect();
    Decisions {
        log,
        marks,
        firsts,
        conflict,
    }
}

/// The state before slot 0, [`STATE_EVERY`], twice that, ...
fn states_every(names: &[String], log: &[Value]) -> Vec<State> {
    let mut st = State::new(names.to_vec());
    let mut out = vec![st.clone()];
    for (slot, v) in log.iter().enumerate() {
        let _ = st.apply(slot as Slot, v);
        if (slot + 1) % STATE_EVERY == 0 {
            out.push(st.clone());
        }
    }
    out
}
