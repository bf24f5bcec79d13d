//! The demo's side of the App: showing another site, the demo's keys, and
//! what the demo reports back.

use super::{App, Effect};
use crate::paxos::SiteId;
use crate::ui::cluster::{DemoCmd, DemoEvent, DemoKey};
use crate::ui::panes::Level;

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
            DemoEvent::Info(text) => self.say(Level::Info, text),
            DemoEvent::Error(e) => self.say(Level::Error, e),
            DemoEvent::Step(view) => self.on_step_view(*view),
            DemoEvent::Reset => self.on_reset(),
            DemoEvent::Note(text) => self.say(Level::Info, text),
        }
    }
}
