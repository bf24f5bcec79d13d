//! What the UI knows of each site, kept up to date by the sites' events.

use super::{App, Pending, PendingOp};
use crate::paxos::Slot;
use crate::site::api::{SiteEvent, Status};
use crate::state::op::{Op, Value};
use crate::state::{State, TweetKey};
use crate::ui::panes::blocks::BlockRow;
use crate::ui::panes::timeline::TimelineView;
use crate::ui::panes::trace::TraceView;
use crate::ui::panes::Level;
use crate::ui::trace_buf::TraceBuf;

/// One site as the UI knows it: its own copy of the replicated state, its
/// trace and status, and the scroll positions of its panes, so switching
/// sites in the demo is instant.
#[derive(Clone, Debug)]
pub struct SiteModel {
    pub index: usize,
    pub name: String,
    /// Events of this site reach the UI.
    pub hosted: bool,
    /// Its runtime runs (false after a crash in the demo).
    pub up: bool,
    /// Cut off from the others (demo).
    pub cut_off: bool,
    /// The replicated state: a Snapshot, then every Committed applied.
    pub state: Option<State>,
    pub status: Option<Status>,
    pub trace: TraceBuf,
    pub tview: TraceView,
    pub timeline: TimelineView,
    pub block_sel: usize,
    pub restarts: u32,
}

impl SiteModel {
    pub(super) fn new(index: usize, name: String, hosted: bool) -> SiteModel {
        SiteModel {
            index,
            name,
            hosted,
            up: hosted,
            cut_off: false,
            state: None,
            status: None,
            trace: TraceBuf::default(),
            tview: TraceView::default(),
            timeline: TimelineView::default(),
            block_sel: 0,
            restarts: 0,
        }
    }

    /// Slots decided and applied here.
    pub fn decided(&self) -> Slot {
        match (&self.state, &self.status) {
            (Some(s), Some(st)) => s.next_slot().max(st.decided),
            (Some(s), None) => s.next_slot(),
            (None, Some(st)) => st.decided,
            (None, None) => 0,
        }
    }
}

impl App {
    /// An event of site `site`; `true`: the screen changed.
    pub(super) fn on_site(&mut self, site: usize, ev: SiteEvent) -> bool {
        if let SiteEvent::Seen(ev) = ev {
            self.diagram.see(&ev);
            self.grid.see(&ev);
            return self.trace.wide.is_some();
        }
        let Some(m) = self.sites.get_mut(site) else {
            return false;
        };
        if !m.hosted {
            return false;
        }
        let shown = site == self.shown;
        match ev {
            SiteEvent::Snapshot { state, status } => {
                m.state = Some(*state);
                if shown {
                    self.metrics.leader(status.leader.map(|l| l as usize));
                }
                m.status = Some(status);
                m.up = true;
                m.timeline = TimelineView::default();
                if shown {
                    self.keep_selection_visible();
                }
                self.settle_pending();
                shown
            }
            SiteEvent::Status(status) => {
                if shown {
                    self.metrics.leader(status.leader.map(|l| l as usize));
                }
                m.status = Some(status);
                shown
            }
            SiteEvent::Trace { at_ms, event } => {
                m.trace.push(at_ms, event);
                shown
            }
            SiteEvent::Seen(_) => false, // taken above
            SiteEvent::Committed { slot, value } => {
                if let Some(safety) = &mut self.safety {
                    safety.observe(site, slot, &value);
                }
                self.metrics.decided(slot);
                self.on_committed(site, slot, &value);
                true
            }
        }
    }

    /// Site `site` decided `slot`: apply it to the UI's copy of its state,
    /// and tell its timeline what changed.
    pub(super) fn on_committed(&mut self, site: usize, slot: Slot, value: &Value) {
        let m = &mut self.sites[site];
        let Some(state) = &mut m.state else {
            return;
        };
        if slot != state.next_slot() {
            // A duplicate (already in the snapshot) or a gap; the runtime
            // sends them in order, so a gap cannot happen.
            return;
        }
        if let Err(e) = state.apply(slot, value) {
            // The runtime applied this very slot to the same state: the
            // UI's copy has gone astray. Say so; never hide it.
            let text = format!("{}: cannot apply decided slot {slot}: {e}", m.name);
            tracing::error!("{text}");
            self.say(Level::Error, format!("✗ {text}"));
            return;
        }
        let me = m.name.clone();
        let mut relocate = false;
        for (index, cmd) in value.cmds.iter().enumerate() {
            match &cmd.op {
                Op::Tweet { user, time, .. } if !state.is_blocked(user, &me) => {
                    m.timeline.inserted(TweetKey {
                        time: *time,
                        slot,
                        index: index as u32,
                    });
                }
                Op::Block { target, .. } | Op::Unblock { target, .. } if *target == me => {
                    relocate = true;
                }
                _ => {}
            }
        }
        if relocate {
            m.timeline.relocate(state, &me);
        }
        if site == self.shown {
            self.keep_selection_visible();
        }
        self.settle_doubts(site, slot, value);
        self.settle_pending();
    }

    /// The block list of the shown site: every other user, blocked or not.
    pub fn block_rows(&self) -> Vec<BlockRow> {
        let m = self.site();
        let is_blocked =
            |by: &str, whom: &str| m.state.as_ref().is_some_and(|st| st.is_blocked(by, whom));
        self.sites
            .iter()
            .filter(|s| s.index != m.index)
            .map(|s| {
                // A request on its way before one in doubt.
                let mine = self.pending.iter().filter(|p| p.site == m.index);
                let pending = mine
                    .clone()
                    .filter(|p| !p.in_doubt)
                    .chain(mine.filter(|p| p.in_doubt))
                    .find_map(|p| block_label(p, &s.name));
                BlockRow {
                    name: s.name.clone(),
                    site: s.index,
                    blocked: is_blocked(&m.name, &s.name),
                    pending,
                    blocks_me: is_blocked(&s.name, &m.name),
                }
            })
            .collect()
    }
}

/// What the block list says of a block or unblock of `user` on its way
/// (`…`) or in doubt.
fn block_label(p: &Pending, user: &str) -> Option<&'static str> {
    Some(match (&p.op, p.in_doubt) {
        (PendingOp::Block(u), false) if u == user => "blocking…",
        (PendingOp::Unblock(u), false) if u == user => "unblocking…",
        (PendingOp::Block(u), true) if u == user => "block not decided yet (503)",
        (PendingOp::Unblock(u), true) if u == user => "unblock not decided yet (503)",
        _ => return None,
    })
}
