//! Drawing: a pure function of the [`App`] state. Nothing here changes
//! the state or touches more of the timeline than is visible.

use super::app::{App, Focus, Level, Popup, SiteModel};
use super::keys::{self, KeyHelp, Section};
use super::text::{fit, pad, width};
use super::theme::EventStyle;
use super::timeline::{self, TEXT_INDENT};
use super::trace::{KindFilter, RowEvent, TraceRow};
use crate::paxos::{Ballot, Dir, TraceEvent};
use crate::state::MAX_TWEET_CHARS;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Clear, List, ListItem, ListState, Paragraph, Scrollbar,
    ScrollbarOrientation, ScrollbarState, Wrap,
};
use ratatui::Frame;

/// The smallest terminal the layout fits in.
pub const MIN_W: u16 = 60;
pub const MIN_H: u16 = 16;

/// Where everything goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    pub status: Rect,
    pub timeline: Rect,
    pub blocks: Rect,
    pub trace: Rect,
    pub input: Rect,
    pub message: Rect,
    pub footer: Rect,
}

/// The layout for a terminal of `area`; `None` when it is too small.
pub fn layout(area: Rect) -> Option<Areas> {
    if area.width < MIN_W || area.height < MIN_H {
        return None;
    }
    let [status, body, input, message, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let right_w = (area.width * 48 / 100).clamp(28, 90);
    let [timeline, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_w)]).areas(body);
    let blocks_h = 9.min(body.height / 3).max(3);
    let [blocks, trace] =
        Layout::vertical([Constraint::Length(blocks_h), Constraint::Min(0)]).areas(right);
    Some(Areas {
        status,
        timeline,
        blocks,
        trace,
        input,
        message,
        footer,
    })
}

/// Where a popup goes.
pub fn popup_area(area: Rect) -> Rect {
    let w = area.width.saturating_sub(6).min(110);
    let h = area.height.saturating_sub(4);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Draws the whole screen.
pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let Some(a) = layout(area) else {
        draw_too_small(app, frame, area);
        return;
    };
    draw_status(app, frame, a.status);
    draw_timeline(app, frame, a.timeline);
    draw_blocks(app, frame, a.blocks);
    draw_trace(app, frame, a.trace);
    draw_input(app, frame, a.input);
    draw_message(app, frame, a.message);
    draw_footer(app, frame, a.footer);
    match &app.popup {
        Some(Popup::Help { scroll }) => {
            let lines = help_lines(app);
            draw_popup(
                app,
                frame,
                area,
                " Help · every key (↑↓ PgUp/PgDn scroll · Esc closes) ",
                lines,
                *scroll,
            );
        }
        Some(Popup::Log {
            title,
            lines,
            scroll,
            ..
        }) => {
            let lines: Vec<Line> = lines
                .iter()
                .map(|l| {
                    let author = l.author.clone().unwrap_or_default();
                    let site = app.sites.iter().position(|s| s.name == author);
                    Line::from(vec![
                        Span::styled(format!("slot {:>6}  ", l.slot), app.theme.dim()),
                        Span::styled(
                            pad(&author, 9),
                            site.map_or(app.theme.dim(), |i| app.theme.author(i)),
                        ),
                        Span::raw(l.what.clone()),
                    ])
                })
                .collect();
            let title = format!(" {title} (↑↓ scroll · Esc closes) ");
            draw_popup(app, frame, area, &title, lines, *scroll);
        }
        Some(Popup::SlotPrompt { text }) => draw_slot_prompt(app, frame, area, text),
        None => {}
    }
}

/// `n thing` or `n things`.
pub fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

fn ok_area(r: Rect) -> bool {
    r.width > 1 && r.height > 1
}

fn draw_too_small(app: &App, frame: &mut Frame, area: Rect) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let text = format!(
        "terminal too small (need at least {MIN_W}×{MIN_H}, have {}×{})",
        area.width, area.height
    );
    let p = Paragraph::new(text)
        .style(app.theme.warn())
        .wrap(Wrap { trim: true });
    frame.render_widget(p, area);
}

