//! The Paxos trace pane: the shown site's message log (or its per-slot
//! view), its filters, pausing and scrolling. The rows themselves are
//! recorded in [`TraceBuf`] whatever the pane shows.

use super::{bordered, drawable, spacetime, Ask, Level};
use crate::paxos::{Ballot, Dir, Membership, MsgKind, SiteId, Slot, TraceEvent};
use crate::ui::keys::{ch, code, help_only, in_footer, KeyHelp};
use crate::ui::seen::Diagram;
use crate::ui::text::{pad, width};
use crate::ui::theme::{EventStyle, Theme};
use crate::ui::trace_buf::{Filter, KindFilter, RowEvent, SlotInfo, TraceBuf, TraceRow};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// What the trace shows, whichever site is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceSettings {
    pub filter: Filter,
    /// The per-slot view instead of the message log.
    pub per_slot: bool,
    /// A view of every site instead (it takes the whole body of the screen).
    pub wide: Option<Wide>,
}

/// The trace pane's views of every site (SPEC 9 "Seeing a round").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wide {
    /// The space-time diagram (`d`).
    SpaceTime,
    /// The log grid (`l`).
    Grid,
}

/// Pause and scroll position of a site's trace pane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceView {
    /// Paused: the view does not follow new rows.
    pub paused: bool,
    /// The seq of the bottom row shown; `None` follows the newest row.
    pub anchor: Option<u64>,
    /// First slot row shown in the per-slot view (newest first).
    pub slot_offset: usize,
    /// The seq of the space-time pane's bottom row; `None` follows.
    pub st_anchor: Option<u64>,
    /// Slots of the log grid below the view (0: the newest shown).
    pub grid_back: usize,
}

// ----- keys -------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Scroll this many rows down (up when negative).
    Scroll(isize),
    /// Scroll this many pages.
    Page(isize),
    Oldest,
    /// Back to the newest row (following it unless paused).
    Newest,
    PerSlot,
    SpaceTime,
    Grid,
    NextKind,
    NextPeer,
    SlotPrompt,
    ClearSlot,
}

pub const KEYS: &[KeyHelp] = &[
    in_footer(
        "↑/↓ k/j PgUp/PgDn",
        &[
            code(KeyCode::Up),
            ch('k'),
            code(KeyCode::Down),
            ch('j'),
            code(KeyCode::PageUp),
            code(KeyCode::PageDown),
        ],
        ("↑↓", "scroll"),
        "scroll the trace (or the slots)",
    ),
    in_footer(
        "s",
        &[ch('s')],
        ("s", "slots"),
        "switch between the message log and the per-slot view",
    ),
    in_footer(
        "d / l",
        &[ch('d'), ch('l')],
        ("d/l", "diagram/grid"),
        "every site on the whole screen: d the space-time diagram (a column per site, an arrow per message), l the log grid (slots by sites: promised, accepted, decided); again: back",
    ),
    in_footer(
        "f",
        &[ch('f')],
        ("f", "kind"),
        "cycle the kind filter: synod (default: heartbeat, forward and fetch plumbing hidden), all, one kind, events",
    ),
    in_footer(
        "/",
        &[ch('/')],
        ("/", "slot"),
        "filter by slot (type a number, Enter; empty clears)",
    ),
    in_footer(
        "w",
        &[ch('w')],
        ("w", "peer"),
        "cycle the peer filter: all peers, then only the messages with each one",
    ),
    help_only(
        "Home/End g/G",
        &[code(KeyCode::Home), ch('g'), code(KeyCode::End), ch('G')],
        "jump to the oldest/newest row (End follows new rows)",
    ),
    help_only(
        "Esc / F",
        &[code(KeyCode::Esc), ch('F')],
        "clear the slot filter",
    ),
];

