//! The demo's side of the App: showing another site, the demo's keys, and
//! what the demo reports back.

use super::{App, Effect};
use crate::paxos::SiteId;
use crate::ui::cluster::{DemoCmd, DemoEvent, DemoKey};
use crate::ui::links::{describe, Links};
use crate::ui::panes::popup::Popup;
use crate::ui::panes::{links, Level};
use crossterm::event::KeyEvent;

impl App {
    /// Shows site `i` (the demo only).
    pub(super) fn show_site(&mut self, i: usize, fx: &mut Vec<Effect>) {
        if !self.demo && self.replay.is_none() {
            return;
        }
        if i >= self.sites.len() {
            let n = self.sites.len();
            self.say(Level::Error, format!("there are {n} sites (1..{n})"));
            return;
        }
        self.shown = i;
        self.sync_replay();
        // A site exchanges no messages with itself.
        if self.trace.filter.peer == Some(i as SiteId) {
            self.trace.filter.peer = None;
        }
        self.keep_selection_visible();
        let m = self.site();
        let state = match (m.up, self.demo) {
            (true, _) => "",
            (false, true) => " (down: r restarts it)",
            (false, false) => " (down)",
        };
        self.say(
            Level::Info,
            format!("showing site {} {}{state}", i + 1, m.name),
        );
        fx.push(Effect::Demo(DemoCmd::Shown(i)));
    }

    pub(super) fn on_demo_key(&mut self, key: DemoKey, fx: &mut Vec<Effect>) {
        let i = self.shown;
        let m = &self.sites[i];
        let name = m.name.clone();
        match key {
            DemoKey::Show(n) => self.show_site(n, fx),
            DemoKey::Crash if m.up => {
                fx.push(Effect::Demo(DemoCmd::Crash(i)));
                self.say(Level::Pending, format!("crashing {name}…"));
            }
            DemoKey::Crash => self.say(
                Level::Info,
                format!("{name} is already down (r restarts it)"),
            ),
            DemoKey::Restart if !m.up => {
                fx.push(Effect::Demo(DemoCmd::Restart(i)));
                self.say(
                    Level::Pending,
                    format!("restarting {name} from its data dir…"),
                );
            }
            DemoKey::Restart => self.say(Level::Info, format!("{name} is running (x crashes it)")),
            DemoKey::CutOff => {
                let on = !m.cut_off;
                fx.push(Effect::Demo(DemoCmd::CutOff { site: i, on }));
                self.say(
                    Level::Pending,
                    if on {
                        format!("cutting {name} off…")
                    } else {
                        format!("healing {name}…")
                    },
                );
            }
            DemoKey::Chatter => fx.push(Effect::Demo(DemoCmd::Chatter(!self.chatter))),
            DemoKey::Links => self.open_links(),
        }
    }