fn pane<'a>(app: &App, title: Line<'a>, focused: bool) -> Block<'a> {
    Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(app.theme.border(focused))
        .title(title)
}

fn title<'a>(app: &App, text: String, focused: bool) -> Line<'a> {
    Line::from(Span::styled(text, app.theme.title(focused)))
}

// ----- status line ------------------------------------------------------

fn draw_status(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let m = app.site();
    let sep = || Span::styled(" │ ", t.dim());
    let mut spans = Vec::new();
    if app.demo {
        spans.push(Span::styled(
            format!(" [{}/{}] ", m.index + 1, app.sites.len()),
            t.dim(),
        ));
    } else {
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(m.name.clone(), t.author(m.index)));
    if !m.up {
        spans.push(Span::styled(" CRASHED (r restarts)", t.error()));
    } else if m.state.is_none() {
        spans.push(Span::styled(" starting…", t.pending()));
    } else if m.restarts > 0 {
        spans.push(Span::styled(" restarted", t.ok()));
    }
    if m.cut_off {
        spans.push(Span::styled(" CUT OFF (c heals)", t.warn()));
    }
    spans.push(sep());
    let leader = m
        .status
        .as_ref()
        .filter(|_| m.up)
        .and_then(|s| s.leader)
        .map(|l| {
            let name = app
                .sites
                .get(l as usize)
                .map_or_else(|| l.to_string(), |s| s.name.clone());
            if l as usize == m.index {
                format!("{name} (me)")
            } else {
                name
            }
        })
        .unwrap_or_else(|| "none".to_string());
    spans.push(Span::raw(format!("leader: {leader}")));
    spans.push(sep());
    spans.push(Span::raw(format!("decided: {}", m.decided())));
    if let Some(safety) = &app.safety {
        spans.push(sep());
        match safety.violation() {
            None => spans.push(Span::styled(
                format!("safety holds ({})", plural(safety.slots(), "slot")),
                t.ok(),
            )),
            Some(slot) => spans.push(Span::styled(
                format!("SAFETY VIOLATED at slot {slot}"),
                t.error().add_modifier(Modifier::REVERSED),
            )),
        }
    }
    spans.push(sep());
    spans.push(Span::raw("peers: "));
    match (&m.status, m.up) {
        (Some(status), true) => {
            for (i, p) in status.peers.iter().enumerate() {
                if i > 0 {
                    spans.push(Span::raw(", "));
                }
                let (word, style) = if p.connected {
                    ("up", t.ok())
                } else {
                    ("down", t.error())
                };
                spans.push(Span::raw(format!("{} ", p.name)));
                spans.push(Span::styled(word, style));
            }
        }
        _ => spans.push(Span::styled("unknown", t.dim())),
    }
    if app.chatter {
        spans.push(sep());
        spans.push(Span::styled("chatter", t.pending()));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(t.status_bar()),
        area,
    );
}

// ----- timeline ---------------------------------------------------------

