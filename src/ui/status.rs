//! The status line: the replay's slider, the site, who leads, decided
//! slots, safety (demo and replay), each peer up or down, chatter.
//!
//! It must fit any width (SPEC 9: at 80 columns everything that teaches
//! stays readable), so each part has a full and a short form, and the line
//! is shortened by priority: first the parts that say least in the most
//! room take their short forms (`peers 4/4 up` before anything is
//! dropped), then the least important parts are dropped. Safety and the
//! site's name are never dropped.

use super::app::App;
use super::panes::plural;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// One part of the line: what it says in full, a shorter form, and where
/// it stands when room runs out.
struct Part<'a> {
    full: Vec<Span<'a>>,
    short: Option<Vec<Span<'a>>>,
    /// Shortened in this order (lowest first).
    shorten_rank: u8,
    /// Dropped in this order (lowest first); `None`: never dropped.
    drop_rank: Option<u8>,
}

impl<'a> Part<'a> {
    fn new(full: Vec<Span<'a>>) -> Self {
        Part {
            full,
            short: None,
            shorten_rank: u8::MAX,
            drop_rank: None,
        }
    }

    fn short(mut self, rank: u8, short: Vec<Span<'a>>) -> Self {
        self.short = Some(short);
        self.shorten_rank = rank;
        self
    }

    fn droppable(mut self, rank: u8) -> Self {
        self.drop_rank = Some(rank);
        self
    }
}

fn spans_width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}

/// The parts, shortened and dropped by rank until they fit `width`,
/// joined by ` │ `.
fn fit_parts<'a>(mut parts: Vec<Part<'a>>, sep: Span<'a>, width: usize) -> Vec<Span<'a>> {
    let total = |parts: &[Part]| -> usize {
        let sep_w = sep.width() * parts.len().saturating_sub(1);
        parts.iter().map(|p| spans_width(&p.full)).sum::<usize>() + sep_w
    };
    let mut order: Vec<usize> = (0..parts.len())
        .filter(|&i| parts[i].short.is_some())
        .collect();
    order.sort_by_key(|&i| parts[i].shorten_rank);
    for i in order {
        if total(&parts) <= width {
            break;
        }
        if let Some(short) = parts[i].short.take() {
            parts[i].full = short;
        }
    }
    while total(&parts) > width {
        let Some(i) = (0..parts.len())
            .filter(|&i| parts[i].drop_rank.is_some())
            .min_by_key(|&i| parts[i].drop_rank)
        else {
            break;
        };
        parts.remove(i);
    }
    let mut out = Vec::new();
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(sep.clone());
        }
        out.extend(p.full);
    }
    out
}

/// Draws the status line.
pub fn draw_status(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut parts = Vec::new();
    if let Some(r) = &app.replay {
        parts.push(
            Part::new(slider(app, r, true))
                .short(1, slider(app, r, false))
                .droppable(4),
        );
    }
    if let Some(st) = &app.step {
        parts.push(
            Part::new(step_part(app, &st.view, true))
                .short(1, step_part(app, &st.view, false))
                .droppable(3),
        );
    }
    parts.push(site_part(app));
    parts.push(
        Part::new(vec![Span::raw(format!("leader: {}", leader(app, true)))])
            .short(3, vec![Span::raw(format!("♛ {}", leader(app, false)))]),
    );
    let decided = app.site().decided();
    parts.push(
        Part::new(vec![Span::raw(format!("decided: {decided}"))])
            .short(4, vec![Span::raw(format!("✓{decided}"))])
            .droppable(2),
    );
    if let Some(p) = safety_part(app) {
        parts.push(p);
    }
    parts.push(peers_part(app));
    if app.chatter {
        parts.push(Part::new(vec![Span::styled("chatter", t.pending())]).droppable(0));
    }
    let mut spans = vec![Span::raw(" ")];
    spans.extend(fit_parts(
        parts,
        Span::styled(" │ ", t.dim()),
        usize::from(area.width).saturating_sub(1),
    ));
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(t.status_bar()),
        area,
    );
}

