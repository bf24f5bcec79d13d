//! Drawing the whole screen: a pure function of the [`App`] state. The
//! panes draw themselves (`panes/*`); here are the status line, the
//! message line, the footer and the open popup, and what each pane is
//! handed to draw.

use super::app::App;
use super::help;
use super::layout::{layout_for, MIN_H, MIN_W};
use super::panes::popup::{self, Popup};
use super::panes::trace::Wide;
use super::panes::{blocks, grid, input, plural, spacetime, timeline, trace, Focus, Level};
use super::text::{fit, width};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// Draws the whole screen.
pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let Some(a) = layout_for(area, app.trace.wide.is_some()) else {
        draw_too_small(app, frame, area);
        return;
    };
    let names = app.names();
    let m = app.site();
    let theme = &app.theme;
    draw_status(app, frame, a.status);
    let pending: Vec<&str> = app.pending_tweets().collect();
    let tl = timeline::TimelineProps {
        theme,
        clock: &app.clock,
        focused: app.focus == Focus::Timeline,
        state: m.state.as_ref(),
        me: &m.name,
        view: &m.timeline,
        names: &names,
        pending: &pending,
        pending_rows: app.pending_rows(),
    };
    timeline::draw(&tl, frame, a.timeline);
    let rows = app.block_rows();
    let bl = blocks::BlocksProps {
        theme,
        focused: app.focus == Focus::Blocks,
        me: &m.name,
        rows: &rows,
        selected: m.block_sel,
    };
    blocks::draw(&bl, frame, a.blocks);
    draw_trace(app, frame, a.trace, &names);
    let unanswered = app
        .pending
        .iter()
        .filter(|p| p.site == app.shown && p.decided_slot.is_none())
        .count();
    let inp = input::InputProps {
        theme,
        input: &app.input,
        me: &m.name,
        unanswered,
    };
    input::draw(&inp, frame, a.input);
    draw_message(app, frame, a.message);
    draw_footer(app, frame, a.footer);
    draw_popup(app, frame, area, &names);
}

/// The trace pane in its view: the shown site's trace, or (wide) the
/// space-time diagram or the log grid of every site.
fn draw_trace(app: &App, frame: &mut Frame, area: Rect, names: &[String]) {
    let m = app.site();
    let theme = &app.theme;
    let focused = app.focus == Focus::Trace;
    match app.trace.wide {
        Some(Wide::SpaceTime) => {
            let p = spacetime::SpaceTimeProps {
                theme,
                focused,
                settings: &app.trace,
                view: &m.tview,
                diagram: app.seen().0,
                names,
            };
            spacetime::draw(&p, frame, area);
        }
        Some(Wide::Grid) => {
            let p = grid::GridProps {
                theme,
                focused,
                settings: &app.trace,
                view: &m.tview,
                grid: app.seen().1,
                names,
            };
            grid::draw(&p, frame, area);
        }
        None => {
            let p = trace::TraceProps {
                theme,
                focused,
                settings: &app.trace,
                buf: &m.trace,
                view: &m.tview,
                names,
            };
            trace::draw(&p, frame, area);
        }
    }
}

fn draw_popup(app: &App, frame: &mut Frame, area: Rect, names: &[String]) {
    let theme = &app.theme;
    match &app.popup {
        Some(Popup::Help { scroll }) => popup::draw_text(
            theme,
            frame,
            area,
            " Help · every key (↑↓ PgUp/PgDn scroll · Esc closes) ",
            help::lines(theme, app.mode()),
            *scroll,
        ),
        Some(Popup::Log {
            title,
            lines,
            scroll,
            ..
        }) => {
            let title = format!(" {title} (↑↓ scroll · Esc closes) ");
            let lines = popup::log_lines(theme, lines, names);
            popup::draw_text(theme, frame, area, &title, lines, *scroll);
        }
        Some(Popup::SlotPrompt { text }) => popup::draw_slot_prompt(theme, frame, area, text),
        None => {}
    }
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

/// The status line: the site, who leads, decided slots, safety (demo),
/// each peer up or down.
fn draw_status(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let m = app.site();
    let sep = || Span::styled(" │ ", t.dim());
    let mut spans = Vec::new();
    if let Some(r) = &app.replay {
        spans.extend(slider(app, r, area.width));
        spans.push(Span::styled("│", t.dim()));
    }
    if app.demo || app.replay.is_some() {
        spans.push(Span::styled(
            format!(" [{}/{}] ", m.index + 1, app.sites.len()),
            t.dim(),
        ));
    } else {
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(m.name.clone(), t.author(m.index)));
    if !m.up && !app.demo {
        spans.push(Span::styled(" CRASHED", t.error()));
    } else if !m.up {
        spans.push(Span::styled(" CRASHED (r restarts)", t.error()));
    } else if m.state.is_none() {
        spans.push(Span::styled(" starting…", t.pending()));
    } else if m.restarts > 0 {
        spans.push(Span::styled(" restarted", t.ok()));
    }
    if m.cut_off {
        let text = if app.demo {
            " CUT OFF (c heals)"
        } else {
            " CUT OFF"
        };
        spans.push(Span::styled(text, t.warn()));
    }
    spans.push(sep());
    spans.push(Span::raw(format!("leader: {}", leader(app))));
    spans.push(sep());
    spans.push(Span::raw(format!("decided: {}", m.decided())));
    // The demo checks safety live; a replay checks the recorded decisions.
    let safety = match (&app.safety, &app.replay) {
        (Some(s), _) => Some((s.slots(), s.violation())),
        (None, Some(r)) => Some(r.player.safety_at(r.pos())),
        (None, None) => None,
    };
    if let Some((slots, violation)) = safety {
        spans.push(sep());
        match violation {
            None => spans.push(Span::styled(
                format!("safety holds ({})", plural(slots, "slot")),
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

/// The replay's slider: playing or paused, the position of the total, the
/// time since the first event, the speed, and a bar (wider on a wider
/// terminal).
fn slider<'a>(app: &App, r: &crate::ui::replay::Replay, width: u16) -> Vec<Span<'a>> {
    let t = &app.theme;
    let (pos, len) = (r.pos(), r.player.len());
    let ms = r.player.ms_at(pos);
    let bar_w = if width >= 120 { 24 } else { 10 };
    let filled = (pos * bar_w).checked_div(len).unwrap_or(0).min(bar_w - 1);
    let bar = format!("{}●{}", "━".repeat(filled), "─".repeat(bar_w - 1 - filled));
    let speed = crate::ui::replay::SPEEDS[r.speed];
    vec![
        Span::styled(if r.playing { " ▶ " } else { " ⏸ " }, t.key()),
        Span::raw(format!("{pos}/{len} ")),
        Span::raw(format!("{}.{:03}s ", ms / 1000, ms % 1000)),
        Span::styled(format!("{speed}× "), t.dim()),
        Span::styled(bar, t.ok()),
        Span::raw(" "),
    ]
}

/// Who leads, as the shown site knows it.
fn leader(app: &App) -> String {
    let m = app.site();
    m.status
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
        .unwrap_or_else(|| "none".to_string())
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

fn draw_footer(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (key, what) in help::footer(app.focus, app.mode()) {
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
