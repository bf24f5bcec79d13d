//! Drawing the whole screen: a pure function of the [`App`] state. The
//! panes draw themselves (`panes/*`); here are the status line, the
//! message line, the footer and the open popup, and what each pane is
//! handed to draw.

use super::app::App;
use super::help;
use super::layout::{layout_for, MIN_H, MIN_W};
use super::panes::popup::{self, Popup};
use super::panes::trace::Wide;
use super::panes::{blocks, grid, inflight, input, spacetime, timeline, trace, Focus, Level};
use super::text::{fit, width};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

/// Draws the whole screen.
pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    // A theme with its own background (high contrast) paints it first.
    if let Some(base) = app.theme.base() {
        frame.render_widget(Block::new().style(base), area);
    }
    let Some(a) = layout_for(
        area,
        app.trace.wide.is_some(),
        app.grow(),
        app.step.is_some(),
    ) else {
        draw_too_small(app, frame, area);
        return;
    };
    let names = app.names();
    let m = app.site();
    let theme = &app.theme;
    super::status::draw_status(app, frame, a.status);
    let pending: Vec<(&str, bool)> = app.pending_tweets().collect();
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
    if let Some((view, sel)) = app.inflight_view() {
        let p = inflight::InFlightProps {
            theme,
            focused: app.focus == Focus::InFlight,
            names: &names,
            queue: &view.queue,
            view: sel,
            now_ms: view.now_ms,
        };
        inflight::draw(&p, frame, a.inflight);
    }
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
        .filter(|p| p.site == app.shown && p.decided_slot.is_none() && !p.in_doubt)
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
            app.help_lines(),
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
        Some(Popup::Links { cursor }) => {
            let p = super::panes::links::LinksProps {
                theme,
                links: &app.links,
                names,
                cursor: *cursor,
                leader: app.leader(),
            };
            super::panes::links::draw(&p, frame, area);
        }
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

fn draw_message(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut area = area;
    if app.demo && app.step.is_none() && app.replay.is_none() {
        // The message first: the strip takes what it leaves, if enough.
        let said = app.note.as_ref().map_or(0, |n| width(&n.text) as u16 + 4);
        let w = super::metrics::strip_width(area.width).min(area.width.saturating_sub(said));
        if w >= super::metrics::MIN_WIDTH {
            let strip = Rect::new(area.right() - w, area.y, w, area.height.min(1));
            super::metrics::draw(&app.metrics, t, frame, strip);
            area.width -= w;
        }
    }
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
    let all = help::footer(app.focus, app.mode());
    for (key, what, _) in help::fit_footer(&all, area.width as usize) {
        spans.push(Span::styled(key, t.key()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
