//! The replay's side of the App (`tweettui replay`): the slider's keys, and
//! every site's model set to the state at the slider's position. The
//! player ([`crate::ui::replay`]) derives that state from the recording;
//! here it is handed to the panes: each site's status, its trace (the rows
//! up to the slider), its replicated state (the timeline and the blocks).

use super::App;
use crate::paxos::Slot;
use crate::site::api::{PeerStatus, Status};
use crate::state::op::Value;
use crate::ui::panes::timeline::TimelineView;
use crate::ui::panes::trace::TraceView;
use crate::ui::panes::{Focus, Level};
use crate::ui::replay::player::{trace_row, TraceRow, STATE_EVERY};
use crate::ui::replay::{Action, Replay, SPEEDS};
use crate::ui::trace_buf::{TraceBuf, TRACE_CAP};

impl App {
    /// Turns this App into the replay of `r`, at its start.
    pub fn start_replay(&mut self, r: Replay) {
        let events = r.player.len();
        self.synced = vec![None; self.sites.len()];
        self.replay = Some(Box::new(r));
        self.safety = None;
        self.set_focus(Focus::Trace);
        self.sync_replay();
        self.say(
            Level::Info,
            format!("replay of {events} events: Space plays, ←→ step, [ ] decisions, - + speed"),
        );
    }

    /// A replay key (on a pane).
    pub(super) fn on_replay_key(&mut self, a: Action, fx: &mut Vec<super::Effect>) {
        let Some(r) = self.replay.as_mut() else {
            return;
        };
        let pos = r.pos();
        let len = r.player.len();
        match a {
            Action::Show(i) => return self.show_site(i, fx),
            Action::PlayPause => {
                r.playing = !r.playing;
                if r.playing && pos >= len {
                    r.seek(0);
                }
            }
            Action::Step(d) => {
                r.playing = false;
                r.seek(pos.saturating_add_signed(d));
            }
            Action::PrevMark => r.seek(r.player.prev_mark(pos)),
            Action::NextMark => r.seek(r.player.next_mark(pos)),
            Action::Slower | Action::Faster => {
                r.speed = match a {
                    Action::Slower => r.speed.saturating_sub(1),
                    _ => (r.speed + 1).min(SPEEDS.len() - 1),
                };
                let text = format!("speed {}× the recorded pace", SPEEDS[r.speed]);
                self.say(Level::Info, text);
            }
            Action::Start => r.seek(0),
            Action::End => r.seek(len),
        }
        self.sync_replay();
    }

    /// A frame went by (`ms` of real time): playing moves the slider.
    pub(super) fn on_tick(&mut self, ms: u64) -> bool {
        let Some(r) = self.replay.as_mut() else {
            return false;
        };
        if !r.playing {
            return false;
        }
        r.tick(ms);
        self.sync_replay();
        true
    }

    /// Sets every site's status, and the shown site's trace and state, to
    /// the slider's position.
    pub(super) fn sync_replay(&mut self) {
        let Some(r) = self.replay.take() else {
            return;
        };
        let now = &r.now;
        for (i, s) in now.sites.iter().enumerate() {
            let peers = (0..now.sites.len())
                .filter(|&j| j != i)
                .map(|j| PeerStatus {
                    site: j as u32,
                    name: self.sites[j].name.clone(),
                    connected: now.sites[j].up && !now.sites[j].cut_off && !s.cut_off,
                })
                .collect();
            let m = &mut self.sites[i];
            m.up = s.up;
            m.cut_off = s.cut_off;
            m.restarts = s.restarts;
            m.status = Some(Status {
                site: i as u32,
                name: m.name.clone(),
                decided: s.decided,
                leader: s.leader,
                membership: s.membership,
                ballot: None,
                peers,
            });
        }
        let shown = self.shown;
        self.sync_trace(&r, shown);
        self.sync_state(&r, shown);
        self.replay = Some(r);
    }

    /// Site `i`'s trace: the rows of its events before the slider; pushed
    /// on when the slider moved forward a little, else built again from
    /// its last [`TRACE_CAP`] events.
    fn sync_trace(&mut self, r: &Replay, i: usize) {
        let to = r.pos();
        let ids = &r.player.by_site[i];
        let hi = ids.partition_point(|&p| p < to);
        let near = match self.synced[i] {
            Some(from) if from <= to => {
                let lo = ids.partition_point(|&p| p < from);
                (hi - lo <= TRACE_CAP).then_some(lo)
            }
            _ => None,
        };
        let m = &mut self.sites[i];
        let lo = near.unwrap_or_else(|| {
            m.trace = TraceBuf::default();
            m.tview = TraceView::default();
            hi.saturating_sub(TRACE_CAP)
        });
        for &p in &ids[lo..hi] {
            let ev = &r.player.events[p];
            let at = ev.t.saturating_sub(r.player.t0);
            match trace_row(ev, &r.player.names) {
                Some(TraceRow::Event(e)) => m.trace.push(at, e),
                Some(TraceRow::Note(text)) => m.trace.note(at, text),
                None => {}
            }
        }
        self.synced[i] = Some(to);
    }

    /// Site `i`'s replicated state: the decided slots up to its decided
    /// count at the slider, applied on when few are missing, else taken
    /// from the player.
    fn sync_state(&mut self, r: &Replay, i: usize) {
        let target = r.now.sites[i].decided;
        let from = match &self.sites[i].state {
            Some(st)
                if st.next_slot() <= target && target - st.next_slot() <= STATE_EVERY as Slot =>
            {
                st.next_slot()
            }
            _ => {
                let m = &mut self.sites[i];
                m.state = Some(r.player.state_at(target));
                m.timeline = TimelineView::default();
                if i == self.shown {
                    self.keep_selection_visible();
                }
                return;
            }
        };
        for slot in from..target {
            let v = r.player.log.get(slot as usize).cloned();
            self.on_committed(i, slot, &v.unwrap_or_else(Value::noop));
        }
    }
}
