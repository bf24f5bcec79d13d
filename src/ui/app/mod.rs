//! The UI's state and its one `update` function (Elm-like): terminal
//! events, site events, answers to requests and demo events come in as
//! [`Msg`]s; what the UI wants done outside (send a request, crash a demo
//! site, switch mouse capture, quit) goes out as [`Effect`]s. Nothing here
//! waits on anything.
//!
//! Keys go to the open popup, else to the keys that work anywhere, else to
//! the focused pane (`panes/*`), which changes its own state and asks the
//! App for the rest ([`Ask`]). The App's other work is in its children:
//! requests and their answers (`requests`), the sites' events (`sites`),
//! the demo (`demo`).

mod demo;
mod replay;
mod requests;
mod sites;
mod step;
#[cfg(test)]
mod tests;

pub use requests::{Pending, PendingOp, LOG_WINDOW, MAX_PENDING_ROWS};
pub use sites::SiteModel;
pub use step::Stepped;

use super::clock::Clock;
use super::cluster::{DemoCmd, DemoEvent, SafetyCheck};
use super::help;
use super::keys::{self, AnyPane, Anywhere};
use super::layout::{layout_for, Areas, Grow};
use super::panes::input::InputBox;
use super::panes::popup::{self, Popup};
use super::panes::timeline::{self, TimelinePane};
use super::panes::trace::{self, TracePane, TraceSettings};
use super::panes::{blocks, inflight, Ask, Focus, Level};
use super::seen::{Diagram, Grid};
use super::theme::Theme;
use crate::paxos::SiteId;
use crate::site::api::{Reply, Request, SiteEvent};
use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

/// Rows the mouse wheel scrolls.
const WHEEL: isize = 3;

/// The message line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub level: Level,
    pub text: String,
}

/// Everything the UI reacts to.
#[derive(Debug)]
pub enum Msg {
    Term(Event),
    Site(usize, SiteEvent),
    /// The site's answer to the request `tag`.
    Reply {
        tag: u64,
        reply: Reply,
    },
    Demo(DemoEvent),
    /// A frame went by (`ms` of real time): a replay that plays moves on.
    Tick {
        ms: u64,
    },
}

/// What the UI asks its surroundings to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Request { site: usize, tag: u64, req: Request },
    Demo(DemoCmd),
    MouseCapture(bool),
    Quit,
}

/// How the App is set up.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// All site names, in config order.
    pub names: Vec<String>,
    /// The site shown first.
    pub shown: usize,
    /// The sites whose events the UI receives (all of them in the demo).
    pub hosted: Vec<usize>,
    pub demo: bool,
    pub theme: Theme,
    pub clock: Clock,
    pub mouse_capture: bool,
    /// The terminal size.
    pub size: (u16, u16),
}

/// The whole UI state.
pub struct App {
    /// Where this process logs, for the help popup.
    pub log_file: Option<std::path::PathBuf>,
    pub sites: Vec<SiteModel>,
    pub shown: usize,
    pub demo: bool,
    pub chatter: bool,
    pub safety: Option<SafetyCheck>,
    pub focus: Focus,
    pub input: InputBox,
    pub popup: Option<Popup>,
    pub note: Option<Note>,
    pub pending: Vec<Pending>,
    /// What the trace pane shows (the same for every site).
    pub trace: TraceSettings,
    /// Every hosted site's events (SPEC 9): the space-time pane's rows and
    /// the log grid.
    pub diagram: Diagram,
    pub grid: Grid,
    pub theme: Theme,
    pub clock: Clock,
    pub size: (u16, u16),
    pub mouse_capture: bool,
    pub quit: bool,
    /// `tweettui replay`: the player and its slider.
    pub replay: Option<Box<crate::ui::replay::Replay>>,
    /// `demo --step`: the stepped cluster (the in-flight pane).
    pub step: Option<Stepped>,
    /// The live demo's metrics strip.
    pub metrics: super::metrics::Metrics,
    /// The demo's link matrix, as last carried out (or asked for).
    pub links: super::links::Links,
    /// The link matrix the demo last reported carried out (`links` runs
    /// ahead of it while a change is on its way).
    links_done: super::links::Links,
    /// Replay: the position each site's trace shows.
    synced: Vec<Option<usize>>,
    next_tag: u64,
}

