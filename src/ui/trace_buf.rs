//! A site's trace as the UI records it: a bounded buffer of rows (every
//! Paxos message this site sends or receives, and its notable events), the
//! filters that select rows, and the per-slot view (each recent slot's
//! phase, votes and decided value). The trace pane shows it.
//!
//! Rows are recorded whatever the view shows: pausing, scrolling and
//! filtering never lose one (until the buffer's bound pushes the oldest out).

use crate::paxos::{Ballot, Dir, MsgKind, SiteId, Slot, TraceEvent};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Rows kept per site: memory stays flat however long the demo runs.
pub const TRACE_CAP: usize = 10_000;

/// Slots kept in the per-slot view.
pub const SLOT_CAP: usize = 1_000;

/// What a row shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowEvent {
    Trace(TraceEvent),
    /// A note of the UI itself (the site crashed, restarted, was cut off).
    Note(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRow {
    /// Position in the whole recording (never reused).
    pub seq: u64,
    /// Milliseconds since the site started.
    pub at_ms: u64,
    pub event: RowEvent,
}

/// Which kinds of rows the trace shows (`f` cycles).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KindFilter {
    /// The six Synod messages and this site's events; heartbeats,
    /// forwarding and catch-up plumbing hidden (the default).
    #[default]
    Synod,
    /// Everything.
    All,
    /// One message kind only.
    Kind(MsgKind),
    /// Only this site's events (proposed, decided, leader, election).
    Events,
}

impl KindFilter {
    const CYCLE: [KindFilter; 9] = [
        KindFilter::Synod,
        KindFilter::All,
        KindFilter::Kind(MsgKind::Prepare),
        KindFilter::Kind(MsgKind::Promise),
        KindFilter::Kind(MsgKind::Accept),
        KindFilter::Kind(MsgKind::Ack),
        KindFilter::Kind(MsgKind::Nack),
        KindFilter::Kind(MsgKind::Commit),
        KindFilter::Events,
    ];

    pub fn next(self) -> KindFilter {
        let i = Self::CYCLE.iter().position(|f| *f == self).unwrap_or(0);
        Self::CYCLE[(i + 1) % Self::CYCLE.len()]
    }

    pub fn label(self) -> &'static str {
        match self {
            KindFilter::Synod => "synod",
            KindFilter::All => "all",
            KindFilter::Kind(k) => k.name(),
            KindFilter::Events => "events",
        }
    }
}

/// The filters of the trace pane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub kind: KindFilter,
    pub slot: Option<Slot>,
    /// Only the messages exchanged with this site (`w` cycles).
    pub peer: Option<SiteId>,
}

impl Filter {
    pub fn matches(&self, row: &TraceRow) -> bool {
        match &row.event {
            RowEvent::Note(_) => self.slot.is_none() && self.peer.is_none(),
            RowEvent::Trace(TraceEvent::Message {
                kind, slot, peer, ..
            }) => {
                let kind_ok = match self.kind {
                    KindFilter::Synod => kind.is_synod(),
                    KindFilter::All => true,
                    KindFilter::Kind(k) => *kind == k,
                    KindFilter::Events => false,
                };
                kind_ok
                    && self.slot.is_none_or(|s| *slot == Some(s))
                    && self.peer.is_none_or(|p| *peer == p)
            }
            // This site's own events involve no peer.
            RowEvent::Trace(_) if self.peer.is_some() => false,
            RowEvent::Trace(ev) => {
                let kind_ok = !matches!(self.kind, KindFilter::Kind(_));
                let slot = match ev {
                    TraceEvent::Proposed { slot, .. } | TraceEvent::Decided { slot, .. } => {
                        Some(*slot)
                    }
                    TraceEvent::Election { from_slot, .. } => Some(*from_slot),
                    _ => None,
                };
                kind_ok && self.slot.is_none_or(|s| slot == Some(s))
            }
        }
    }
}

/// One slot as this site saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlotInfo {
    pub slot: Slot,
    /// This site started an election (prepare) from this slot on.
    pub election: Option<Ballot>,
    /// Promises received for that ballot.
    pub promises: BTreeSet<SiteId>,
    /// Nacks received about this slot (or its election).
    pub nacks: usize,
    /// This site proposed a value with this ballot (as leader).
    pub proposed: Option<Ballot>,
    pub recovered: bool,
    /// Acks received for the proposal.
    pub acks: BTreeSet<SiteId>,
    /// An accept received (this site as acceptor): from whom, which ballot.
    pub accept_from: Option<(SiteId, Ballot)>,
    pub ack_sent: bool,
    /// This site sent the commits.
    pub commit_sent: bool,
    /// The commit came from this peer.
    pub commit_from: Option<SiteId>,
    /// The value proposed or accepted, as a summary.
    pub value: Option<String>,
    pub decided: Option<String>,
    /// Whether a submission of this site won (`Some(true)`) or lost the slot.
    pub own: Option<bool>,
}