/// `[1/5] alice CRASHED (r restarts)`: which site, and what happened to it.
fn site_part<'a>(app: &App) -> Part<'a> {
    let t = &app.theme;
    let m = app.site();
    let mut name = vec![Span::styled(m.name.clone(), t.author(m.index))];
    let mut hints = false;
    if !m.up {
        name.push(Span::styled(" CRASHED", t.error()));
        hints = app.demo;
    } else if m.state.is_none() {
        name.push(Span::styled(" starting…", t.pending()));
    } else if m.restarts > 0 {
        name.push(Span::styled(" restarted", t.ok()));
    }
    if m.cut_off {
        name.push(Span::styled(" CUT OFF", t.warn()));
    }
    let mut full = Vec::new();
    if app.demo || app.replay.is_some() {
        let of = format!("[{}/{}] ", m.index + 1, app.sites.len());
        full.push(Span::styled(of, t.dim()));
    }
    full.extend(name.iter().cloned());
    if hints && !m.up {
        full.push(Span::styled(" (r restarts)", t.error()));
    } else if app.demo && m.cut_off {
        full.push(Span::styled(" (c heals)", t.warn()));
    }
    Part::new(full).short(2, name)
}

/// The safety check: the demo's, live; a replay's, of the recorded
/// decisions. Never dropped: it is what the demo is for.
fn safety_part<'a>(app: &App) -> Option<Part<'a>> {
    let t = &app.theme;
    let (slots, violation) = match (&app.safety, &app.replay) {
        (Some(s), _) => (s.slots(), s.violation()),
        (None, Some(r)) => r.player.safety_at(r.pos()),
        (None, None) => return None,
    };
    Some(match violation {
        None => Part::new(vec![Span::styled(
            format!("safety holds ({})", plural(slots, "slot")),
            t.ok(),
        )])
        .short(5, vec![Span::styled("safe", t.ok())]),
        Some(slot) => {
            let bad = t.error().add_modifier(Modifier::REVERSED);
            Part::new(vec![Span::styled(
                format!("SAFETY VIOLATED at slot {slot}"),
                bad,
            )])
            .short(5, vec![Span::styled(format!("UNSAFE #{slot}"), bad)])
        }
    })
}

/// Each peer up or down; short: how many are up.
fn peers_part<'a>(app: &App) -> Part<'a> {
    let t = &app.theme;
    let m = app.site();
    let Some(status) = m.status.as_ref().filter(|_| m.up) else {
        return Part::new(vec![Span::raw("peers: "), Span::styled("unknown", t.dim())])
            .droppable(1);
    };
    let mut full = vec![Span::raw("peers: ")];
    for (i, p) in status.peers.iter().enumerate() {
        if i > 0 {
            full.push(Span::raw(", "));
        }
        let (word, style) = if p.connected {
            ("up", t.ok())
        } else {
            ("down", t.error())
        };
        full.push(Span::raw(format!("{} ", p.name)));
        full.push(Span::styled(word, style));
    }
    let up = status.peers.iter().filter(|p| p.connected).count();
    let all = status.peers.len();
    let style = if up == all { t.ok() } else { t.warn() };
    let short = vec![
        Span::raw("peers "),
        Span::styled(format!("{up}/{all} up"), style),
    ];
    Part::new(full).short(0, short).droppable(1)
}