pub fn action(key: &KeyEvent) -> Option<Action> {
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Scroll(-1),
        KeyCode::Down | KeyCode::Char('j') => Action::Scroll(1),
        KeyCode::PageUp => Action::Page(-1),
        KeyCode::PageDown => Action::Page(1),
        KeyCode::Home | KeyCode::Char('g') => Action::Oldest,
        KeyCode::End | KeyCode::Char('G') => Action::Newest,
        KeyCode::Char('s') => Action::PerSlot,
        KeyCode::Char('d') => Action::SpaceTime,
        KeyCode::Char('l') => Action::Grid,
        KeyCode::Char('f') => Action::NextKind,
        KeyCode::Char('w') => Action::NextPeer,
        KeyCode::Char('/') => Action::SlotPrompt,
        KeyCode::Esc | KeyCode::Char('F') => Action::ClearSlot,
        _ => return None,
    })
}

/// The shown site's trace, as the pane's keys see it.
pub struct TracePane<'a> {
    pub settings: &'a mut TraceSettings,
    pub buf: &'a TraceBuf,
    pub view: &'a mut TraceView,
    /// Rows the pane shows at once.
    pub rows: usize,
    /// The shown site.
    pub me: SiteId,
    /// Every site's name.
    pub names: &'a [String],
    /// Every site's events, for the space-time pane.
    pub diagram: &'a Diagram,
    /// Slots in the log grid.
    pub grid_slots: usize,
}

impl TracePane<'_> {
    pub fn apply(&mut self, action: Action) -> Ask {
        let page = self.rows.saturating_sub(1).max(1) as isize;
        match action {
            Action::Scroll(n) => self.scroll(n),
            Action::Page(n) => self.scroll(n * page),
            Action::Oldest => self.scroll_to_oldest(),
            Action::Newest => self.reset_scroll(),
            Action::SpaceTime => return self.switch_wide(Wide::SpaceTime),
            Action::Grid => return self.switch_wide(Wide::Grid),
            Action::PerSlot => {
                self.settings.wide = None;
                self.settings.per_slot = !self.settings.per_slot;
                return Ask::say(
                    Level::Info,
                    if self.settings.per_slot {
                        "trace: per-slot view (s: back to messages)"
                    } else {
                        "trace: messages (s: per-slot view)"
                    },
                );
            }
            Action::NextKind => return self.next_kind(),
            Action::NextPeer => return self.next_peer(),
            Action::SlotPrompt => return Ask::SlotPrompt,
            Action::ClearSlot if self.settings.filter.slot.is_some() => {
                return self.filter_slot(None)
            }
            Action::ClearSlot => {}
        }
        Ask::Nothing
    }

    fn switch_wide(&mut self, wide: Wide) -> Ask {
        let on = self.settings.wide != Some(wide);
        self.settings.wide = on.then_some(wide);
        self.reset_scroll();
        Ask::say(
            Level::Info,
            match (wide, on) {
                (Wide::SpaceTime, true) => {
                    "space-time: a column per site, an arrow per message (d: back to the trace)"
                }
                (Wide::Grid, true) => {
                    "log grid: a row per slot, a column per site (l: back to the trace)"
                }
                (_, false) => "trace: messages",
            },
        )
    }

    /// Back to the bottom: the newest row, or (paused) the newest row as
    /// of now.
    pub fn reset_scroll(&mut self) {
        self.view.slot_offset = 0;
        self.view.grid_back = 0;
        self.view.st_anchor = if self.view.paused {
            self.diagram.last_seq()
        } else {
            None
        };
        self.view.anchor = if self.view.paused {
            self.buf.last_seq()
        } else {
            None
        };
    }

    pub fn toggle_pause(&mut self) -> Ask {
        let v = &mut *self.view;
        v.paused = !v.paused;
        if v.paused {
            v.anchor = v.anchor.or(self.buf.last_seq());
            v.st_anchor = v.st_anchor.or(self.diagram.last_seq());
            Ask::say(
                Level::Info,
                "trace paused: messages are still recorded (p resumes)",
            )
        } else {
            v.anchor = None;
            v.st_anchor = None;
            Ask::say(Level::Info, "trace resumed")
        }
    }

    /// Shows only `slot` (`None`: every slot).
    pub fn filter_slot(&mut self, slot: Option<Slot>) -> Ask {
        self.settings.filter.slot = slot;
        self.reset_scroll();
        match slot {
            Some(s) => Ask::say(Level::Info, format!("trace: slot {s} only (Esc clears)")),
            None => Ask::say(Level::Info, "trace: all slots"),
        }
    }

    pub fn scroll(&mut self, steps: isize) {
        let filter = &self.settings.filter;
        match self.settings.wide {
            Some(Wide::SpaceTime) => {
                let next = spacetime::step(
                    self.diagram,
                    filter,
                    self.view.st_anchor,
                    steps,
                    self.rows.saturating_sub(1),
                );
                self.view.st_anchor = match next {
                    None if self.view.paused => self.diagram.last_seq(),
                    other => other,
                };
                return;
            }
            Some(Wide::Grid) => {
                let back = self.view.grid_back.saturating_add_signed(-steps);
                self.view.grid_back = back.min(self.grid_slots.saturating_sub(1));
                return;
            }
            None => {}
        }
        if self.settings.per_slot {
            let count = self.buf.slots().count();
            self.view.slot_offset = self
                .view
                .slot_offset
                .saturating_add_signed(steps)
                .min(count.saturating_sub(1));
            return;
        }
        // The view shows `rows` rows ending at the bottom: never scroll the
        // bottom above the first screenful.
        let top_limit = self.buf.bottom_of_first_page(filter, self.rows);
        let mut next = self.buf.step(filter, self.view.anchor, steps);
        if let (Some(n), Some(t)) = (next, top_limit) {
            if n < t {
                next = Some(t);
            }
        }
        self.view.anchor = match next {
            None if self.view.paused => self.buf.last_seq(),
            other => other,
        };
    }

    fn scroll_to_oldest(&mut self) {
        if self.settings.wide.is_some() {
            self.scroll(isize::MIN / 2);
        } else if self.settings.per_slot {
            self.view.slot_offset = self.buf.slots().count().saturating_sub(1);
        } else {
            let first = self
                .buf
                .bottom_of_first_page(&self.settings.filter, self.rows);
            self.view.anchor = first.or(self.view.anchor);
        }
    }

    fn next_kind(&mut self) -> Ask {
        let kind = self.settings.filter.kind.next();
        self.settings.filter.kind = kind;
        self.reset_scroll();
        let label = match kind {
            KindFilter::Synod => "synod messages and events (plumbing hidden)",
            KindFilter::All => "everything, heartbeats and catch-up included",
            KindFilter::Events => "this site's events only",
            KindFilter::Kind(k) => k.name(),
        };
        Ask::say(Level::Info, format!("trace filter: {label} (f: next)"))
    }

    /// All peers, then each other site in turn.
    fn next_peer(&mut self) -> Ask {
        let n = self.names.len() as SiteId;
        let next = self.settings.filter.peer.map_or(0, |p| p + 1);
        self.settings.filter.peer = (next..n).find(|&p| p != self.me);
        self.reset_scroll();
        Ask::say(
            Level::Info,
            match self.settings.filter.peer {
                Some(p) => format!(
                    "trace: only messages with {} (w: next)",
                    self.names[p as usize]
                ),
                None => "trace: messages with every peer (w: one peer)".to_string(),
            },
        )
    }
}