    pub(super) fn on_demo(&mut self, ev: DemoEvent) {
        match ev {
            DemoEvent::Down { site, reason } => {
                let Some(m) = self.sites.get_mut(site) else {
                    return;
                };
                m.up = false;
                let at = m.trace.last_ms();
                m.trace.note(at, format!("{} crashed", m.name));
                // A site that stopped by itself (a slot it could not apply,
                // say) is an error to show, not news.
                let (level, text) = match reason {
                    Some(r) => (Level::Error, format!("{} stopped: {r}", m.name)),
                    None => (
                        Level::Info,
                        format!("{} crashed (its data dir is kept; r restarts it)", m.name),
                    ),
                };
                self.say(level, text);
            }
            DemoEvent::Up { site, .. } => {
                let Some(m) = self.sites.get_mut(site) else {
                    return;
                };
                m.up = true;
                m.restarts += 1;
                m.trace
                    .note(0, format!("{} restarted from its data dir", m.name));
                let name = m.name.clone();
                self.say(Level::Ok, format!("✓ {name} restarted: catching up…"));
            }
            DemoEvent::CutOff { site, on } => {
                let Some(m) = self.sites.get_mut(site) else {
                    return;
                };
                m.cut_off = on;
                if self.step.is_some() {
                    // Step mode's cut is the matrix's (the live demo sends
                    // the matrix after a cut).
                    self.links.cut_off(site, on);
                    self.links_done = self.links.clone();
                }
                let Some(m) = self.sites.get_mut(site) else {
                    return;
                };
                let at = m.trace.last_ms();
                let text = if on {
                    format!("{} cut off from the others", m.name)
                } else {
                    format!("{} healed: talks to the others again", m.name)
                };
                m.trace.note(at, text.clone());
                self.say(Level::Info, text);
            }
            DemoEvent::Chatter(on) => {
                self.chatter = on;
                self.say(
                    Level::Info,
                    if on {
                        "the other sites tweet now and then (t stops them)"
                    } else {
                        "the other sites are quiet (t: let them tweet)"
                    },
                );
            }
            DemoEvent::Links { links, why } => self.on_links(links, why),
            DemoEvent::Info(text) => self.say(Level::Info, text),
            DemoEvent::Error(e) => self.say(Level::Error, e),
            DemoEvent::Step(view) => self.on_step_view(*view),
            DemoEvent::Reset => self.on_reset(),
            DemoEvent::Note(text) => self.say(Level::Info, text),
        }
    }
}

impl App {
    /// The leader as the shown site sees it.
    pub fn leader(&self) -> Option<usize> {
        self.site()
            .status
            .as_ref()
            .and_then(|s| s.leader)
            .map(|l| l as usize)
    }

    /// The leader the link presets cut off or set to duel: in step mode
    /// the engine's (the leader of the highest ballot), else the shown
    /// site's.
    fn preset_leader(&self) -> Option<usize> {
        match &self.step {
            Some(st) => st.view.leader.or_else(|| self.leader()),
            None => self.leader(),
        }
    }

    /// `m`: the link matrix (in the live demo and in `demo --step`, where
    /// each change is a step).
    fn open_links(&mut self) {
        let cursor = (self.shown, (self.shown + 1) % self.sites.len().max(1));
        self.popup = Some(Popup::Links { cursor });
    }

    /// A key in the open link matrix.
    pub(super) fn links_key(
        &mut self,
        key: &KeyEvent,
        cursor: (usize, usize),
        fx: &mut Vec<Effect>,
    ) {
        let Some(a) = links::action(key) else { return };
        match a {
            links::Action::Close => self.popup = None,
            links::Action::Move(dr, dc) => {
                let cursor = links::moved(cursor, (dr, dc), self.links.len());
                self.popup = Some(Popup::Links { cursor });
            }
            _ => {
                let names = self.names();
                match links::apply(&self.links, a, cursor, self.preset_leader(), &names) {
                    Some((new, why)) => {
                        self.say(Level::Pending, format!("{why}…"));
                        self.links = new.clone();
                        fx.push(Effect::Demo(DemoCmd::Links { links: new, why }));
                    }
                    None => self.say(Level::Info, "nothing to change there"),
                }
            }
        }
    }

    /// The demo carried out `new` links: each site whose filter changed
    /// notes it in its trace; the cut-off flags follow the matrix.
    fn on_links(&mut self, new: Links, why: String) {
        let before = self.links_done.filters();
        let after = new.filters();
        for (i, m) in self.sites.iter_mut().enumerate() {
            m.cut_off = new.isolated(i);
            let (Some(a), b) = (after.get(i), before.get(i)) else {
                continue;
            };
            if Some(a) != b {
                let at = m.trace.last_ms();
                m.trace.note(at, format!("filter ({why}): {}", describe(a)));
            }
        }
        self.metrics.fault(!new.is_clear());
        self.links = new.clone();
        self.links_done = new;
        self.say(Level::Info, format!("links: {why}"));
    }
}