impl SlotInfo {
    /// The phase chain: prepare → promise k/n → accept → ack k/n → commit.
    /// `k/n` counts votes (this site's own included) out of `sites`; a ✓
    /// marks a quorum.
    pub fn phases(&self, sites: usize, names: &[String]) -> Vec<String> {
        let quorum = sites / 2 + 1;
        let votes = |k: usize| {
            if k >= quorum {
                format!("{k}/{sites}✓")
            } else {
                format!("{k}/{sites}")
            }
        };
        let name = |s: SiteId| {
            names
                .get(s as usize)
                .cloned()
                .unwrap_or_else(|| s.to_string())
        };
        let mut out = Vec::new();
        if self.election.is_some() {
            out.push("prepare".to_string());
            out.push(format!("promise {}", votes(self.promises.len() + 1)));
        }
        if self.proposed.is_some() {
            out.push("accept".to_string());
            out.push(format!("ack {}", votes(self.acks.len() + 1)));
        } else if let Some((from, _)) = self.accept_from {
            out.push(format!("accept←{}", name(from)));
            if self.ack_sent {
                out.push("ack".to_string());
            }
        }
        if self.nacks > 0 {
            out.push(format!("nack×{}", self.nacks));
        }
        if self.decided.is_some() {
            if self.commit_sent {
                out.push("commit".to_string());
            } else if let Some(from) = self.commit_from {
                out.push(format!("commit←{}", name(from)));
            } else if self.proposed.is_none() && self.accept_from.is_none() {
                out.push("decided (catch-up)".to_string());
            } else {
                out.push("decided".to_string());
            }
        }
        out
    }
}

/// The trace of one site.
#[derive(Clone, Debug)]
pub struct TraceBuf {
    rows: VecDeque<TraceRow>,
    next_seq: u64,
    cap: usize,
    slots: BTreeMap<Slot, SlotInfo>,
}

impl Default for TraceBuf {
    fn default() -> Self {
        TraceBuf::with_capacity(TRACE_CAP)
    }
}

impl TraceBuf {
    pub fn with_capacity(cap: usize) -> TraceBuf {
        TraceBuf {
            rows: VecDeque::new(),
            next_seq: 0,
            cap: cap.max(1),
            slots: BTreeMap::new(),
        }
    }