// ----- drawing ----------------------------------------------------------

/// What the trace pane shows.
pub struct TraceProps<'a> {
    pub theme: &'a Theme,
    pub focused: bool,
    pub settings: &'a TraceSettings,
    pub buf: &'a TraceBuf,
    pub view: &'a TraceView,
    /// Every site's name.
    pub names: &'a [String],
}

impl TraceProps<'_> {
    fn site_name(&self, site: SiteId) -> String {
        self.names
            .get(site as usize)
            .cloned()
            .unwrap_or_else(|| site.to_string())
    }

    fn ballot(&self, b: Ballot) -> String {
        format!("({},{})", b.round, self.site_name(b.site))
    }
}

pub fn draw(p: &TraceProps, frame: &mut Frame, area: Rect) {
    if !drawable(area) {
        return;
    }
    let t = p.theme;
    let filter = &p.settings.filter;
    let block = bordered(t, heading(p), p.focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width < 2 {
        return;
    }
    let h = inner.height as usize;
    if p.settings.per_slot {
        frame.render_widget(Paragraph::new(slot_lines(p, h)), inner);
        return;
    }
    let rows = p.buf.view(filter, p.view.anchor, h);
    if rows.is_empty() {
        let hint = if filter.kind == KindFilter::Synod && filter.slot.is_none() {
            "no Paxos messages yet (f: filters, s: per-slot view)"
        } else {
            "no rows match the filter (f: next filter, Esc: all slots)"
        };
        frame.render_widget(Paragraph::new(Span::styled(hint, t.dim())), inner);
        return;
    }
    let peer_w = p.names.iter().map(|s| width(s)).max().unwrap_or(1).min(8);
    let lines: Vec<Line> = rows.iter().map(|r| trace_line(p, r, peer_w)).collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The title: the view, the filters, and whether it follows new rows.
fn heading(p: &TraceProps) -> String {
    let filter = &p.settings.filter;
    let mut head = String::from(" Paxos trace");
    if p.settings.per_slot {
        head.push_str(" · per slot");
    }
    head.push_str(&format!(" · {}", filter.kind.label()));
    if let Some(s) = filter.slot {
        head.push_str(&format!(" · slot {s}"));
    }
    if let Some(peer) = filter.peer {
        head.push_str(&format!(" · with {}", p.site_name(peer)));
    }
    let bottom = p.view.anchor;
    if p.view.paused {
        let newer = p.buf.newer_than(filter, bottom);
        head.push_str(&format!(" · PAUSED +{newer}"));
    } else if bottom.is_some() && !p.settings.per_slot {
        let newer = p.buf.newer_than(filter, bottom);
        head.push_str(&format!(" · ↓{newer} newer (End)"));
    }
    head.push(' ');
    head
}

fn fmt_ms(ms: u64) -> String {
    format!("{:>3}.{:03}", ms / 1000, ms % 1000)
}

/// One row of the message log.
fn trace_line<'a>(p: &TraceProps, row: &TraceRow, peer_w: usize) -> Line<'a> {
    let t = p.theme;
    let mut spans = vec![Span::styled(fmt_ms(row.at_ms), t.dim()), Span::raw(" ")];
    let slot_txt = |s: Option<u64>| pad(&s.map_or(String::new(), |s| format!("#{s}")), 4);
    match &row.event {
        RowEvent::Note(text) => {
            spans.push(Span::styled(format!("• {text}"), t.event(EventStyle::Note)));
        }
        RowEvent::Trace(TraceEvent::Message {
            dir,
            peer,
            kind,
            slot,
            ballot,
            value,
        }) => {
            let arrow = match dir {
                Dir::Sent => "→",
                Dir::Received => "←",
            };
            spans.push(Span::styled(arrow, t.kind(*kind)));
            spans.push(Span::raw(format!(" {} ", pad(&p.site_name(*peer), peer_w))));
            spans.push(Span::styled(pad(kind.name(), 8), t.kind(*kind)));
            spans.push(Span::raw(format!(" {} ", slot_txt(*slot))));
            if let Some(b) = ballot {
                spans.push(Span::styled(p.ballot(*b), t.dim()));
            }
            if let Some(v) = value {
                spans.push(Span::raw(format!(" {v}")));
            }
        }
        RowEvent::Trace(ev) => {
            let (sym, word, style, slot, rest) = event_parts(p, ev);
            spans.push(Span::styled(sym, style));
            spans.push(Span::raw(format!(" {} ", pad("", peer_w))));
            spans.push(Span::styled(pad(word, 8), style));
            spans.push(Span::raw(format!(" {} ", slot_txt(slot))));
            spans.push(Span::raw(rest));
        }
    }
    Line::from(spans)
}

/// A site's own event (not a message): symbol, word, style, slot, the rest.
fn event_parts(
    p: &TraceProps,
    ev: &TraceEvent,
) -> (&'static str, &'static str, Style, Option<Slot>, String) {
    let t = p.theme;
    match ev {
        TraceEvent::Proposed {
            slot,
            ballot,
            value,
            recovered,
        } => (
            "★",
            "proposed",
            t.event(EventStyle::Proposed),
            Some(*slot),
            format!(
                "{} {value}{}",
                p.ballot(*ballot),
                if *recovered { " (recovered)" } else { "" }
            ),
        ),
        TraceEvent::Decided { slot, value, own } => match own {
            Some(true) => (
                "✓",
                "won",
                t.event(EventStyle::Won),
                Some(*slot),
                format!("{value} · our proposal won"),
            ),
            Some(false) => (
                "✗",
                "lost",
                t.event(EventStyle::Lost),
                Some(*slot),
                format!("{value} · ours lost, retrying later"),
            ),
            None => (
                "✓",
                "decided",
                t.event(EventStyle::Decided),
                Some(*slot),
                value.clone(),
            ),
        },
        TraceEvent::Leader { leader, ballot } => (
            "♛",
            "leader",
            t.event(EventStyle::Leader),
            None,
            match leader {
                Some(l) => format!("{} {}", p.site_name(*l), p.ballot(*ballot)),
                None => "none".to_string(),
            },
        ),
        TraceEvent::Election { ballot, from_slot } => (
            "⚑",
            "election",
            t.event(EventStyle::Election),
            Some(*from_slot),
            format!("{} for slots #{from_slot}…", p.ballot(*ballot)),
        ),
        TraceEvent::Membership(m) => (
            "⟳",
            m.name(),
            t.event(EventStyle::Election),
            None,
            match m {
                Membership::Voting => "this site votes".to_string(),
                Membership::Joining => "empty data dir: asking peers for history".to_string(),
                Membership::Rejoining => {
                    "peers hold history: learning, not voting until safe".to_string()
                }
            },
        ),
        TraceEvent::Message { .. } => unreachable!("messages have rows of their own"),
    }
}

/// The per-slot view: for each recent slot (newest first) its phase chain,
/// then its value and outcome.
fn slot_lines<'a>(p: &TraceProps, h: usize) -> Vec<Line<'a>> {
    let t = p.theme;
    let sites = p.names.len();
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "k/{sites} = votes incl. own, ✓ = quorum of {}",
            sites / 2 + 1
        ),
        t.dim(),
    ))];
    let filter = &p.settings.filter;
    let slots = p
        .buf
        .slots()
        .filter(|s| filter.slot.is_none_or(|f| f == s.slot))
        .skip(p.view.slot_offset);
    for s in slots {
        if lines.len() >= h {
            break;
        }
        lines.push(phase_line(p, s));
        if lines.len() >= h {
            break;
        }
        lines.push(outcome_line(t, s));
    }
    if lines.len() == 1 {
        lines.push(Line::from(Span::styled("no slots yet", t.dim())));
    }
    lines
}

