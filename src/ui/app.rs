//! The UI's state and its one `update` function (Elm-like): terminal
//! events, site events, answers to requests and demo events come in as
//! [`Msg`]s; what the UI wants done outside (send a request, crash a demo
//! site, switch mouse capture, quit) goes out as [`Effect`]s. Nothing here
//! waits on anything.

use super::cluster::{DemoCmd, DemoEvent, SafetyCheck};
use super::command::{self, Command};
use super::keys::Section;
use super::theme::Theme;
use super::timeline::TimelineView;
use super::trace::{Filter, KindFilter, TraceBuf, TraceView};
use super::view::{self, Areas};
use crate::paxos::{SiteId, Slot};
use crate::site::api::{Request, Response, SiteEvent, Status};
use crate::state::op::{Op, Value};
use crate::state::{State, TweetKey, MAX_TWEET_CHARS};
use chrono::{DateTime, FixedOffset, Local, Utc};
use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use tui_textarea::{CursorMove, TextArea};

/// How many decided slots `/log` shows: the most recent ones, or those
/// from the slot it is given.
pub const LOG_WINDOW: u64 = 1000;

/// Rows the mouse wheel scrolls.
const WHEEL: isize = 3;

/// Which pane has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Input,
    Timeline,
    Blocks,
    Trace,
}

impl Focus {
    const ORDER: [Focus; 4] = [Focus::Input, Focus::Timeline, Focus::Blocks, Focus::Trace];

    pub fn next(self) -> Focus {
        let i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        Self::ORDER[(i + 1) % 4]
    }

    pub fn prev(self) -> Focus {
        let i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        Self::ORDER[(i + 3) % 4]
    }

    /// The key table of the pane.
    pub fn section(self) -> Section {
        match self {
            Focus::Input => Section::Input,
            Focus::Timeline => Section::Timeline,
            Focus::Blocks => Section::Blocks,
            Focus::Trace => Section::Trace,
        }
    }
}

/// A decided log entry, as the `/log` popup shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub slot: Slot,
    pub author: Option<String>,
    pub what: String,
}

#[derive(Clone, Debug)]
pub enum Popup {
    Help {
        scroll: usize,
    },
    Log {
        site: usize,
        title: String,
        lines: Vec<LogLine>,
        scroll: usize,
    },
    /// Typing a slot number for the trace's slot filter.
    SlotPrompt {
        text: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Ok,
    Error,
    Pending,
}

/// The message line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub level: Level,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PendingOp {
    Tweet(String),
    Block(String),
    Unblock(String),
    Log,
}

/// At most this many rows of the timeline pane show pending tweets.
pub const MAX_PENDING_ROWS: usize = 3;

/// A request sent and not answered yet (or answered, and its slot not yet
/// applied here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub tag: u64,
    pub site: usize,
    pub op: PendingOp,
    /// Answered: decided in this slot, waiting to be applied here.
    pub decided_slot: Option<Slot>,
}

/// Everything the UI reacts to.
#[derive(Debug)]
pub enum Msg {
    Term(Event),
    Site(usize, SiteEvent),
    Reply { tag: u64, resp: Response },
    Demo(DemoEvent),
}

/// What the UI asks its surroundings to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Request { site: usize, tag: u64, req: Request },
    Demo(DemoCmd),
    MouseCapture(bool),
    Quit,
}

/// The time the UI shows tweets in: local time, or fixed (tests).
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    Local,
    Fixed {
        now: DateTime<Utc>,
        offset: FixedOffset,
    },
}

impl Clock {
    /// A tweet's time: `HH:MM:SS` today, `Mon DD HH:MM` before.
    pub fn format(&self, t: DateTime<Utc>) -> String {
        match *self {
            Clock::Local => {
                let now = Local::now();
                let t = t.with_timezone(&Local);
                fmt_time(t.date_naive() == now.date_naive(), &t)
            }
            Clock::Fixed { now, offset } => {
                let t = t.with_timezone(&offset);
                let today = now.with_timezone(&offset).date_naive() == t.date_naive();
                fmt_time(today, &t)
            }
        }
    }
}