fn draw_timeline(app: &App, frame: &mut Frame, area: Rect) {
    if !ok_area(area) {
        return;
    }
    let t = &app.theme;
    let m = app.site();
    let focused = app.focus == Focus::Timeline;
    let len = m.state.as_ref().map_or(0, |s| s.timeline_len(&m.name));
    let mut head = format!(" Timeline · {} sees {} ", m.name, plural(len, "tweet"));
    if m.timeline.new_above > 0 {
        head.push_str(&format!("· {} new above (Home) ", m.timeline.new_above));
    }
    let block = pane(app, title(app, head, focused), focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    // Tweets on their way: above the decided ones, until they are applied.
    let pending: Vec<&str> = app.pending_tweets().collect();
    let rows = app
        .pending_rows()
        .min(inner.height.saturating_sub(1) as usize);
    let [pending_area, inner] =
        Layout::vertical([Constraint::Length(rows as u16), Constraint::Fill(1)]).areas(inner);
    let pending_lines = pending.iter().take(rows).enumerate().map(|(i, text)| {
        let more = pending.len() - i;
        let text = if i + 1 == rows && more > 1 {
            format!("and {more} more tweets")
        } else {
            text.to_string()
        };
        let head = format!("⧗ {}  posting…  ", m.name);
        let room = (pending_area.width as usize).saturating_sub(width(&head));
        Line::from(vec![
            Span::styled(head, t.pending()),
            Span::styled(fit(&text, room), t.dim()),
        ])
    });
    frame.render_widget(
        Paragraph::new(pending_lines.collect::<Vec<_>>()),
        pending_area,
    );
    let Some(state) = &m.state else {
        frame.render_widget(
            Paragraph::new(Span::styled("waiting for the site…", t.dim())),
            inner,
        );
        return;
    };
    if len == 0 {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "No tweets yet. Type one below and press Enter.",
                t.dim(),
            )),
            inner,
        );
        return;
    }
    let (w, h) = (inner.width as usize, inner.height as usize);
    let items = m.timeline.visible(state, &m.name, w, h);
    let mut lines: Vec<Line> = Vec::with_capacity(h);
    for (i, it) in items.iter().enumerate() {
        let selected = m.timeline.offset + i == m.timeline.selected;
        let author = app.sites.iter().position(|s| s.name == it.tweet.user);
        let mut header = vec![
            Span::raw(if selected { "▶ " } else { "  " }),
            Span::styled(
                it.tweet.user.clone(),
                author.map_or(t.plain(), |a| t.author(a)),
            ),
            Span::styled(format!("  {}", app.clock.format(it.tweet.time)), t.dim()),
            Span::styled(format!("  slot {}", it.tweet.slot), t.dim()),
        ];
        if it.tweet.index > 0 {
            header.push(Span::styled(format!(".{}", it.tweet.index), t.dim()));
        }
        let mut block_lines = vec![Line::from(header)];
        for l in &it.lines {
            block_lines.push(Line::raw(format!("{}{l}", " ".repeat(TEXT_INDENT))));
        }
        if selected {
            let style = t.selected(focused);
            block_lines = block_lines.into_iter().map(|l| l.style(style)).collect();
        }
        lines.extend(block_lines);
        if lines.len() >= h {
            break;
        }
    }
    lines.truncate(h);
    frame.render_widget(Paragraph::new(lines), inner);
    let all_visible = m.timeline.offset == 0 && items.len() == len && used_rows(&items) <= h;
    if h > 2 && !all_visible {
        let mut sb = ScrollbarState::new(len.saturating_sub(items.len()) + 1)
            .position(m.timeline.offset)
            .viewport_content_length(items.len());
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .begin_symbol(None)
                .end_symbol(None)
                .track_symbol(Some("│"))
                .thumb_symbol("┃")
                .track_style(app.theme.border(focused))
                .thumb_style(app.theme.border(true)),
            area.inner(Margin {
                vertical: 1,
                horizontal: 0,
            }),
            &mut sb,
        );
    }
}

fn used_rows(items: &[timeline::Item]) -> usize {
    items.iter().map(timeline::Item::height).sum()
}

// ----- block list -------------------------------------------------------