/// The replay's slider: playing or paused, the position of the total, the
/// time since the first event, the speed, and a bar (wider in full).
fn slider<'a>(app: &App, r: &crate::ui::replay::Replay, full: bool) -> Vec<Span<'a>> {
    let t = &app.theme;
    let (pos, len) = (r.pos(), r.player.len());
    let ms = r.player.ms_at(pos);
    let bar_w = if full { 24 } else { 8 };
    let filled = (pos * bar_w).checked_div(len).unwrap_or(0).min(bar_w - 1);
    let bar = format!("{}●{}", "━".repeat(filled), "─".repeat(bar_w - 1 - filled));
    let speed = crate::ui::replay::SPEEDS[r.speed];
    vec![
        Span::styled(if r.playing { "▶ " } else { "⏸ " }, t.key()),
        Span::raw(format!("{pos}/{len} ")),
        Span::raw(format!("{}.{:03}s ", ms / 1000, ms % 1000)),
        Span::styled(format!("{speed}× "), t.dim()),
        Span::styled(bar, t.ok()),
    ]
}

/// Step mode: running or paused, the virtual clock, the speed, the steps
/// taken (short: the clock and the speed).
fn step_part<'a>(app: &App, v: &crate::ui::step::StepView, full: bool) -> Vec<Span<'a>> {
    let t = &app.theme;
    let speed = crate::ui::step::SPEEDS.get(v.speed).copied().unwrap_or(1.0);
    let mut spans = vec![
        Span::styled(if v.playing { "▶ " } else { "⏸ " }, t.key()),
        Span::raw(format!("t={}", crate::ui::step::secs(v.now_ms))),
        Span::styled(format!(" {speed}×"), t.dim()),
    ];
    if full {
        spans.push(Span::raw(format!(" · {}", plural(v.steps, "step"))));
    }
    spans
}

/// Who leads, as the shown site knows it; a leader that does not see a
/// quorum of its cluster says so (its submissions will wait or fail).
fn leader(app: &App, full: bool) -> String {
    let m = app.site();
    let Some((l, status)) = m
        .status
        .as_ref()
        .filter(|_| m.up)
        .and_then(|s| s.leader.map(|l| (l, s)))
    else {
        return "none".to_string();
    };
    let name = app
        .sites
        .get(l as usize)
        .map_or_else(|| l.to_string(), |s| s.name.clone());
    if l as usize != m.index {
        return name;
    }
    let seen = 1 + status.peers.iter().filter(|p| p.connected).count();
    let sites = status.peers.len() + 1;
    let quorum = sites / 2 + 1;
    match (seen >= quorum, full) {
        (true, _) => format!("{name} (me)"),
        (false, true) => format!("{name} (me, no quorum)"),
        (false, false) => format!("{name} (me, no q.)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(spans: &[Span]) -> String {
        spans.iter().map(|s| s.content.as_ref()).collect()
    }

    fn parts() -> Vec<Part<'static>> {
        vec![
            Part::new(vec![Span::raw("alice")]),
            Part::new(vec![Span::raw("decided: 12")])
                .short(1, vec![Span::raw("✓12")])
                .droppable(1),
            Part::new(vec![Span::raw("peers: bob up, carol up")])
                .short(0, vec![Span::raw("peers 2/2 up")])
                .droppable(0),
        ]
    }

    /// Everything fits: every part in full.
    #[test]
    fn a_wide_line_keeps_every_part_in_full() {
        let line = fit_parts(parts(), Span::raw(" | "), 200);
        assert_eq!(text(&line), "alice | decided: 12 | peers: bob up, carol up");
    }

    /// Shortened by rank before anything is dropped, then dropped by rank;
    /// a part that cannot be dropped stays.
    #[test]
    fn a_narrow_line_shortens_by_rank_then_drops() {
        let line = fit_parts(parts(), Span::raw(" | "), 40);
        assert_eq!(text(&line), "alice | decided: 12 | peers 2/2 up");
        let line = fit_parts(parts(), Span::raw(" | "), 26);
        assert_eq!(text(&line), "alice | ✓12 | peers 2/2 up");
        let line = fit_parts(parts(), Span::raw(" | "), 12);
        assert_eq!(text(&line), "alice | ✓12");
        let line = fit_parts(parts(), Span::raw(" | "), 3);
        assert_eq!(text(&line), "alice");
    }
}