    /// Rows recorded since the start, including those pushed out.
    pub fn total(&self) -> u64 {
        self.next_seq
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn last_seq(&self) -> Option<u64> {
        self.rows.back().map(|r| r.seq)
    }

    fn record(&mut self, at_ms: u64, event: RowEvent) {
        if self.rows.len() >= self.cap {
            self.rows.pop_front();
        }
        self.rows.push_back(TraceRow {
            seq: self.next_seq,
            at_ms,
            event,
        });
        self.next_seq += 1;
    }

    pub fn note(&mut self, at_ms: u64, text: impl Into<String>) {
        self.record(at_ms, RowEvent::Note(text.into()));
    }

    /// The time of the last row (for notes of the UI).
    pub fn last_ms(&self) -> u64 {
        self.rows.back().map_or(0, |r| r.at_ms)
    }

    pub fn push(&mut self, at_ms: u64, event: TraceEvent) {
        self.observe(&event);
        self.record(at_ms, RowEvent::Trace(event));
    }

    fn slot(&mut self, slot: Slot) -> &mut SlotInfo {
        if !self.slots.contains_key(&slot) && self.slots.len() >= SLOT_CAP {
            // Keep the most recent slots.
            if self.slots.keys().next().is_some_and(|&first| first < slot) {
                self.slots.pop_first();
            }
        }
        self.slots.entry(slot).or_insert_with(|| SlotInfo {
            slot,
            ..SlotInfo::default()
        })
    }

    /// Updates the per-slot view with one event.
    fn observe(&mut self, event: &TraceEvent) {
        match event {
            TraceEvent::Election { ballot, from_slot } => {
                let s = self.slot(*from_slot);
                s.election = Some(*ballot);
                s.promises.clear();
            }
            TraceEvent::Proposed {
                slot,
                ballot,
                value,
                recovered,
            } => {
                let s = self.slot(*slot);
                s.proposed = Some(*ballot);
                s.recovered = *recovered;
                s.acks.clear();
                s.value = Some(value.clone());
            }
            TraceEvent::Decided { slot, value, own } => {
                let s = self.slot(*slot);
                s.decided = Some(value.clone());
                s.own = *own;
            }
            TraceEvent::Leader { .. } | TraceEvent::Membership(_) => {}
            TraceEvent::Message {
                dir,
                peer,
                kind,
                slot: Some(slot),
                ballot,
                value,
            } => self.observe_message(*dir, *peer, *kind, *slot, *ballot, value),
            TraceEvent::Message { .. } => {}
        }
    }

    /// Updates the per-slot view with a message about `slot`.
    fn observe_message(
        &mut self,
        dir: Dir,
        peer: SiteId,
        kind: MsgKind,
        slot: Slot,
        ballot: Option<Ballot>,
        value: &Option<String>,
    ) {
        if !kind.is_synod() {
            return;
        }
        // Only touch slots already known, or that this message
        // opens (an accept received, a commit), so promises about
        // far-off slots do not flood the view.
        match (dir, kind) {
            (Dir::Received, MsgKind::Promise) => {
                if let Some(s) = self.slots.get_mut(&slot) {
                    if s.election.is_some() && s.election == ballot {
                        s.promises.insert(peer);
                    }
                }
            }
            (Dir::Received, MsgKind::Ack) => {
                if let Some(s) = self.slots.get_mut(&slot) {
                    if s.proposed.is_some() && s.proposed == ballot {
                        s.acks.insert(peer);
                    }
                }
            }
            (Dir::Received, MsgKind::Nack) => {
                if let Some(s) = self.slots.get_mut(&slot) {
                    s.nacks += 1;
                }
            }
            (Dir::Received, MsgKind::Accept) => {
                let s = self.slot(slot);
                if let Some(b) = ballot {
                    s.accept_from = Some((peer, b));
                }
                if s.value.is_none() || s.proposed.is_none() {
                    s.value.clone_from(value);
                }
            }
            (Dir::Sent, MsgKind::Ack) => {
                if let Some(s) = self.slots.get_mut(&slot) {
                    s.ack_sent = true;
                }
            }
            (Dir::Sent, MsgKind::Commit) => self.slot(slot).commit_sent = true,
            (Dir::Received, MsgKind::Commit) => {
                let s = self.slot(slot);
                if s.commit_from.is_none() {
                    s.commit_from = Some(peer);
                }
            }
            _ => {}
        }
    }

    /// The recent slots, newest first.
    pub fn slots(&self) -> impl DoubleEndedIterator<Item = &SlotInfo> {
        self.slots.values().rev()
    }

    pub fn slot_info(&self, slot: Slot) -> Option<&SlotInfo> {
        self.slots.get(&slot)
    }

    /// The last `n` rows matching `filter` up to row `bottom` (the newest
    /// when `None`), oldest first.
    pub fn view(&self, filter: &Filter, bottom: Option<u64>, n: usize) -> Vec<&TraceRow> {
        let mut out: Vec<&TraceRow> = self
            .rows
            .iter()
            .rev()
            .filter(|r| bottom.is_none_or(|b| r.seq <= b))
            .filter(|r| filter.matches(r))
            .take(n)
            .collect();
        out.reverse();
        out
    }

    /// Matching rows newer than `bottom` (the rows a paused or scrolled
    /// view does not show yet).
    pub fn newer_than(&self, filter: &Filter, bottom: Option<u64>) -> usize {
        let Some(b) = bottom else { return 0 };
        self.rows
            .iter()
            .rev()
            .take_while(|r| r.seq > b)
            .filter(|r| filter.matches(r))
            .count()
    }

    /// The seqs of the rows `filter` lets through, oldest first.
    fn matching_seqs(&self, filter: &Filter) -> Vec<u64> {
        self.rows
            .iter()
            .filter(|r| filter.matches(r))
            .map(|r| r.seq)
            .collect()
    }

    /// The seq of the matching row `steps` rows away from `bottom` (up when
    /// `steps < 0`, down when `> 0`), clamped to the buffer; `None` when
    /// that is the newest matching row.
    pub fn step(&self, filter: &Filter, bottom: Option<u64>, steps: isize) -> Option<u64> {
        let matching = self.matching_seqs(filter);
        let last = matching.len().checked_sub(1)?;
        let here = match bottom {
            None => last,
            Some(b) => match matching.binary_search(&b) {
                Ok(i) => i,
                Err(i) => i.saturating_sub(1),
            },
        };
        let to = here.saturating_add_signed(steps).min(last);
        (to < last).then(|| matching[to])
    }

    /// The seq of the `n`-th matching row from the oldest: the bottom row
    /// of a view of `n` rows scrolled to the very top.
    pub fn bottom_of_first_page(&self, filter: &Filter, n: usize) -> Option<u64> {
        let matching = self.matching_seqs(filter);
        let last = matching.len().checked_sub(1)?;
        let i = n.saturating_sub(1).min(last);
        (i < last).then(|| matching[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(dir: Dir, peer: SiteId, kind: MsgKind, slot: Slot, round: u64) -> TraceEvent {
        TraceEvent::Message {
            dir,
            peer,
            kind,
            slot: Some(slot),
            ballot: Some(Ballot::new(round, 0)),
            value: None,
        }
    }

    #[test]
    fn buffer_is_bounded_and_keeps_counting() {
        let mut t = TraceBuf::with_capacity(100);
        for i in 0..1000 {
            t.push(i, msg(Dir::Sent, 1, MsgKind::Accept, i, 1));
        }
        assert_eq!(t.len(), 100);
        assert_eq!(t.total(), 1000);
        let v = t.view(&Filter::default(), None, 5);
        assert_eq!(v.len(), 5);
        assert_eq!(v[4].seq, 999);
        assert!(t.slots().count() <= SLOT_CAP);
    }

    #[test]
    fn synod_filter_hides_plumbing_and_slot_filter_selects() {
        let mut t = TraceBuf::default();
        t.push(1, msg(Dir::Sent, 1, MsgKind::Heartbeat, 0, 1));
        t.push(2, msg(Dir::Sent, 1, MsgKind::Accept, 3, 1));
        t.push(3, msg(Dir::Sent, 1, MsgKind::Accept, 4, 1));
        let f = Filter::default();
        assert_eq!(t.view(&f, None, 10).len(), 2);
        let all = Filter {
            kind: KindFilter::All,
            ..Filter::default()
        };
        assert_eq!(t.view(&all, None, 10).len(), 3);
        let slot = Filter {
            slot: Some(4),
            ..Filter::default()
        };
        let v = t.view(&slot, None, 10);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].at_ms, 3);
    }

    #[test]
    fn peer_filter_keeps_the_messages_with_that_site_only() {
        let mut t = TraceBuf::default();
        t.push(1, msg(Dir::Sent, 1, MsgKind::Accept, 3, 1));
        t.push(2, msg(Dir::Sent, 2, MsgKind::Accept, 3, 1));
        t.push(3, msg(Dir::Received, 2, MsgKind::Ack, 3, 1));
        t.push(
            4,
            TraceEvent::Decided {
                slot: 3,
                value: "alice: hi".into(),
                own: Some(true),
            },
        );
        t.note(5, "bob crashed");
        assert_eq!(t.view(&Filter::default(), None, 10).len(), 5);
        let with_carol = Filter {
            peer: Some(2),
            ..Filter::default()
        };
        let times: Vec<u64> = t
            .view(&with_carol, None, 10)
            .iter()
            .map(|r| r.at_ms)
            .collect();
        assert_eq!(times, [2, 3]);
        let acks_with_bob = Filter {
            kind: KindFilter::Kind(MsgKind::Ack),
            peer: Some(1),
            ..Filter::default()
        };
        assert!(t.view(&acks_with_bob, None, 10).is_empty());
    }

    #[test]
    fn kind_filter_cycles_back() {
        let mut f = KindFilter::default();
        for _ in 0..KindFilter::CYCLE.len() {
            f = f.next();
        }
        assert_eq!(f, KindFilter::Synod);
    }

    #[test]
    fn per_slot_phases_count_votes() {
        let names: Vec<String> = ["alice", "bob", "carol"].map(String::from).to_vec();
        let mut t = TraceBuf::default();
        let b = Ballot::new(1, 0);
        t.push(
            0,
            TraceEvent::Election {
                ballot: b,
                from_slot: 0,
            },
        );
        t.push(1, msg(Dir::Received, 1, MsgKind::Promise, 0, 1));
        t.push(
            2,
            TraceEvent::Proposed {
                slot: 0,
                ballot: b,
                value: "alice: hi".into(),
                recovered: false,
            },
        );
        t.push(3, msg(Dir::Received, 2, MsgKind::Ack, 0, 1));
        t.push(4, msg(Dir::Sent, 1, MsgKind::Commit, 0, 1));
        t.push(
            5,
            TraceEvent::Decided {
                slot: 0,
                value: "alice: hi".into(),
                own: Some(true),
            },
        );
        let s = t.slot_info(0).unwrap();
        assert_eq!(
            s.phases(3, &names),
            vec!["prepare", "promise 2/3✓", "accept", "ack 2/3✓", "commit"]
        );
        // Scrolling: one row up from the newest, then back down.
        let f = Filter {
            kind: KindFilter::All,
            ..Filter::default()
        };
        let up = t.step(&f, None, -1);
        assert_eq!(up, Some(4));
        assert_eq!(t.step(&f, up, 1), None);
        assert_eq!(t.newer_than(&f, up), 1);
    }
}