fn draw_blocks(app: &App, frame: &mut Frame, area: Rect) {
    if !ok_area(area) {
        return;
    }
    let t = &app.theme;
    let m = app.site();
    let focused = app.focus == Focus::Blocks;
    let rows = app.block_rows();
    let n = rows.iter().filter(|r| r.blocked).count();
    let head = format!(" Blocks · {} blocks {n} · ■ blocked □ not ", m.name);
    let block = pane(app, title(app, head, focused), focused);
    let name_w = rows
        .iter()
        .map(|r| width(&r.name))
        .max()
        .unwrap_or(0)
        .min(14);
    let items: Vec<ListItem> = rows
        .iter()
        .map(|r| {
            let mut spans = vec![
                Span::raw(if r.blocked { "■ " } else { "□ " }),
                Span::styled(pad(&r.name, name_w), t.author(r.site)),
            ];
            if let Some(p) = r.pending {
                spans.push(Span::styled(format!("  {p} (pending)"), t.pending()));
            } else if r.blocked {
                spans.push(Span::styled("  blocked", t.error()));
            }
            if r.blocks_me {
                spans.push(Span::styled("  (blocks you)", t.dim()));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let list = List::new(items)
        .block(block)
        .highlight_symbol("▶ ")
        .highlight_style(t.selected(focused));
    let mut state = ListState::default().with_selected(if rows.is_empty() {
        None
    } else {
        Some(m.block_sel.min(rows.len() - 1))
    });
    frame.render_stateful_widget(list, area, &mut state);
}

// ----- trace ------------------------------------------------------------

fn site_name(app: &App, site: u32) -> String {
    app.sites
        .get(site as usize)
        .map_or_else(|| site.to_string(), |s| s.name.clone())
}

fn ballot_text(app: &App, b: Ballot) -> String {
    format!("({},{})", b.round, site_name(app, b.site))
}

fn fmt_ms(ms: u64) -> String {
    format!("{:>3}.{:03}", ms / 1000, ms % 1000)
}

/// One row of the message log.
pub fn trace_line<'a>(app: &App, row: &TraceRow, peer_w: usize) -> Line<'a> {
    let t = &app.theme;
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
            spans.push(Span::raw(format!(
                " {} ",
                pad(&site_name(app, *peer), peer_w)
            )));
            spans.push(Span::styled(pad(kind.name(), 8), t.kind(*kind)));
            spans.push(Span::raw(format!(" {} ", slot_txt(*slot))));
            if let Some(b) = ballot {
                spans.push(Span::styled(ballot_text(app, *b), t.dim()));
            }
            if let Some(v) = value {
                spans.push(Span::raw(format!(" {v}")));
            }
        }
        RowEvent::Trace(ev) => {
            let (sym, word, style, slot, rest) = match ev {
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
                        ballot_text(app, *ballot),
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
                        Some(l) => format!("{} {}", site_name(app, *l), ballot_text(app, *ballot)),
                        None => "none".to_string(),
                    },
                ),
                TraceEvent::Election { ballot, from_slot } => (
                    "⚑",
                    "election",
                    t.event(EventStyle::Election),
                    Some(*from_slot),
                    format!("{} for slots #{from_slot}…", ballot_text(app, *ballot)),
                ),
                TraceEvent::Message { .. } => unreachable!("handled above"),
            };
            spans.push(Span::styled(sym, style));
            spans.push(Span::raw(format!(" {} ", pad("", peer_w))));
            spans.push(Span::styled(pad(word, 8), style));
            spans.push(Span::raw(format!(" {} ", slot_txt(slot))));
            spans.push(Span::raw(rest));
        }
    }
    Line::from(spans)
}