/// `#7    prepare→promise 3/5✓→accept→ack 4/5✓→commit`
fn phase_line<'a>(p: &TraceProps, s: &SlotInfo) -> Line<'a> {
    let t = p.theme;
    let phases = s.phases(p.names.len(), p.names);
    let mut spans = vec![Span::styled(
        format!("#{:<4} ", s.slot),
        Style::default().add_modifier(Modifier::BOLD),
    )];
    for (i, phase) in phases.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("→", t.dim()));
        }
        let kind = phase.split(['←', ' ', '→', '×']).next().unwrap_or("");
        let style = MsgKind::ALL
            .iter()
            .find(|k| k.name() == kind)
            .map_or(t.event(EventStyle::Decided), |k| t.kind(*k));
        spans.push(Span::styled(phase.clone(), style));
    }
    if phases.is_empty() {
        spans.push(Span::styled("(no messages seen)", t.dim()));
    }
    Line::from(spans)
}

/// `   = alice: hi  our proposal won`
fn outcome_line<'a>(t: &Theme, s: &SlotInfo) -> Line<'a> {
    let (value, style) = match (&s.decided, &s.value) {
        (Some(v), _) => (format!("= {v}"), t.plain()),
        (None, Some(v)) => (format!("? {v} (not decided yet)"), t.pending()),
        (None, None) => ("? (no value yet)".to_string(), t.dim()),
    };
    let mut spans = vec![Span::raw("   "), Span::styled(value, style)];
    match s.own {
        Some(true) => spans.push(Span::styled("  our proposal won", t.event(EventStyle::Won))),
        Some(false) => spans.push(Span::styled("  ours lost", t.event(EventStyle::Lost))),
        None => {}
    }
    if s.recovered {
        spans.push(Span::styled("  (recovered)", t.dim()));
    }
    Line::from(spans)
}