impl App {
    pub fn new(cfg: AppConfig) -> App {
        let sites = cfg
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| SiteModel::new(i, n.clone(), cfg.hosted.contains(&i)))
            .collect();
        App {
            log_file: None,
            sites,
            shown: cfg.shown,
            demo: cfg.demo,
            chatter: false,
            safety: cfg.demo.then(SafetyCheck::default),
            focus: Focus::Input,
            input: InputBox::new(&cfg.theme, true),
            popup: None,
            note: None,
            pending: Vec::new(),
            trace: TraceSettings::default(),
            diagram: Diagram::default(),
            grid: Grid::new(cfg.names.len()),
            theme: cfg.theme,
            clock: cfg.clock,
            size: cfg.size,
            mouse_capture: cfg.mouse_capture,
            quit: false,
            replay: None,
            step: None,
            links: super::links::Links::new(cfg.names.len()),
            metrics: Default::default(),
            links_done: super::links::Links::new(cfg.names.len()),
            synced: Vec::new(),
            next_tag: 0,
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.sites.iter().map(|s| s.name.clone()).collect()
    }

    /// The shown site.
    pub fn site(&self) -> &SiteModel {
        &self.sites[self.shown]
    }

    fn site_mut(&mut self) -> &mut SiteModel {
        &mut self.sites[self.shown]
    }

    /// The input line as typed.
    pub fn input_text(&self) -> String {
        self.input.text()
    }

    /// Where the panes are for the current terminal size (`None`: too small).
    pub fn areas(&self) -> Option<Areas> {
        layout_for(
            Rect::new(0, 0, self.size.0, self.size.1),
            self.trace.wide.is_some(),
            self.grow(),
            self.step.is_some(),
        )
    }

    /// The pane a narrow layout grows: the focused one.
    pub fn grow(&self) -> Grow {
        match self.focus {
            Focus::Timeline | Focus::Blocks | Focus::InFlight => Grow::Timeline,
            Focus::Trace => Grow::Trace,
            Focus::Input => Grow::Even,
        }
    }

    /// Which keys work: a site's, the demo's or the replay's.
    pub fn mode(&self) -> help::Mode {
        if self.replay.is_some() {
            help::Mode::Replay
        } else if self.step.is_some() {
            help::Mode::Step
        } else if self.demo {
            help::Mode::Demo
        } else {
            help::Mode::Site
        }
    }

    /// The space-time diagram and the log grid shown: every hosted site's
    /// events, or in a replay those up to the slider.
    pub fn seen(&self) -> (&Diagram, &Grid) {
        match &self.replay {
            Some(r) => (&r.now.diagram, &r.now.grid),
            None => (&self.diagram, &self.grid),
        }
    }

    fn set_focus(&mut self, focus: Focus) {
        self.focus = focus;
        self.input.set_focused(focus == Focus::Input);
        // A narrow layout grows the focused pane.
        self.keep_selection_visible();
    }

    fn say(&mut self, level: Level, text: impl Into<String>) {
        self.note = Some(Note {
            level,
            text: text.into(),
        });
    }

    // ----- update -------------------------------------------------------

    /// Handles one message; returns what to do outside. `true` in the
    /// second place: the screen needs a redraw.
    pub fn update(&mut self, msg: Msg) -> (Vec<Effect>, bool) {
        let mut fx = Vec::new();
        let dirty = match msg {
            Msg::Term(ev) => {
                self.on_term(ev, &mut fx);
                true
            }
            Msg::Site(site, ev) => self.on_site(site, ev),
            Msg::Reply { tag, reply } => {
                self.on_reply(tag, reply);
                true
            }
            Msg::Demo(ev) => {
                self.on_demo(ev);
                true
            }
            Msg::Tick { ms } => {
                let live = self.demo && self.step.is_none() && self.replay.is_none();
                let moved = live && self.metrics.tick(ms);
                self.on_tick(ms) || moved
            }
        };
        if self.quit && !fx.contains(&Effect::Quit) {
            fx.push(Effect::Quit);
        }
        (fx, dirty)
    }

    /// [`update`](Self::update), dropping the effects (tests, benches).
    pub fn feed(&mut self, msg: Msg) {
        self.update(msg);
    }

    fn on_term(&mut self, ev: Event, fx: &mut Vec<Effect>) {
        match ev {
            Event::Key(key) => self.on_key(key, fx),
            Event::Mouse(m) => self.on_mouse(m),
            Event::Paste(text) => {
                self.popup = None;
                self.set_focus(Focus::Input);
                let ask = self.input.paste(&text);
                self.carry_out(ask, fx);
            }
            Event::Resize(w, h) => {
                self.size = (w, h);
                self.keep_selection_visible();
            }
            Event::FocusGained | Event::FocusLost => {}
        }
    }