fn draw_trace(app: &App, frame: &mut Frame, area: Rect) {
    if !ok_area(area) {
        return;
    }
    let t = &app.theme;
    let m = app.site();
    let focused = app.focus == Focus::Trace;
    let mut head = String::from(" Paxos trace");
    if app.per_slot {
        head.push_str(" · per slot");
    }
    head.push_str(&format!(" · {}", app.filter.kind.label()));
    if let Some(s) = app.filter.slot {
        head.push_str(&format!(" · slot {s}"));
    }
    if let Some(p) = app.filter.peer {
        head.push_str(&format!(" · with {}", site_name(app, p)));
    }
    let bottom = m.tview.anchor;
    if m.tview.paused {
        let newer = m.trace.newer_than(&app.filter, bottom);
        head.push_str(&format!(" · PAUSED +{newer}"));
    } else if bottom.is_some() && !app.per_slot {
        let newer = m.trace.newer_than(&app.filter, bottom);
        head.push_str(&format!(" · ↓{newer} newer (End)"));
    }
    head.push(' ');
    let block = pane(app, title(app, head, focused), focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width < 2 {
        return;
    }
    let h = inner.height as usize;
    if app.per_slot {
        let lines = slot_lines(app, m, h);
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let rows = m.trace.view(&app.filter, bottom, h);
    if rows.is_empty() {
        let hint = if app.filter.kind == KindFilter::Synod && app.filter.slot.is_none() {
            "no Paxos messages yet (f: filters, s: per-slot view)"
        } else {
            "no rows match the filter (f: next filter, Esc: all slots)"
        };
        frame.render_widget(Paragraph::new(Span::styled(hint, t.dim())), inner);
        return;
    }
    let peer_w = app
        .sites
        .iter()
        .map(|s| width(&s.name))
        .max()
        .unwrap_or(1)
        .min(8);
    let lines: Vec<Line> = rows.iter().map(|r| trace_line(app, r, peer_w)).collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The per-slot view: for each recent slot (newest first) its phase chain,
/// then its value and outcome.
fn slot_lines<'a>(app: &App, m: &SiteModel, h: usize) -> Vec<Line<'a>> {
    let t = &app.theme;
    let names = app.names();
    let sites = app.sites.len();
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "k/{sites} = votes incl. own, ✓ = quorum of {}",
            sites / 2 + 1
        ),
        t.dim(),
    ))];
    let slots = m
        .trace
        .slots()
        .filter(|s| app.filter.slot.is_none_or(|f| f == s.slot))
        .skip(m.tview.slot_offset);
    for s in slots {
        if lines.len() >= h {
            break;
        }
        let phases = s.phases(sites, &names);
        let mut spans = vec![Span::styled(
            format!("#{:<4} ", s.slot),
            Style::default().add_modifier(Modifier::BOLD),
        )];
        for (i, p) in phases.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled("→", t.dim()));
            }
            let kind = p.split(['←', ' ', '→', '×']).next().unwrap_or("");
            let style = crate::paxos::MsgKind::ALL
                .iter()
                .find(|k| k.name() == kind)
                .map_or(t.event(EventStyle::Decided), |k| t.kind(*k));
            spans.push(Span::styled(p.clone(), style));
        }
        if phases.is_empty() {
            spans.push(Span::styled("(no messages seen)", t.dim()));
        }
        lines.push(Line::from(spans));
        if lines.len() >= h {
            break;
        }
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
        lines.push(Line::from(spans));
    }
    if lines.len() == 1 {
        lines.push(Line::from(Span::styled("no slots yet", t.dim())));
    }
    lines
}

// ----- input, message, footer ------------------------------------------