fn fmt_time<Tz: chrono::TimeZone>(today: bool, t: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    if today {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%b %d %H:%M").to_string()
    }
}

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
    fn new(index: usize, name: String, hosted: bool) -> SiteModel {
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

/// A row of the block list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRow {
    pub name: String,
    pub site: usize,
    pub blocked: bool,
    /// A block or unblock of this user is on its way.
    pub pending: Option<&'static str>,
    /// This user blocks the shown site's user (their tweets are hidden).
    pub blocks_me: bool,
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
    pub sites: Vec<SiteModel>,
    pub shown: usize,
    pub demo: bool,
    pub chatter: bool,
    pub safety: Option<SafetyCheck>,
    pub focus: Focus,
    pub input: TextArea<'static>,
    pub popup: Option<Popup>,
    pub note: Option<Note>,
    pub pending: Vec<Pending>,
    pub filter: Filter,
    pub per_slot: bool,
    pub theme: Theme,
    pub clock: Clock,
    pub size: (u16, u16),
    pub mouse_capture: bool,
    pub quit: bool,
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
        let mut app = App {
            sites,
            shown: cfg.shown,
            demo: cfg.demo,
            chatter: false,
            safety: cfg.demo.then(SafetyCheck::default),
            focus: Focus::Input,
            input: TextArea::default(),
            popup: None,
            note: None,
            pending: Vec::new(),
            filter: Filter::default(),
            per_slot: false,
            theme: cfg.theme,
            clock: cfg.clock,
            size: cfg.size,
            mouse_capture: cfg.mouse_capture,
            quit: false,
            next_tag: 0,
        };
        app.input = app.new_input(String::new());
        app
    }

    pub fn names(&self) -> Vec<String> {
        self.sites.iter().map(|s| s.name.clone()).collect()
    }

    pub fn site(&self) -> &SiteModel {
        &self.sites[self.shown]
    }

    fn site_mut(&mut self) -> &mut SiteModel {
        &mut self.sites[self.shown]
    }

    /// The input line as typed.
    pub fn input_text(&self) -> String {
        self.input.lines().join(" ")
    }

    /// Where the panes are for the current terminal size (`None`: too small).
    pub fn areas(&self) -> Option<Areas> {
        view::layout(Rect::new(0, 0, self.size.0, self.size.1))
    }

    fn new_input(&self, text: String) -> TextArea<'static> {
        let mut t = TextArea::new(vec![text]);
        t.set_cursor_line_style(Style::default());
        t.set_placeholder_text(
            "Type a tweet and press Enter · /help for commands · Tab moves to the panes",
        );
        t.set_placeholder_style(self.theme.dim());
        t.set_selection_style(Style::default().add_modifier(Modifier::REVERSED));
        t.set_cursor_style(self.cursor_style());
        t.move_cursor(CursorMove::End);
        t
    }

    fn cursor_style(&self) -> Style {
        if self.focus == Focus::Input {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        }
    }

    fn set_focus(&mut self, focus: Focus) {
        self.focus = focus;
        let style = self.cursor_style();
        self.input.set_cursor_style(style);
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
            Msg::Reply { tag, resp } => {
                self.on_reply(tag, resp);
                true
            }
            Msg::Demo(ev) => {
                self.on_demo(ev);
                true
            }
        };
        if self.quit && !fx.contains(&Effect::Quit) {
            fx.push(Effect::Quit);
        }
        (fx, dirty)
    }

    /// Convenience for tests and the bench: update, ignoring effects.
    pub fn apply(&mut self, msg: Msg) {
        self.update(msg);
    }

    fn on_term(&mut self, ev: Event, fx: &mut Vec<Effect>) {
        match ev {
            Event::Key(key) => self.on_key(key, fx),
            Event::Mouse(m) => self.on_mouse(m),
            Event::Paste(text) => self.on_paste(&text),
            Event::Resize(w, h) => {
                self.size = (w, h);
                self.fix_timeline();
            }
            Event::FocusGained | Event::FocusLost => {}
        }
    }

    fn on_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        if key.kind != KeyEventKind::Press {
            return;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        if ctrl && matches!(key.code, KeyCode::Char('c' | 'C')) {
            self.quit = true;
            return;
        }
        if self.popup.is_some() {
            self.popup_key(key);
            return;
        }
        match key.code {
            KeyCode::F(1) => {
                self.popup = Some(Popup::Help { scroll: 0 });
                return;
            }
            KeyCode::F(2) => {
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
                return;
            }
            _ => {}
        }
        if alt {
            if let KeyCode::Char(d @ '1'..='9') = key.code {
                self.show_site(d as usize - '1' as usize, fx);
                return;
            }
        }
        if self.focus == Focus::Input {
            self.input_key(key, fx);
        } else {
            self.pane_key(key, fx);
        }
    }

    fn popup_key(&mut self, key: KeyEvent) {
        let page = self.popup_page();
        let max = self.popup_max_scroll();
        match &mut self.popup {
            Some(Popup::SlotPrompt { text }) => match key.code {
                KeyCode::Char(c) if c.is_ascii_digit() && text.len() < 19 => text.push(c),
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Enter => {
                    let slot = text.parse::<Slot>().ok();
                    self.popup = None;
                    self.filter.slot = slot;
                    self.reset_trace_scroll();
                    match slot {
                        Some(s) => {
                            self.say(Level::Info, format!("trace: slot {s} only (Esc clears)"))
                        }
                        None => self.say(Level::Info, "trace: all slots"),
                    }
                }
                KeyCode::Esc => self.popup = None,
                _ => {}
            },
            Some(Popup::Help { scroll } | Popup::Log { scroll, .. }) => match key.code {
                KeyCode::Esc | KeyCode::Char('q' | '?') | KeyCode::F(1) | KeyCode::Enter => {
                    self.popup = None
                }
                KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => *scroll = (*scroll + 1).min(max),
                KeyCode::PageUp => *scroll = scroll.saturating_sub(page),
                KeyCode::PageDown | KeyCode::Char(' ') => *scroll = (*scroll + page).min(max),
                KeyCode::Home | KeyCode::Char('g') => *scroll = 0,
                KeyCode::End | KeyCode::Char('G') => *scroll = max,
                _ => {}
            },
            None => {}
        }
    }

    /// Rows of text a popup shows at once.
    fn popup_page(&self) -> usize {
        let area = view::popup_area(Rect::new(0, 0, self.size.0, self.size.1));
        (area.height as usize).saturating_sub(2).max(1)
    }

    fn popup_max_scroll(&self) -> usize {
        let len = match &self.popup {
            Some(Popup::Help { .. }) => view::help_lines(self).len(),
            Some(Popup::Log { lines, .. }) => lines.len(),
            _ => 0,
        };
        len.saturating_sub(self.popup_page())
    }

    fn input_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Enter => self.submit_line(fx),
            KeyCode::Char('m' | 'j') if ctrl => self.submit_line(fx),
            KeyCode::Char('\n' | '\r') => self.submit_line(fx),
            KeyCode::Tab => self.set_focus(Focus::Input.next()),
            KeyCode::BackTab => self.set_focus(Focus::Input.prev()),
            KeyCode::Esc => {
                if self.input_text().is_empty() {
                    self.set_focus(Focus::Timeline);
                } else {
                    self.input = self.new_input(String::new());
                }
            }
            KeyCode::Up | KeyCode::Down | KeyCode::PageUp | KeyCode::PageDown => {
                // The line has nowhere to go: scroll the timeline instead.
                let delta = match key.code {
                    KeyCode::Up => -1,
                    KeyCode::Down => 1,
                    KeyCode::PageUp => -(self.timeline_page() as isize),
                    _ => self.timeline_page() as isize,
                };
                self.timeline_move(delta);
            }
            _ => {
                self.input.input(key);
                self.enforce_input();
            }
        }
    }

    /// One line, no control characters, at most 280 characters of text.
    fn enforce_input(&mut self) {
        let raw = self.input_text();
        let mut text: String = raw
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let limit = MAX_TWEET_CHARS + command::tweet_prefix_chars(&text);
        let count = text.chars().count();
        if count > limit {
            text = text.chars().take(limit).collect();
            self.say(
                Level::Error,
                format!("a tweet is at most {MAX_TWEET_CHARS} characters"),
            );
        }
        if text != raw || self.input.lines().len() > 1 {
            self.input = self.new_input(text);
        }
    }

    fn on_paste(&mut self, text: &str) {
        self.popup = None;
        self.set_focus(Focus::Input);
        let clean: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        self.input.insert_str(clean);
        self.enforce_input();
    }

    fn pane_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        match key.code {
            KeyCode::Tab => return self.set_focus(self.focus.next()),
            KeyCode::BackTab => return self.set_focus(self.focus.prev()),
            KeyCode::Char('i') | KeyCode::Enter => return self.set_focus(Focus::Input),
            KeyCode::Char('?') => {
                self.popup = Some(Popup::Help { scroll: 0 });
                return;
            }
            KeyCode::Char('p') => return self.toggle_pause(),
            KeyCode::Char(d @ '1'..='9') if self.demo => {
                return self.show_site(d as usize - '1' as usize, fx);
            }
            KeyCode::Char(c @ ('x' | 'r' | 'c' | 't')) if self.demo => {
                return self.demo_key(c, fx);
            }
            _ => {}
        }
        match self.focus {
            Focus::Timeline => self.timeline_key(key, fx),
            Focus::Blocks => self.blocks_key(key, fx),
            Focus::Trace => self.trace_key(key),
            Focus::Input => {}
        }
    }

    // ----- timeline -----------------------------------------------------

    /// The shown site's tweets sent and not yet in its timeline, oldest
    /// first: the timeline shows them above its newest tweet until they are
    /// decided and applied (or fail).
    pub fn pending_tweets(&self) -> impl Iterator<Item = &str> {
        self.pending.iter().filter_map(|p| match &p.op {
            PendingOp::Tweet(text) if p.site == self.shown => Some(text.as_str()),
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
    fn timeline_dims(&self) -> Option<(usize, usize)> {
        let a = self.areas()?.timeline;
        Some((
            (a.width as usize).saturating_sub(2),
            (a.height as usize)
                .saturating_sub(2)
                .saturating_sub(self.pending_rows())
                .max(1),
        ))
    }

    fn timeline_page(&self) -> usize {
        self.timeline_dims().map_or(1, |(_, h)| (h / 3).max(1))
    }

    /// Keeps the shown timeline's selection visible.
    pub fn fix_timeline(&mut self) {
        let Some((w, h)) = self.timeline_dims() else {
            return;
        };
        let m = &mut self.sites[self.shown];
        if let Some(state) = &m.state {
            m.timeline.fix(state, &m.name, w, h);
        }
    }

    fn timeline_move(&mut self, delta: isize) {
        self.site_mut().timeline.move_by(delta);
        self.fix_timeline();
    }

    fn timeline_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let page = self.timeline_page() as isize;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.timeline_move(-1),
            KeyCode::Down | KeyCode::Char('j') => self.timeline_move(1),
            KeyCode::PageUp => {
                self.site_mut().timeline.page_by(-page);
                self.fix_timeline();
            }
            KeyCode::PageDown => {
                self.site_mut().timeline.page_by(page);
                self.fix_timeline();
            }
            KeyCode::Home | KeyCode::Char('g') => {
                self.site_mut().timeline.home();
                self.fix_timeline();
            }
            KeyCode::End | KeyCode::Char('G') => {
                if let Some((w, h)) = self.timeline_dims() {
                    let m = &mut self.sites[self.shown];
                    if let Some(state) = &m.state {
                        m.timeline.end(state, &m.name, w, h);
                    }
                }
                self.fix_timeline();
            }
            KeyCode::Char('b') => {
                let m = self.site();
                let author = m
                    .state
                    .as_ref()
                    .and_then(|s| m.timeline.selected_tweet(s, &m.name))
                    .map(|t| t.user);
                match author {
                    Some(a) if a == m.name => self.say(
                        Level::Error,
                        "that is your own tweet: you cannot block yourself",
                    ),
                    Some(a) => {
                        self.block(a, fx);
                    }
                    None => self.say(Level::Info, "no tweet selected"),
                }
            }
            _ => {}
        }
    }

    // ----- blocks -------------------------------------------------------

    /// The block list of the shown site: every other user, blocked or not.
    pub fn block_rows(&self) -> Vec<BlockRow> {
        let m = self.site();
        self.sites
            .iter()
            .filter(|s| s.index != m.index)
            .map(|s| {
                let blocked = m
                    .state
                    .as_ref()
                    .is_some_and(|st| st.is_blocked(&m.name, &s.name));
                let blocks_me = m
                    .state
                    .as_ref()
                    .is_some_and(|st| st.is_blocked(&s.name, &m.name));
                let pending = self
                    .pending
                    .iter()
                    .filter(|p| p.site == m.index)
                    .find_map(|p| match &p.op {
                        PendingOp::Block(u) if *u == s.name => Some("blocking…"),
                        PendingOp::Unblock(u) if *u == s.name => Some("unblocking…"),
                        _ => None,
                    });
                BlockRow {
                    name: s.name.clone(),
                    site: s.index,
                    blocked,
                    pending,
                    blocks_me,
                }
            })
            .collect()
    }

    fn blocks_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let rows = self.block_rows();
        if rows.is_empty() {
            return;
        }
        let last = rows.len() - 1;
        let sel = self.site().block_sel.min(last);
        let row = &rows[sel];
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.site_mut().block_sel = sel.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.site_mut().block_sel = (sel + 1).min(last),
            KeyCode::Home | KeyCode::PageUp | KeyCode::Char('g') => self.site_mut().block_sel = 0,
            KeyCode::End | KeyCode::PageDown | KeyCode::Char('G') => {
                self.site_mut().block_sel = last
            }
            KeyCode::Char('b') => {
                self.block(row.name.clone(), fx);
            }
            KeyCode::Char('u') | KeyCode::Delete | KeyCode::Backspace => {
                self.unblock(row.name.clone(), fx);
            }
            KeyCode::Char(' ') => {
                if row.blocked {
                    self.unblock(row.name.clone(), fx);
                } else {
                    self.block(row.name.clone(), fx);
                }
            }
            _ => {}
        }
    }

    fn block(&mut self, user: String, fx: &mut Vec<Effect>) -> bool {
        let m = self.site();
        if let Some(state) = &m.state {
            if let Err(e) = state.check_block(&m.name, &user) {
                self.say(Level::Error, format!("✗ {e}"));
                return false;
            }
        }
        self.submit(PendingOp::Block(user.clone()), Request::Block(user), fx)
    }

    fn unblock(&mut self, user: String, fx: &mut Vec<Effect>) -> bool {
        let m = self.site();
        if let Some(state) = &m.state {
            if let Err(e) = state.check_unblock(&m.name, &user) {
                self.say(Level::Error, format!("✗ {e}"));
                return false;
            }
        }
        self.submit(PendingOp::Unblock(user.clone()), Request::Unblock(user), fx)
    }

    // ----- trace --------------------------------------------------------

    /// Rows the trace pane shows at once.
    fn trace_rows(&self) -> usize {
        self.areas()
            .map_or(1, |a| (a.trace.height as usize).saturating_sub(2).max(1))
    }

    fn reset_trace_scroll(&mut self) {
        let m = self.site_mut();
        m.tview.slot_offset = 0;
        if m.tview.paused {
            m.tview.anchor = m.trace.last_seq();
        } else {
            m.tview.anchor = None;
        }
    }

    fn toggle_pause(&mut self) {
        let m = self.site_mut();
        m.tview.paused = !m.tview.paused;
        if m.tview.paused {
            m.tview.anchor = m.tview.anchor.or(m.trace.last_seq());
            self.say(
                Level::Info,
                "trace paused: messages are still recorded (p resumes)",
            );
        } else {
            m.tview.anchor = None;
            self.say(Level::Info, "trace resumed");
        }
    }

    fn trace_scroll(&mut self, steps: isize) {
        let rows = self.trace_rows();
        let filter = self.filter;
        if self.per_slot {
            let m = self.site_mut();
            let count = m.trace.slots().count();
            m.tview.slot_offset = m
                .tview
                .slot_offset
                .saturating_add_signed(steps)
                .min(count.saturating_sub(1));
            return;
        }
        let m = self.site_mut();
        let bottom = m.tview.anchor;
        // The view shows `rows` rows ending at the bottom: never scroll the
        // bottom above the first screenful.
        let top_limit = m.trace.top_bottom(&filter, rows);
        let mut next = m.trace.step(&filter, bottom, steps);
        if let (Some(n), Some(t)) = (next, top_limit) {
            if n < t {
                next = Some(t);
            }
        }
        m.tview.anchor = match next {
            None if m.tview.paused => m.trace.last_seq(),
            other => other,
        };
    }

    fn trace_key(&mut self, key: KeyEvent) {
        let page = self.trace_rows().saturating_sub(1).max(1) as isize;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.trace_scroll(-1),
            KeyCode::Down | KeyCode::Char('j') => self.trace_scroll(1),
            KeyCode::PageUp => self.trace_scroll(-page),
            KeyCode::PageDown => self.trace_scroll(page),
            KeyCode::Home | KeyCode::Char('g') => {
                if self.per_slot {
                    let n = self.site().trace.slots().count();
                    self.site_mut().tview.slot_offset = n.saturating_sub(1);
                } else {
                    let rows = self.trace_rows();
                    let filter = self.filter;
                    let m = self.site_mut();
                    m.tview.anchor = m.trace.top_bottom(&filter, rows).or(m.tview.anchor);
                }
            }
            KeyCode::End | KeyCode::Char('G') => self.reset_trace_scroll(),
            KeyCode::Char('s') => {
                self.per_slot = !self.per_slot;
                self.say(
                    Level::Info,
                    if self.per_slot {
                        "trace: per-slot view (s: back to messages)"
                    } else {
                        "trace: messages (s: per-slot view)"
                    },
                );
            }
            KeyCode::Char('f') => {
                self.filter.kind = self.filter.kind.next();
                self.reset_trace_scroll();
                let label = match self.filter.kind {
                    KindFilter::Synod => "synod messages and events (plumbing hidden)",
                    KindFilter::All => "everything, heartbeats and catch-up included",
                    KindFilter::Events => "this site's events only",
                    KindFilter::Kind(k) => k.name(),
                };
                self.say(Level::Info, format!("trace filter: {label} (f: next)"));
            }
            KeyCode::Char('w') => {
                // All peers, then each other site in turn.
                let me = self.shown as SiteId;
                let n = self.sites.len() as SiteId;
                let next = self.filter.peer.map_or(0, |p| p + 1);
                self.filter.peer = (next..n).find(|&p| p != me);
                self.reset_trace_scroll();
                let text = match self.filter.peer {
                    Some(p) => format!(
                        "trace: only messages with {} (w: next)",
                        self.sites[p as usize].name
                    ),
                    None => "trace: messages with every peer (w: one peer)".to_string(),
                };
                self.say(Level::Info, text);
            }
            KeyCode::Char('/') => {
                self.popup = Some(Popup::SlotPrompt {
                    text: String::new(),
                })
            }
            KeyCode::Esc | KeyCode::Char('F') if self.filter.slot.is_some() => {
                self.filter.slot = None;
                self.reset_trace_scroll();
                self.say(Level::Info, "trace: all slots");
            }
            _ => {}
        }
    }

    // ----- mouse --------------------------------------------------------

    fn pane_at(&self, col: u16, row: u16) -> Option<Focus> {
        let a = self.areas()?;
        let p = Position::new(col, row);
        [
            (a.timeline, Focus::Timeline),
            (a.blocks, Focus::Blocks),
            (a.trace, Focus::Trace),
            (a.input, Focus::Input),
        ]
        .into_iter()
        .find(|(r, _)| r.contains(p))
        .map(|(_, f)| f)
    }

    fn on_mouse(&mut self, m: MouseEvent) {
        let target = self.pane_at(m.column, m.row);
        let delta = match m.kind {
            MouseEventKind::ScrollUp => -WHEEL,
            MouseEventKind::ScrollDown => WHEEL,
            MouseEventKind::Down(MouseButton::Left) => {
                if self.popup.is_none() {
                    if let Some(f) = target {
                        self.set_focus(f);
                    }
                }
                return;
            }
            _ => return,
        };
        if let Some(Popup::Help { scroll } | Popup::Log { scroll, .. }) = &mut self.popup {
            *scroll = scroll.saturating_add_signed(delta);
            let max = self.popup_max_scroll();
            if let Some(Popup::Help { scroll } | Popup::Log { scroll, .. }) = &mut self.popup {
                *scroll = (*scroll).min(max);
            }
            return;
        }
        match target {
            Some(Focus::Timeline) => self.timeline_move(delta),
            Some(Focus::Trace) => self.trace_scroll(delta),
            Some(Focus::Blocks) => {
                let n = self.block_rows().len();
                let m = self.site_mut();
                m.block_sel = m
                    .block_sel
                    .saturating_add_signed(delta.signum())
                    .min(n.saturating_sub(1));
            }
            _ => {}
        }
    }

    // ----- commands -----------------------------------------------------

    fn submit_line(&mut self, fx: &mut Vec<Effect>) {
        let line = self.input_text();
        let cmd = match command::parse(&line) {
            Ok(None) => return,
            Ok(Some(cmd)) => cmd,
            Err(usage) => {
                // The text stays in the box, to be corrected.
                self.say(Level::Error, usage.0);
                return;
            }
        };
        let done = match cmd {
            Command::Tweet(text) => match crate::state::check_tweet(&text) {
                Ok(text) => self.submit(PendingOp::Tweet(text.clone()), Request::Tweet(text), fx),
                Err(e) => {
                    self.say(Level::Error, format!("✗ {e}"));
                    false
                }
            },
            Command::Block(user) => self.block(user, fx),
            Command::Unblock(user) => self.unblock(user, fx),
            Command::View => {
                self.site_mut().timeline.home();
                self.fix_timeline();
                self.set_focus(Focus::Timeline);
                let m = self.site();
                let n = m.state.as_ref().map_or(0, |s| s.timeline_len(&m.name));
                self.say(Level::Info, format!("timeline of {}: {n} tweets", m.name));
                true
            }
            Command::Log(from) => {
                let from = from.unwrap_or_else(|| self.site().decided().saturating_sub(LOG_WINDOW));
                let req = Request::Log {
                    from: Some(from),
                    to: Some(from.saturating_add(LOG_WINDOW)),
                };
                self.submit(PendingOp::Log, req, fx)
            }
            Command::Help => {
                self.popup = Some(Popup::Help { scroll: 0 });
                true
            }
            Command::Quit => {
                self.quit = true;
                true
            }
        };
        if done {
            self.input = self.new_input(String::new());
        }
    }

    /// Sends a request to the shown site in the background.
    fn submit(&mut self, op: PendingOp, req: Request, fx: &mut Vec<Effect>) -> bool {
        let m = self.site();
        if !m.up {
            let what = if self.demo {
                format!("{} is down: press r (on a pane) to restart it", m.name)
            } else {
                format!("{} is not running", m.name)
            };
            self.say(Level::Error, what);
            return false;
        }
        let site = m.index;
        if let PendingOp::Block(u) | PendingOp::Unblock(u) = &op {
            let dup = self.pending.iter().any(|p| {
                p.site == site
                    && matches!(&p.op, PendingOp::Block(v) | PendingOp::Unblock(v) if v == u)
            });
            if dup {
                self.say(
                    Level::Error,
                    format!("a block or unblock of {u} is already pending"),
                );
                return false;
            }
        }
        self.next_tag += 1;
        let tag = self.next_tag;
        let text = match &op {
            PendingOp::Tweet(t) => format!("posting \"{}\"…", super::text::fit(t, 40)),
            PendingOp::Block(u) => format!("blocking {u}…"),
            PendingOp::Unblock(u) => format!("unblocking {u}…"),
            PendingOp::Log => "fetching the log…".to_string(),
        };
        self.say(Level::Pending, text);
        self.pending.push(Pending {
            tag,
            site,
            op,
            decided_slot: None,
        });
        // A pending tweet takes a row of the timeline pane.
        self.fix_timeline();
        fx.push(Effect::Request { site, tag, req });
        true
    }

    fn on_reply(&mut self, tag: u64, resp: Response) {
        let Some(i) = self.pending.iter().position(|p| p.tag == tag) else {
            return;
        };
        let site = self.pending[i].site;
        let name = self.sites[site].name.clone();
        let reason = || match resp.body.as_str() {
            Some(s) => s.to_string(),
            None => resp.body.to_string(),
        };
        let slot = resp.body.get("slot").and_then(|s| s.as_u64());
        let op = self.pending[i].op.clone();
        if !resp.is_ok() {
            self.pending.remove(i);
            self.fix_timeline();
            let what = match &op {
                PendingOp::Tweet(_) => "tweet not posted".to_string(),
                PendingOp::Block(u) => format!("block {u} failed"),
                PendingOp::Unblock(u) => format!("unblock {u} failed"),
                PendingOp::Log => "log unavailable".to_string(),
            };
            self.say(
                Level::Error,
                format!("✗ {what} ({}): {}", resp.stat, reason()),
            );
            return;
        }
        match op {
            PendingOp::Log => {
                self.pending.remove(i);
                let lines = log_lines(&resp.body);
                let decided = self.sites[site].decided();
                let mut title = match (lines.first(), lines.last()) {
                    (Some(a), Some(b)) => format!(
                        "Decided log of {name}: slots {}..{} ({} entries)",
                        a.slot,
                        b.slot,
                        lines.len()
                    ),
                    _ => format!("Decided log of {name}: no slots there"),
                };
                let whole = lines.first().is_some_and(|l| l.slot == 0)
                    && lines.last().is_some_and(|l| l.slot + 1 >= decided);
                if !whole && decided > 0 {
                    title.push_str(&format!(
                        " of 0..{} · /log <slot> shows {LOG_WINDOW} from there",
                        decided - 1
                    ));
                }
                let scroll = lines.len();
                self.popup = Some(Popup::Log {
                    site,
                    title,
                    lines,
                    scroll,
                });
                let max = self.popup_max_scroll();
                if let Some(Popup::Log { scroll, .. }) = &mut self.popup {
                    *scroll = (*scroll).min(max);
                }
                self.note = None;
            }
            op => {
                let slot_txt = slot.map_or_else(|| "?".to_string(), |s| s.to_string());
                let text = match &op {
                    PendingOp::Tweet(t) => format!(
                        "✓ tweet decided in slot {slot_txt}: \"{}\"",
                        super::text::fit(t, 50)
                    ),
                    PendingOp::Block(u) => format!("✓ {name} blocks {u} (slot {slot_txt})"),
                    PendingOp::Unblock(u) => format!("✓ {name} unblocks {u} (slot {slot_txt})"),
                    PendingOp::Log => String::new(),
                };
                self.say(Level::Ok, text);
                self.pending[i].decided_slot = Some(slot.unwrap_or(0));
                self.settle_pending();
            }
        }
    }

    /// Drops answered operations whose slot is applied here.
    fn settle_pending(&mut self) {
        let sites = &self.sites;
        self.pending.retain(|p| match p.decided_slot {
            None => true,
            Some(slot) => sites[p.site]
                .state
                .as_ref()
                .is_none_or(|s| s.next_slot() <= slot),
        });
        self.fix_timeline();
    }

    // ----- site events --------------------------------------------------

    fn on_site(&mut self, site: usize, ev: SiteEvent) -> bool {
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
                m.status = Some(status);
                m.up = true;
                m.timeline = TimelineView::default();
                if shown {
                    self.fix_timeline();
                }
                self.settle_pending();
                shown
            }
            SiteEvent::Status(status) => {
                m.status = Some(status);
                shown
            }
            SiteEvent::Trace { at_ms, event } => {
                m.trace.push(at_ms, event);
                shown
            }
            SiteEvent::Committed { slot, value } => {
                if let Some(safety) = &mut self.safety {
                    safety.observe(site, slot, &value);
                }
                self.on_committed(site, slot, &value);
                true
            }
        }
    }

    fn on_committed(&mut self, site: usize, slot: Slot, value: &Value) {
        let m = &mut self.sites[site];
        let Some(state) = &mut m.state else {
            return;
        };
        if slot != state.next_slot() {
            // A duplicate (already in the snapshot) or a gap; the runtime
            // sends them in order, so a gap cannot happen.
            return;
        }
        if state.apply(slot, value).is_err() {
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
            self.fix_timeline();
        }
        self.settle_pending();
    }

    // ----- demo ---------------------------------------------------------

    fn show_site(&mut self, i: usize, fx: &mut Vec<Effect>) {
        if !self.demo {
            return;
        }
        if i >= self.sites.len() {
            self.say(
                Level::Error,
                format!(
                    "there are {} sites (1..{})",
                    self.sites.len(),
                    self.sites.len()
                ),
            );
            return;
        }
        self.shown = i;
        // A site exchanges no messages with itself.
        if self.filter.peer == Some(i as SiteId) {
            self.filter.peer = None;
        }
        self.fix_timeline();
        let m = self.site();
        let state = if m.up { "" } else { " (down: r restarts it)" };
        self.say(
            Level::Info,
            format!("showing site {} {}{state}", i + 1, m.name),
        );
        fx.push(Effect::Demo(DemoCmd::Shown(i)));
    }

    fn demo_key(&mut self, c: char, fx: &mut Vec<Effect>) {
        let i = self.shown;
        let m = &self.sites[i];
        let name = m.name.clone();
        match c {
            'x' if m.up => {
                fx.push(Effect::Demo(DemoCmd::Crash(i)));
                self.say(Level::Pending, format!("crashing {name}…"));
            }
            'x' => self.say(
                Level::Info,
                format!("{name} is already down (r restarts it)"),
            ),
            'r' if !m.up => {
                fx.push(Effect::Demo(DemoCmd::Restart(i)));
                self.say(
                    Level::Pending,
                    format!("restarting {name} from its data dir…"),
                );
            }
            'r' => self.say(Level::Info, format!("{name} is running (x crashes it)")),
            'c' => {
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
            't' => {
                let on = !self.chatter;
                fx.push(Effect::Demo(DemoCmd::Chatter(on)));
            }
            _ => {}
        }
    }

    fn on_demo(&mut self, ev: DemoEvent) {
        match ev {
            DemoEvent::Down { site, reason } => {
                let Some(m) = self.sites.get_mut(site) else {
                    return;
                };
                m.up = false;
                let at = m.trace.last_ms();
                m.trace.note(at, format!("{} crashed", m.name));
                let text = match reason {
                    Some(r) => format!("{} stopped: {r}", m.name),
                    None => format!("{} crashed (its data dir is kept; r restarts it)", m.name),
                };
                self.say(Level::Info, text);
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
            DemoEvent::Error(e) => self.say(Level::Error, e),
        }
    }
}

/// The `/log` answer as lines.
fn log_lines(body: &serde_json::Value) -> Vec<LogLine> {
    let s = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    body.as_array()
        .map(|rows| {
            rows.iter()
                .map(|e| {
                    let op = &e["op"];
                    let author = op["user"].as_str().map(str::to_string);
                    let what = match op["kind"].as_str() {
                        Some("tweet") => format!("tweets: {}", s(&op["text"])),
                        Some("block") => format!("blocks {}", s(&op["target"])),
                        Some("unblock") => format!("unblocks {}", s(&op["target"])),
                        _ => "no-op".to_string(),
                    };
                    LogLine {
                        slot: e["slot"].as_u64().unwrap_or(0),
                        author,
                        what,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}