    /// A key goes to the open popup (all but Ctrl-C), else to the keys
    /// that work anywhere, else to the focused pane.
    fn on_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        if key.kind != KeyEventKind::Press {
            return;
        }
        let anywhere = keys::anywhere(&key);
        if anywhere == Some(Anywhere::Quit) {
            self.quit = true;
            return;
        }
        if let Some(Popup::Links { cursor }) = self.popup {
            return self.links_key(&key, cursor, fx);
        }
        if self.popup.is_some() {
            let len = self.popup_len();
            let ask = popup::on_key(&mut self.popup, &key, len, popup::page(self.size));
            return self.carry_out(ask, fx);
        }
        match anywhere {
            Some(Anywhere::Help) => return self.open_help(),
            Some(Anywhere::MouseCapture) => return self.switch_mouse_capture(fx),
            Some(Anywhere::FocusNext) => {
                return self.set_focus(self.focus.next(self.step.is_some()))
            }
            Some(Anywhere::FocusPrev) => {
                return self.set_focus(self.focus.prev(self.step.is_some()))
            }
            Some(Anywhere::Quit) | None => {}
        }
        if key.modifiers.contains(KeyModifiers::ALT) {
            if let KeyCode::Char(d @ '1'..='9') = key.code {
                return self.show_site(d as usize - '1' as usize, fx);
            }
        }
        if self.replay.is_some() && self.focus != Focus::Input {
            if let Some(a) = crate::ui::replay::action(&key) {
                return self.on_replay_key(a, fx);
            }
        }
        if self.step.is_some() && self.focus != Focus::Input {
            if let Some(k) = crate::ui::step::step_key(&key) {
                return self.on_step_key(k, fx);
            }
        }
        let ask = match self.focus {
            Focus::Input => self.input.on_key(key),
            _ => match keys::any_pane(&key, self.demo) {
                Some(AnyPane::ToInput) => Ask::Focus(Focus::Input),
                Some(AnyPane::Help) => return self.open_help(),
                Some(AnyPane::PauseTrace) => self.with_trace(|t| t.toggle_pause()),
                Some(AnyPane::Quit) => {
                    self.quit = true;
                    return;
                }
                Some(AnyPane::Demo(k)) => return self.on_demo_key(k, fx),
                None => self.pane_key(&key),
            },
        };
        self.carry_out(ask, fx);
    }

    /// A key for the focused pane (not the input box).
    fn pane_key(&mut self, key: &KeyEvent) -> Ask {
        match self.focus {
            Focus::Timeline => match timeline::action(key) {
                Some(a) => self.with_timeline(|t| t.apply(a)),
                None => Ask::Nothing,
            },
            Focus::Blocks => match blocks::action(key) {
                Some(a) => {
                    let rows = self.block_rows();
                    blocks::apply(a, &rows, &mut self.site_mut().block_sel)
                }
                None => Ask::Nothing,
            },
            Focus::Trace => match trace::action(key) {
                Some(a) => self.with_trace(|t| t.apply(a)),
                None => Ask::Nothing,
            },
            Focus::InFlight => match inflight::action(key) {
                Some(a) => self.inflight_key(a),
                None => Ask::Nothing,
            },
            Focus::Input => Ask::Nothing,
        }
    }

    /// Does what a pane asked.
    fn carry_out(&mut self, ask: Ask, fx: &mut Vec<Effect>) {
        match ask {
            Ask::Nothing => {}
            Ask::Say(level, text) => self.say(level, text),
            Ask::Focus(f) => self.set_focus(f),
            Ask::Block(user) => {
                self.block(user, fx);
            }
            Ask::Unblock(user) => {
                self.unblock(user, fx);
            }
            Ask::Command(cmd) => self.run_command(cmd, fx),
            Ask::MoveTimeline(a) => {
                let ask = self.with_timeline(|t| t.apply(a));
                self.carry_out(ask, fx);
            }
            Ask::SlotPrompt => {
                self.popup = Some(Popup::SlotPrompt {
                    text: String::new(),
                })
            }
            Ask::FilterSlot(slot) => {
                let ask = self.with_trace(|t| t.filter_slot(slot));
                self.carry_out(ask, fx);
            }
            Ask::Step(cmd) => fx.push(Effect::Demo(DemoCmd::Step(cmd))),
        }
    }

    fn open_help(&mut self) {
        self.popup = Some(Popup::Help { scroll: 0 });
    }

    /// The help popup: every key, then where the log is, wrapped to the
    /// popup's width.
    pub fn help_lines<'a>(&self) -> Vec<ratatui::text::Line<'a>> {
        let cells = popup::text_width(self.size);
        let mut lines = help::lines(&self.theme, self.mode(), cells);
        if let Some(f) = &self.log_file {
            lines.push(ratatui::text::Line::raw(""));
            let text = format!("Log file: {}", f.display());
            lines.extend(help::indented(&text, 0, cells));
        }
        lines
    }

    /// Lines of the open popup.
    fn popup_len(&self) -> usize {
        match &self.popup {
            Some(Popup::Help { .. }) => self.help_lines().len(),
            Some(Popup::Log { lines, .. }) => lines.len(),
            _ => 0,
        }
    }

    fn switch_mouse_capture(&mut self, fx: &mut Vec<Effect>) {
        self.mouse_capture = !self.mouse_capture;
        fx.push(Effect::MouseCapture(self.mouse_capture));
        self.say(
            Level::Info,
            if self.mouse_capture {
                "mouse capture on: the wheel scrolls the pane under the pointer (F2: off)"
            } else {
                "mouse capture off: select and copy text with the mouse (F2: on)"
            },
        );
    }

    // ----- the panes' views of the shown site ---------------------------

    /// The shown site's tweets sent and not yet in its timeline, oldest
    /// first, and whether each is in doubt (answered 503): the timeline
    /// shows them above its newest tweet until they are decided and
    /// applied (or fail).
    pub fn pending_tweets(&self) -> impl Iterator<Item = (&str, bool)> {
        self.pending.iter().filter_map(|p| match &p.op {
            PendingOp::Tweet(text) if p.site == self.shown => Some((text.as_str(), p.in_doubt)),
            _ => None,
        })
    }

    /// Rows the pending tweets take at the top of the timeline pane: one
    /// each, at most [`MAX_PENDING_ROWS`] (the last then counts the rest).
    pub fn pending_rows(&self) -> usize {
        self.pending_tweets().take(MAX_PENDING_ROWS).count()
    }

    /// The size (width, height) in cells of the timeline pane's list of
    /// decided tweets: inside the border, below the pending tweets.
    fn timeline_size(&self) -> Option<(usize, usize)> {
        let a = self.areas()?.timeline;
        Some((
            (a.width as usize).saturating_sub(2),
            (a.height as usize)
                .saturating_sub(2)
                .saturating_sub(self.pending_rows())
                .max(1),
        ))
    }

    /// Runs `f` on the shown site's timeline pane.
    fn with_timeline<R>(&mut self, f: impl FnOnce(&mut TimelinePane) -> R) -> R {
        let size = self.timeline_size();
        let m = &mut self.sites[self.shown];
        f(&mut TimelinePane {
            state: m.state.as_ref(),
            me: &m.name,
            view: &mut m.timeline,
            size,
        })
    }

    /// Keeps the shown timeline's selection visible (after a resize, new
    /// tweets, a pending row more or less).
    pub fn keep_selection_visible(&mut self) {
        self.with_timeline(|t| t.keep_selection_visible());
    }

    /// Runs `f` on the shown site's trace pane.
    fn with_trace<R>(&mut self, f: impl FnOnce(&mut TracePane) -> R) -> R {
        let rows = self
            .areas()
            .map_or(1, |a| (a.trace.height as usize).saturating_sub(2).max(1));
        let names = self.names();
        let me = self.shown as SiteId;
        let m = &mut self.sites[self.shown];
        let (diagram, grid) = match &self.replay {
            Some(r) => (&r.now.diagram, &r.now.grid),
            None => (&self.diagram, &self.grid),
        };
        f(&mut TracePane {
            settings: &mut self.trace,
            buf: &m.trace,
            view: &mut m.tview,
            rows,
            me,
            names: &names,
            diagram,
            grid_slots: grid.slots.len(),
        })
    }

    // ----- mouse --------------------------------------------------------

    fn pane_at(&self, col: u16, row: u16) -> Option<Focus> {
        let a = self.areas()?;
        let p = Position::new(col, row);
        [
            (a.timeline, Focus::Timeline),
            (a.inflight, Focus::InFlight),
            (a.blocks, Focus::Blocks),
            (a.trace, Focus::Trace),
            (a.input, Focus::Input),
        ]
        .into_iter()
        .find(|(r, _)| r.contains(p))
        .map(|(_, f)| f)
    }

    /// A click focuses the pane under the pointer; the wheel scrolls it
    /// (or the open help or log).
    fn on_mouse(&mut self, m: MouseEvent) {
        let target = self.pane_at(m.column, m.row);
        let delta = match m.kind {
            MouseEventKind::ScrollUp => -WHEEL,
            MouseEventKind::ScrollDown => WHEEL,
            MouseEventKind::Down(MouseButton::Left) => {
                if let (None, Some(f)) = (&self.popup, target) {
                    self.set_focus(f);
                }
                return;
            }
            _ => return,
        };
        if let Some(Popup::Help { .. } | Popup::Log { .. }) = &self.popup {
            let len = self.popup_len();
            popup::wheel(&mut self.popup, delta, len, popup::page(self.size));
            return;
        }
        match target {
            Some(Focus::Timeline) => {
                self.with_timeline(|t| t.apply(timeline::Action::Select(delta)));
            }
            Some(Focus::Trace) => self.with_trace(|t| t.scroll(delta)),
            Some(Focus::InFlight) => self.inflight_wheel(delta),
            Some(Focus::Blocks) => {
                let n = self.block_rows().len();
                blocks::wheel(delta, n, &mut self.site_mut().block_sel);
            }
            _ => {}
        }
    }
}