fn draw_input(app: &App, frame: &mut Frame, area: Rect) {
    if !ok_area(area) {
        return;
    }
    let focused = app.focus == Focus::Input;
    let text = app.input_text();
    let prefix = super::command::tweet_prefix_chars(&text);
    let count = text.chars().count().saturating_sub(prefix);
    let mut head = format!(" Tweet as {} · {count}/{MAX_TWEET_CHARS} ", app.site().name);
    let pending = app
        .pending
        .iter()
        .filter(|p| p.site == app.shown && p.decided_slot.is_none())
        .count();
    if pending > 0 {
        head.push_str(&format!("· {pending} pending "));
    }
    let block = pane(app, title(app, head, focused), focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width > 1 && inner.height > 0 {
        frame.render_widget(&app.input, inner);
    }
}

fn draw_message(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(note) = &app.note else {
        return;
    };
    let (prefix, style) = match note.level {
        Level::Info => ("", t.plain()),
        Level::Ok => ("", t.ok()),
        Level::Error => ("", t.error()),
        Level::Pending => ("⧗ ", t.pending()),
    };
    let text = fit(&format!(" {prefix}{}", note.text), area.width as usize);
    frame.render_widget(Paragraph::new(Span::styled(text, style)), area);
}

/// The footer's entries where the focus is, most useful first: the
/// focused pane's keys, then (on a pane) `?`, the demo's keys and the other
/// pane keys, then those that work anywhere. What does not fit is left out.
pub fn footer_keys(app: &App) -> Vec<(&'static str, &'static str)> {
    let foot = |t: &'static [KeyHelp]| t.iter().filter_map(|k| k.foot).collect::<Vec<_>>();
    let mut out = foot(app.focus.section().keys());
    if app.focus != Focus::Input {
        let any = foot(keys::ANY_PANE);
        out.push(any[0]);
        if app.demo {
            out.extend(foot(keys::DEMO));
        }
        out.extend(any.into_iter().skip(1));
    }
    out.extend(foot(keys::ANYWHERE));
    out
}

fn draw_footer(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (key, what) in footer_keys(app) {
        let w = width(key) + 1 + width(what) + 2;
        if used + w > area.width as usize {
            continue;
        }
        used += w;
        spans.push(Span::styled(key, t.key()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

// ----- popups -----------------------------------------------------------

/// Every key, pane by pane, from the same tables as the footer.
pub fn help_lines<'a>(app: &App) -> Vec<Line<'a>> {
    let t = &app.theme;
    let mut sections = vec![
        Section::Anywhere,
        Section::Input,
        Section::AnyPane,
        Section::Timeline,
        Section::Blocks,
        Section::Trace,
    ];
    if app.demo {
        sections.push(Section::Demo);
    }
    let mut lines = Vec::new();
    for s in sections {
        lines.push(Line::from(Span::styled(
            s.title(),
            t.title(true).add_modifier(Modifier::UNDERLINED),
        )));
        for k in s.keys() {
            lines.push(Line::from(vec![
                Span::styled(format!("  {}", pad(k.keys, 18)), t.key()),
                Span::raw(k.long),
            ]));
        }
        lines.push(Line::raw(""));
    }
    lines.push(Line::from(Span::styled(
        "Typed in the input box",
        t.title(true).add_modifier(Modifier::UNDERLINED),
    )));
    for (cmd, what) in keys::COMMANDS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {}", pad(cmd, 18)), t.key()),
            Span::raw(*what),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "Trace legend",
        t.title(true).add_modifier(Modifier::UNDERLINED),
    )));
    lines.push(Line::raw(
        "  → sent  ← received  ★ proposed  ✓ decided/won  ✗ lost  ♛ leader  ⚑ election  • note",
    ));
    lines.push(Line::raw(
        "  ballots are (round,site); k/n in the per-slot view: votes of n sites, ✓ a quorum",
    ));
    lines
}

fn draw_popup(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    title_text: &str,
    lines: Vec<Line>,
    scroll: usize,
) {
    let r = popup_area(area);
    if !ok_area(r) {
        return;
    }
    frame.render_widget(Clear, r);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(app.theme.border(true))
        .title(title(app, title_text.to_string(), true));
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let h = inner.height as usize;
    let max = lines.len().saturating_sub(h);
    let scroll = scroll.min(max);
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(h).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}

fn draw_slot_prompt(app: &App, frame: &mut Frame, area: Rect, text: &str) {
    let w = 56.min(area.width);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + area.height / 2 - 2,
        w,
        3,
    );
    frame.render_widget(Clear, r);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(app.theme.border(true))
        .title(title(
            app,
            " Trace: filter by slot (Enter applies, empty clears) ".to_string(),
            true,
        ));
    let line = Line::from(vec![
        Span::raw(" slot: "),
        Span::styled(text.to_string(), app.theme.key()),
        Span::styled("█", app.theme.plain()),
    ]);
    frame.render_widget(Paragraph::new(line).block(block), r);
}
